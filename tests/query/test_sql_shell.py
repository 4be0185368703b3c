"""The analysts' shell: `python -m flows.cli sql` runs -c, -f and a prompt over the lake, and
the README's quick start runs as written from a copy of the repository."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from flows.cli.sql_shell import repl
from flows.query.dialects import SQL
from flows.query.duckdb_lake import connect
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def lake(sample_lake):
    return sample_lake


def sql(*args: str, cwd=ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli.main", "sql", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_command_prints_csv(lake):
    result = sql("--lake", str(lake), "-c", "select actor_person, count(*) as n from api_calls where actor_person = 'mallory' group by 1",
                 "--format", "csv")
    assert (result.returncode, result.stdout) == (0, "actor_person,n\nmallory,1\n")


def test_a_file_runs_from_any_directory_and_prints_a_table(lake, tmp_path):
    result = sql("--lake", str(lake), "-f", str(SQL / "cookbook" / "04_failed_changes.sql"), cwd=tmp_path)
    assert result.returncode == 0 and "AccessDenied" in result.stdout and "InvalidChangeBatch" in result.stdout


def test_a_failing_statement_exits_1_with_the_message(lake):
    result = sql("--lake", str(lake), "-c", "select nope from dns_risk")
    assert result.returncode == 1 and "nope" in result.stderr and "Traceback" not in result.stderr


def test_print_as_spells_a_query_without_running_it():
    result = sql("-f", str(SQL / "cookbook" / "08_health_checks.sql"), "--print-as", "athena")
    assert result.returncode == 0 and "JSON_EXTRACT_SCALAR" in result.stdout and "json_extract_string" not in result.stdout


def test_the_prompt_runs_statements_across_lines_and_goes_on_after_an_error(lake):
    out = io.StringIO()
    lines = ["select count(*) as n\n", "from hosted_zones;\n", "select nope;\n", ".tables\n", "select 41 + 1 as answer;\n", ".quit\n"]
    failed = repl(connect(str(lake)), lines, out, fmt="csv")
    text = out.getvalue()
    assert failed == 1 and "route53-lake> " in text and "error:" in text and "answer\n42\n" in text and "dns_risk" in text


def test_statements_piped_in_run_without_a_prompt(lake):
    result = sql("--lake", str(lake), "--format", "json", stdin="select 1 as a;\nselect 'x;y' as b;\n")
    assert (result.returncode, result.stdout) == (0, '{"a": 1}\n{"b": "x;y"}\n')


@pytest.mark.slow
def test_the_readme_quick_start_runs_as_written(tmp_path):
    """From a copy of the repository, the README's analyst commands, one by one. The one liberty:
    the copy's .venv is this test's own environment, and make is told not to rebuild it (-o)."""
    block = re.search(r"<!-- analyst-quickstart -->\n```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)[1]
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands[0] == "make run" and all(c.startswith(".venv/bin/route53-lake sql") for c in commands[1:])
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv", ".git", "lake", "__pycache__", ".pytest_cache", "*.egg-info"))
    (clone / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # a loaded 2-core machine starts the server slowly
    outputs = []
    for command in commands:
        run = command.replace("make run", "make -o .venv/.installed run", 1) if command == "make run" else command
        result = subprocess.run(["bash", "-c", run], cwd=clone, capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode == 0, (command, result.stderr[-3000:])
        outputs.append(result.stdout)
    assert "Latest record changes in lake" in outputs[0]
    assert all(word in outputs[1] for word in ("CREATE", "DELETE", "192.0.2.10", "terraform"))  # www: created, then deleted
    risky = outputs[2].splitlines()
    assert risky[0].startswith("severity,rule,") and "alias_target_moved" in risky[1] and len(risky) == 22  # a header and the 21 flags of the window (cookbook 10)
    assert duckdb.__version__  # the pinned DuckDB answered, not a separate duckdb binary
