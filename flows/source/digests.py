"""A day folder against the CloudTrail digests that cover it (see transforms/cloudtrail/integrity.py)."""

from __future__ import annotations

import json
import posixpath

from flows.results import DayListing, FileResult
from flows.settings import LakeSettings, SettingsError
from flows.storage.fetch import read_many
from flows.storage.store import Store, open_store
from transforms.cloudtrail.container import decompress, parse_json
from transforms.cloudtrail.file_names import delivery_time
from transforms.cloudtrail.integrity import DigestFindings, check, parse_digest, parse_public_keys, signature_problem
from transforms.errors import Rejected


def check_digests(source: Store, listing: DayListing, results: list[FileResult],
                  public_keys: dict[str, bytes] | None = None, in_flight: int = 1) -> DigestFindings | None:
    """The day folder against the CloudTrail digests covering it; None when there are none (or
    the check is off). public_keys (read_public_keys): also verify each digest's signature. An
    unreadable digest is itself a finding: it promised nothing we can check. On S3 up to
    `in_flight` digests are fetched at once (a folder has about 24 a day, each a round trip)."""
    if not listing.digests:
        return None
    key = (lambda path: f"{source.key_prefix}/{path}") if source.key_prefix else (lambda path: path)
    digests, unreadable, bad_signatures = [], [], []
    fetched = read_many(source, listing.digests, [None] * len(listing.digests), in_flight)
    for path, data in zip(listing.digests, fetched, strict=True):
        try:
            content = decompress(data)
            document = parse_json(content)
            digests.append(parse_digest(document))
        except Rejected:
            unreadable.append(path)
            continue
        if public_keys is not None:
            location = source.path(path)  # bucket/key for S3
            problem = signature_problem(location, document, content, source.metadata(path).get("signature"), public_keys)
            if problem:
                bad_signatures.append(f"{key(path)}: {problem}")
    findings = check(
        key(listing.unit.folder + "/"),
        {key(o.path): delivery_time(o.path) for o in listing.objects},
        {key(r.path): r.content_sha256 for r in results},
        digests,
    )
    findings.missing += [f"unreadable digest {key(p)}" for p in unreadable]
    findings.bad_signatures = bad_signatures
    findings.signatures_verified = 0 if public_keys is None else len(digests) - len(bad_signatures)
    return findings


def public_keys_of(settings: LakeSettings) -> dict[str, bytes] | None:
    """The public keys digest signatures are verified with, or None when they are not verified."""
    return read_public_keys(settings.digest_public_keys) if settings.digest_signatures == "verify" else None


def read_public_keys(uri: str) -> dict[str, bytes]:
    """The trail region's public keys, saved from `aws cloudtrail list-public-keys` (JSON)."""
    folder, name = posixpath.split(uri)
    try:
        return parse_public_keys(json.loads(open_store(folder or ".").read_bytes(name)))
    except (OSError, ValueError) as error:
        raise SettingsError(f"digest_public_keys: cannot use {uri}: {error}") from None


def digest_text(findings: DigestFindings) -> str:
    return (f"{len(findings.missing)} missing, {len(findings.unlisted)} not in any digest, "
            f"{len(findings.hash_mismatch)} altered, {len(findings.bad_signatures)} bad signature(s) "
            f"(first: {findings.problems[:3]})")
