"""The analyst's commands as a person runs them (issue 20, items 8-13): `.venv/bin/route53-lake latest`
and `sql` as subprocesses over the sample's lake (built once with --no-prefect), in a pipe or in a
real terminal (a pty of a given width), asserting what the person sees."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from datetime import date
from pathlib import Path

import pytest

from flows.cli.main import main as route53_lake_main
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import DATA, ROOT
from tests.query.cookbook_sample import EMPTY_ON_THE_SAMPLE, SAMPLE_PARAMS, cookbook_files, param_options

pytestmark = pytest.mark.slow  # each test runs the command in a subprocess: make check leaves them to make test

COMMAND = str(Path(sys.executable).parent / "route53-lake")
DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3), date(2015, 1, 16)]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    lake = tmp_path_factory.mktemp("analyst") / "lake"
    run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(lake), workers=1), DAYS)
    return str(lake)


def command(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([COMMAND, *args], cwd=ROOT, capture_output=True, text=True, input=stdin, timeout=300,
                          env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true", **(env or {})})


def in_a_terminal(*args: str, columns: int, typed: str = "", env: dict | None = None) -> str:
    """What the command prints in a terminal `columns` wide (a pty): its lines, as a person sees them."""
    leader, follower = pty.openpty()
    import fcntl

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([COMMAND, *args], cwd=ROOT, stdin=follower, stdout=follower, stderr=follower,
                               env={**environment, "TERM": "dumb", **(env or {})}, close_fds=True)
    os.close(follower)
    if typed:
        os.write(leader, typed.encode())
    output, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(leader)
    return output.decode().replace("\r\n", "\n")


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# -- 8: a mistyped lake is refused by sql as by latest -------------------------------------------

def test_sql_refuses_a_mistyped_lake_as_latest_does(lake):
    mistyped = lake.replace("lake", "laek")
    latest = command("latest", "--lake", mistyped)
    for result in (command("sql", "--lake", mistyped, "-c", "select count(*) from changes"),
                   command("sql", "--lake", mistyped, stdin="select count(*) from changes;\n")):
        assert result.returncode == latest.returncode == 1 and result.stdout == ""
        assert one_error_line(result) == one_error_line(latest) == (
            f"error: no lake at {mistyped}: none of events/, record_changes/, quarantine/, _manifests/ is there; "
            "check --lake, or run the flow first")


def test_sql_refuses_a_lake_location_with_credentials_without_quoting_them():
    result = command("sql", "--lake", "s3://AKIAEXAMPLEKEY0000001:secretsecret@bucket/route53", "-c", "select 1")
    assert result.returncode == 2 and "credentials" in one_error_line(result) and "secretsecret" not in result.stderr


# -- 9: latest is a narrow table that fits the terminal and names the person -----------------------

@pytest.mark.parametrize("columns", [100, 120, 160])
def test_latest_fits_the_terminal_and_shows_the_person_behind_the_sso_role(lake, columns):
    screen = in_a_terminal("latest", "--lake", lake, "--limit", "15", columns=columns)
    lines = [line for line in screen.splitlines() if line.strip()]
    header = lines[1].split()
    assert header[:2] == ["time", "(UTC)"] and header[2:] == ["action", "record", "type", "value", "change", "who", "account"]
    assert all(len(line) <= columns for line in lines[1:]), max(lines[1:], key=len)
    jane = next(line for line in lines if "jane.doe@example.com" in line)  # the SSO session's person, whole, not a cut ARN
    assert "2026-11-02 17:48:26  UPSERT  app.example.c" in jane and "123456789012" in jane and "weight 10 →" in jane
    assert "arn:aws" not in screen and "AWSReservedSSO" not in screen


def test_latest_into_a_pipe_keeps_whole_values_and_wide_shows_everything(lake):
    narrow = command("latest", "--lake", lake, "--limit", "15")
    assert narrow.returncode == 0 and "weight 10 → 100 (set green)" in narrow.stdout and "…" not in narrow.stdout
    assert "(not seen)" not in narrow.stdout.split("jane.doe")[0].splitlines()[-1]
    wide = command("latest", "--lake", lake, "--limit", "15", "--wide")
    header = wide.stdout.splitlines()[1].split()
    assert header == ["event_time", "action", "record", "type", "value", "ttl", "set_identifier", "actor", "person",
                      "account_id", "ip", "result", "event_id"]
    assert "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc123" in wide.stdout


def test_latest_says_a_failed_attempt_failed(lake):
    rows = command("latest", "--lake", lake, "--limit", "10000").stdout
    failed = next(line for line in rows.splitlines() if "dup.example.com." in line and "failed" in line)
    assert "CREATE failed: InvalidChangeBatch" in failed and "alice" in failed


# -- 10: UTC unless asked ----------------------------------------------------------------------------

ZONE_QUERY = ("select current_setting('TimeZone') as tz, current_date = cast(timezone('UTC', now()) as date) as utc_today, "
              "min(event_time) as first_change, min(event_date) as first_date from changes where event_date = date '2026-11-02'")


def test_sql_shows_utc_times_and_utc_today_whatever_the_machines_zone(lake):
    utc = command("sql", "--lake", lake, "-c", ZONE_QUERY, "--format", "json", env={"TZ": "Pacific/Kiritimati"})
    assert json.loads(utc.stdout) == {"tz": "UTC", "utc_today": True, "first_change": "2026-11-02 00:01:40+00:00",
                                      "first_date": "2026-11-02"}
    local = command("sql", "--lake", lake, "-c", ZONE_QUERY, "--format", "json", "--local-time", env={"TZ": "Pacific/Kiritimati"})
    assert json.loads(local.stdout)["tz"] == "Pacific/Kiritimati"
    assert json.loads(local.stdout)["first_change"] == "2026-11-02 14:01:40+14:00"  # the same instant, in the zone asked for


def test_the_prompt_says_its_times_are_utc(lake):
    screen = in_a_terminal("sql", "--lake", lake, columns=200, typed=".timezone\n.quit\n", env={"TZ": "America/New_York"})
    assert "Times are UTC, as event_date is; current_date is today in UTC (--local-time" in screen
    assert "UTC" in screen.split(".timezone", 1)[-1]


# -- 11: parameters, on the command line and at the prompt --------------------------------------------

@pytest.mark.slow  # two commands per cookbook query
@pytest.mark.parametrize("path", cookbook_files(), ids=lambda p: p.stem)
def test_every_cookbook_query_runs_through_the_command_with_its_parameters(lake, path):
    on_sample = command("sql", "--lake", lake, "-f", str(path), *param_options(path), "--format", "csv")
    assert on_sample.returncode == 0, on_sample.stderr
    rows = list(csv.DictReader(io.StringIO(on_sample.stdout)))
    assert rows or path.stem in EMPTY_ON_THE_SAMPLE, f"{path.name} finds nothing on the sample"
    defaults = command("sql", "--lake", lake, "-f", str(path), "--format", "csv")  # today's window: runs, whatever it finds
    assert defaults.returncode == 0 and defaults.stdout.startswith(on_sample.stdout.splitlines()[0]), defaults.stderr


def test_a_parameter_no_query_takes_is_refused_in_one_line(lake):
    path = cookbook_files()[0]
    result = command("sql", "--lake", lake, "-f", str(path), "--param", "frist_day=2026-11-01")
    assert result.returncode == 2 and result.stdout == ""
    assert one_error_line(result) == (f"error: unknown parameter frist_day for {path}: it takes first_day, last_day, record_name")
    malformed = command("sql", "--lake", lake, "-c", "select 1", "--param", "day")
    assert malformed.returncode == 2 and "expected name=value" in one_error_line(malformed)


def test_the_prompt_sets_parameters_for_the_queries_it_reads(lake):
    path = next(p for p in cookbook_files() if p.stem == "15_zones_changed_today")
    typed = f".param day 2026-11-02\n.mode csv\n.read {path}\n.param day\n.read {path}\n"
    result = command("sql", "--lake", lake, stdin=typed)
    assert result.returncode == 0, result.stdout
    first, second = result.stdout.split("parameters: none (each query's defaults apply)\n")
    assert "parameters: day=2026-11-02" in first and "jane.doe@example.com" in first
    assert "jane.doe@example.com" not in second  # today's changes: none in the sample


def test_print_as_spells_the_query_with_its_parameters(lake):
    path = next(p for p in cookbook_files() if p.stem == "10_risky_changes")
    result = command("sql", "-f", str(path), "--param", "first_day=2026-11-01", "--print-as", "athena")
    assert result.returncode == 0 and "CAST('2026-11-01' AS DATE)" in result.stdout
    assert "CURRENT_DATE" in result.stdout  # last_day keeps its default


def test_the_sample_parameters_point_at_queries_that_declare_them():
    from flows.query.params import declared

    for path in cookbook_files():
        assert set(SAMPLE_PARAMS.get(path.stem, {})) <= set(declared(path.read_text())), path.name


# -- 12: one name per thing ------------------------------------------------------------------------

def test_every_view_names_the_account_and_both_record_names_the_same_way(lake):
    query = """
        select (select count(*) from changes where account_id is distinct from recipient_account_id) as changes_account,
               (select count(*) from api_calls where account_id is distinct from recipient_account_id) as calls_account,
               (select count(*) from changes where record_name_as_sent is distinct from record_name) as changes_sent,
               (select count(*) from dns_risk where record_name_normalized is distinct from record_name) as risk_normalized,
               (select count(*) from dns_risk where record_name_as_sent = '\\052.example.com.') as risk_sent,
               (select count(*) from record_history where record_name_as_sent is null) as history_sent"""
    result = command("sql", "--lake", lake, "-c", query, "--format", "json")
    assert json.loads(result.stdout) == {"changes_account": 0, "calls_account": 0, "changes_sent": 0,
                                         "risk_normalized": 0, "risk_sent": 1, "history_sent": 0}


def test_a_name_typed_without_its_dot_matches_through_dns_name_and_an_empty_answer_says_why(lake):
    typed = command("sql", "--lake", lake, "-c",
                    "select count(*) as n from changes where record_name_normalized = dns_name('WWW.Example.com')", "--format", "csv")
    assert typed.stdout == "n\n2\n"
    undotted = command("sql", "--lake", lake, "-c", "select event_time from changes where record_name = 'app.example.com'")
    assert undotted.returncode == 0 and "(0 rows)" in undotted.stdout
    assert "note: no rows. DNS names in the lake end with a dot: 'app.example.com.'" in undotted.stdout


def test_the_summary_shows_the_account_beside_a_role_two_accounts_share(lake):
    from flows.orchestration.report import dns_markdown
    from flows.query.history import lake_summaries

    summary = lake_summaries(lake, ["2026-11-02"])["2026-11-02"]
    terraform = {(r["role"], r["account"], r["changes"]) for r in summary["who"]["rows"] if r["person"] == "terraform"}
    assert terraform == {("terraform-deploy", "123456789012", 3), ("terraform-deploy", "210987654321", 6)}
    page = dns_markdown(summary, lake)
    assert "| person | role | account | changes |" in page and "| terraform | terraform-deploy | 210987654321 | 6 |" in page


# -- 13: output that keeps the data ------------------------------------------------------------------

def test_csv_writes_lists_as_json_arrays(lake):
    result = command("sql", "--lake", lake, "-c", "select resource_records from changes where record_name_normalized = "
                     "'www.example.com.' and action = 'CREATE'", "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert json.loads(row["resource_records"]) == ["192.0.2.10", "192.0.2.11"]


def test_the_default_table_hides_no_column_even_in_a_narrow_terminal(lake):
    screen = in_a_terminal("sql", "--lake", lake, "-c", "select * from record_history limit 1", columns=80)
    header = screen.splitlines()[0].split()
    columns = command("sql", "--lake", lake, "-c", "select * from record_history limit 0", "--format", "csv").stdout.strip().split(",")
    assert header == columns and len(columns) > 60 and "actor_person" in header


def test_the_prompt_has_mode_width_and_maxrows(lake):
    typed = (".mode line\nselect 'app.example.com.' as record, [1, 2] as weights;\n"
             ".mode table\n.width 5\n.maxrows 2\nselect record_name_normalized as record from changes order by 1;\n"
             ".mode bogus\n")
    result = command("sql", "--lake", lake, stdin=typed)
    out = result.stdout
    assert " record = app.example.com.\nweights = [1, 2]\n" in out
    assert "\n*.ex…\n" in out and "; 2 shown, .maxrows 0 shows all)" in out
    assert "error: .mode bogus: expected one of table, csv, json, line" in out and result.returncode == 1


def test_in_process_the_sql_command_answers_like_the_console_script(lake, capsys):
    assert route53_lake_main(["sql", "--lake", lake, "-c", "select count(*) as n from hosted_zones", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n5\n"


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_the_analysts_guide_commands_run_as_written(lake):
    """docs/analysts.md's `sql` lines, on this test's lake instead of ./lake (tests/cli/test_printed_commands.py
    runs the README's from the repository root after make run)."""
    from tests.cli.test_printed_commands import shell_blocks

    lines = [line for block in shell_blocks((ROOT / "docs" / "analysts.md").read_text()) for line in block
             if line.startswith(".venv/bin/route53-lake sql --lake lake")]
    assert len(lines) >= 5
    for line in lines:
        result = subprocess.run(["bash", "-c", line.replace(".venv/bin/route53-lake", COMMAND, 1).replace("--lake lake", f"--lake {lake}", 1)],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and result.stdout.strip(), (line, result.stderr)
