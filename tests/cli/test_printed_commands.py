"""Every command the project prints for a person to paste runs as written from the repository root
after `make run`: each line of the README's shell blocks and each command quoted in its text, the closing hints of `make run` (Makefile),
and the command line's own `query it:` line.

They run in a copy of the repository's root (its entries linked, `.venv` this test's environment)
with `./lake` built once as `make run` builds it, but with --no-prefect (the same steps, without the
temporary Prefect server). A command that cannot run here is skipped with its reason from SKIPPED;
the README's moto recipe runs whole, on a free port instead of 5000.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.prefect_server import free_port

SKIPPED = {
    "make run": "builds ./lake through a temporary Prefect server (slow); its first command builds this test's lake with "
                "--no-prefect, and tests/query/test_sql_shell.py::test_the_readme_quick_start_runs_as_written runs make run itself",
    "make test": "the whole test suite, this test among it",
    "make check": "the quick test loop, this test's own runner",
    "make ui": "a long-running Prefect server and worker: tests/e2e/test_make_ui.py runs it twice, then make ui-stop",
    "make ui-stop": "stops what make ui started: tests/e2e/test_make_ui.py",
    ".venv/bin/python -m pytest -q tests/lake/test_publish.py": "runs a file of this test suite",
    "make bench": "every benchmark profile, tens of minutes on two cores; tests/e2e/test_benchmark_smoke.py runs the harness on a tiny day",
    ".venv/bin/python -m benchmarks.run --profile s3": "minutes: a moto server, a Prefect server and 1,200 objects read three ways, three times "
                                                        "(its output is in benchmarks/RESULTS.md, section s3)",
    ".venv/bin/python -m schemas.docs": "rewrites docs/data-dictionary.md; tests/schemas/test_schemas.py checks that its output is the file",
    ".venv/bin/python -m tests.golden.regenerate": "rewrites tests/golden/expected on purpose; tests/golden/test_golden.py checks the files are what both readers make",
}
NEEDS_AWS = "needs AWS credentials and a real CloudTrail bucket (the same command on loopback S3: the moto recipe, tests/e2e/test_flow_s3.py)"
LEFT_OUT = {".git", ".venv", "lake", "test-artifacts", ".pytest_cache", ".ruff_cache", "__pycache__", "views.sql", "athena.sql"}
MAKE_RUN = ".venv/bin/route53-lake --source data/cloudtrail --lake lake --start 2026-11-01 --end 2026-11-03 --day 2015-01-16"


def shell_blocks(text: str) -> list[list[str]]:
    """The command lines of each ```sh block, continuation lines joined, comments left out."""
    blocks = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.replace("\\\n", " ").splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def hinted_commands(lines: list[str]) -> list[str]:
    """Commands inside printed hints: the parts between two or more spaces (or after 'label: ') that start
    with a program a person would type, inside parentheses too (`(stop it: make ui-stop; ...)`)."""
    found = []
    for line in lines:
        for part in re.split(r"\s{2,}|(?<=:) |;\s*|[()]", line.strip()):
            if re.match(r"(\.venv/bin/|make |route53-lake |prefect |python)", part):
                found.append(part.strip())
    return found


def makefile_run_hints() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", makefile, flags=re.M)[1]
    echoed = re.findall(r'^\t@echo "(.*)"$', recipe, flags=re.M)
    assert echoed, "make run prints no hints"
    return hinted_commands(echoed)


def readme_commands() -> list:
    params = []
    for block in shell_blocks((ROOT / "README.md").read_text()):
        if any("moto_server" in line for line in block):
            params.append(pytest.param("\n".join(block), id="README: the moto recipe"))
            continue
        params += [pytest.param(line, id=f"README: {line[:70]}") for line in block]
    prose = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(), flags=re.S)
    inline = dict.fromkeys(re.findall(r"`((?:\.venv/bin/|make )[^`]+)`", prose))
    return params + [pytest.param(command, id=f"README text: {command[:70]}") for command in inline]


def reason_to_skip(command: str) -> str | None:
    if command in SKIPPED:
        return SKIPPED[command]
    assert not command.startswith("make "), f"{command}: a make target is never run from here; give its reason in SKIPPED"
    if "s3://my-trail-bucket" in command:
        return NEEDS_AWS
    return None


@pytest.fixture(scope="module")
def root_after_make_run(tmp_path_factory):
    """A stand-in for the repository root after `make run`: every entry of the root linked, .venv this
    test's interpreter's environment, and ./lake built by make run's own first command plus --no-prefect."""
    root = tmp_path_factory.mktemp("root")
    for entry in ROOT.iterdir():
        if entry.name not in LEFT_OUT and not entry.name.endswith(".egg-info"):
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    built = run(MAKE_RUN.replace(" --source", " --no-prefect --source", 1), root)
    assert built.returncode == 0, built.stderr[-3000:]
    return root, built.stdout


def environment() -> dict[str, str]:
    """A fresh shell's: no activated venv on PATH (make run does not activate one), no AWS or Prefect API settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PREFECT_API")) and key != "VIRTUAL_ENV"}
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p != venv_bin)
    return {**env, "PATH": path, "AWS_EC2_METADATA_DISABLED": "true", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def run(command: str, cwd: Path, typed: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    """`bash -c command` in its own session, `typed` on its standard input; whatever it leaves running (a
    server put in the background) is killed with that session, by its id."""
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=environment(), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(typed, timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def check(command: str, root: Path) -> None:
    skip = reason_to_skip(command)
    if skip:
        pytest.skip(skip)
    if "moto_server" in command:
        command = re.sub(r"\b5000\b", str(free_port()), command)  # a free port: 5000 may be taken on a shared machine
    prompt = re.fullmatch(r"\.venv/bin/route53-lake sql --lake \S+", command)  # opens a prompt: a person types at it
    result = run(command, root, typed=".tables\nselect count(*) as changes from changes;\n" if prompt else "")
    assert result.returncode == 0, f"{command}\nexit {result.returncode}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{command}: printed nothing"


def test_the_printed_commands_are_found():
    """The extraction finds what it should, so a renamed block or hint cannot make the tests below vanish."""
    readme = [p.values[0] for p in readme_commands()]
    assert "make run" in readme and "make test" in readme and sum(c.startswith(".venv/bin/route53-lake sql") for c in readme) >= 3
    assert any("moto_server" in c and "AWS_ENDPOINT_URL" in c for c in readme)
    assert MAKE_RUN.replace(".venv/bin/", "$(BIN)/") in (ROOT / "Makefile").read_text()  # the lake built below is make run's
    hints = makefile_run_hints()
    assert ".venv/bin/route53-lake sql --lake lake" in hints and "make ui" in hints


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs_as_written(command, root_after_make_run):
    check(command, root_after_make_run[0])


@pytest.mark.slow
@pytest.mark.parametrize("command", makefile_run_hints())
def test_make_run_hint_runs_as_written(command, root_after_make_run):
    check(command, root_after_make_run[0])


@pytest.mark.slow
def test_the_command_lines_own_hints_run_as_written(root_after_make_run):
    root, printed = root_after_make_run
    line = next(line for line in printed.splitlines() if line.startswith("query it:"))
    commands = hinted_commands([line])
    assert commands == [".venv/bin/route53-lake latest --lake lake", ".venv/bin/route53-lake sql --lake lake"], line
    for command in commands:
        check(command, root)


@pytest.mark.slow
def test_the_hint_names_python_dash_m_when_not_run_as_the_console_script(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flows.cli", "--no-prefect", "--source", str(ROOT / "data" / "cloudtrail"),
                             "--lake", str(tmp_path / "my lake"), "--start", "2026-11-03", "--end", "2026-11-03"],
                            cwd=tmp_path, env={**environment(), "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("query it:"))
    assert f"-m flows.cli latest --lake '{tmp_path / 'my lake'}'" in line
