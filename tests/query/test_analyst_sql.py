"""The SQL an analyst runs: written once in DuckDB's dialect, spelled by sqlglot for Athena (parsed back
as Athena SQL, no DuckDB-only syntax left) and Spark (run for real in tests/query/test_spark_sql.py); no hand
twins; the DuckDB setup script runs as printed, from any directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date

import duckdb
import pytest
import sqlglot

from flows.pipeline import run_without_prefect
from flows.query.dialects import SQL, spell
from flows.query.duckdb_lake import setup_sql, views_sql
from flows.settings import LakeSettings
from schemas.tables import TABLES
from tests.conftest import DATA, ROOT

DUCKDB_ONLY = re.compile(r"json_extract_string|array_to_string|\bexclude\b|\bqualify\b|::|list_contains|\bilike\b", re.IGNORECASE)


def code_only(sql: str) -> str:
    """SQL without comments and string literals (ARNs contain '::')."""
    return re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", sql))


def test_there_are_no_hand_written_twins():
    assert not list(SQL.rglob("athena")) and not list(SQL.rglob("spark"))
    assert {p.parent.name for p in SQL.rglob("*.sql")} == {"views", "cookbook"}


def test_sqlglot_refuses_what_it_knows_it_cannot_spell():
    """Only some constructs raise (sqlglot passes most through): the real checks are the Athena parse
    below and the Spark run in tests/query/test_spark_sql.py."""
    with pytest.raises(sqlglot.errors.UnsupportedError):
        spell("pivot t on a using sum(b)", "athena")


@pytest.mark.parametrize("path", sorted((SQL / "cookbook").glob("*.sql")), ids=lambda p: p.stem)
def test_cookbook_query_in_athena_spelling_parses_and_is_not_duckdb_only(path):
    text = spell(path.read_text(), "athena")
    assert not DUCKDB_ONLY.search(code_only(text)), DUCKDB_ONLY.search(code_only(text))
    (statement,) = sqlglot.parse(text, read="athena")
    assert statement.find(sqlglot.exp.Select) is not None


def test_athena_views_parse_and_are_not_duckdb_only():
    for statement in views_sql("athena"):
        assert not DUCKDB_ONLY.search(code_only(statement)), statement[:80]
        (parsed,) = sqlglot.parse(statement, read="athena")
        assert isinstance(parsed, sqlglot.exp.Create) and parsed.kind == "VIEW"


def test_athena_setup_creates_the_database_tables_and_views():
    text = setup_sql("athena", "s3://my-lake/route53")
    statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    kinds = [(s.kind, s.this.name if s.kind == "VIEW" else None) for s in statements]
    assert kinds[0][0] == "DATABASE" and [k for k, _ in kinds].count("TABLE") == 4
    assert [name for kind, name in kinds if kind == "VIEW"] == [
        "events_dedup", "record_changes_dedup", "zone_statements", "zone_names", "callers", "api_calls", "changes", "hosted_zones", "record_history",
        "zone_vpc_associations", "health_checks",
        "resolver_rules", "resolver_endpoints", "firewall_rules", "firewall_rule_group_associations", "firewall_changes",
        "dns_risk_rules", "dns_risk"]


def test_duckdb_setup_script_runs_as_printed_from_anywhere_and_answers(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(lake)), [date(2026, 11, 1), date(2026, 11, 2)])
    result = subprocess.run([sys.executable, "-m", "flows.cli.main", "ddl", "--engine", "duckdb", "--location", "lake"],
                            cwd=tmp_path, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert f"'{lake}/events/" in result.stdout  # absolute: the script works from any directory
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    con = duckdb.connect()
    con.execute(result.stdout)
    assert con.sql("select typeof(event_date) from record_history limit 1").fetchall() == [("DATE",)]
    assert con.sql("select count(*) from events").fetchall()[0][0] == con.sql("select count(*) from events_dedup").fetchall()[0][0] > 0
    assert con.sql("select zone_name, zone_name_source from hosted_zones where zone_name_source = 'response'").fetchall() == [
        ("example.com.", "response")]


@pytest.mark.parametrize(("args", "words"), [(["--engine", "athena", "--location", "/local/lake"], "expected s3://"),
                                             (["--engine", "athena", "--location", "s3://b-1/x", "--database", "Bad-Name"], "lower snake_case")])
def test_ddl_command_refuses_bad_input_with_exit_2(args, words):
    result = subprocess.run([sys.executable, "-m", "flows.cli.main", "ddl", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_setup_scripts_run_as_printed_on_a_lake_whose_tables_are_not_all_there_yet(sample_lake, tmp_path):
    """A clean lake has no quarantine folder, and a lake of Resolver calls alone no record_changes:
    DuckDB's read_parquet refuses a glob that matches nothing, Spark's MSCK REPAIR a missing folder.
    The printed SQL sets such a table up empty, with the columns and types its files will have."""
    lake = tmp_path / "lake"
    shutil.copytree(sample_lake, lake)
    for table in ("record_changes", "quarantine"):
        shutil.rmtree(lake / table)
    duckdb_sql = subprocess.run([sys.executable, "-m", "flows.cli.main", "ddl", "--engine", "duckdb", "--location", str(lake)],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
    con, whole = duckdb.connect(), duckdb.connect()
    con.execute(duckdb_sql)
    whole.execute(setup_sql("duckdb", str(sample_lake)))
    for table in TABLES:
        assert con.sql(f"describe {table}").fetchall() == whole.sql(f"describe {table}").fetchall(), table
    assert con.execute("select count(*) from record_changes").fetchone() == con.execute("select count(*) from record_history").fetchone() == (0,)
    assert con.execute("select count(*) from events").fetchone() == whole.execute("select count(*) from events").fetchone() != (0,)
    assert con.execute("select count(*) from dns_risk where change_index is not null").fetchone() == (0,)  # no change rows to flag

    spark_sql = subprocess.run([sys.executable, "-m", "flows.cli.main", "ddl", "--engine", "spark", "--location", str(lake)],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    repaired = re.findall(r"^MSCK REPAIR TABLE `(\w+)`", spark_sql, re.MULTILINE)
    assert repaired == ["events", "source_files"]
    assert "-- quarantine has no files yet: run MSCK REPAIR TABLE `quarantine` once it has" in spark_sql


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_ddl_refuses_a_location_that_holds_no_lake(tmp_path, engine):
    """A script of empty tables for a mistyped lake would read as a quiet week: refused, as `sql` refuses it."""
    result = subprocess.run([sys.executable, "-m", "flows.cli.main", "ddl", "--engine", engine, "--location", str(tmp_path / "typo")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert f"no lake at {tmp_path / 'typo'}" in result.stderr and "check --location" in result.stderr and "Traceback" not in result.stderr
