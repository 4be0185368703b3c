"""Completeness against CloudTrail digest files: which log files a digest promised, which the
bucket has, and whether their bytes are the ones CloudTrail hashed.

A digest (CloudTrail-Digest/…, hourly) lists every log file delivered in its window with a SHA-256.
A file delivered outside every window we have (typically the last hour of a day, whose digest is
written just after midnight) is not judged: its digest may simply not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from transforms.errors import ErrorKind, Rejected
from transforms.values import to_timestamp


@dataclass(frozen=True)
class PromisedFile:
    key: str  # s3Object as the digest writes it: the key from the bucket root
    sha256: str


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    files: tuple[PromisedFile, ...]


@dataclass
class DigestFindings:
    digests: int = 0
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # promised by a digest, not in the bucket
    unlisted: list[str] = field(default_factory=list)  # in the bucket, in a digest window, in no digest
    hash_mismatch: list[str] = field(default_factory=list)  # bytes differ from the digest's SHA-256

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unlisted or self.hash_mismatch)


def parse_digest(document: Any) -> Digest:
    """A digest file's JSON body -> its window and promised files."""
    if not isinstance(document, dict) or not isinstance(document.get("logFiles"), list):
        raise Rejected(ErrorKind.NOT_A_LOG_FILE, "not a CloudTrail digest: no logFiles list")
    start = to_timestamp(document.get("digestStartTime"), "digestStartTime")
    end = to_timestamp(document.get("digestEndTime"), "digestEndTime")
    if start is None or end is None:
        raise Rejected(ErrorKind.MISSING_FIELD, "digestStartTime or digestEndTime is missing")
    files = tuple(
        PromisedFile(str(f.get("s3Object", "")), str(f.get("hashValue", "")).lower())
        for f in document["logFiles"] if isinstance(f, dict)
    )
    return Digest(start, end, files)


_NAME_PRECISION = timedelta(minutes=1)  # a file name gives its delivery time to the minute


def check(folder_key: str, delivered: dict[str, datetime], hashes: dict[str, str], digests: list[Digest]) -> DigestFindings:
    """Compare one day folder with the digests that cover it.

    folder_key: the folder's key from the bucket root (…/CloudTrail/REGION/YYYY/MM/DD/).
    delivered: key from the bucket root -> delivery time (from the file name) of every log file listed.
    hashes: key -> SHA-256 of the bytes read.
    """
    findings = DigestFindings(digests=len(digests))
    promised = {f.key: f.sha256 for d in digests for f in d.files if f.key.startswith(folder_key)}
    findings.missing = sorted(set(promised) - set(delivered))
    for key, when in sorted(delivered.items()):
        if key in promised:
            findings.checked += 1
            if hashes.get(key) is not None and hashes[key] != promised[key]:
                findings.hash_mismatch.append(key)
        elif any(d.start <= when and when + _NAME_PRECISION <= d.end for d in digests):
            findings.unlisted.append(key)  # delivered wholly inside a window whose digest omits it
    return findings
