"""What an operator sees (issue 20, items 6, 7 and 17), each through the real command in a
subprocess: a missing bucket or source refused before any work in one line naming the location at
fault, `sql` without credentials in one line, Dask's console as quiet as threads', the help
listing every command, and garbage in the trail named as rejected files."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, a_record, gz, log_key, other_record, route53_record

pytestmark = pytest.mark.slow  # each test runs the command in a subprocess: make check leaves them to make test

ACCT = "123456789012"
DAY = "2026-11-02"


def cli(*args: str, env: dict | None = None, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**environment, "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true", **(env or {})})


def one_line(result: subprocess.CompletedProcess) -> str:
    """The only line on stderr, with nothing of a traceback, DuckDB's internals or a secret anywhere."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "LINE 1" not in text, text
    assert os.environ.get("AWS_SECRET_ACCESS_KEY", "never-set") not in text
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def a_log(day: str = DAY) -> bytes:
    return gz([route53_record("e1", f"{day}T10:00:00Z", a_record("e1.example.com.", "192.0.2.1"))])


@pytest.fixture
def s3_trail(s3, bucket) -> str:
    s3.pipe(f"{bucket}/pfx/{log_key(ACCT, DAY)}", a_log())
    return bucket


@pytest.mark.parametrize("prefect", [False, True], ids=["no-prefect", "prefect"])
def test_a_missing_lake_bucket_is_refused_before_any_work_naming_the_lake(s3_trail, s3, prefect):
    """Before: every file was read, then 'RunFailed: 1 part(s) of the run failed, the rest was published'."""
    started = time.monotonic()
    result = cli(*(["--no-prefect"] if prefect is False else []), "--workers", "1", "--source", f"s3://{s3_trail}/pfx",
                 "--lake", "s3://no-such-lake-bucket/route53", "--day", DAY)
    line = one_line(result)
    assert result.returncode == 2
    assert line == ("error: lake: the S3 bucket no-such-lake-bucket does not exist; create it, "
                    "or give the lake (--lake) a bucket that exists")
    assert "publishing" not in result.stdout and "published" not in line  # refused before the flow, or any read, started
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(("source", "words"), [
    ("s3://no-such-source-bucket/pfx", "error: source: the S3 bucket no-such-source-bucket does not exist; check the source (--source)"),
    ("s3://{bucket}/wrong", "error: source: s3://{bucket}/wrong/AWSLogs/ is missing or empty; check the source prefix (--source)"),
], ids=["missing-bucket", "wrong-prefix"])
def test_a_wrong_source_says_the_source_is_wrong_not_the_lake(s3_trail, s3, source, words):
    s3.mkdir(f"lake-{s3_trail}")
    result = cli("--no-prefect", "--workers", "1", "--source", source.format(bucket=s3_trail), "--lake", f"s3://lake-{s3_trail}/r",
                 "--day", DAY)
    line = one_line(result)
    assert result.returncode == 2 and line.startswith(words.format(bucket=s3_trail)) and "--lake" not in line
    assert s3.ls(f"lake-{s3_trail}") == []  # nothing written


def test_an_account_that_the_source_does_not_hold_is_named(s3_trail, s3):
    s3.mkdir(f"lake-{s3_trail}")
    result = cli("--no-prefect", "--source", f"s3://{s3_trail}/pfx", "--lake", f"s3://lake-{s3_trail}/r", "--day", DAY,
                 "--account", "111111111111")
    assert result.returncode == 2 and "holds no account folder of accounts 111111111111" in one_line(result)
    assert "the accounts (--account)" in one_line(result)


