"""Athena DDL, Spark DDL and DuckDB views for the lake, generated from schemas.tables: never written by hand.

The Athena tables use partition projection, so a new day's folder is queryable the moment the
pipeline writes it: no Glue crawler, no MSCK REPAIR TABLE, no ALTER TABLE ADD PARTITION. Every
column type comes from `athena_type`, which refuses what it does not know rather than guess:
a wrong type in a Hive schema fails only at query time, on the analyst's screen.

    python -m schemas.ddl | duckdb      # views over the local lake ./lake (its absolute path)
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import pyarrow as pa

from schemas.tables import EVENTS, RECORD_CHANGES, TABLES, Table

_SCALARS: dict[pa.DataType, str] = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.timestamp("us", tz="UTC"): "timestamp",  # Athena reads microseconds; nanoseconds it cannot
    pa.date32(): "date",
}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# S3 "safe" key characters only: the location is embedded in SQL string literals and in the
# projection template, where a quote, a backslash or '${' would change its meaning.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._=+!*()-]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Glue rejects a column comment over 255 characters or with control characters other than tab.
GLUE_COMMENT_MAX = 255
GLUE_TABLE_COMMENT_MAX = 2048
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")


def athena_type(arrow_type: pa.DataType) -> str:
    """The Athena (Hive DDL) type of a pyarrow type; TypeError for anything without an exact
    mapping, so a new column type is a decision, not a silent fallback to string."""
    if arrow_type in _SCALARS:
        return _SCALARS[arrow_type]
    if pa.types.is_list(arrow_type):
        return f"array<{athena_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = ",".join(f"{_identifier(f.name)}:{athena_type(f.type)}" for f in arrow_type)
        return f"struct<{fields}>"
    raise TypeError(
        f"no Athena type for pyarrow type {arrow_type}; declare one of {', '.join(map(str, _SCALARS))}, "
        "a list or a struct of them, or add an exact mapping to schemas.ddl"
    )


def _identifier(name: str) -> str:
    """Struct field names appear unquoted inside a type: only plain lower snake_case is safe."""
    if not _IDENTIFIER.fullmatch(name):
        raise TypeError(f"struct field {name!r} is not a lower snake_case name Athena can use")
    return name


def hive_string(text: str, limit: int) -> str:
    """A Hive DDL string literal. Hive escapes with backslashes (it does not accept ''), and it
    decodes backslash sequences such as \\052, so backslashes are escaped first."""
    if len(text) > limit or _CONTROL.search(text):
        raise ValueError(f"comment {text[:40]!r}... is longer than {limit} characters or has control characters; Glue would reject it")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_database(database: str) -> str:
    if not _IDENTIFIER.fullmatch(database):
        raise ValueError(f"database {database!r}: expected lower snake_case matching [a-z_][a-z0-9_]*")
    return database


def normalise_location(location: str) -> str:
    """s3://bucket[/prefix] without a trailing slash, so '<location>/<table>/' is always well formed."""
    scheme, separator, rest = location.strip().partition("://")
    if scheme != "s3" or not separator:
        raise ValueError(f"location {location!r}: expected s3://bucket/prefix (Athena reads only S3)")
    bucket, *keys = rest.rstrip("/").split("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"location {location!r}: {bucket!r} is not a valid S3 bucket name")
    for key in keys:
        if key in ("", ".", "..") or not _KEY_SEGMENT.fullmatch(key):
            raise ValueError(f"location {location!r}: prefix segment {key!r} is empty or has characters outside [A-Za-z0-9._=+!*()-]")
    return "s3://" + "/".join((bucket, *keys))


def check_projection_start(projection_start: str) -> str:
    """A real yyyy-MM-dd date: the projection's format, which date.fromisoformat alone does not enforce."""
    try:
        if _ISO_DATE.fullmatch(projection_start):
            date.fromisoformat(projection_start)
            return projection_start
    except ValueError:
        pass
    raise ValueError(f"projection_start {projection_start!r}: expected an ISO date yyyy-MM-dd, e.g. 2014-01-01")


def _column_sql(field: pa.Field) -> str:
    """One column of the DDL, from a field of the Parquet schema (its description is in its metadata)."""
    try:
        type_ = athena_type(field.type)
    except TypeError as error:
        raise TypeError(f"column {field.name}: {error}") from error
    description = field.metadata[b"description"].decode()
    return f"`{field.name}` {type_} COMMENT {hive_string(description, GLUE_COMMENT_MAX)}"


def table_location(table: Table, location: str) -> str:
    return f"{location}/{table.name}/"


def projection_properties(table: Table, location: str, projection_start: str) -> dict[str, str]:
    """Partition projection over the pipeline's `<table>/<partition>=YYYY-MM-DD/` folders."""
    part = table.partition.name
    return {
        "projection.enabled": "true",
        f"projection.{part}.type": "date",
        f"projection.{part}.format": "yyyy-MM-dd",
        f"projection.{part}.range": f"{projection_start},NOW",
        f"projection.{part}.interval": "1",
        f"projection.{part}.interval.unit": "DAYS",
        "storage.location.template": f"{table_location(table, location)}{part}=${{{part}}}/",
        "parquet.compression": "ZSTD",
    }


def athena_ddl(table: Table, *, database: str, location: str, projection_start: str = "2014-01-01") -> str:
    """CREATE EXTERNAL TABLE for one table: the Parquet columns in file order, the partition
    column from the folder names, and projection so partitions never need registering."""
    database = check_database(database)
    location = normalise_location(location)
    projection_start = check_projection_start(projection_start)
    columns = ",\n".join(f"  {_column_sql(field)}" for field in table.schema)
    properties = ",\n".join(f"  '{k}'='{v}'" for k, v in projection_properties(table, location, projection_start).items())
    return "\n".join([
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (",
        columns,
        ")",
        f"COMMENT {hive_string(table.description, GLUE_TABLE_COMMENT_MAX)}",
        f"PARTITIONED BY (\n  {_column_sql(table.partition.field())}\n)",
        "STORED AS PARQUET",
        f"LOCATION '{table_location(table, location)}'",
        f"TBLPROPERTIES (\n{properties}\n)",
    ])


def athena_script(database: str, location: str, projection_start: str = "2014-01-01") -> str:
    """The database and every table, ready for the Athena console or `aws athena` one statement at a time."""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{check_database(database)}`"]
    statements += [
        athena_ddl(t, database=database, location=location, projection_start=projection_start) for t in TABLES.values()
    ]
    return ";\n\n".join(statements) + ";\n"


def duckdb_string(text: str) -> str:
    """A DuckDB string literal: standard SQL, so a quote is doubled and backslashes mean nothing."""
    return "'" + text.replace("'", "''") + "'"


# DuckDB reads a read_parquet path as a glob pattern; each of these matches itself alone in brackets.
_GLOB_ESCAPES = {"[": "[[]", "*": "[*]", "?": "[?]"}


class GlobUnsafeLocationError(ValueError):
    """A lake location DuckDB cannot read as the literal folder it names."""


def glob_literal(path: str) -> str:
    """A path as a DuckDB glob that matches that path alone: '[', '*' and '?' escaped in brackets
    ('lake[1]' -> 'lake[[]1]'); braces are literal in DuckDB's globs. A backslash is refused with a
    one-line error: DuckDB reads it as a path separator, and no escape matches it. Every path given
    to read_parquet, alone or in a list, is a glob."""
    if "\\" in path:
        raise GlobUnsafeLocationError(f"path {path!r} has a backslash, which DuckDB reads as a path separator; "
                                      "move or link the lake to a path without one")
    return "".join(_GLOB_ESCAPES.get(char, char) for char in path)


def glob_root(location: str) -> str:
    """The lake's location as the literal start of a DuckDB glob (glob_literal), so the views never
    read a sibling folder or miss their own. Also refused with a one-line error: a folder named like
    a Hive partition, 'key=value', on the way to the lake (hive_partitioning reads every such folder
    on the path: an 'event_date=2020-01-01' above the lake would overwrite every row's event_date,
    an 'event_id=x' its event_id)."""
    location = location.rstrip("/")
    path = location.partition("://")[2] if "://" in location else location
    hive = [segment for segment in path.split("/") if "=" in segment]
    if hive:
        raise GlobUnsafeLocationError(f"lake location {location!r}: folder {hive[0]!r} looks like a Hive partition "
                                      "(key=value) and DuckDB would read it as a column; move or link the lake elsewhere")
    return glob_literal(location)


def table_glob(table: Table, location: str) -> str:
    """The glob of a table's Parquet files under a lake location (see glob_root)."""
    return f"{glob_root(location)}/{table.name}/{table.partition.name}=*/*.parquet"


def duckdb_table_view(table: Table, location: str) -> str:
    part = table.partition.name
    glob = duckdb_string(table_glob(table, location))
    # union_by_name: files written before a column was added still read, with nulls for it.
    return (
        f"create or replace view {table.name} as select * from read_parquet({glob}, "
        f"hive_partitioning = true, hive_types = {{'{part}': 'DATE'}}, union_by_name = true)"
    )


def dedup_views() -> list[str]:
    """`events_dedup` and `record_changes_dedup` name what the base tables now are: one copy of
    every event (the first delivered) and exactly that copy's change rows, across every trail,
    folder and delivery day (see flows/lake/partitions.py). Kept for the queries that use them; plain
    selects, so Athena prunes partitions through them as through the tables."""
    return [f"create or replace view {t.name}_dedup as select * from {t.name}" for t in (EVENTS, RECORD_CHANGES)]


def spark_ddl(table: Table, location: str) -> str:
    """CREATE TABLE for Spark SQL over one table's Parquet folders: the same columns and types as
    the Athena DDL (Hive types are Spark's), the partition column last, as Spark lists it."""
    columns = ",\n".join(f"  {_column_sql(field)}" for field in (*table.schema, table.partition.field()))
    return "\n".join([
        f"CREATE TABLE IF NOT EXISTS `{table.name}` (",
        columns,
        ")",
        "USING PARQUET",
        f"PARTITIONED BY (`{table.partition.name}`)",
        f"LOCATION {hive_string(table_location(table, location.rstrip('/')), GLUE_TABLE_COMMENT_MAX)}",
        f"COMMENT {hive_string(table.description, GLUE_TABLE_COMMENT_MAX)}",
    ])


def spark_script(location: str, with_files: Collection[str] | None = None) -> str:
    """Every table for Spark SQL, then MSCK REPAIR TABLE to register the partition folders present
    (run it again after new days land). location: a local folder, or s3a:// for Hadoop's S3 client.
    with_files: the tables that hold a file yet (None: all); MSCK REPAIR refuses a table whose folder
    does not exist, so the others are only created, under a comment that says to repair them later."""
    present = set(TABLES) if with_files is None else set(with_files)
    statements = [spark_ddl(t, location) if t.name in present
                  else f"-- {t.name} has no files yet: run MSCK REPAIR TABLE `{t.name}` once it has\n{spark_ddl(t, location)}"
                  for t in TABLES.values()]
    statements += [f"MSCK REPAIR TABLE `{t.name}`" for t in TABLES.values() if t.name in present]
    return ";\n\n".join(statements) + ";\n"


def duckdb_script(location: str) -> str:
    """Views over a lake for DuckDB, local folder or s3:// (with DuckDB's httpfs) alike.
    Every table needs at least one file: read_parquet refuses an empty glob. A location with glob
    characters is escaped, one DuckDB cannot read literally is refused (glob_root)."""
    location = location.strip().rstrip("/")
    views = [duckdb_table_view(t, location) for t in TABLES.values()] + dedup_views()
    return ";\n\n".join(views) + ";\n"


if __name__ == "__main__":
    # No argument parsing here: tests/schemas/test_schemas.py keeps schemas/ free of argparse and sys.
    from pathlib import Path

    print(duckdb_script(str(Path("lake").resolve())), end="")
