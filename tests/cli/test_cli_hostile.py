"""Every command (`run`, `latest`, `ddl`) given hostile and mistaken arguments: the exit status
says which (1 the run failed, 2 bad arguments), stderr is one line that says what to change, and
neither stream carries a traceback or a secret. Called through `main`, the console script's entry
point, as `.venv/bin/route53-lake` calls it."""

from __future__ import annotations

import errno
from datetime import date, timedelta

import pytest

from flows.cli.errors import explain_failure
from flows.cli.main import main
from tests.conftest import a_record, gz, log_key, route53_record

KEY, SECRET = "AKIAHOSTILEKEY000000", "hostile-secret-value-0000"
CREDENTIALED = f"s3://{KEY}:{SECRET}@bucket/route53"
DAY = "2026-11-01"
EIGHT_HUNDRED_DAYS = [a for i in range(800) for a in ("--day", (date(2024, 1, 1) + timedelta(days=i)).isoformat())]
RUN = ["--no-prefect", "--workers", "1", "--source", "trail", "--day", DAY]

CASES = [
    # run: locations
    ("run-lake-root", [*RUN, "--lake", "/"], 2, "'/' is the filesystem root"),
    ("run-source-root", ["--no-prefect", "--source", "/", "--lake", "lake", "--day", DAY], 2, "is inside source /"),
    ("run-lake-in-source", [*RUN, "--lake", "trail/lake"], 2, "is inside source"),
    ("run-source-in-lake", ["--no-prefect", "--source", "lake/trail", "--lake", "lake", "--day", DAY], 2, "is inside lake"),
    ("run-same-folder", [*RUN, "--lake", "trail/"], 2, "same location"),
    ("run-credentials", [*RUN, "--lake", CREDENTIALED], 2, "credentials"),
    ("run-credentials-source", ["--no-prefect", "--source", CREDENTIALED, "--lake", "lake", "--day", DAY], 2, "credentials"),
    ("run-one-slash", [*RUN, "--lake", f"s3:/{KEY}:{SECRET}@bucket"], 2, "two slashes"),
    ("run-no-slash", [*RUN, "--lake", f"s3:{KEY}:{SECRET}@bucket"], 2, "two slashes"),
    ("run-bare-user-info", [*RUN, "--lake", f"{KEY}:{SECRET}@bucket/x"], 2, "looks like credentials"),
    ("run-https", [*RUN, "--lake", f"https://{KEY}:{SECRET}@example.com/x"], 2, "https:// is not supported"),
    ("run-double-slash", [*RUN, "--lake", "s3://lake-bucket//route53"], 2, "empty segment"),
    ("run-bad-bucket", [*RUN, "--lake", "s3://x"], 2, "not a valid S3 bucket name"),
    ("run-newline", [*RUN, "--lake", "lake\nx"], 2, "control character"),
    ("run-lake-is-a-file", [*RUN, "--lake", "afile"], 2, "is a file, not a folder"),
    ("run-positional-secret", [*RUN, CREDENTIALED], 2, "unrecognized arguments"),
    # run: numbers, days, digests
    ("run-workers-0", [*RUN, "--workers", "0"], 2, "--workers: expected a whole number from 1"),
    ("run-workers-negative", [*RUN, "--workers", "-3"], 2, "--workers: expected a whole number from 1"),
    ("run-workers-word", [*RUN, "--workers", "many"], 2, "--workers: expected a whole number from 1"),
    ("run-workers-huge", [*RUN, "--workers", "100000"], 2, "--workers: expected a whole number from 1"),
    ("run-800-days", ["--no-prefect", "--source", "trail", "--lake", "lake", *EIGHT_HUNDRED_DAYS], 2, "800 delivery days in one run; at most 731"),
    ("run-bad-date", [*RUN, "--start", "2026-02-30"], 2, "is not a date like"),
    ("run-future", [*RUN, "--start", "2999-01-01"], 2, "is in the future"),
    ("run-range-too-long", [*RUN, "--start", "2020-01-01", "--end", "2026-01-01"], 2, "split runs longer than"),
    ("run-keys-missing", [*RUN, "--digest-signatures", "verify", "--digest-public-keys", "missing.json"], 2, "cannot read missing.json"),
    ("run-keys-wrong-shape", [*RUN, "--digest-signatures", "verify", "--digest-public-keys", "afile"], 2, "list-public-keys"),
    ("run-verify-without-keys", [*RUN, "--digest-signatures", "verify"], 2, "needs digest_public_keys"),
    ("run-bad-account", [*RUN, "--account", "12345"], 2, "not 12-digit"),
    ("run-bad-region", [*RUN, "--region", "../etc"], 2, "not AWS region names"),
    ("run-unknown-option", [*RUN, "--bogus"], 2, "unrecognized arguments: --bogus"),
    # run: failures of the run itself
    ("run-missing-source", ["--no-prefect", "--source", "nowhere", "--lake", "lake", "--day", DAY], 2, "source: no folder nowhere"),
    ("run-linked-partition", [*RUN, "--lake", "linked-lake"], 1, "is a symbolic link"),
    # latest
    ("latest-limit-negative", ["latest", "--lake", "lake", "--limit", "-1"], 2, "--limit: expected a whole number from 1"),
    ("latest-limit-zero", ["latest", "--lake", "lake", "--limit", "0"], 2, "--limit: expected a whole number from 1"),
    ("latest-limit-word", ["latest", "--lake", "lake", "--limit", "ten"], 2, "--limit: expected a whole number from 1"),
    ("latest-bad-bucket", ["latest", "--lake", "s3://x"], 2, "not a valid S3 bucket name"),
    ("latest-credentials", ["latest", "--lake", CREDENTIALED], 2, "credentials"),
    ("latest-one-slash", ["latest", "--lake", f"s3:/{KEY}:{SECRET}@bucket"], 2, "two slashes"),
    ("latest-mistyped-lake", ["latest", "--lake", "laek"], 1, "no lake at laek"),
    ("latest-unknown-option", ["latest", "--lake", "lake", "--limt", "3"], 2, "unrecognized arguments"),
    # ddl
    ("ddl-duckdb-credentials", ["ddl", "--engine", "duckdb", "--location", CREDENTIALED], 2, "credentials"),
    ("ddl-athena-credentials", ["ddl", "--engine", "athena", "--location", CREDENTIALED], 2, "credentials"),
    ("ddl-one-slash", ["ddl", "--engine", "duckdb", "--location", f"s3:/{KEY}:{SECRET}@bucket"], 2, "two slashes"),
    ("ddl-double-slash", ["ddl", "--location", "s3://lake-bucket//route53"], 2, "empty segment"),
    ("ddl-athena-local", ["ddl", "--engine", "athena", "--location", "lake"], 2, "Athena reads only S3"),
    ("ddl-bad-database", ["ddl", "--location", "s3://lake-bucket/r", "--database", "x;drop table"], 2, "lower snake_case"),
    ("ddl-bad-projection", ["ddl", "--location", "s3://lake-bucket/r", "--projection-start", "2014-13-01"], 2, "expected an ISO date"),
    ("ddl-bad-engine", ["ddl", "--engine", "mysql"], 2, "invalid choice: 'mysql'"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch, outside):
    """A current directory with a trail, a published lake, a plain file and a lake with a linked partition."""
    monkeypatch.chdir(tmp_path)
    key = log_key("123456789012", DAY)
    (tmp_path / "trail" / key).parent.mkdir(parents=True)
    (tmp_path / "trail" / key).write_bytes(gz([route53_record("e1", f"{DAY}T09:00:00Z", a_record("a.example.com.", "192.0.2.1"))]))
    (tmp_path / "afile").write_text("{}")
    (tmp_path / "linked-lake" / "events").mkdir(parents=True)
    (tmp_path / "linked-lake" / "events" / f"event_date={DAY}").symlink_to(outside)
    return tmp_path


@pytest.fixture
def outside(tmp_path_factory):
    return tmp_path_factory.mktemp("outside")


@pytest.mark.parametrize(("args", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_and_mistaken_arguments(workdir, outside, capfd, args, code, words):
    assert main(args) == code
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert words in lines[0]
    assert "Traceback" not in out + err and SECRET not in out + err and KEY not in out + err
    assert not list(outside.iterdir())  # nothing outside the lake, whatever was asked
    if code == 2:  # refused before any work: no lake made
        assert not (workdir / "lake").exists()


def test_the_same_commands_succeed_when_asked_properly(workdir, capfd):
    assert main([*RUN, "--lake", "lake"]) == 0
    assert main(["latest", "--lake", "lake", "--limit", "1"]) == 0
    assert main(["ddl", "--engine", "duckdb", "--location", "lake"]) == 0
    out, err = capfd.readouterr()
    assert "a.example.com." in out and "create or replace view" in out and err == ""


@pytest.mark.parametrize(("error", "words"), [
    (PermissionError(errno.EACCES, "Permission denied", "/srv/lake/events"), "permission denied: /srv/lake/events: the user running route53-lake"),
    (PermissionError("Access Denied"), "iam/writer-policy.json"),
    (OSError(errno.EROFS, "Read-only file system", "/srv/lake/events"), "read-only file system: cannot write /srv/lake/events"),
    (OSError(errno.ENOSPC, "No space left on device", "/srv/lake/x"), "no space left"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/srv/trail/AWSLogs"), "not found: /srv/trail/AWSLogs"),
    (type("NoCredentialsError", (Exception,), {})("Unable to locate credentials"), "no AWS credentials found"),
    (RuntimeError(f"boom at {CREDENTIALED}"), "run again with --debug"),
])
def test_failures_are_explained_with_what_to_do(error, words):
    text = explain_failure(error, "/srv/trail", "/srv/lake")
    assert words in text and "README, 'Permissions'" not in text


def test_a_permission_error_on_a_local_lake_never_mentions_iam():
    text = explain_failure(PermissionError(errno.EACCES, "Permission denied", "/srv/lake/events"), "/srv/trail", "/srv/lake")
    assert "IAM" not in text and "iam/" not in text


def test_debug_prints_the_traceback(workdir, capfd):
    assert main([*RUN, "--lake", "linked-lake", "--debug"]) == 1
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.slow
def test_on_an_s3_lake_the_commands_answer_in_one_line_too(s3, bucket, capfd):
    s3.pipe(f"{bucket}/{log_key('123456789012', DAY)}", gz([route53_record("e1", f"{DAY}T09:00:00Z", a_record("a.example.com.", "192.0.2.1"))]))
    s3.mkdir(f"lake-{bucket}")
    lake = f"s3://lake-{bucket}/route53"
    assert main(["--no-prefect", "--workers", "1", "--source", f"s3://{bucket}", "--lake", lake, "--day", DAY]) == 0
    assert main(["latest", "--lake", lake]) == 0
    assert "a.example.com." in capfd.readouterr().out
    assert main(["ddl", "--engine", "duckdb", "--location", lake]) == 0  # the lake listed: no quarantine yet, an empty view
    script = capfd.readouterr().out
    assert f"read_parquet('{lake}/events/" in script and "create or replace view quarantine as select cast(null as" in script
    for args, code, words in ((["latest", "--lake", f"s3://lake-{bucket}/route35"], 1, f"no lake at s3://lake-{bucket}/route35"),
                              (["latest", "--lake", "s3://no-such-bucket-here/route53"], 1, "no lake at"),
                              (["ddl", "--engine", "duckdb", "--location", f"s3://lake-{bucket}/route35"], 1, f"no lake at s3://lake-{bucket}/route35"),
                              (["--no-prefect", "--source", f"s3://{bucket}", "--lake", f"s3://{bucket}/lake", "--day", DAY], 2, "is inside source"),
                              (["--no-prefect", "--source", f"s3://{bucket}/x", "--lake", f"s3://{bucket}//x", "--day", DAY], 2, "empty segment")):
        assert main(args) == code
        out, err = capfd.readouterr()
        assert err.count("\n") == 1 and words in err and "Traceback" not in out + err
