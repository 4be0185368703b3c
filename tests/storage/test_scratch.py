"""Scratch folders are removed once their process is gone, and never while it lives, even when it
lives in another PID namespace that shares /tmp (two containers, a pod with hostNetwork): there
its pid means nothing here, so ownership is a kernel file lock (flows/storage/scratch.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flows.storage import scratch
from tests.conftest import ROOT

HOLD_SCRATCH = textwrap.dedent("""
    import os, sys
    from flows.storage import scratch
    print(os.getpid(), scratch.scratch_dir("spool"), scratch.scratch_file("upload", ".parquet"), flush=True)
    sys.stdin.read()  # until the test closes our stdin
""")


def own_namespace_available() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--user", "--map-root-user", "--pid", "--fork", "true"], capture_output=True).returncode == 0


def hold(tmp: Path, *, own_pid_namespace: bool, forks_first: int = 0) -> tuple[subprocess.Popen, int, list[str]]:
    """A process that makes a scratch folder and file in `tmp`, then waits: (process, its pid as it
    sees it, the paths). In its own PID namespace, it first starts `forks_first` short processes so
    its pid is not a small number that happens to be alive here too."""
    argv = [sys.executable, "-c", HOLD_SCRATCH]
    if own_pid_namespace:  # bash stays its parent (`exit $?` keeps bash from exec-ing it as pid 1)
        shell = f"for i in $(seq {forks_first}); do /bin/true; done; {sys.executable} -c '{HOLD_SCRATCH}'; exit $?"
        argv = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "bash", "-c", shell]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                               env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)})
    pid, *paths = process.stdout.readline().split()
    return process, int(pid), paths


def sweep_in(tmp: Path, monkeypatch) -> int:
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    return scratch.sweep()


def test_a_live_processs_scratch_is_kept_and_a_dead_ones_removed(tmp_path, monkeypatch):
    process, _, paths = hold(tmp_path, own_pid_namespace=False)
    assert sweep_in(tmp_path, monkeypatch) == 0 and all(os.path.exists(p) for p in paths)
    process.communicate("")  # it ends normally, without cleaning up after itself
    assert sweep_in(tmp_path, monkeypatch) == 3  # the folder, the file and its .alive file
    assert not any(os.path.exists(p) for p in paths) and list(tmp_path.iterdir()) == []


def test_a_killed_processs_scratch_is_removed(tmp_path, monkeypatch):
    process, _, paths = hold(tmp_path, own_pid_namespace=False)
    process.kill()
    process.wait()
    sweep_in(tmp_path, monkeypatch)
    assert not any(os.path.exists(p) for p in paths)


@pytest.mark.skipif(not own_namespace_available(), reason="needs `unshare --user --pid` (user namespaces)")
def test_a_live_run_in_another_pid_namespace_keeps_its_scratch(tmp_path, monkeypatch):
    for forks in (300, 1000, 3000):
        process, pid, paths = hold(tmp_path, own_pid_namespace=True, forks_first=forks)
        if not scratch.process_alive(pid):
            break  # its pid names no process here: judged by pid, it would look gone
        process.communicate("")
    else:
        pytest.skip("every pid the other namespace gave is alive here too")
    assert f"{scratch.PREFIX}{pid}-" in paths[0]
    assert sweep_in(tmp_path, monkeypatch) == 0 and all(os.path.exists(p) for p in paths)
    process.communicate("")
    sweep_in(tmp_path, monkeypatch)
    assert not any(os.path.exists(p) for p in paths)


def test_names_of_earlier_versions_are_judged_by_their_pid(tmp_path, monkeypatch):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    (tmp_path / f"{scratch.PREFIX}{gone}-spool-abc").mkdir()
    (tmp_path / f"{scratch.PREFIX}{os.getpid()}-spool-def").mkdir()
    sweep_in(tmp_path, monkeypatch)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{scratch.PREFIX}{os.getpid()}-spool-def"]


def test_a_link_named_like_an_alive_file_is_not_followed(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    token = "0123456789abcdef"
    (scratch_root / f"{scratch.PREFIX}999999-{token}.alive").symlink_to(outside / "target")
    (scratch_root / f"{scratch.PREFIX}999999-{token}-spool-x").mkdir()
    sweep_in(scratch_root, monkeypatch)
    assert (scratch_root / f"{scratch.PREFIX}999999-{token}-spool-x").exists()  # not ours to judge: left alone
    assert list(outside.iterdir()) == []
