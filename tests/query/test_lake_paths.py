"""A lake's path is a name, never a glob (repro_30): the views read the lake they were given, all
of it and nothing beside it, whatever characters its path holds; what DuckDB cannot read literally
is refused with a one-line error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from flows.pipeline import run_without_prefect
from flows.query.duckdb_lake import connect, setup_sql
from flows.settings import LakeSettings
from schemas.ddl import GlobUnsafeLocationError, glob_literal, glob_root
from tests.conftest import DATA, ROOT

COUNT = "select count(*), count(distinct event_id), min(event_date)::varchar, max(event_date)::varchar from events"
# Folders whose names DuckDB would read as patterns or as Hive partitions, or cannot read at all.
ODD = ("lake[1]", "lake*", "lake?x", "lake{a,b}", "lake\\x", "event_date=2020-01-01/lake", "event_id=zzz/lake")


@pytest.fixture(scope="module")
def lakes(tmp_path_factory, sample_lake):
    """The sample lake copied under every odd name, beside siblings that each odd name would match as
    a glob ('lake1', 'lakeXx', 'lake-sibling'): lakes of one event date only."""
    work = tmp_path_factory.mktemp("paths")
    base = sample_lake
    for name in ("lake1", "lakeXx", "lake-sibling"):
        shutil.copytree(base, work / name)
        kept = sorted((work / name / "events").iterdir())[0].name
        for table in ("events", "record_changes"):
            for folder in (work / name / table).iterdir():
                if folder.name != kept:
                    shutil.rmtree(folder)
    for name in ODD:
        shutil.copytree(base, work / name)
    with duckdb.connect() as con:
        expected = con.execute(COUNT.replace("events", f"read_parquet('{base}/events/*/*.parquet')")).fetchone()
    assert expected[0] > 1 and expected[2] != expected[3]  # more than the siblings hold
    return work, expected


@pytest.mark.parametrize("name", ODD)
def test_the_views_read_the_lake_named_and_nothing_else(lakes, name):
    work, expected = lakes
    with connect(str(work / name)) as con:
        assert con.execute(COUNT).fetchone() == expected


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("name", ["lake[1]", "lake*", "event_date=2020-01-01/lake"])
def test_sql_command_reads_the_lake_named(lakes, name):
    work, expected = lakes
    result = cli("sql", "--lake", str(work / name), "--format", "csv", "-c", COUNT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ",".join(map(str, expected))


def test_latest_reads_the_lake_named(lakes):
    work, _ = lakes
    result = cli("latest", "--lake", str(work / "lake[1]"), "--limit", "1")
    assert result.returncode == 0 and "example" in result.stdout, result.stderr


def test_printed_duckdb_views_escape_glob_characters(lakes):
    work, expected = lakes
    with duckdb.connect() as con:
        for statement in setup_sql("duckdb", str(work / "lake[1]")).split(";\n\n"):
            con.execute(statement)
        assert con.execute(COUNT).fetchone() == expected
        for statement in setup_sql("duckdb", str(work / "lake*")).split(";\n\n"):
            con.execute(statement)
        assert con.execute(COUNT).fetchone() == expected


@pytest.mark.parametrize(("location", "named"), [
    ("/data/event_date=2020-01-01/lake", "Hive partition"),
    ("s3://bucket/team=dns/lake", "Hive partition"),
    ("/data/a\\b/lake", "backslash"),
])
def test_what_duckdb_cannot_read_literally_is_refused_in_one_line(location, named):
    with pytest.raises(GlobUnsafeLocationError, match=named) as refused:
        glob_root(location)
    assert "\n" not in str(refused.value)


def test_ddl_refuses_a_location_duckdb_would_misread(lakes):
    work, _ = lakes
    result = cli("ddl", "--engine", "duckdb", "--location", str(work / "event_date=2020-01-01" / "lake"))
    assert result.returncode == 2 and "Hive partition" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("path", "glob"), [
    ("/a/lake[1]", "/a/lake[[]1]"), ("/a/lake*", "/a/lake[*]"), ("/a/lake?", "/a/lake[?]"), ("/a/l{a,b}]", "/a/l{a,b}]"),
    ("s3://b/p*x", "s3://b/p[*]x"),
])
def test_glob_literal_escapes_in_brackets(path, glob):
    assert glob_literal(path) == glob


@pytest.mark.parametrize("name", ["lake*", "lake[1]", "lake\\x", "event_date=2020-01-01/lake"])
def test_a_run_into_an_odd_lake_path_publishes_its_own_files_only(tmp_path, name):
    """The writer reads staged files through DuckDB too: a sibling lake's staged files of the same
    names (the same source) must not be rebuilt into this lake's partitions (repro_30: `lake*`
    published every event twice)."""
    settings = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "lake-sibling"))
    run_without_prefect(settings, [date(2026, 11, 2)])
    run_without_prefect(LakeSettings(source=settings.source, lake=str(tmp_path / name)), [date(2026, 11, 2)])
    for table in ("events", "record_changes"):
        with duckdb.connect() as con:
            sibling = con.execute(f"select count(*) from read_parquet('{tmp_path}/lake-sibling/{table}/*/*.parquet')").fetchone()
        with connect(str(tmp_path / name)) as con:
            assert con.execute(f"select count(*) from {table}").fetchone() == sibling, table
