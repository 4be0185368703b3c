"""Two whole runs at once, each in its own PID namespace (two containers with host networking, two
pods with hostNetwork: one host name, separate process tables, one /tmp), over the same days of the
same trails: the lake equals one sequential run, on a local lake and on the loopback S3 server.
Neither may take the other for dead by its pid (repro_21), nor sweep its scratch folders away.

Each run is pid 1 of its namespace, as a run is in a container whose command it is: its reading
workers, whose parent is then pid 1, must not take that for their run having died."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import ROOT, a_record, gz, log_key, other_record, route53_record
from tests.storage.test_fencing import contents, s3_contents
from tests.storage.test_scratch import own_namespace_available

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not own_namespace_available(), reason="needs `unshare --user --pid` (user namespaces)")]

ACCOUNTS = ("123456789012", "210987654321")
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(3)]


def trail_of_three_days(source: Path) -> Path:
    """Two accounts, three delivery days, four files a day each; every event is delivered again the
    next day (a duplicate across days, so partitions are shared between day folders)."""
    for account in ACCOUNTS:
        for n, day in enumerate(DAYS):
            for f in range(4):
                records = [route53_record(f"{account}-{n}-{f}-{k}", f"{day}T0{f}:{k:02d}:00Z",
                                          a_record(f"r{n}{f}{k}.example.com.", f"192.0.2.{k + 1}")) for k in range(5)]
                records += [route53_record(f"{account}-{n - 1}-{f}-0", f"{day - timedelta(days=1)}T0{f}:00:00Z",
                                           a_record(f"r{n - 1}{f}0.example.com.", "192.0.2.1"))] if n else []
                path = source / log_key(account, day.isoformat(), f"0{f}05", unique=f"F{f}{account[:4]}aaaaaaaaaa")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(gz([*records, other_record(f, f"{day}T0{f}:30:00Z")]))
    return source


def start_in_own_namespace(source: Path, lake: str, tmp: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flows.cli.main", "--no-prefect", "--source", str(source), "--lake", lake,
               "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat()]
    return subprocess.Popen(["unshare", "--user", "--map-root-user", "--pid", "--fork", *command], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)})


def run_twice_at_once(source: Path, lake: str) -> None:
    # One /tmp for both, as two containers that mount the host's; a short path: the reading workers'
    # fork server listens on a Unix socket in it, and such a path may not exceed 107 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="r53-ns-", dir="/tmp"))
    runs = [start_in_own_namespace(source, lake, tmp) for _ in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, f"{out}\n{err[-3000:]}"
    assert not any(tmp.glob("route53-lake-*-spool-*")) and not any(tmp.glob("route53-lake-*-rebuild-*"))
    shutil.rmtree(tmp, ignore_errors=True)


def test_two_runs_in_separate_pid_namespaces_on_a_local_lake_equal_one_run(tmp_path):
    source = trail_of_three_days(tmp_path / "source")
    run_without_prefect(LakeSettings(source=str(source), lake=str(tmp_path / "sequential")), DAYS)
    expected = contents(tmp_path / "sequential")
    assert sum(name.startswith("events/") for name in expected) == len(DAYS)  # one file per event date
    run_twice_at_once(source, str(tmp_path / "lake"))
    assert contents(tmp_path / "lake") == expected


def test_two_runs_in_separate_pid_namespaces_on_s3_equal_one_run(s3, bucket, tmp_path):
    source = trail_of_three_days(tmp_path / "source")
    run_without_prefect(LakeSettings(source=str(source), lake=f"s3://{bucket}/sequential"), DAYS)
    expected = s3_contents(s3, f"s3://{bucket}/sequential", tmp_path / "expected")
    run_twice_at_once(source, f"s3://{bucket}/lake")
    assert s3_contents(s3, f"s3://{bucket}/lake", tmp_path / "got") == expected
