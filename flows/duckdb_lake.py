"""The lake as DuckDB sees it: one view per table, Hive partitions typed, local or s3:// alike."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from flows.storage import open_store
from schemas.tables import TABLES

SQL = Path(__file__).resolve().parent.parent / "sql"
# Derived views, in dependency order; the same SQL files serve DuckDB and (where no
# sql/views/athena/ twin exists) Athena.
DERIVED_VIEWS = ("events_dedup", "record_changes_dedup", "hosted_zones", "record_history")


def view_sql(name: str, engine: str = "duckdb") -> str:
    twin = SQL / "views" / "athena" / f"{name}.sql"
    return (twin if engine == "athena" and twin.exists() else SQL / "views" / f"{name}.sql").read_text()


def table_glob(lake: str, table: str) -> str:
    partition = TABLES[table].partition.name
    return f"{lake.rstrip('/')}/{table}/{partition}=*/*.parquet"


def connect(lake: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table over the lake (a table with no files yet is an
    empty view with the right columns) and the derived views: events_dedup,
    record_changes_dedup, hosted_zones, record_history."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    store = open_store(lake)
    if not store.is_local:
        con.register_filesystem(store.fs)  # s3:// through s3fs: no httpfs extension needed
    for name, table in TABLES.items():
        pattern = table_glob(lake, name)
        if con.execute("select count(*) from glob(?)", [pattern]).fetchall()[0][0]:
            partition = table.partition.name
            quoted = pattern.replace("'", "''")
            con.execute(
                f"create or replace view {name} as select * from read_parquet('{quoted}', "
                f"hive_partitioning = true, hive_types = {{'{partition}': 'DATE'}}, union_by_name = true)"
            )
        else:
            empty = pa.schema([*table.schema, table.partition.field()]).empty_table()
            con.register(f"_{name}_empty", empty)
            con.execute(f"create or replace view {name} as select * from _{name}_empty")
    for name in DERIVED_VIEWS:
        con.execute(view_sql(name))
    return con


LATEST_CHANGES = """
select event_time, action, record_name_normalized as record, record_type as type,
       coalesce(array_to_string(resource_records, ' '), 'ALIAS ' || alias_dns_name) as value,
       ttl, coalesce(session_issuer_arn, user_identity_arn, user_identity_invoked_by) as actor, source_ip_address as ip,
       coalesce(error_code, 'ok') as result
from record_changes
order by event_time desc, event_id, change_index
limit ?
"""


def latest_changes(lake: str, limit: int = 15) -> duckdb.DuckDBPyRelation:
    return connect(lake).sql(LATEST_CHANGES.replace("?", str(int(limit))))
