"""The lake as analysts query it: the setup SQL for DuckDB, Athena and Spark, and a ready DuckDB connection.

Base table views/DDL and the deduplicating views are generated from schemas/ (schemas/ddl.py);
the derived views (DERIVED_VIEWS) are SQL files in sql/views/, written once in DuckDB's dialect
and spelled for Athena and Spark by sqlglot (flows/query/dialects.py): there are no hand-written twins.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import duckdb
import pyarrow as pa

from flows.query.dialects import spell, view_sql
from flows.query.lake_connection import LakeConnection, new_connection, retrying
from flows.storage.store import open_store
from schemas.ddl import athena_script, dedup_views, duckdb_table_view, spark_script, table_glob
from schemas.tables import ROUTING_COLUMNS, TABLES, Table
from schemas.views import RESOLVER_VIEWS  # the Route 53 Resolver and DNS Firewall views (one row per call)

# In dependency order.
DERIVED_VIEWS = ("zone_statements", "zone_names", "callers", "api_calls", "changes", "hosted_zones", "record_history",
                 "zone_vpc_associations", "health_checks", *RESOLVER_VIEWS, "dns_risk_rules", "dns_risk")
# DuckDB only (Athena and Spark have no macros): a DNS name as a person types it, as the lake
# stores names (record_name_normalized, zone_name): lower case, one trailing dot, \052 as '*'.
# `where record_name_normalized = dns_name('App.example.com')` finds 'app.example.com.'.
MACROS = ("create or replace macro dns_name(name) as "
          "case when name is null then null else replace(lower(rtrim(trim(name), '.')), '\\052', '*') || '.' end",)


def views_sql(engine: str) -> list[str]:
    """The views on top of the tables, in dependency order, for 'duckdb', 'athena' or 'spark'."""
    return [*(spell(v, engine) for v in dedup_views()), *(view_sql(name, engine) for name in DERIVED_VIEWS)]


def absolute_location(location: str) -> str:
    """s3://... as given; a local folder made absolute, so the SQL works from any directory."""
    location = location.strip()
    return location.rstrip("/") if "://" in location else str(Path(location).expanduser().resolve())


def setup_sql(engine: str, location: str, database: str = "route53_lake", projection_start: str = "2014-01-01",
              with_files: Collection[str] | None = None) -> str:
    """Everything an analyst runs once to query the lake: Athena DDL with partition projection plus
    the views; DuckDB views over a local or s3:// lake; or Spark tables (then MSCK REPAIR TABLE, to
    register the partitions present) plus the views. with_files: the tables that hold a file yet
    (tables_with_files; None: every table). Another one is, in DuckDB, an empty view of its columns
    (read_parquet refuses a glob that matches nothing) and, in Spark, not repaired (MSCK REPAIR
    refuses a missing folder): a clean lake has no quarantine folder. Run the script again once it has
    files. Athena projects its partitions and needs neither."""
    present = set(TABLES) if with_files is None else set(with_files)
    if engine == "athena":
        head = athena_script(database, location, projection_start).rstrip().rstrip(";")
        return ";\n\n".join([head, *views_sql("athena")]) + ";\n"
    if engine == "duckdb":
        root = absolute_location(location)
        base = [duckdb_table_view(t, root) if t.name in present else empty_table_view(t) for t in TABLES.values()]
        return ";\n\n".join([*base, *views_sql("duckdb"), *MACROS]) + ";\n"
    if engine == "spark":
        head = spark_script(absolute_location(location), present).rstrip().rstrip(";")
        return ";\n\n".join([head, *views_sql("spark")]) + ";\n"
    raise ValueError(f"engine {engine!r}: expected athena, duckdb or spark")


def tables_with_files(lake: str) -> set[str]:
    """The tables of the lake that hold anything yet (one LIST of at most one key each on S3)."""
    store = open_store(lake)
    return {name for name in TABLES if store.holds_anything(name)}


def empty_table_view(table: Table) -> str:
    """The table as a DuckDB view with its columns and types and no rows: a table with no file yet.
    The types are DuckDB's reading of the table's Arrow schema, as read_parquet reads its files."""
    with duckdb.connect() as con:
        con.register("empty", pa.schema([*table.schema, table.partition.field()]).empty_table())
        columns = con.execute("describe empty").fetchall()
    select = ", ".join(f'cast(null as {type_}) as "{name}"' for name, type_, *_ in columns)
    return f"create or replace view {table.name} as select {select} where false"


