"""The reported operator-safety failures (shared repros 08, 09, 10, 11, 14, 15), each as a real
command line in a subprocess: nothing outside the roots, no credential in any output, arguments
refused before any work (exit 2), one line and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT, a_record, gz, log_key, route53_record

ACCT = "123456789012"
DAY = "2026-11-02"
KEY, SECRET = "AKIAFAKEEXAMPLE00000", "fakesecretvalue0000"


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def put(root: Path, stamp: str = "1205", unique: str = "AbCdEfGhIjKlMnOp") -> Path:
    path = root / log_key(ACCT, DAY, stamp, unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz([route53_record("e1", f"{DAY}T10:00:00Z", a_record("e1.example.com.", "192.0.2.1"))]))
    return path


def one_clean_line(result: subprocess.CompletedProcess) -> str:
    """The error line, asserting it is the only line and nothing leaked."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text and SECRET not in text and KEY not in text, text
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_repro08_root_source_is_not_the_current_directory(tmp_path):
    scratch = tmp_path / "cwd"
    put(scratch)  # ./AWSLogs in the current directory only
    result = cli("--no-prefect", "--workers", "1", "--source", "/", "--lake", str(tmp_path / "lake"), "--day", DAY, cwd=scratch)
    assert result.returncode == 2 and "is inside source /" in one_clean_line(result)
    assert str(scratch) not in result.stdout + result.stderr
    assert sorted(p.name for p in scratch.iterdir()) == ["AWSLogs"] and not (tmp_path / "lake").exists()


def test_repro08_root_lake_is_refused_and_writes_nothing_here(tmp_path):
    put(tmp_path / "trail")
    result = cli("--no-prefect", "--workers", "1", "--source", str(tmp_path / "trail"), "--lake", "/", "--day", DAY, cwd=tmp_path)
    assert result.returncode == 2 and "filesystem root" in one_clean_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trail"]


