"""Completeness and integrity against CloudTrail digest files."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
from datetime import UTC, date, datetime

import boto3
import pytest

from flows.lake.manifests import MANIFESTS
from flows.pipeline import run_without_prefect
from flows.results import DigestMismatchError
from flows.settings import LakeSettings
from tests.conftest import DATA, a_record, gz, route53_record
from transforms.cloudtrail.integrity import Digest, PromisedFile, check, parse_public_keys, signature_problem, signing_string

DAY = date(2026, 11, 1)
FOLDER = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01/"


@pytest.fixture
def sample_copy(tmp_path):
    """A copy of the sample tree; its 2026-11-01 digest covers 11:00-12:00 and lists two files."""
    shutil.copytree(DATA / "cloudtrail", tmp_path / "trail")
    digest_path = next((tmp_path / "trail").rglob("*CloudTrail-Digest*.json.gz"))
    digest = json.loads(gzip.decompress(digest_path.read_bytes()))
    return tmp_path, [f["s3Object"] for f in digest["logFiles"]], digest


def digest_check(root, policy="record"):
    settings = LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), accounts=["123456789012"], digest_policy=policy)
    run_without_prefect(settings, [DAY])
    (manifest,) = (root / "lake" / MANIFESTS / "delivery_date=2026-11-01").glob("*.json")
    return json.loads(manifest.read_text())["digest_check"]


def test_untouched_sample_agrees_with_its_digest(sample_copy):
    root, listed, _ = sample_copy
    found = digest_check(root)
    assert found["ok"] and found["checked"] == len(listed) == 2 and found["digests"] == 1


def test_altered_missing_and_unlisted_files_are_found(sample_copy):
    root, listed, digest = sample_copy
    altered, removed = listed
    (root / "trail" / altered).write_bytes(gz([route53_record("forged", "2026-11-01T11:10:00Z", a_record("evil.example.com.", "203.0.113.66"))]))
    (root / "trail" / removed).unlink()
    extra = f"{FOLDER}123456789012_CloudTrail_us-east-1_20261101T1130Z_SneakyAbCdEfGhIj.json.gz"
    (root / "trail" / extra).write_bytes(gz([]))
    found = digest_check(root)
    assert (found["hash_mismatch"], found["missing"], found["unlisted"], found["ok"]) == ([altered], [removed], [extra], False)


def test_policy_fail_publishes_the_day_then_fails_the_run(sample_copy):
    root, listed, _ = sample_copy
    (root / "trail" / listed[0]).unlink()
    with pytest.raises(DigestMismatchError, match="1 missing"):
        digest_check(root, policy="fail")
    (manifest,) = (root / "lake" / MANIFESTS / "delivery_date=2026-11-01").glob("*.json")
    assert json.loads(manifest.read_text())["digest_check"]["missing"] == [listed[0]]


def test_policy_off_skips_the_check(sample_copy):
    assert digest_check(sample_copy[0], policy="off") is None


def test_a_file_on_a_window_boundary_or_outside_every_window_is_not_judged():
    window = Digest(datetime(2026, 11, 1, 11, 0, 30, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC), ())
    delivered = {FOLDER + "a": datetime(2026, 11, 1, 11, 0, tzinfo=UTC),   # may belong to the previous window
                 FOLDER + "b": datetime(2026, 11, 1, 11, 30, tzinfo=UTC),  # inside: must be listed
                 FOLDER + "c": datetime(2026, 11, 1, 23, 55, tzinfo=UTC)}  # its digest is written tomorrow
    assert check(FOLDER, delivered, {}, [window]).unlisted == [FOLDER + "b"]


def test_promised_files_of_other_folders_are_ignored():
    digest = Digest(datetime(2026, 11, 1, 11, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC),
                    (PromisedFile("AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/01/x", "00"),))
    assert check(FOLDER, {}, {}, [digest]).missing == []


# --- Signatures: CloudTrail signs each digest (SHA256withRSA); the signature is S3 metadata. ---

def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def keys_json(private_key, fingerprint: str) -> bytes:
    """What `aws cloudtrail list-public-keys` prints: base64 of the DER (PKCS#1) public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = private_key.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)
    entry = {"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint,
             "ValidityStartTime": "2026-01-01T00:00:00Z", "ValidityEndTime": "2027-01-01T00:00:00Z"}
    return json.dumps({"PublicKeyList": [entry]}).encode()


def sign(private_key, document: dict, content: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    return private_key.sign(signing_string(document, content), PKCS1v15(), SHA256()).hex()


def test_signing_string_is_the_documented_four_lines():
    document = {"digestEndTime": "2015-08-17T15:01:31Z", "digestS3Bucket": "b", "digestS3Object": "AWSLogs/x.json.gz",
                "previousDigestSignature": None}
    lines = signing_string(document, b"{}").decode().split("\n")
    assert lines == ["2015-08-17T15:01:31Z", "b/AWSLogs/x.json.gz", hashlib.sha256(b"{}").hexdigest(), "null"]


def test_signature_verifies_and_every_kind_of_tampering_is_named():
    key, other = rsa_key(), rsa_key()
    keys = parse_public_keys(json.loads(keys_json(key, "ab12")))
    document = {"digestEndTime": "2026-11-01T12:00:00Z", "digestS3Bucket": "b", "digestS3Object": "d.json.gz",
                "digestPublicKeyFingerprint": "AB12", "digestSignatureAlgorithm": "SHA256withRSA",
                "previousDigestSignature": "00ff"}
    content = json.dumps(document).encode()
    good = sign(key, document, content)
    assert signature_problem("b/d.json.gz", document, content, good, keys) is None
    assert "does not match" in signature_problem("b/d.json.gz", document, content + b" ", good, keys)
    assert "does not match" in signature_problem("b/d.json.gz", document, content, sign(other, document, content), keys)
    assert "does not match" in signature_problem("b/d.json.gz", document, content, "zz", keys)
    assert "moved or copied" in signature_problem("b/elsewhere.json.gz", document, content, good, keys)
    assert "no signature" in signature_problem("b/d.json.gz", document, content, None, keys)
    assert "no public key" in signature_problem("b/d.json.gz", {**document, "digestPublicKeyFingerprint": "cd"}, content, good, keys)
    assert "unsupported" in signature_problem("b/d.json.gz", {**document, "digestSignatureAlgorithm": "MD5withRSA"}, content, good, keys)


def test_public_keys_file_must_have_the_cli_shape():
    with pytest.raises(ValueError, match="list-public-keys"):
        parse_public_keys([{"Value": "x"}])
    with pytest.raises(ValueError, match="base64"):
        parse_public_keys({"PublicKeyList": [{"Value": "not base64!", "Fingerprint": "a"}]})


def test_verify_needs_public_keys():
    with pytest.raises(ValueError, match="digest_public_keys"):
        LakeSettings(digest_signatures="verify")


class SignedTrail:
    """The sample tree in a bucket, its digest re-signed with a test key as CloudTrail would have
    signed it, and the public keys saved where `--digest-public-keys` can name them."""

    def __init__(self, s3, bucket: str) -> None:
        self.bucket, self.key = bucket, rsa_key()
        tree = DATA / "cloudtrail"
        for path in tree.rglob("*.json.gz"):
            s3.pipe(f"{bucket}/{path.relative_to(tree)}", path.read_bytes())
        self.digest_key = str(next(tree.rglob("*CloudTrail-Digest*.json.gz")).relative_to(tree))
        self.document = json.loads(gzip.decompress((tree / self.digest_key).read_bytes()))
        self.document["digestS3Bucket"] = bucket
        self.content = json.dumps(self.document).encode()
        self.put_digest(self.document, sign(self.key, self.document, self.content))
        self.public_keys = f"s3://{bucket}/keys/public-keys.json"
        s3.pipe(self.public_keys.removeprefix("s3://"), keys_json(self.key, self.document["digestPublicKeyFingerprint"]))

    def put_digest(self, body: dict, signature: str) -> None:
        boto3.client("s3").put_object(Bucket=self.bucket, Key=self.digest_key, Body=gzip.compress(json.dumps(body).encode()),
                                      Metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"})

    def hide_a_file(self) -> None:
        """The digest rewritten to hide a log file, keeping the old signature."""
        self.put_digest({**self.document, "logFiles": self.document["logFiles"][:1]}, sign(self.key, self.document, self.content))


@pytest.mark.slow
def test_signed_digests_verify_on_s3_and_a_rewritten_digest_does_not(s3, bucket, tmp_path):
    signed = SignedTrail(s3, bucket)
    settings = LakeSettings(source=f"s3://{bucket}", lake=str(tmp_path / "lake"), accounts=["123456789012"],
                            digest_signatures="verify", digest_public_keys=signed.public_keys)

    def findings() -> dict:
        run_without_prefect(settings, [DAY])
        (manifest,) = (tmp_path / "lake" / MANIFESTS / "delivery_date=2026-11-01").glob("*.json")
        return json.loads(manifest.read_text())["digest_check"]

    first = findings()
    assert (first["ok"], first["signatures_verified"], first["checked"], first["bad_signatures"]) == (True, 1, 2, [])

    signed.hide_a_file()
    second = findings()
    assert second["ok"] is False and second["signatures_verified"] == 0
    assert second["bad_signatures"] == [f"{signed.digest_key}: the signature does not match the digest"]


def test_a_corrupt_file_a_digest_lists_is_altered(sample_copy):
    root, listed, _ = sample_copy
    (root / "trail" / listed[0]).write_bytes(b"not gzip at all")
    assert digest_check(root)["hash_mismatch"] == [listed[0]]