def connect(lake: str, time_zone: str | None = "UTC") -> LakeConnection:
    """An in-memory DuckDB with every table, view and macro over the lake, its times in `time_zone`
    (None: the machine's). A table with no files yet is an empty view with the right columns
    (read_parquet refuses an empty glob). Queries that straddle a run's rebuild are re-run and S3
    is listed afresh per query (lake_connection)."""
    lake_con, root = new_connection(lake, time_zone)  # each statement below reads footers, and is retried on its own
    con = lake_con.duckdb
    try:
        for table in TABLES.values():
            if lake_con.execute("select count(*) from glob(?)", [table_glob(table, root)]).fetchall()[0][0]:
                lake_con.execute(duckdb_table_view(table, root))
            else:
                con.execute(empty_table_view(table))
        for statement in [*views_sql("duckdb"), *MACROS]:
            lake_con.execute(statement)
    except BaseException:
        con.close()
        raise
    return lake_con


_VALUE = "coalesce(array_to_string({0}, ', '), 'ALIAS ' || {1})"
# The latest changes with what `latest` shows (flows/cli/query.py): the values before and after
# (record_history; a failed attempt has no history row and shows what it tried), the routing
# fields before and after, the person (or role) and the account. Newest first.
LATEST_CHANGES = f"""
select c.event_time, c.action, c.record_name_normalized as record, c.record_type as type, c.error_code,
       case when h.event_id is null then case when c.action = 'DELETE' then {_VALUE.format('c.resource_records', 'c.alias_dns_name')}
                                              when c.action = 'UPSERT' then '(not seen)' end
            when c.action = 'UPSERT' and not h.before_known then '(not seen)'
            else {_VALUE.format('h.before_values', 'h.before_alias_dns_name')} end as before,
       case when h.event_id is not null then {_VALUE.format('h.after_values', 'h.after_alias_dns_name')}
            when c.action <> 'DELETE' then {_VALUE.format('c.resource_records', 'c.alias_dns_name')} end as after,
       h.before_ttl, h.after_ttl, c.set_identifier, {ROUTING_COLUMNS},
       c.actor_person as person, regexp_extract(c.actor, '[^:/]+$') as role, c.actor, c.account_id
from changes c
left join record_history h on h.event_id = c.event_id and h.change_index = c.change_index
order by c.event_time desc, c.event_id, c.change_index
limit ?
"""
# Everything `latest --wide` shows: the values sent, the full actor ARN, the source IP, the result.
LATEST_CHANGES_WIDE = """
select event_time, action, record_name_normalized as record, record_type as type,
       coalesce(array_to_string(resource_records, ' '), 'ALIAS ' || alias_dns_name) as value,
       ttl, set_identifier, actor, actor_person as person, account_id, source_ip_address as ip,
       coalesce(error_code, 'ok') as result, event_id
from changes
order by event_time desc, event_id, change_index
limit ?
"""


class LakeNotFoundError(FileNotFoundError):
    """A location without any of the lake's folders: a mistyped --lake, or a lake never written."""


LAKE_FOLDERS = ("events", "record_changes", "quarantine", "_manifests")


def require_lake(lake: str, option: str = "--lake") -> None:
    """Refuse a location that holds no lake (LakeNotFoundError, one line naming it): every command
    that reads the lake checks this first, since an empty answer for a mistyped lake looks like a
    quiet week (`latest` and `sql` alike)."""
    found = {entry.path for entry in open_store(lake).list("") if entry.is_dir}
    if not found & set(LAKE_FOLDERS):
        raise LakeNotFoundError(f"no lake at {lake}: none of {', '.join(f + '/' for f in LAKE_FOLDERS)} is there; "
                                f"check {option}, or run the flow first")


def latest_changes(lake: str, limit: int = 15, wide: bool = False) -> duckdb.DuckDBPyRelation:
    """The latest `limit` record changes (at least 1), narrow (LATEST_CHANGES) or `wide`
    (LATEST_CHANGES_WIDE). A location that holds no lake is an error (require_lake)."""
    limit = int(limit)
    if limit < 1:
        raise ValueError(f"limit: expected at least 1 row, got {limit}")
    require_lake(lake)
    con = connect(lake)
    query = (LATEST_CHANGES_WIDE if wide else LATEST_CHANGES).replace("?", str(limit))
    rows = retrying(lambda: con.sql(query).fetch_arrow_table())
    return duckdb.from_arrow(rows)


def delivered_event_dates(lake: str, first, last) -> list[str]:
    """The event dates of the events delivered from `first` to `last` (delivery days, inclusive)."""
    con = connect(lake)
    try:
        rows = con.execute("select distinct event_date::varchar from events where delivery_date between $first and $last",
                           {"first": str(first), "last": str(last)}).fetchall()
    finally:
        con.close()
    return sorted(r[0] for r in rows)
