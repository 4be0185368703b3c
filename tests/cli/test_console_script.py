"""`route53-lake` is a console script (pyproject [project.scripts]), so the README's commands run as
written after `make run`, without activating .venv; `python -m flows.cli` still works."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib

import pytest

from flows.cli.main import main
from tests.conftest import ROOT


def test_pyproject_installs_route53_lake_as_the_cli_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["route53-lake"].partition(":")
    assert getattr(importlib.import_module(module), function) is main


def test_the_entry_point_answers_help_and_exit_statuses(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0 and "usage: route53-lake" in capsys.readouterr().out
    assert main(["--workers", "0"]) == 2


def test_a_generated_console_script_runs_from_anywhere(tmp_path):
    """The wrapper pip writes for the entry point (distlib's ScriptMaker, as pip uses it), run from
    another folder with no activated venv on PATH."""
    scripts = pytest.importorskip("pip._vendor.distlib.scripts")
    maker = scripts.ScriptMaker(None, str(tmp_path / "bin"), add_launchers=False)
    maker.executable = sys.executable
    maker.make(f"route53-lake = {tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['scripts']['route53-lake']}")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", str(tmp_path))}
    # Athena's DDL needs no lake to exist (DuckDB's and Spark's list the lake first, and refuse a folder without one)
    run = subprocess.run([str(tmp_path / "bin" / "route53-lake"), "ddl", "--engine", "athena", "--location", "s3://lake-bucket/route53"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0 and "CREATE EXTERNAL TABLE IF NOT EXISTS `route53_lake`.`events`" in run.stdout, run.stderr
    refused = subprocess.run([str(tmp_path / "bin" / "route53-lake"), "latest", "--limit", "0"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode == 2 and refused.stderr.startswith("error: argument --limit")


def test_python_dash_m_is_the_same_command():
    run = subprocess.run([sys.executable, "-m", "flows.cli.main", "--workers", "-3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1


def _commands(text: str) -> list[str]:
    """Shell lines of the fenced sh blocks, continuation lines joined."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    return lines


def test_every_readme_and_makefile_command_runs_as_written_after_make_run():
    commands = _commands((ROOT / "README.md").read_text())
    ours = [c for c in commands if "route53-lake" in c or "flows." in c or "schemas." in c]
    assert len(ours) >= 3
    for command in ours:
        assert "python -m flows" not in command.replace(".venv/bin/python -m", "") or ".venv/bin/python" in command, command
        assert re.match(r"(\w+=\S+ )*\.venv/bin/", command), f"not runnable as written after make run: {command}"
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/route53-lake --source" in makefile and "$(BIN)/route53-lake latest" in makefile
