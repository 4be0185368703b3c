"""Athena DDL and DuckDB views: generated from schemas.tables, and true to the files the pipeline writes.

The Athena SQL is parsed with sqlglot's "athena" dialect, which hands DDL to its Hive parser
(CREATE EXTERNAL TABLE ... PARTITIONED BY ... STORED AS PARQUET LOCATION ... TBLPROPERTIES), so
no fallback to read="hive" is needed. Types are rendered back with the *hive* generator: the
athena generator writes Trino DML types (string -> VARCHAR, array<string> -> ARRAY(VARCHAR)).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from schemas.ddl import athena_ddl, athena_script, athena_type, duckdb_script
from schemas.tables import EVENTS, TABLES, Table
from tests.conftest import a_record, gz, log_key, other_record, route53_record

ACCT = "123456789012"
DATABASE = "route53_lake"
LOCATION = "s3://audit-bucket/route53/lake"
DAYS = [date(2026, 11, 2), date(2026, 11, 3)]
PARTITIONS = {"events": "event_date", "record_changes": "event_date", "quarantine": "delivery_date", "source_files": "delivery_date"}
DUPLICATE = route53_record("dup", "2026-11-01T23:59:00Z", a_record("a.example.com.", "192.0.2.1"),
                           a_record("www.example.com.", "192.0.2.9", action="UPSERT"))


# --- a real lake, written once per module by the pipeline itself -------------------------------

@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """Two delivery days: the same two-change event delivered on both (a planted duplicate), a
    read-only call, a non-Route 53 record and a corrupt file (so quarantine is written). The
    folder name holds a quote, so the DuckDB script's quoting is exercised for real."""
    root = tmp_path_factory.mktemp("analyst's lake")
    files = {
        log_key(ACCT, "2026-11-02", "0004"): [DUPLICATE, other_record(1, "2026-11-02T00:00:00Z")],
        log_key(ACCT, "2026-11-02", "0900", unique="SecondFile000001"): [
            route53_record("b", "2026-11-02T08:59:00Z", a_record("b.example.com.", "192.0.2.2")),
            route53_record("r", "2026-11-02T09:00:00Z", name="GetHostedZone"),
        ],
        log_key(ACCT, "2026-11-03", "0100", unique="OrgTrailCopy0001"): [
            DUPLICATE, route53_record("c", "2026-11-03T00:30:00Z", a_record("c.example.com.", "192.0.2.3")),
        ],
    }
    blobs = {key: gz(records) for key, records in files.items()}
    blobs[log_key(ACCT, "2026-11-02", "1000", unique="BrokenFile000001")] = b"\x1f\x8b\x08\x00broken"
    for key, data in blobs.items():
        (root / "trail" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "trail" / key).write_bytes(data)
    run_without_prefect(LakeSettings(source=str(root / "trail"), lake=str(root / "lake")), DAYS, workers=2)
    return root / "lake"


@pytest.fixture(scope="module")
def views(lake) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(duckdb_script(str(lake)))
    return con


# --- reading the generated SQL back through sqlglot's AST --------------------------------------

def parse_create(table: Table, **options) -> exp.Create:
    """The one statement of a table's DDL, parsed."""
    (statement,) = sqlglot.parse(athena_ddl(table, database=DATABASE, location=LOCATION, **options), read="athena")
    assert isinstance(statement, exp.Create) and statement.kind == "TABLE"
    return statement


def type_sql(column: exp.ColumnDef) -> str:
    return column.args["kind"].sql(dialect="hive").lower()


def comment(column: exp.ColumnDef) -> str | None:
    found = column.find(exp.CommentColumnConstraint)
    return found.this.name if found else None


def columns_of(create: exp.Create) -> list[tuple[str, str]]:
    """(name, type) of the table's data columns, partition column excluded."""
    return [(c.name, type_sql(c)) for c in create.this.expressions]


def partition_of(create: exp.Create) -> exp.ColumnDef:
    (column,) = create.find(exp.PartitionedByProperty).this.expressions
    return column


def properties_of(create: exp.Create) -> dict[str, str]:
    return {p.name: p.args["value"].name for p in create.find(exp.Properties).expressions if type(p) is exp.Property}


