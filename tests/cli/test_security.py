"""Security: encryption on write, no credential anywhere in output, hostile keys go nowhere."""

from __future__ import annotations

import logging
from datetime import date

import boto3
import pytest
from prefect import get_client

from flows.pipeline import run_without_prefect
from flows.route53_lake import route53_lake
from flows.settings import LakeSettings
from tests.conftest import a_record, gz, log_key, put_trail, route53_record

ACCT = "123456789012"
FAKE_KEY, FAKE_SECRET = "AKIATESTFAKEKEY00001", "fake-secret-never-logged-0001"  # set by the s3_endpoint fixture
pytestmark = pytest.mark.slow


@pytest.fixture
def s3_trail(s3, bucket):
    """(source, lake, lake bucket): one event and one file that is not gzip, in the loopback S3 server."""
    source = put_trail(s3, bucket, {
        log_key(ACCT, "2026-11-01"): [route53_record("e1", "2026-11-01T09:00:00Z", a_record("a.example.com.", "192.0.2.1"))],
        log_key(ACCT, "2026-11-01", "0300", unique="BrokenAbCdEfGhIj"): b"not gzip"})
    s3.mkdir(f"lake-{bucket}")
    return source, f"s3://lake-{bucket}/route53", f"lake-{bucket}"


def objects(s3, bucket: str) -> list[str]:
    s3.invalidate_cache()
    return s3.find(bucket)


def test_objects_are_written_with_sse_s3_by_default(s3_endpoint, s3, s3_trail):
    source, lake, lake_bucket = s3_trail
    run_without_prefect(LakeSettings(source=source, lake=lake), [date(2026, 11, 1)])
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    keys = objects(s3, lake_bucket)
    assert keys and {client.head_object(Bucket=lake_bucket, Key=k.split("/", 1)[1])["ServerSideEncryption"] for k in keys} == {"AES256"}


def test_objects_are_written_with_sse_kms_and_the_given_key(s3_endpoint, s3, s3_trail):
    source, lake, lake_bucket = s3_trail
    key_id = boto3.client("kms", endpoint_url=s3_endpoint).create_key()["KeyMetadata"]["KeyId"]
    settings = LakeSettings(source=source, lake=lake, server_side_encryption="aws:kms", kms_key_id=key_id)
    run_without_prefect(settings, [date(2026, 11, 1)])
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    for k in objects(s3, lake_bucket):
        head = client.head_object(Bucket=lake_bucket, Key=k.split("/", 1)[1])
        assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


def test_no_credential_in_logs_artifacts_manifests_or_parquet(prefect_server, s3, s3_trail, caplog, capfd):
    source, lake, lake_bucket = s3_trail
    caplog.set_level(logging.DEBUG)
    route53_lake(start=date(2026, 11, 1), source=source, lake=lake)
    out, err = capfd.readouterr()
    texts = [caplog.text, out, err]
    texts += [s3.cat_file(k).decode("latin-1") for k in objects(s3, lake_bucket)]
    with get_client(sync_client=True) as client:
        texts += [str(a.data) + str(a.description) for a in client.read_artifacts()]
    assert len(texts) > 5 and any("quarantined" in t for t in texts)  # we did look at real output
    for text in texts:
        assert FAKE_KEY not in text and FAKE_SECRET not in text


def test_hostile_keys_are_skipped_and_nothing_is_written_outside_the_lake(s3, s3_trail):
    source, lake, lake_bucket = s3_trail
    bucket = source.removeprefix("s3://")
    day = f"{bucket}/AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/11/01"
    hostile = [f"{day}/../../../../escape.json.gz", f"{day}/{'x' * 900}.json.gz", f"{day}/bad\x07name.json.gz",
               f"{day}/{ACCT}_CloudTrail_us-east-1_20261101T0900Z_..%2F..%2Fetc.json.gz"]
    for key in hostile:
        s3.pipe(key, gz([route53_record("h", "2026-11-01T09:00:00Z")]))
    before = set(objects(s3, bucket))
    run = run_without_prefect(LakeSettings(source=source, lake=lake), [date(2026, 11, 1)])
    assert run.total("events_written") == 1  # only the real log file's event
    assert set(objects(s3, bucket)) == before  # the source is never written
    assert all(k.startswith(f"{lake_bucket}/route53/") for k in objects(s3, lake_bucket))
