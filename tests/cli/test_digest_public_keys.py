"""`--digest-signatures verify --digest-public-keys s3://...` through the command line, against the
loopback S3 server: the public keys are read before any work (flows/checks.py), then every digest's
signature is verified. This line once failed with ImportError before any work, and no test saw it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.source.test_digests import SignedTrail

DAY = "2026-11-01"
ACCOUNT = "123456789012"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command as a person runs it, with this environment (the loopback S3 server's address and
    fake credentials) plus `env`."""
    environment = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=environment)


def verify(signed: SignedTrail, lake, *extra: str, public_keys: str | None = None, env: dict | None = None):
    return cli("--source", f"s3://{signed.bucket}", "--lake", str(lake), "--start", DAY, "--account", ACCOUNT,
               "--workers", "1", "--digest-signatures", "verify", "--digest-public-keys", public_keys or signed.public_keys,
               *extra, env=env)


def digest_check(lake) -> dict:
    (manifest,) = (lake / "_manifests" / f"delivery_date={DAY}").glob("*.json")
    return json.loads(manifest.read_text())["digest_check"]


@pytest.fixture
def signed(s3, bucket) -> SignedTrail:
    return SignedTrail(s3, bucket)


def test_verify_with_public_keys_on_s3_without_prefect(signed, tmp_path):
    result = verify(signed, tmp_path / "lake", "--no-prefect")
    assert result.returncode == 0, result.stderr
    found = digest_check(tmp_path / "lake")
    assert (found["ok"], found["signatures_verified"], found["bad_signatures"]) == (True, 1, [])


def test_a_rewritten_digest_fails_the_run_under_policy_fail(signed, tmp_path):
    signed.hide_a_file()
    result = verify(signed, tmp_path / "lake", "--no-prefect", "--digest-policy", "fail")
    assert result.returncode == 1 and "1 bad signature(s)" in result.stderr and "Traceback" not in result.stderr
    assert digest_check(tmp_path / "lake")["bad_signatures"] == [f"{signed.digest_key}: the signature does not match the digest"]


def test_public_keys_missing_from_s3_exit_2_before_any_work(signed, tmp_path):
    missing = f"s3://{signed.bucket}/keys/nowhere.json"
    result = verify(signed, tmp_path / "lake", "--no-prefect", public_keys=missing)
    assert result.returncode == 2 and f"digest_public_keys: cannot use {missing}" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "lake").exists()


@pytest.mark.slow
def test_verify_with_public_keys_on_s3_through_the_prefect_flow(prefect_server, signed, tmp_path):
    import prefect.settings as ps

    result = verify(signed, tmp_path / "lake", env={"PREFECT_API_URL": ps.PREFECT_API_URL.value()})
    assert result.returncode == 0, result.stderr
    found = digest_check(tmp_path / "lake")
    assert (found["ok"], found["signatures_verified"], found["bad_signatures"]) == (True, 1, [])
