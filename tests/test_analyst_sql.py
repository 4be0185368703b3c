"""The SQL an analyst runs: Athena setup and every cookbook query in Athena's spelling parse as
Athena SQL and use no DuckDB-only syntax; the DuckDB setup script runs as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date

import duckdb
import pytest
import sqlglot

from flows.duckdb_lake import SQL, setup_sql, views_sql
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import DATA, ROOT

DUCKDB_ONLY = re.compile(r"json_extract_string|array_to_string|\bexclude\b|\bqualify\b|::|list_contains|\bilike\b", re.IGNORECASE)


def code_only(sql: str) -> str:
    """SQL without comments and string literals (ARNs contain '::')."""
    return re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", sql))


def athena_spelling(path):
    twin = path.parent / "athena" / path.name
    return (twin if twin.exists() else path).read_text()


@pytest.mark.parametrize("path", sorted((SQL / "cookbook").glob("*.sql")), ids=lambda p: p.stem)
def test_cookbook_query_in_athena_spelling_parses_and_is_not_duckdb_only(path):
    text = athena_spelling(path)
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
    assert kinds[0][0] == "DATABASE" and [k for k, _ in kinds].count("TABLE") == 3
    assert [name for kind, name in kinds if kind == "VIEW"] == ["events_dedup", "record_changes_dedup", "hosted_zones", "record_history"]


def test_duckdb_setup_script_runs_as_printed_and_answers(tmp_path):
    lake = tmp_path / "lake"
    run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(lake)), [date(2026, 11, 1), date(2026, 11, 2)])
    result = subprocess.run([sys.executable, "-m", "flows.route53_lake", "ddl", "--engine", "duckdb", "--location", str(lake)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    con = duckdb.connect()
    con.execute(result.stdout)
    assert con.sql("select typeof(event_date) from record_history limit 1").fetchall() == [("DATE",)]
    assert con.sql("select count(*) from events").fetchall()[0][0] == con.sql("select count(*) from events_dedup").fetchall()[0][0] > 0
    assert con.sql("select zone_name from hosted_zones where zone_name is not null").fetchall() == [("example.com.",)]


@pytest.mark.parametrize(("args", "words"), [(["--engine", "athena", "--location", "/local/lake"], "expected s3://"),
                                             (["--engine", "athena", "--location", "s3://b-1/x", "--database", "Bad-Name"], "lower snake_case")])
def test_ddl_command_refuses_bad_input_with_exit_2(args, words):
    result = subprocess.run([sys.executable, "-m", "flows.route53_lake", "ddl", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
