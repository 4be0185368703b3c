"""Completeness and integrity against CloudTrail digest files."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, date, datetime

import pytest

from flows.pipeline import MANIFESTS, DigestMismatchError, run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import DATA, a_record, gz, route53_record
from transforms.integrity import Digest, PromisedFile, check

DAY = date(2026, 11, 1)
FOLDER = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01/"


@pytest.fixture
def trail(tmp_path):
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


def test_untouched_sample_agrees_with_its_digest(trail):
    root, listed, _ = trail
    found = digest_check(root)
    assert found["ok"] and found["checked"] == len(listed) == 2 and found["digests"] == 1


def test_altered_missing_and_unlisted_files_are_found(trail):
    root, listed, digest = trail
    altered, removed = listed
    (root / "trail" / altered).write_bytes(gz([route53_record("forged", "2026-11-01T11:10:00Z", a_record("evil.example.com.", "203.0.113.66"))]))
    (root / "trail" / removed).unlink()
    extra = f"{FOLDER}123456789012_CloudTrail_us-east-1_20261101T1130Z_SneakyAbCdEfGhIj.json.gz"
    (root / "trail" / extra).write_bytes(gz([]))
    found = digest_check(root)
    assert (found["hash_mismatch"], found["missing"], found["unlisted"], found["ok"]) == ([altered], [removed], [extra], False)


def test_policy_fail_publishes_the_day_then_fails_the_run(trail):
    root, listed, _ = trail
    (root / "trail" / listed[0]).unlink()
    with pytest.raises(DigestMismatchError, match="1 missing"):
        digest_check(root, policy="fail")
    (manifest,) = (root / "lake" / MANIFESTS / "delivery_date=2026-11-01").glob("*.json")
    assert json.loads(manifest.read_text())["digest_check"]["missing"] == [listed[0]]


def test_policy_off_skips_the_check(trail):
    assert digest_check(trail[0], policy="off") is None


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
