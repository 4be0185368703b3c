"""A day folder's manifest -> its rows of the source_files table: completeness as data.

The manifest (flows/lake/manifests.py, `manifest_document`) already knows every file read and what the
CloudTrail digests said about the folder; this states it as rows an analyst can query: one per
file read, plus one per file a digest lists that the bucket did not have (`was_read` false).
Key: source_file. Sorted by source_file, so the same manifest gives the same table.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.tables import SOURCE_FILES
from transforms.cloudtrail.file_names import delivery_time

_UNREADABLE_DIGEST = "unreadable digest "  # flows.source.digests.check_digests lists such digests among `missing`


def _verdicts(digest_check: dict[str, Any] | None) -> dict[str, str]:
    """Digest key (from the bucket root) -> its finding. Keys a digest lists that were never read are 'missing'."""
    if not digest_check:
        return {}
    found = {}
    for kind in ("hash_mismatch", "unlisted", "missing"):
        for key in digest_check.get(kind) or []:
            if not key.startswith(_UNREADABLE_DIGEST):
                found[key] = kind
    return found


def _verdict_of(uri: str, verdicts: dict[str, str]) -> str | None:
    return next((kind for key, kind in verdicts.items() if uri == key or uri.endswith("/" + key)), None)


def _root(manifest: dict[str, Any]) -> str:
    """The source root the folder's URIs start with: taken from a file read (absolute), else the manifest's source."""
    folder = manifest["folder"].strip("/")
    for file in manifest.get("files") or []:
        head, found, _ = file["uri"].rpartition(f"/{folder}/")
        if found:
            return head
    return str(manifest.get("source", "")).rstrip("/")


def source_file_rows(manifest: dict[str, Any], run_id: str | None) -> pa.Table:
    """One row per log file of the manifest's day folder: every file read, and every file a
    CloudTrail digest lists that the bucket lacked (was_read false, digest_verdict 'missing').

    digest_verdict is null when no digest was checked (digest_policy off, or no digest covers the
    folder); 'no_finding' for a file read that the digests named no problem with. The manifest
    does not say whether such a file was listed by a digest or delivered outside every digest's
    hour (the last hour of a day, whose digest may not exist yet), so the two are not told apart.
    """
    counts = manifest["counts"]
    folder = manifest["folder"].strip("/")
    check = manifest.get("digest_check")
    verdicts = _verdicts(check)
    common = {"account_id": counts["account"], "region": counts["region"], "org_id": counts.get("org_id"),
              "folder": folder, "run_id": run_id}
    rows = []
    for file in manifest.get("files") or []:
        verdict = _verdict_of(file["uri"], verdicts)
        rows.append({
            **common, "source_file": file["uri"], "delivered_at": delivery_time(file["uri"]), "was_read": True,
            "size_bytes": file.get("size"), "etag": file.get("etag"), "sha256": file.get("sha256"),
            "records": file.get("records"), "route53_records": file.get("route53_records"),
            "rejected_kind": file.get("rejected"), "parsed": file.get("parsed", True),  # every file was, before the field
            "digest_verdict": None if check is None else verdict if verdict in ("hash_mismatch", "unlisted") else "no_finding",
        })
    read = {row["source_file"] for row in rows}
    root = _root(manifest)
    for key, kind in sorted(verdicts.items()):
        uri = f"{root}/{folder}/{key.rsplit('/', 1)[-1]}"
        if kind == "missing" and uri not in read and key.rsplit("/", 1)[0].endswith(folder):
            rows.append({**common, "source_file": uri, "delivered_at": delivery_time(uri), "was_read": False,
                         "digest_verdict": "missing"})
    rows.sort(key=lambda row: row["source_file"])
    return pa.Table.from_pylist(rows, schema=SOURCE_FILES.schema)