def test_repro09_a_linked_lake_folder_receives_nothing(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / f"event_date={DAY}").symlink_to(outside)
    put(tmp_path / "src")
    result = cli("--no-prefect", "--workers", "1", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--day", DAY)
    assert result.returncode == 1 and "is a symbolic link" in one_clean_line(result)
    assert list(outside.iterdir()) == []


def test_repro09_a_log_named_link_in_the_source_is_not_read(tmp_path):
    secret_file = tmp_path / "outside.txt"
    secret_file.write_text("root:x:0:0:OUTSIDE-BYTES\n")
    put(tmp_path / "src")
    put(tmp_path / "src", "1300", "LinkLinkLinkLink").unlink()
    (tmp_path / "src" / log_key(ACCT, DAY, "1300", unique="LinkLinkLinkLink")).symlink_to(secret_file)
    result = cli("--no-prefect", "--workers", "1", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--day", DAY)
    assert result.returncode == 1 and "LinkLinkLinkLink.json.gz: it is a symbolic link" in one_clean_line(result)
    assert "OUTSIDE-BYTES" not in result.stdout + result.stderr
    lake_files = [p for p in (tmp_path / "lake").rglob("*") if p.is_file()] if (tmp_path / "lake").exists() else []
    assert not any(b"OUTSIDE-BYTES" in p.read_bytes() for p in lake_files)


@pytest.mark.parametrize("args", [
    ["ddl", "--engine", "duckdb", "--location", f"s3://{KEY}:{SECRET}@bucket/route53"],
    ["ddl", "--engine", "athena", "--location", f"s3://{KEY}:{SECRET}@bucket/route53"],
    ["latest", "--lake", f"s3://{KEY}:{SECRET}@bucket/route53"],
    ["--no-prefect", "--source", f"s3:/{KEY}:{SECRET}@bucket", "--lake", "LAKE", "--day", DAY],
    ["--no-prefect", "--source", f"s3://{KEY}:{SECRET}@bucket/route53", "--lake", "LAKE", "--day", DAY],
    ["--no-prefect", "--source", "s3://trail-bucket", "--lake", f"s3:{KEY}:{SECRET}@bucket", "--day", DAY],
], ids=["ddl-duckdb", "ddl-athena", "latest", "run-one-slash", "run", "run-no-slash"])
def test_repro10_credentials_in_a_location_are_refused_and_never_printed(tmp_path, args):
    env = {"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0000", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
           "AWS_DEFAULT_REGION": "us-east-1"}
    result = cli(*[str(tmp_path / "lake") if a == "LAKE" else a for a in args], env=env)
    assert result.returncode == 2
    one_clean_line(result)


def test_repro11_latest_answers_in_one_line(tmp_path):
    put(tmp_path / "src")
    assert cli("--no-prefect", "--workers", "1", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--day", DAY).returncode == 0
    negative = cli("latest", "--lake", str(tmp_path / "lake"), "--limit", "-1")
    assert negative.returncode == 2 and "--limit" in one_clean_line(negative)
    bad_bucket = cli("latest", "--lake", "s3://x")
    assert bad_bucket.returncode == 2 and "not a valid S3 bucket name" in one_clean_line(bad_bucket)
    mistyped = cli("latest", "--lake", str(tmp_path / "laek"))
    assert mistyped.returncode == 1 and "no lake at" in one_clean_line(mistyped) and mistyped.stdout == ""


def test_repro14_arguments_are_refused_before_any_work(tmp_path):
    put(tmp_path / "src")
    base = ("--no-prefect", "--workers", "1", "--source", str(tmp_path / "src"), "--day", DAY)
    keys = ("--digest-signatures", "verify", "--digest-public-keys", str(tmp_path / "nonexistent" / "keys.json"))
    no_digest = cli(*base, "--lake", str(tmp_path / "l1"), *keys)
    digest_dir = tmp_path / "src" / "AWSLogs" / ACCT / "CloudTrail-Digest" / "us-east-1" / "2026" / "11" / "02"
    digest_dir.mkdir(parents=True)
    (digest_dir / f"{ACCT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261102T130000Z.json.gz").write_bytes(gz({}))
    with_digest = cli(*base, "--lake", str(tmp_path / "l2"), *keys)
    for result in (no_digest, with_digest):
        assert result.returncode == 2 and "digest_public_keys: cannot read" in one_clean_line(result)
    for workers in ("0", "-3"):
        result = cli("--no-prefect", "--workers", workers, "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "l3"), "--day", DAY)
        assert result.returncode == 2 and "--workers" in one_clean_line(result)
    days = [a for i in range(800) for a in ("--day", (date(2024, 1, 1) + timedelta(days=i)).isoformat())]
    many = cli("--no-prefect", "--workers", "1", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "l5"), *days)
    assert many.returncode == 2 and "at most 731" in one_clean_line(many)
    assert not any((tmp_path / f"l{n}").exists() for n in range(1, 6))


@pytest.mark.slow
def test_repro15_an_s3_prefix_with_an_empty_segment_is_refused(s3, bucket, tmp_path):
    s3.pipe(f"{bucket}/pfx/{log_key(ACCT, DAY)}", gz([route53_record("e1", f"{DAY}T10:00:00Z", a_record("e1.example.com.", "192.0.2.1"))]))
    s3.mkdir(f"lake-{bucket}")
    good = cli("--no-prefect", "--workers", "1", "--source", f"s3://{bucket}/pfx", "--lake", f"s3://lake-{bucket}/a", "--day", DAY)
    assert good.returncode == 0, good.stderr
    doubled = cli("--no-prefect", "--workers", "1", "--source", f"s3://{bucket}//pfx", "--lake", f"s3://lake-{bucket}/b", "--day", DAY)
    assert doubled.returncode == 2 and f"write s3://{bucket}/pfx" in one_clean_line(doubled)
    fake_key, fake_secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    assert not any(v in good.stdout + good.stderr + doubled.stdout + doubled.stderr for v in (fake_key, fake_secret))


@pytest.mark.slow
def test_a_failed_prefect_run_prints_one_line_and_keeps_the_traceback_in_the_run_log(prefect_server, tmp_path):
    """Without --no-prefect, Prefect's console used to print two whole tracebacks before the line."""
    import prefect.settings as ps
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / f"event_date={DAY}").symlink_to(outside)
    put(tmp_path / "src")
    result = cli("--source", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--day", DAY,
                 env={"PREFECT_API_URL": ps.PREFECT_API_URL.value()})
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "is a symbolic link" in errors[0] and list(outside.iterdir()) == []
    with get_client(sync_client=True) as client:
        run = next(r for r in client.read_flow_runs() if r.state and r.state.is_failed() and r.flow_id and
                   "symbolic link" in (r.state.message or ""))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert any("Traceback (most recent call last)" in log.message for log in logs)  # the run's log keeps it
