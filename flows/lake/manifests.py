"""Day folder manifests: what a run read from one folder and what it staged from it.

`<lake>/_manifests/delivery_date=D/<folder name>.json`, written right after the folder's files
are staged, under the folder's lock. A later run compares a folder's listing with its manifest
to tell whether anything changed (a late, replaced or removed file), and keeps the rows of files
the source no longer has (`in_source: false`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from flows.lake.layout import STAGING, staged_path
from flows.results import DayFolder, DayListing, DaySummary, FileResult
from flows.storage.store import Store
from schemas.tables import TABLES
from transforms.cloudtrail.integrity import DigestFindings

MANIFESTS = "_manifests"
log = logging.getLogger("route53_lake")


@dataclass(frozen=True)
class LakeTarget:
    """The lake a step writes, opened once by the step (flows/pipeline.py), with what the lake
    package needs of the run's settings: the source's identity (it names each day folder's files and
    manifest, the same however the source is spelt), the eventSources kept, whether rows of files
    gone from the source are dropped, and the options of every PUT."""

    store: Store
    source_id: str
    event_sources: list[str] = field(default_factory=list)
    drop_missing_files: bool = False
    put_options: dict[str, str] = field(default_factory=dict)

    def unit_name(self, unit: DayFolder) -> str:
        """The name a day folder's staged files and manifest carry."""
        return unit.output_name(self.source_id)

    def manifest_path(self, unit: DayFolder) -> str:
        return f"{MANIFESTS}/delivery_date={unit.day.isoformat()}/{self.unit_name(unit)}.json"


def read_manifest(lake: Store, path: str) -> dict:
    """A folder's manifest, or {} when there is none. A damaged one (cut short, edited, another
    tool's file, one copied from another lake or folder) is not fatal: it is logged and comes back
    as {"damaged": reason}; the folder is then read again as if new, the damaged file set aside
    (set_aside) and the manifest rewritten. Its staged rows are not lost: they are found from the
    staged files themselves. A manifest is trusted only as far as its shape is checked: above all,
    the staged files it names (which a rerun deletes when it stages them no more) must be the
    folder's own, by their names."""
    try:
        data = lake.read_bytes(path)
    except FileNotFoundError:
        return {}
    try:
        manifest = json.loads(data)
        _check_shape(manifest, path.rsplit("/", 1)[-1].removesuffix(".json"))
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = f"{type(error).__name__}: {str(error)[:200]}"
        log.warning("manifest %s is damaged (%s); the folder is read again, the manifest rewritten and the damaged one "
                    "kept beside it as .damaged-<time>", lake.uri_of(path), reason)
        return {"damaged": reason}
    return manifest


def _check_shape(manifest, unit_name: str) -> None:
    """ValueError unless the manifest has the shape manifest_document writes, for this folder."""
    if not isinstance(manifest, dict):
        raise ValueError("not a route53-lake manifest (expected a JSON object)")
    files, outputs, hashes = manifest.get("files", []), manifest.get("outputs", []), manifest.get("staged_sha256", {})
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("uri"), str) for f in files):
        raise ValueError("files: expected a list of objects, each with a uri")
    if not isinstance(outputs, list) or not all(isinstance(o, str) and _owned(o, unit_name) for o in outputs):
        raise ValueError(f"outputs: expected a list of this folder's staged files ({STAGING}/<table>/<column>=<date>/{unit_name}.parquet)")
    if not isinstance(hashes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()):
        raise ValueError("staged_sha256: expected an object of file -> SHA-256")


def _owned(path: str, unit_name: str) -> bool:
    """Whether a staged path is one the folder named unit_name writes (layout.staged_path)."""
    parts = path.split("/")
    if len(parts) != 4 or parts[1] not in TABLES:
        return False
    table = TABLES[parts[1]]
    column, _, value = parts[2].partition("=")
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return column == table.partition.name and path == staged_path(table, value, unit_name)


def set_aside(lake: Store, path: str, put_options: dict[str, str]) -> None:
    """Keep a damaged manifest beside the one about to replace it, for a person to look at."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lake.write_bytes(f"{path}.damaged-{stamp}", lake.read_bytes(path), **put_options)


def files_in_source(manifest: dict) -> list[dict]:
    return [f for f in manifest.get("files", []) if f.get("in_source", True)]


# A file modified this close to (or after) the time its manifest was written may have changed again
# within one tick of the file system's clock: its modification time proves nothing, its hash does.
RACY_SECONDS = 2.0


def folder_changed(target: LakeTarget, source: Store, listing: DayListing) -> bool:
    """Whether a day folder differs from what its manifest says was read last time: a late file,
    a removed one, or one whose content changed: size or ETag; for a local file its modification
    time, and its SHA-256 when the time is too close to the run to prove anything (git's "racily
    clean" rule). A folder never published has changed, and so has one read for other event sources
    (a recheck after the sources changed, e.g. the default widened to the Route 53 family, reads it
    again for them). A quiet night costs listings, no reads."""
    lake, path = target.store, target.manifest_path(listing.unit)
    manifest = read_manifest(lake, path)
    if not manifest or manifest.get("damaged"):
        return True
    if "event_sources" in manifest and sorted(manifest["event_sources"]) != sorted(target.event_sources):
        return True
    written = lake.modified(path) or float("inf")
    known = {f["uri"]: f for f in files_in_source(manifest)}
    listed = {source.uri_of(o.path): o for o in listing.objects}
    if set(known) != set(listed):
        return True
    for uri, obj in listed.items():
        seen = known[uri]
        if (obj.size, obj.etag) != (seen.get("size"), seen.get("etag")):
            return True
        if source.is_local and obj.mtime != seen.get("mtime"):
            return True
        if source.is_local and (obj.mtime or 0) >= written - RACY_SECONDS and _sha256(source, obj.path) != seen.get("sha256"):
            return True
    return False


def _sha256(source: Store, path: str) -> str:
    return hashlib.sha256(source.read_bytes(path)).hexdigest()


def file_entry(result: FileResult) -> dict:
    return {"uri": result.uri, "size": result.size, "etag": result.etag, "mtime": result.mtime, "sha256": result.sha256,
            "records": result.records_read, "route53_records": result.route53_records, "rejected": result.rejected,
            "parsed": result.parsed, "in_source": True}


def manifest_document(target: LakeTarget, listing: DayListing, results: list[FileResult], summary: DaySummary,
                      findings: DigestFindings | None = None, missing: list[dict] | None = None) -> dict:
    """What a later run needs to tell whether the folder changed, and what an analyst needs to see
    what was loaded. Built once per folder: its source_files rows are taken from it, then what
    staging did is added (staged_sha256, source_files_run_id) and it is written (manifest_bytes)."""
    files = [file_entry(r) for r in results] + [{**f, "in_source": False} for f in missing or []]
    return {
        "source": target.source_id,
        "event_sources": target.event_sources,
        "folder": listing.unit.folder,
        "files": sorted(files, key=lambda f: f["uri"]),
        "skipped": [asdict(s) for s in listing.skipped],
        "counts": {k: v for k, v in asdict(summary).items() if k != "outputs"},
        "outputs": summary.outputs,
        "staged_sha256": {},  # a rerun leaves a staged file alone when its bytes would not change
        "source_files_run_id": None,  # the run that staged the folder's source_files rows as they are
        "digest_check": None if findings is None else {**asdict(findings), "ok": findings.ok},
    }


def manifest_bytes(manifest: dict) -> bytes:
    """Deterministic: a rerun over the same input writes the same bytes."""
    return json.dumps(manifest, indent=2, sort_keys=True).encode()
