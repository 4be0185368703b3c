"""The lake's past in brief, so that a night's DNS summary costs the same on a 7-day lake as on a
5-year one.

A summary of event dates >= F reads the views (record_history, dns_risk, zone_names...) over the
partitions >= F in full, plus a handful of earlier rows: the ones whose values the views look back
at (flows/query/history_keep.py: the latest change of each record set, each actor's first change in each
zone, each alias target's first use, each actor's first write, what names each zone). Every one is
the first or last row of a group by some order, so the views give the same answers for the dates
>= F as over the whole lake (tests/query/test_history.py compares them), and keeping the kept rows
of (kept rows up to W) + (partitions W+1..X) gives the kept rows up to X.

A checkpoint holds the kept rows of every event date up to `through`, in three files under
`_state/history/`: `<through>.<token>.events.parquet`, `... .record_changes.parquet`, and last the
commit `... .json` (a reader sees only committed checkpoints). Its fingerprint names the build
records (`_state/partitions/event_date=...json`, rewritten after every rebuild that changed a
partition) and the partition folders of the dates it covers: when any of them changed, the
checkpoint is stale and is not used. A run advances the checkpoint to HORIZON_DAYS before the
lake's latest event date (advance), reading only the partitions since the last one; a summary
starts from the latest valid checkpoint before its first date and reads the few partitions between.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake.duckdb_work import parquet_files
from flows.query.dialects import view_sql
from flows.query.history_keep import KEEP_SQL
from flows.query.lake_connection import LakeConnection, new_connection
from flows.query.summary import dns_summary, keep_risky_rows
from flows.storage.store import Store, open_store
from schemas.ddl import dedup_views
from schemas.tables import EVENTS, RECORD_CHANGES, Table
from schemas.views import RESOLVER_VIEWS

log = logging.getLogger("route53_lake")

HISTORY = "_state/history"
BUILD_RECORDS = "_state/partitions"
HORIZON_DAYS = 7  # a checkpoint stays this far behind the latest date: a night summarizes and rechecks the dates after it
RETAIN_DAYS = 30  # older checkpoints are kept this long behind the newest, for a rebuild of a date before it
TABLES = (EVENTS, RECORD_CHANGES)


@dataclass(frozen=True)
class Checkpoint:
    through: str  # YYYY-MM-DD: the last event date it covers
    token: str

    def path(self, part: str) -> str:
        return f"{HISTORY}/{self.through}.{self.token}.{part}"


@dataclass
class LakeDates:
    """One listing of the lake's event-date partitions: which dates have a folder, each date's build record."""

    folders: dict[str, set[str]]  # table -> the dates with a partition folder
    records: dict[str, list]  # date -> [ETag or modification time, size] of _state/partitions/event_date=<date>.json
    files: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (table, date) -> Parquet files, listed when asked

    @property
    def dates(self) -> list[str]:
        return sorted(set().union(*self.folders.values()))

    def fingerprint(self, through: str) -> str:
        """What the partitions up to `through` are built from: it changes when any of them is rebuilt."""
        facts = [[d, self.records.get(d), *(d in self.folders[t.name] for t in TABLES)]
                 for d in sorted({*self.dates, *self.records}) if d <= through]
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def list_dates(store: Store) -> LakeDates:
    """The event-date partitions (one listing per table folder, one of the build records), and each one's files."""
    folders: dict[str, set[str]] = {}
    for table in TABLES:
        prefix = f"{table.partition.name}="
        folders[table.name] = {e.path.rsplit("/", 1)[-1][len(prefix):] for e in store.list(table.name)
                               if e.is_dir and e.path.rsplit("/", 1)[-1].startswith(prefix)}
    records = {}
    for entry in store.list(BUILD_RECORDS):
        name = entry.path.rsplit("/", 1)[-1]
        if name.startswith("event_date=") and name.endswith(".json"):
            records[name[len("event_date="):-len(".json")]] = [entry.etag or entry.mtime, entry.size]
    return LakeDates(folders, records)


def partition_files(store: Store, dates_: LakeDates, table: Table, days: list[str]) -> list[str]:
    """The Parquet files of a table's partitions of `days` (each folder listed once, when asked for)."""
    files = []
    for day in days:
        if day in dates_.folders[table.name] and (table.name, day) not in dates_.files:
            dates_.files[table.name, day] = sorted(
                e.path for e in store.list(f"{table.name}/{table.partition.name}={day}")
                if not e.is_dir and e.path.endswith(".parquet") and not e.path.rsplit("/", 1)[-1].startswith("."))
        files += dates_.files.get((table.name, day), [])
    return files


