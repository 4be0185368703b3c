"""S3 faults injected at the HTTP level (throttling, 500s, connection resets) while listing,
reading and publishing: retries recover; a fault that outlasts them fails the run with a clear
message; a rerun then gives the same lake as a clean run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from flows.pipeline import run_without_prefect
from flows.route53_lake import route53_lake
from flows.settings import LakeSettings
from tests.conftest import ROOT, a_record, log_key, other_record, put_trail, route53_record, without_run_ids
from tests.fault_proxy import FaultProxy

ACCT = "123456789012"
pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(s3_endpoint, monkeypatch):
    """Clients go through the proxy; the SDK gives up after 2 attempts so faults reach our retries."""
    faults = FaultProxy(s3_endpoint)
    endpoint = faults.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    yield faults
    faults.stop()


@pytest.fixture
def s3_three_files(s3, bucket):
    """(source, lake): one delivery day of three files in the loopback S3 server, an empty lake bucket."""
    source = put_trail(s3, bucket, {
        log_key(ACCT, "2026-11-01", f"0{n}05", unique=f"File{n}AbCdEfGhIjK"): [
            route53_record(f"e{n}", f"2026-11-01T0{n}:00:00Z", a_record(f"r{n}.example.com.", "192.0.2.1")),
            other_record(n, "2026-11-01T01:00:00Z")] for n in range(3)})
    s3.mkdir(f"lake-{bucket}")
    return source, f"s3://lake-{bucket}"


def lake_of(s3, lake: str) -> dict[str, bytes]:
    s3.invalidate_cache()
    root = lake.removeprefix("s3://")
    return {k.removeprefix(root): without_run_ids(k.removeprefix(root + "/"), s3.cat_file(k)) for k in s3.find(root)
            if not k.removeprefix(root + "/").startswith("_state/")}  # as tests.conftest.lake_files


def clean_lake(s3, source: str, lake: str) -> dict[str, bytes]:
    run_without_prefect(LakeSettings(source=source, lake=f"{lake}/clean"), [date(2026, 11, 1)])
    return lake_of(s3, f"{lake}/clean")


def test_transient_faults_in_listing_reading_and_publishing_are_retried(prefect_server, s3, s3_three_files, proxy):
    source, lake = s3_three_files
    expected = clean_lake(s3, source, lake)
    proxy.add("GET", r"list-type=2", "503", 2)           # throttled while listing
    proxy.add("GET", r"File1AbCdEfGhIjK", "reset", 2)   # connection reset while reading a log file
    proxy.add("PUT", r"/events/", "500", 2)              # server error while publishing
    route53_lake(start=date(2026, 11, 1), source=source, lake=f"{lake}/faulty")
    assert {fault for _, _, fault in proxy.injected} == {"503", "reset", "500"}
    assert lake_of(s3, f"{lake}/faulty") == expected


def test_a_fault_that_outlasts_the_retries_fails_clearly_and_a_rerun_converges(s3, s3_three_files, proxy):
    source, lake = s3_three_files
    expected = clean_lake(s3, source, lake)
    proxy.add("GET", r"File2AbCdEfGhIjK", "503", -1)  # this object is throttled for good
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    args = [sys.executable, "-m", "flows.cli.main", "--source", source, "--lake", f"{lake}/faulty", "--start", "2026-11-01", "--no-prefect"]
    failed = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1 and "reduce your request rate" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    proxy.clear()
    assert subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=300).returncode == 0
    assert lake_of(s3, f"{lake}/faulty") == expected
