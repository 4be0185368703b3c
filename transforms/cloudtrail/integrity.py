"""Completeness against CloudTrail digest files: which log files a digest promised, which the
bucket has, and whether their bytes are the ones CloudTrail hashed.

A digest (CloudTrail-Digest/…, hourly) lists every log file delivered in its window with a SHA-256.
A file delivered outside every window we have (typically the last hour of a day, whose digest is
written just after midnight) is not judged: its digest may simply not exist yet.

A digest lists the SHA-256 of each log file's *uncompressed* content. Each digest is signed
(SHA256withRSA) with a regional CloudTrail key; the signature is in the digest object's S3 metadata
and the public keys come from the CloudTrail API (`aws cloudtrail list-public-keys`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key

from transforms.errors import ErrorKind, Rejected
from transforms.times import to_timestamp


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
    hash_mismatch: list[str] = field(default_factory=list)  # content differs from the digest's SHA-256
    signatures_verified: int = 0
    bad_signatures: list[str] = field(default_factory=list)  # "digest key: why", when verifying

    @property
    def problems(self) -> list[str]:
        return self.missing + self.unlisted + self.hash_mismatch + self.bad_signatures

    @property
    def ok(self) -> bool:
        return not self.problems


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
    hashes: key -> SHA-256 of the uncompressed content read ("" when it could not be decompressed).
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


def parse_public_keys(document: Any) -> dict[str, bytes]:
    """`aws cloudtrail list-public-keys` output -> fingerprint -> DER public key."""
    entries = document.get("PublicKeyList") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("expected the JSON that `aws cloudtrail list-public-keys` prints: {\"PublicKeyList\": [...]}")
    keys = {}
    for entry in entries:
        try:
            keys[str(entry["Fingerprint"]).lower()] = base64.b64decode(entry["Value"], validate=True)
        except (KeyError, TypeError, binascii.Error) as error:
            raise ValueError(f"a public key entry without a Fingerprint and a base64 Value: {error}") from None
    return keys


def signing_string(document: dict, content: bytes) -> bytes:
    """What CloudTrail signs: the digest's end time, its bucket/key, the SHA-256 of its uncompressed
    body, and the previous digest's signature ("null" for a trail's first digest)."""
    previous = document.get("previousDigestSignature") or "null"
    return "\n".join([str(document.get("digestEndTime")), _named_location(document), hashlib.sha256(content).hexdigest(), str(previous)]).encode()


def _named_location(document: dict) -> str:
    """bucket/key where the digest says CloudTrail wrote it."""
    return f"{document.get('digestS3Bucket')}/{document.get('digestS3Object')}"


def signature_problem(location: str, document: dict, content: bytes, signature_hex: str | None, public_keys: dict[str, bytes]) -> str | None:
    """Why a digest's signature cannot be trusted, or None when it verifies.

    location: bucket/key the digest was read from; a digest copied elsewhere does not verify.
    """
    if not signature_hex:
        return "no signature in the object's metadata (x-amz-meta-signature)"
    named = _named_location(document)
    if named != location:
        return f"the digest names itself {named!r}: it was moved or copied"
    algorithm = document.get("digestSignatureAlgorithm")
    if algorithm != "SHA256withRSA":
        return f"unsupported signature algorithm {algorithm!r}"
    fingerprint = str(document.get("digestPublicKeyFingerprint", "")).lower()
    if fingerprint not in public_keys:
        return f"no public key with fingerprint {fingerprint!r} among the {len(public_keys)} given"
    try:
        public_key = load_der_public_key(public_keys[fingerprint])
        if not isinstance(public_key, RSAPublicKey):
            return f"public key {fingerprint} is not an RSA key"
        public_key.verify(bytes.fromhex(signature_hex), signing_string(document, content), PKCS1v15(), SHA256())
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        return "the signature does not match the digest"
    return None