def test_sql_on_an_s3_lake_without_credentials_says_what_is_missing_in_one_line(s3_endpoint, tmp_path):
    result = cli("sql", "--lake", "s3://some-lake-bucket/route53", "-c", "select count(*) from events",
                 env={"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")},
                 drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"))
    assert result.returncode == 2
    assert one_line(result) == ("error: no AWS credentials found to read the lake s3://some-lake-bucket/route53: set AWS_PROFILE, "
                                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an instance or task role")


def test_sql_on_a_missing_bucket_says_so_in_one_line_without_the_secret(s3_endpoint):
    """Refused as any place without a lake is, by `sql` and `latest` alike (exit 1, one line)."""
    result = cli("sql", "--lake", "s3://no-such-lake-bucket/route53", "-c", "select count(*) from events")
    assert result.returncode == 1
    assert one_line(result).startswith("error: no lake at s3://no-such-lake-bucket/route53: none of events/")
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr


def test_help_lists_every_command_and_each_calls_itself_by_its_name():
    top = cli("--help")
    assert top.returncode == 0
    for command in ("run", "latest", "sql", "ddl", "automations"):
        assert f"\n  {command} " in top.stdout, command
        if command != "run":
            own = cli(command, "--help")
            assert own.returncode == 0 and own.stdout.startswith(f"usage: route53-lake {command} "), own.stdout[:80]
    assert "python -m" not in cli("sql", "--help").stdout


def put(root: Path, name: str, data: bytes) -> None:
    path = root / log_key(ACCT, DAY, name[:4], unique=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


GARBAGE = {  # decompresses, but is no CloudTrail log: each must be named in the run's totals and the quarantine
    "1000XmlErrorPage": (gzip.compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>'), "not_json"),
    "1100JsonNoRecords": (gzip.compress(b'{"message": "Internal error", "code": 500}'), "not_a_log_file"),
    "1200JsonArray": (gzip.compress(b'[{"eventSource": "s3.amazonaws.com"}]'), "not_a_log_file"),
}


def test_files_in_the_trail_that_are_not_log_files_are_rejected_with_their_kind(tmp_path):
    """Before: passed over silently as 'not parsed', like a log file without Route 53 records."""
    source = tmp_path / "trail"
    put(source, "0900RouteFiftyThree", a_log())
    put(source, "0930OtherServices", gz([other_record(i, f"{DAY}T09:30:00Z") for i in range(5)]))
    for name, (data, _) in GARBAGE.items():
        put(source, name, data)
    result = cli("--no-prefect", "--workers", "1", "--source", str(source), "--lake", str(tmp_path / "lake"), "--day", DAY)
    assert result.returncode == 0, result.stderr
    assert ("5 file(s), 1 record(s), 1 Route 53 -> 1 event(s), 1 record change(s), 1 file(s) not parsed (they name no selected "
            "eventSource; their records are not counted), 3 file(s) rejected (2 not_a_log_file, 1 not_json)") in result.stdout
    rows = duckdb.sql(f"select source_file, error_kind from read_parquet('{tmp_path}/lake/quarantine/**/*.parquet') order by 1").fetchall()
    assert [(Path(f).name.split("_")[-1].removesuffix(".json.gz"), k) for f, k in rows] == [
        (name, kind) for name, (_, kind) in sorted(GARBAGE.items())]


@pytest.mark.slow
def test_a_dask_run_prints_warnings_only_as_a_threads_run_does(tmp_path):
    """Before: every INFO line of every task run on a Dask worker reached the console."""
    source = tmp_path / "trail"
    put(source, "0900RouteFiftyThree", a_log())
    put(source, "1000XmlErrorPage", GARBAGE["1000XmlErrorPage"][0])
    outputs = {}
    for runner in ("threads", "dask"):
        result = cli("--source", str(source), "--lake", str(tmp_path / f"lake-{runner}"), "--day", DAY, "--task-runner", runner)
        assert result.returncode == 0, result.stderr
        flow_lines = [line for line in (result.stdout + result.stderr).splitlines() if " | " in line and "Starting temporary server" not in line]
        outputs[runner] = [line.split(" | ", 1)[1].replace(f"lake-{runner}", "LAKE") for line in flow_lines]  # without the time
    assert outputs["dask"] and all(line.startswith(("WARNING", "ERROR")) for line in outputs["dask"]), outputs["dask"]
    assert any("quarantined" in line and "XmlErrorPage" in line for line in outputs["dask"])
    assert outputs["dask"] == outputs["threads"], outputs


@pytest.mark.parametrize(("missing", "option"), [
    ("no CloudTrail logs: s3://trail-bucket/pfx/AWSLogs/ is missing or empty", "--source"),
    ("lake-bucket/route53/_manifests/delivery_date=2026-11-02/x.json", "--lake"),
    ("somewhere/else", "--source and --lake"),
])
def test_a_file_missing_during_a_run_names_the_option_of_its_location(missing, option):
    from flows.cli.errors import explain_failure

    line = explain_failure(FileNotFoundError(missing), "s3://trail-bucket/pfx", "s3://lake-bucket/route53")
    assert line == f"not found: {missing}; check {option}"