def checkpoints(store: Store) -> list[Checkpoint]:
    """The committed checkpoints, newest first."""
    found = []
    for entry in store.list(HISTORY):
        name = entry.path.rsplit("/", 1)[-1]
        parts = name.split(".")
        if len(parts) == 3 and parts[2] == "json":
            found.append(Checkpoint(parts[0], parts[1]))
    return sorted(found, key=lambda c: (c.through, c.token), reverse=True)


def is_valid(store: Store, checkpoint: Checkpoint, dates_: LakeDates) -> bool:
    try:
        commit = json.loads(store.read_bytes(checkpoint.path("json")))
        return commit.get("fingerprint") == dates_.fingerprint(checkpoint.through)
    except (FileNotFoundError, ValueError):
        return False


def latest_valid(store: Store, dates_: LakeDates, before: str) -> Checkpoint | None:
    """The newest checkpoint that covers only dates before `before` and whose partitions are unchanged."""
    return next((c for c in checkpoints(store) if c.through < before and is_valid(store, c, dates_)), None)


def empty_table(table: Table) -> pa.Table:
    return pa.schema([*table.schema, table.partition.field()]).empty_table()


def load_history(con: LakeConnection, store: Store, checkpoint: Checkpoint | None) -> None:
    """Tables _history_events and _history_record_changes: the checkpoint's rows (none without one),
    with every declared column."""
    for table in TABLES:
        con.duckdb.register(f"_empty_{table.name}", empty_table(table))
        kept = pq.read_table(io.BytesIO(store.read_bytes(checkpoint.path(f"{table.name}.parquet")))) if checkpoint else None
        source = f"select * from _empty_{table.name}"
        if kept is not None and kept.num_rows:
            con.duckdb.register(f"_read_{table.name}", kept)
            source += f" union all by name select * from _read_{table.name}"
        con.execute(f"create or replace temp table _history_{table.name} as {source}")


# The views a summary reads (flows/query/summary.py), and those the kept rows are chosen by.
SUMMARY_VIEWS = ("zone_statements", "zone_names", "callers", "api_calls", "changes", "record_history", "zone_vpc_associations",
                 "health_checks", *RESOLVER_VIEWS, "dns_risk_rules", "dns_risk")
# Of those, the ones several questions read (dns_risk reads changes three ways) are computed once;
# the others are cheaper planned into their one question than kept whole (a dense day: 4.8 s, not 7.8 s).
SUMMARY_COMPUTED = ("zone_names", "changes", "record_history")
KEEP_VIEWS = ("zone_statements", "zone_names", "callers", "api_calls", "changes", "record_history", "zone_vpc_associations", "health_checks",
              "resolver_rules", "resolver_endpoints", "firewall_rules", "firewall_rule_group_associations")
# All computed once but callers: a projection of events that api_calls and the Resolver views read (a copy would double the events kept in memory).
KEEP_COMPUTED = tuple(v for v in KEEP_VIEWS if v != "callers")


def lake_views(con: LakeConnection, root: str, store: Store, dates_: LakeDates, days: list[str], views: tuple[str, ...],
               computed: tuple[str, ...] | None = None) -> None:
    """The tables events and record_changes as the history tables plus the partitions of `days`,
    and `views` over them (in dependency order), those in `computed` (default: all) computed once:
    DuckDB plans every reference of a view anew."""

    for table in TABLES:
        files = partition_files(store, dates_, table, days)
        source = f"select * from _history_{table.name}"
        if files:
            read = parquet_files([f"{root}/{f}" for f in files],
                                 f"hive_partitioning = true, hive_types = {{'{table.partition.name}': 'DATE'}}, union_by_name = true")
            source += f" union all by name select * from {read}"
        con.execute(f"create or replace temp table _rows_{table.name} as {source}")
        con.execute(f"create or replace view {table.name} as select * from _rows_{table.name}")
    for statement in dedup_views():
        con.execute(statement)
    for name in views:
        con.execute(view_sql(name))
        if computed is None or name in computed:
            con.execute(f"create or replace temp table _computed_{name} as select * from {name}")
            con.execute(f"create or replace view {name} as select * from _computed_{name}")


