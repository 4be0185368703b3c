"""The command line as a person uses it: real subprocesses, exit codes, messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, a_record, gz, log_key, route53_record


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def test_help_describes_every_option():
    result = cli("--help")
    assert result.returncode == 0
    for option in ("--source", "--lake", "--start", "--end", "--account", "--region", "--event-source", "--digest-policy", "--no-prefect", "latest"):
        assert option in result.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["--start", "2026-02-30"], "is not a date like"),
    (["--start", "2026-11-03", "--end", "2026-11-01"], "is after end"),
    (["--start", "2999-01-01"], "is in the future"),
    (["--start", "2020-01-01", "--end", "2026-01-01"], "split runs longer than"),
    (["--account", "12345"], "not 12-digit"),
    (["--region", "../etc"], "not AWS region names"),
    (["--source", "http://example.com/logs"], "not supported"),
    (["--digest-signatures", "verify"], "needs digest_public_keys"),
])
def test_bad_arguments_exit_2_with_a_message(args, words):
    result = cli(*args, "--no-prefect")
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_missing_source_exits_2_naming_the_source_before_any_work(tmp_path):
    result = cli("--source", str(tmp_path / "nowhere"), "--lake", str(tmp_path / "lake"), "--start", "2026-11-01", "--no-prefect")
    assert result.returncode == 2 and not (tmp_path / "lake").exists()
    assert f"source: no folder {tmp_path / 'nowhere'}; check the source (--source)" in result.stderr
    assert "--lake" not in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "empty").mkdir()
    empty = cli("--source", str(tmp_path / "empty"), "--lake", str(tmp_path / "lake"), "--start", "2026-11-01", "--no-prefect")
    assert empty.returncode == 2 and "AWSLogs/ is missing or empty; check the source prefix (--source)" in empty.stderr


def test_local_run_without_prefect_prints_counts_and_latest_shows_the_change(tmp_path):
    key = log_key("123456789012", "2026-11-01")
    path = tmp_path / "trail" / key
    path.parent.mkdir(parents=True)
    path.write_bytes(gz([route53_record("e1", "2026-11-01T09:00:00Z", a_record("www.example.com.", "192.0.2.1"))]))
    result = cli("--source", str(tmp_path / "trail"), "--lake", str(tmp_path / "lake"), "--start", "2026-11-01", "--no-prefect")
    assert result.returncode == 0, result.stderr
    assert "1 Route 53 -> 1 event(s), 1 record change(s)" in result.stdout
    latest = cli("latest", "--lake", str(tmp_path / "lake"))
    assert latest.returncode == 0 and "www.example.com." in latest.stdout and "192.0.2.1" in latest.stdout


def test_digest_policy_fail_exits_1_naming_the_missing_file(tmp_path):
    import shutil

    shutil.copytree(ROOT / "data" / "cloudtrail", tmp_path / "trail")
    promised = next(p for p in (tmp_path / "trail").rglob("*_20261101T11*Z_*.json.gz"))
    promised.unlink()
    args = ("--source", str(tmp_path / "trail"), "--lake", str(tmp_path / "lake"), "--start", "2026-11-01", "--no-prefect")
    failed = cli(*args, "--digest-policy", "fail")
    assert failed.returncode == 1 and "1 missing" in failed.stderr and promised.name in failed.stderr
    assert "Traceback" not in failed.stderr
    assert cli(*args, "--digest-policy", "record").returncode == 0


def test_worker_processes_report_their_peak_memory(tmp_path):
    """--workers N says how large its largest worker process grew (the issue's bound: 300 MiB)."""
    import re

    result = cli("--source", str(ROOT / "data" / "cloudtrail"), "--lake", str(tmp_path / "lake"), "--start", "2026-11-01",
                 "--no-prefect", "--workers", "2", "--digest-policy", "off")
    found = re.search(r"largest worker process: (\d+) MiB", result.stdout + result.stderr)
    assert found and 20 < int(found.group(1)) < 300, result.stdout + result.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--task-runner", "dask", "--no-prefect"], "--no-prefect runs without Prefect"),
    (["--dask-address", "tcp://127.0.0.1:8786", "--no-prefect"], "--no-prefect runs without Prefect"),
    (["--dask-address", "tcp://127.0.0.1:8786"], "--dask-address needs --task-runner dask"),
    (["--task-runner", "dask", "--dask-address", "tcp://127.0.0.1:8786"], "set PREFECT_API_URL"),
    (["--task-runner", "dask", "--dask-address", "127.0.0.1:8786"], "expected tcp://host:port"),
    (["--task-runner", "spark"], "invalid choice"),
])
def test_task_runner_options_are_checked_before_any_work(args, words, tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("PREFECT_API")}
    result = cli(*args, "--lake", str(tmp_path / "lake"), env=env)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize(("args", "runner", "address"), [
    ([], "threads", None),
    (["--task-runner", "threads"], "threads", None),
    (["--task-runner", "dask"], "dask", None),
    (["--task-runner", "dask", "--dask-address", "tcp://10.0.0.5:8786"], "dask", "tcp://10.0.0.5:8786"),
])
def test_task_runner_options_become_the_settings(args, runner, address, monkeypatch, tmp_path):
    from flows.cli import main as command
    from flows.results import RunSummary

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    seen = []
    monkeypatch.setattr(command, "_run", lambda args_, settings, days: seen.append(settings) or RunSummary(days=[]))
    assert command.main([*args, "--lake", str(tmp_path / "lake"), "--start", "2026-11-01"]) == 0
    assert (seen[0].task_runner, seen[0].dask_address) == (runner, address)
