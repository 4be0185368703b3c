"""The views and the cookbook in a second real engine: Spark SQL (a local pyspark session), through the
spelling sqlglot generates from the DuckDB source. Every view holds the same rows in Spark as in
DuckDB, and every cookbook query returns the same rows in the same order (its order is total).

The lake is the sample's, with one file the CloudTrail digest lists taken away, so the digest query
(cookbook 12) has a row to agree on, and the built records of tests/query/zone_family_records.py (VPC
associations, health checks in use, domain settings: the sample has none), route53domains read too.
Spark plans views slowly on 2 cores: the tables and the views the others build on are cached once (the
SQL of each still runs, once)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows.pipeline import run_without_prefect
from flows.query.dialects import SQL, spell
from flows.query.duckdb_lake import DERIVED_VIEWS, RESOLVER_VIEWS, connect, setup_sql
from flows.settings import LakeSettings
from schemas.tables import TABLES
from tests.conftest import DATA
from tests.query.cookbook_sample import RESOLVER_COOKBOOK, cookbook_files, on_the_sample
from tests.query.spark_local import define, local_spark
from tests.query.zone_family_records import SOURCES, write_family_trail

# Spark needs a Java 17+ runtime. Without one a developer's run skips these tests with the reason; CI
# (CI=true) installs Java in .ci/run and never skips them.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("CI"),
                                 reason="no java on PATH: Spark SQL needs Java 17+ (apt-get install openjdk-17-jre-headless; .ci/run does)")]
EXPECTED = json.loads((DATA / "expected.json").read_text())
LISTED = "123456789012_CloudTrail_us-east-1_20261101T1105Z_iGD2FgGkuDCEd1y4.json.gz"  # in the 2026-11-01 digest
CACHED = (*TABLES, "events_dedup", "record_changes_dedup", "zone_names", "api_calls", "changes", "record_history",
          "zone_vpc_associations", "health_checks", "dns_risk")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spark")
    shutil.copytree(DATA / "cloudtrail", root / "trail")
    (listed,) = (root / "trail").rglob(LISTED)
    listed.unlink()
    family_day = write_family_trail(root / "trail")  # VPC associations, health checks in use, domain settings
    days = sorted({*(date.fromisoformat(d) for d in EXPECTED["days"]), family_day})
    run_without_prefect(LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), event_sources=SOURCES), days)
    return root / "lake"


@pytest.fixture(scope="module")
def spark(lake, tmp_path_factory):
    session = local_spark("route53-lake-tests", tmp_path_factory.mktemp("warehouse"))
    try:
        define(session, setup_sql("spark", str(lake)))
        for name in CACHED:
            session.sql(f"cache table {name}")
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def duck(lake):
    return connect(str(lake))


def normal(value):
    """DuckDB gives aware UTC datetimes, Spark naive ones in its session zone (UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    return value


def duck_rows(duck, sql: str) -> list:
    return [normal(row) for row in duck.sql(sql).fetchall()]


def spark_rows(spark, sql: str) -> list:
    return [normal(tuple(row)) for row in spark.sql(spell(sql, "spark")).collect()]


@pytest.mark.parametrize("view", [*TABLES, "events_dedup", "record_changes_dedup", *DERIVED_VIEWS])
def test_every_view_has_the_same_rows_in_spark_as_in_duckdb(spark, duck, view):
    expected = duck_rows(duck, f"select * from {view}")
    assert expected or view in RESOLVER_VIEWS, f"{view} is empty on the sample: nothing to compare"
    assert sorted(spark_rows(spark, f"select * from {view}"), key=repr) == sorted(expected, key=repr)


@pytest.mark.parametrize("path", cookbook_files(), ids=lambda p: p.stem)
def test_every_cookbook_query_gives_the_same_rows_in_the_same_order_in_spark(spark, duck, path):
    text = on_the_sample(path)  # its parameters set (sqlglot rewrote it): what --param runs and --print-as spells
    expected = duck_rows(duck, text)
    assert expected or path.stem in RESOLVER_COOKBOOK, f"{path.name} returns nothing on the sample: nothing to compare"
    assert spark_rows(spark, text) == expected


def test_the_missing_file_is_the_one_taken_away(duck):
    (row,) = duck.sql((SQL / "cookbook" / "12_digest_missing_files_per_week.sql").read_text()).fetchall()
    assert row[3].endswith(LISTED) and str(row[0]) == "2026-10-26" and row[-1] == 1


def test_the_setup_runs_on_a_lake_whose_tables_are_not_all_there_yet(spark, lake, tmp_path):
    """MSCK REPAIR TABLE refuses a missing folder: a clean lake has no quarantine, a lake of Resolver
    calls alone no record_changes. The setup for such a lake (with_files, as `route53-lake ddl
    --engine spark` lists it) creates them empty and repairs the others; every view answers."""
    from flows.query.duckdb_lake import tables_with_files

    partial = tmp_path / "lake"
    shutil.copytree(lake, partial)
    for table in ("record_changes", "quarantine"):
        shutil.rmtree(partial / table)
    spark.sql("create database partial_lake")
    try:
        spark.sql("use partial_lake")
        define(spark, setup_sql("spark", str(partial), with_files=tables_with_files(str(partial))))
        assert spark.sql("select count(*) from record_changes").collect()[0][0] == 0
        assert spark.sql("select count(*) from events").collect()[0][0] == spark.sql("select count(*) from default.events").collect()[0][0] > 0
        for view in DERIVED_VIEWS:
            spark.sql(f"select count(*) from {view}").collect()  # plans and runs over the empty tables
        assert spark.sql("select count(*) from record_history").collect()[0][0] == 0
    finally:
        spark.sql("use default")
        spark.sql("drop database partial_lake cascade")