def declared_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, athena_type(f.type)) for f in schema]


# --- athena_type ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("arrow_type", "expected"), [
    (pa.string(), "string"), (pa.int64(), "bigint"), (pa.float64(), "double"), (pa.bool_(), "boolean"),
    (pa.timestamp("us", tz="UTC"), "timestamp"), (pa.date32(), "date"), (pa.list_(pa.string()), "array<string>"),
    (pa.list_(pa.list_(pa.int64())), "array<array<bigint>>"),
    (pa.struct([("a", pa.string()), ("b", pa.list_(pa.date32()))]), "struct<a:string,b:array<date>>"),
])
def test_athena_type_maps_exactly(arrow_type, expected):
    assert athena_type(arrow_type) == expected


@pytest.mark.parametrize("arrow_type", [
    pa.int32(), pa.float32(), pa.large_string(), pa.binary(), pa.timestamp("ns", tz="UTC"), pa.timestamp("us"),
    pa.date64(), pa.decimal128(10, 2), pa.map_(pa.string(), pa.string()), pa.list_(pa.int32()),
    pa.struct([("Bad-Name", pa.string())]),
])
def test_athena_type_refuses_what_it_cannot_map_exactly(arrow_type):
    with pytest.raises(TypeError, match="Athena"):
        athena_type(arrow_type)


def test_an_unmapped_column_type_names_the_column():
    table = dataclasses.replace(EVENTS, columns=(*EVENTS.columns, dataclasses.replace(EVENTS.columns[0], name="n", type=pa.int32())))
    with pytest.raises(TypeError, match="column n: .*int32"):
        athena_ddl(table, database=DATABASE, location=LOCATION)


# --- the Athena DDL, parsed ----------------------------------------------------------------------

def test_script_parses_into_the_database_and_one_create_per_table():
    statements = sqlglot.parse(athena_script(DATABASE, LOCATION), read="athena")
    database, *tables = statements
    assert (database.kind, database.this.name, database.args["exists"]) == ("DATABASE", DATABASE, True)
    assert [(t.kind, t.this.this.db, t.this.this.name) for t in tables] == [("TABLE", DATABASE, n) for n in TABLES]
    assert all(t.find(exp.ExternalProperty) and t.args["exists"] for t in tables)


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_parsed_columns_types_and_comments_equal_the_declaration(table):
    create = parse_create(table)
    assert columns_of(create) == declared_columns(table.schema)
    # Comments survive escaping: descriptions hold quotes ('synthetic:') and backslashes (\052).
    assert [comment(c) for c in create.this.expressions] == [c.description for c in table.columns]
    assert create.find(exp.SchemaCommentProperty).this.name == table.description
    partition = partition_of(create)
    assert (partition.name, type_sql(partition), comment(partition)) == (PARTITIONS[table.name], "date", table.partition.description)
    assert create.find(exp.FileFormatProperty).name.upper() == "PARQUET"
    assert create.find(exp.LocationProperty).this.name == f"{LOCATION}/{table.name}/"


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_partition_projection_is_complete(table):
    part = table.partition.name
    assert properties_of(parse_create(table, projection_start="2019-06-01")) == {
        "projection.enabled": "true",
        f"projection.{part}.type": "date",
        f"projection.{part}.format": "yyyy-MM-dd",
        f"projection.{part}.range": "2019-06-01,NOW",
        f"projection.{part}.interval": "1",
        f"projection.{part}.interval.unit": "DAYS",
        "storage.location.template": f"{LOCATION}/{table.name}/{part}=${{{part}}}/",
        "parquet.compression": "ZSTD",
    }


def test_location_is_normalised():
    variants = {athena_ddl(EVENTS, database=DATABASE, location=loc) for loc in (LOCATION, LOCATION + "/", LOCATION + "//")}
    assert len(variants) == 1
    bucket_root = sqlglot.parse_one(athena_ddl(EVENTS, database=DATABASE, location="s3://b-1/"), read="athena")
    assert bucket_root.find(exp.LocationProperty).this.name == "s3://b-1/events/"