def roll_forward(con: LakeConnection, root: str, store: Store, dates_: LakeDates, days: list[str]) -> None:
    """The history tables become the kept rows of themselves plus the partitions of `days`."""
    if not days:
        return
    lake_views(con, root, store, dates_, days, KEEP_VIEWS, KEEP_COMPUTED)
    con.execute(KEEP_SQL)
    for table in TABLES:
        con.execute(f"drop table _history_{table.name}")
        con.execute(f"alter table _next_{table.name} rename to _history_{table.name}")


def summary_connection(lake: str, event_dates: list[str]) -> LakeConnection:
    """A DuckDB connection whose views answer exactly as over the whole lake for every date from
    min(event_dates) on, while reading only those partitions, the ones since the latest valid
    checkpoint, and the checkpoint."""
    store = open_store(lake)
    first = min(event_dates)
    con, root = new_connection(lake, bounded=True)
    try:
        dates_ = list_dates(store)
        checkpoint = latest_valid(store, dates_, first)
        try:
            load_history(con, store, checkpoint)
        except FileNotFoundError:  # removed since it was listed (a run pruned it): start from the beginning
            checkpoint = None
            load_history(con, store, None)
        roll_forward(con, root, store, dates_, [d for d in dates_.dates if d < first and (not checkpoint or d > checkpoint.through)])
        lake_views(con, root, store, dates_, [d for d in dates_.dates if d >= first], SUMMARY_VIEWS, SUMMARY_COMPUTED)
    except BaseException:
        con.close()
        raise
    return con


def advance(lake: str, put_options: dict[str, str] | None = None) -> Checkpoint | None:
    """Bring the checkpoint up to HORIZON_DAYS before the lake's latest event date (a run calls it once
    it has published): reads only the partitions since the latest valid checkpoint. Returns the new
    checkpoint, or None when there was nothing to do."""
    store = open_store(lake)
    dates_ = list_dates(store)  # before anything is read: a rebuild after this makes the new checkpoint stale, never wrong
    if not dates_.dates:
        return None
    target = (date.fromisoformat(dates_.dates[-1]) - timedelta(days=HORIZON_DAYS)).isoformat()
    base = latest_valid(store, dates_, "9999-12-31")
    if base is not None and base.through >= target:
        return None
    days = [d for d in dates_.dates if d <= target and (base is None or d > base.through)]
    if not days:
        return None
    con, root = new_connection(lake, bounded=True)
    try:
        load_history(con, store, base)
        roll_forward(con, root, store, dates_, days)
        made = Checkpoint(target, secrets.token_hex(4))
        for table in TABLES:
            buffer = io.BytesIO()
            pq.write_table(con.sql(f"select * from _history_{table.name}").to_arrow_table(), buffer, compression="zstd")
            store.write_bytes(made.path(f"{table.name}.parquet"), buffer.getvalue(), **(put_options or {}))
        commit = {"through": target, "fingerprint": dates_.fingerprint(target), "from": base.through if base else None}
        store.write_bytes(made.path("json"), json.dumps(commit).encode(), **(put_options or {}))
    finally:
        con.close()
    prune(store, dates_, made)
    return made


def prune(store: Store, dates_: LakeDates, newest: Checkpoint) -> None:
    """Remove the checkpoints that are stale or far behind the newest (commit first, so no reader
    picks one half removed; a reader that loses one anyway starts again, lake_summaries' retry)."""
    oldest = (date.fromisoformat(newest.through) - timedelta(days=RETAIN_DAYS)).isoformat()
    for checkpoint in checkpoints(store):
        if checkpoint == newest or (checkpoint.through >= oldest and is_valid(store, checkpoint, dates_)):
            continue
        for part in ("json", *(f"{t.name}.parquet" for t in TABLES)):
            store.delete(checkpoint.path(part))  # a missing file is no error


def lake_summaries(lake: str, event_dates: list[str]) -> dict[str, dict[str, Any]]:
    """The DNS summary (flows/query/summary.py) of each event date, from one connection that reads
    those dates' partitions and what the views look back at, not the whole lake: a night costs the
    same on a lake of a week and of years."""
    if not event_dates:
        return {}
    con = summary_connection(lake, event_dates)
    try:
        keep_risky_rows(con, event_dates)
        return {d: dns_summary(con, d, risky_kept=True) for d in sorted(event_dates)}
    finally:
        con.close()