@pytest.mark.parametrize(("options", "message"), [
    ({"database": "Route53"}, "database"), ({"database": "1lake"}, "database"), ({"database": "route-53"}, "database"),
    ({"database": ""}, "database"), ({"database": "x`; drop"}, "database"),
    ({"location": "/data/lake"}, "location"), ({"location": "https://bucket/lake"}, "location"),
    ({"location": "s3://"}, "location"), ({"location": "s3://Bucket_Name/lake"}, "bucket"),
    ({"location": "s3://bucket/it's"}, "location"), ({"location": "s3://bucket/a//b"}, "location"),
    ({"location": "s3://bucket/../x"}, "location"), ({"location": "s3://bucket/${x}"}, "location"),
    ({"projection_start": "2014-13-01"}, "projection_start"), ({"projection_start": "20140101"}, "projection_start"),
    ({"projection_start": "2014-1-1"}, "projection_start"), ({"projection_start": "yesterday"}, "projection_start"),
])
def test_invalid_inputs_raise_value_error(options, message):
    arguments = {"database": DATABASE, "location": LOCATION} | options
    with pytest.raises(ValueError, match=message):
        athena_ddl(EVENTS, **arguments)


def test_a_comment_glue_would_reject_raises():
    column = dataclasses.replace(EVENTS.columns[0], description="x" * 256)
    with pytest.raises(ValueError, match="255"):
        athena_ddl(dataclasses.replace(EVENTS, columns=(column,)), database=DATABASE, location=LOCATION)


# --- agreement with the Parquet files the pipeline writes ------------------------------------------

@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_ddl_agrees_with_the_parquet_files_on_disk(lake, table):
    files = sorted((lake / table.name).rglob("*.parquet"))
    assert files, f"the pipeline wrote no {table.name} file"
    ddl_columns = columns_of(parse_create(table))
    for path in files:
        assert declared_columns(pq.read_schema(path)) == ddl_columns, path


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_partition_folders_match_the_projection_template(lake, table):
    template = properties_of(parse_create(table))["storage.location.template"]
    relative = template.removeprefix(f"{LOCATION}/")
    part = table.partition.name
    pattern = re.compile(re.escape(relative).replace(re.escape(f"${{{part}}}"), r"(\d{4}-\d{2}-\d{2})"))
    folders = {f"{p.parent.relative_to(lake).as_posix()}/" for p in (lake / table.name).rglob("*.parquet")}
    assert folders and all(pattern.fullmatch(f) for f in folders), (relative, folders)
    assert all(date.fromisoformat(pattern.fullmatch(f).group(1)) for f in folders)


# --- DuckDB views over the same lake ----------------------------------------------------------------

def test_duckdb_script_quotes_the_location():
    script = duckdb_script("s3://bucket/it's/")
    assert "read_parquet('s3://bucket/it''s/events/event_date=*/*.parquet'" in script
    assert len(sqlglot.parse(script, read="duckdb")) == len(TABLES) + 2


def test_duckdb_views_type_the_partition_as_date(lake, views):
    assert "'" in str(lake)
    for name, table in TABLES.items():
        part = table.partition.name
        assert views.execute(f"select typeof({part}) from {name} limit 1").fetchone() == ("DATE",)


@pytest.mark.parametrize(("view", "rows"), [
    ("events", 4), ("events_dedup", 4), ("record_changes", 4), ("record_changes_dedup", 4), ("quarantine", 1), ("source_files", 4),
])
def test_duckdb_views_return_every_row_once(views, view, rows):
    assert views.execute(f"select count(*) from {view}").fetchone() == (rows,)


def test_the_tables_keep_the_first_delivered_copy_and_its_changes(views):
    """'dup' was delivered on two days: the tables themselves hold the first delivered copy, and
    the *_dedup views (kept for existing queries) are the same rows."""
    copies = "select delivery_date, source_file from {} where event_id = 'dup'"
    (kept,) = views.execute(copies.format("events")).fetchall()
    assert kept[0] == DAYS[0]
    assert views.execute(copies.format("events_dedup")).fetchall() == [kept]
    for table in ("record_changes", "record_changes_dedup"):
        changes = views.execute(f"select change_index, source_file from {table} where event_id = 'dup' order by change_index").fetchall()
        assert changes == [(0, kept[1]), (1, kept[1])]
    assert views.execute("select count(*) from events group by event_id having count(*) > 1").fetchall() == []
