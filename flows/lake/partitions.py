"""The visible lake: each table partition is one Parquet file, rebuilt from the files every day
folder staged into it, deduplicated on the table's key and sorted.

    <lake>/_staging/<table>/<partition>=<value>/<day folder name>.parquet   (the unit of work and of replacement)
    <lake>/<table>/<partition>=<value>/part-0.parquet                       (what readers see)

This is the stage-then-load hand-over of dlt's load packages. A day folder replaces only its own
staged files; a partition is rebuilt from all the staged files present, under the partition's
lock, and swapped in whole (a rename on a local lake, one PUT on S3), so at every moment a reader
sees each event exactly once, whatever mix of trails, folders, delivery days and reruns staged it
(but for an event whose kept copy moves to the neighbouring date, between the two partitions' swaps:
flows/lake/neighbours.py).

Which copy of a duplicated event is kept (`layout.kept_copy_order`): the earliest delivered
(delivery_date, then the delivery minute in the log file's name), then the smaller (source_file,
record_index), so the choice is the same whatever order runs happened in; its record_changes rows
are exactly that copy's (flows/lake/layout.py). An event whose copies fall on two event dates is
kept once too: a rebuild compares its copies with those staged into the neighbouring partitions
and gives up the events whose copy kept is there (flows/lake/neighbours.py). The dedup and the sort run in DuckDB with a memory
limit, spilling to disk beyond it, so a partition larger than memory is rebuilt in bounded memory.

A partition remembers what it was built from (`_state/partitions/`: staged names, sizes, ETags or
modification times, its neighbours' staged events files, and the events it gave up to them); a
rebuild whose inputs have not changed is skipped, and one a crash left undone is noticed by the
next run that looks at the partition.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import shutil
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake.duckdb_work import duckdb_connection, parquet_files
from flows.lake.layout import PARTITION_VALUE, VISIBLE, Partition, kept_copy_order
from flows.lake.legacy import adopt, legacy_files, remove
from flows.lake.neighbours import NONE_LOST, find_neighbours, lost_to_neighbours
from flows.lake.row_groups import RowGroupWriter
from flows.storage.folders import local_files
from flows.storage.scratch import scratch_dir
from flows.storage.store import Entry, Store
from schemas.tables import EVENTS, RECORD_CHANGES, Table

ROW_GROUP_ROWS = 64 * 1024  # Athena and Spark split work by row group; a group of events stays a few MB (or 16 MB), and so does the writer's buffer
DUCKDB_MEMORY = "256MB"
SORT_RANGE_ROWS = 32 * 1024  # events (and their changes) sorted at a time: ~50 MB of the widest rows
# A build record's entries beside its tables' staged files: the neighbours' staged events files, the
# dates of the neighbours found holding copies of its events, and what it gave up to them.
NEAR, FOUND, LOST = "neighbour_events", "neighbours", "lost_to_neighbours"
log = logging.getLogger("route53_lake")


@dataclass(frozen=True)
class Refreshed:
    rebuilt: bool
    neighbours: frozenset[Partition]  # those holding copies of its events (flows/lake/neighbours.py)
    copies_changed: bool  # its staged events changed: what its neighbours keep may change with them


def refresh(lake: Store, partition: Partition, put_options: dict[str, str]) -> Refreshed:
    """Rebuild a partition if what is staged for it changed since it was last built, or (events)
    if the copies staged into its neighbours now take other events from it. The caller holds the
    partition's lake lock (flows/pipeline.py publish), and refreshes the neighbours it returns."""
    folders = [f(table) for table in partition.tables for f in (partition.visible_folder, partition.staging_folder)]
    for folder in [*folders, posixpath.dirname(partition.state_path), posixpath.dirname(partition.ids_path)]:
        lake.remove_stale_temporaries(folder)  # what writers killed long ago left (young ones may be live)
    staged, state = _staged(lake, partition), _read_state(lake, partition)
    legacy = legacy_files(lake, partition, _parquet_entries, VISIBLE)
    if any(legacy.values()):
        adopt(lake, partition, legacy)
        staged = _staged(lake, partition)
    work = scratch_dir("rebuild")
    con = duckdb_connection(DUCKDB_MEMORY, work)
    try:
        near, found = _near(con, lake, partition, staged, state, work, put_options)
        built_from = _fingerprint(staged, near) | ({FOUND: found} if near is not None else {})
        if not any(legacy.values()) and (_inputs(state) == built_from or _nothing_here(lake, partition, staged)):
            return Refreshed(False, frozenset(near or ()), False)
        if near is not None:  # the key scan: cheap beside a rebuild, which it may spare
            built_from[LOST] = lost_to_neighbours(con, lake, partition, staged[EVENTS.name], near, work)
        rebuilt = any(legacy.values()) or _must_rebuild(state, built_from, partition)
        if rebuilt:
            _rebuild(con, lake, partition, staged, work, put_options)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    remove(lake, legacy)
    lake.write_bytes(partition.state_path, json.dumps(built_from, indent=1).encode(), **put_options)
    return Refreshed(rebuilt, frozenset(near or ()), near is not None and _copies_changed(state, staged))


def _staged(lake: Store, partition: Partition) -> dict[str, list[Entry]]:
    return {t.name: _parquet_entries(lake, partition.staging_folder(t)) for t in partition.tables}


def _near(con, lake: Store, partition: Partition, staged: dict[str, list[Entry]], state: dict | None, work: str,
          put_options: dict[str, str]) -> tuple[dict[Partition, list[Entry]] | None, list[str]]:
    """The staged events files of the partition's neighbours (flows/lake/neighbours.py), and the
    dates of those that hold copies of its events now; (None, []) for a partition whose key is not
    compared across partitions. A neighbour of its last build that holds none now is compared once more."""
    if partition.column != "event_date":
        return None, []
    own = staged[EVENTS.name]
    found = find_neighbours(con, lake, partition, own, _copies_changed(state, staged), work, put_options)
    earlier = {Partition("event_date", v) for v in (state or {}).get(FOUND, []) if isinstance(v, str) and PARTITION_VALUE.fullmatch(v)}
    near = {n: _parquet_entries(lake, n.staging_folder(EVENTS)) for n in sorted(found | earlier - {partition})}
    return near, sorted(n.value for n in found)


def _copies_changed(state: dict | None, staged: dict[str, list[Entry]]) -> bool:
    """Whether the partition's staged events differ from those it was last built from."""
    return state is None or state.get(EVENTS.name) != _fingerprint({EVENTS.name: staged[EVENTS.name]}, None)[EVENTS.name]


def _nothing_here(lake: Store, partition: Partition, staged: dict[str, list[Entry]]) -> bool:
    """Nothing staged and nothing visible: a neighbour checked that never held an event."""
    return not any(staged.values()) and not any(lake.exists(f"{partition.visible_folder(t)}/{VISIBLE}") for t in partition.tables)


def _inputs(state: dict | None) -> dict | None:
    """A build record without what the partition gave up to its neighbours: the inputs alone."""
    return None if state is None else {k: v for k, v in state.items() if k != LOST}


def _must_rebuild(state: dict | None, built_from: dict, partition: Partition) -> bool:
    """Whether the partition's rows would change: its staged files, or the events its neighbours
    take from it (a record written before neighbours were compared gave up none)."""
    if state is None or any(state.get(t.name) != built_from[t.name] for t in partition.tables):
        return True
    return state.get(LOST, NONE_LOST) != built_from.get(LOST, NONE_LOST)


def _parquet_entries(lake: Store, folder: str) -> list[Entry]:
    return sorted((e for e in lake.list(folder) if not e.is_dir and e.path.endswith(".parquet")
                   and not _name(e).startswith(".")), key=lambda e: e.path)


def _name(entry: Entry) -> str:
    return entry.path.rsplit("/", 1)[-1]


def _fingerprint(staged: dict[str, list[Entry]], near: dict[Partition, list[Entry]] | None) -> dict:
    built_from = {table: [[_name(e), e.size, e.etag or e.mtime] for e in entries] for table, entries in sorted(staged.items())}
    if near is not None:
        built_from[NEAR] = [[e.path, e.size, e.etag or e.mtime] for n in sorted(near) for e in near[n]]
    return built_from


def _read_state(lake: Store, partition: Partition) -> dict | None:
    """What the partition was last built from (_fingerprint), or None: never built, or the record is
    damaged (logged; the rebuild rewrites it: it is only a shortcut, the staged files are the truth)."""
    try:
        state = json.loads(lake.read_bytes(partition.state_path))
        if not isinstance(state, dict) or not all(isinstance(v, list) for v in state.values()):
            raise ValueError("expected an object of table -> list of [name, size, etag or time]")
        return state
    except FileNotFoundError:
        return None
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        log.warning("partition build record %s is damaged (%s: %s); the partition is rebuilt and the record rewritten",
                    lake.uri_of(partition.state_path), type(error).__name__, str(error)[:200])
        return None


def _rebuild(con, lake: Store, partition: Partition, staged: dict[str, list[Entry]], work: str, put_options: dict[str, str]) -> None:
    copies = {table: [_local_copy(lake, e, work) for e in entries] for table, entries in staged.items()}
    pa.default_memory_pool().release_unused()  # what staging freed goes back to the system before DuckDB takes its share
    with local_files([path for paths in copies.values() for path in paths]) as names:  # a lake path is no glob
        named = iter(names)
        local = {table: [next(named) for _ in paths] for table, paths in copies.items()}
        for table, queries in _queries(con, partition, local):
            target = f"{partition.visible_folder(table)}/{VISIBLE}"
            if not queries:
                lake.delete(target)  # nothing staged any more (files dropped on purpose)
                continue
            _write(lake, (batch for query in queries for batch in con.sql(query).to_arrow_reader(8192)), table, target, put_options)


def _local_copy(lake: Store, entry: Entry, work: str) -> str:
    if lake.is_local:
        return lake.path(entry.path)
    folder, name = entry.path.rsplit("/", 1)
    target = os.path.join(work, folder.replace("/", "__"), name)  # keeps the name: rows of one day folder pair up by it
    os.makedirs(os.path.dirname(target), exist_ok=True)
    lake.download(entry.path, target)
    return target


def _files_sql(paths: list[str]) -> str:
    return parquet_files(paths, "filename = true, union_by_name = true")


def _columns(table: Table, alias: str) -> str:
    return ", ".join(f'{alias}."{c}"' for c in table.column_names)


def _queries(con, partition: Partition, local: dict[str, list[str]]):
    """(table, the SQL queries whose results, one after the other, are the partition's rows in order)
    for each table of the partition; no query when nothing is staged for that table."""
    if partition.column == "event_date":
        events, changes = local[EVENTS.name], local[RECORD_CHANGES.name]
        if not events:
            return [(RECORD_CHANGES, []), (EVENTS, [])]
        # Events whose copy kept is in a neighbour partition are in `lost` (refresh, flows/lake/neighbours.py).
        # A copy of an event is (the staged file it is in, its source file, its record index); the
        # copies kept are held as small numbers (one per staged file and source file), so the memory a
        # rebuild needs grows by ~16 bytes per event, not by its names.
        con.execute(f"""
            create temp table copies as
            select staged_as, source_file, row_number() over (order by staged_as, source_file) as copy
            from (select distinct parse_filename(filename) as staged_as, source_file from {_files_sql(events)})""")
        con.execute(f"""
            create temp table kept as
            select c.copy, e.record_index, e.event_time
            from {_files_sql(events)} e join copies c on parse_filename(e.filename) = c.staged_as and e.source_file = c.source_file
            where e.event_id not in (select event_id from lost)
            qualify row_number() over (
                partition by e.event_id
                order by {kept_copy_order("e")}, c.staged_as) = 1""")
        join = ("join copies c on parse_filename(e.filename) = c.staged_as and e.source_file = c.source_file "
                "join kept k on k.copy = c.copy and k.record_index = e.record_index")
        ranges = _time_ranges(con)
        # record_changes first: the two files are replaced one after the other, and a reader in
        # between (or after a crash there, until the next run) had better see a new event's changes
        # before the event than an event whose changes are missing.
        return [(RECORD_CHANGES, [] if not changes else [
                    f"select {_columns(RECORD_CHANGES, 'e')} from {_files_sql(changes)} e {join} where {where} order by {_order(RECORD_CHANGES, 'e')}"
                    for where in ranges]),
                (EVENTS, [f"select {_columns(EVENTS, 'e')} from {_files_sql(events)} e {join} where {where} order by {_order(EVENTS, 'e')}"
                          for where in ranges])]
    queries = []
    for table in partition.tables:
        paths = local[table.name]
        key = ", ".join(f'"{k}"' for k in table.key)
        queries.append((table, [] if not paths else [
                        f"select {_columns(table, 'e')} from {_files_sql(paths)} e "
                        f"qualify row_number() over (partition by {key} order by parse_filename(e.filename)) = 1 "
                        f"order by {_order(table, 'e')}"]))
    return queries


def _time_ranges(con) -> list[str]:
    """Conditions on e.event_time that cut the kept events into consecutive ranges of about
    SORT_RANGE_ROWS events: each range is sorted on its own, so DuckDB never sorts more wide rows
    (events carry their raw JSON) than its memory holds, and the ranges, in order, are the
    partition in order. (Sorting a whole partition of wide rows did not stay within the memory
    limit: DuckDB spills the sort keys, not the payload it drags along.)"""
    bounds = [row[0] for row in con.execute(f"""
        select event_time from (select event_time, row_number() over (order by event_time) as n from kept)
        where n % {SORT_RANGE_ROWS} = 1 and n > 1 order by 1""").fetchall()]
    bounds = list(dict.fromkeys(bounds))  # many events of one instant: one range holds them all
    if not bounds:
        return ["true"]
    cuts = [f"timestamptz '{b.isoformat()}'" for b in bounds]
    return ([f"e.event_time < {cuts[0]}"] + [f"e.event_time >= {lo} and e.event_time < {hi}" for lo, hi in zip(cuts, cuts[1:], strict=False)]
            + [f"e.event_time >= {cuts[-1]}"])


def _order(table: Table, alias: str) -> str:
    return ", ".join(f'{alias}."{k}" asc nulls last' for k in table.sort_by)


def _write(lake: Store, batches: pa.RecordBatchReader, table: Table, target: str, put_options: dict[str, str]) -> None:
    """Stream the rows into one Parquet file of fixed-size row groups (so the same rows always give
    the same bytes), declaring its sort order, then publish it whole."""
    temporary = lake.temporary_file(target)
    sorting = pq.SortingColumn.from_ordering(table.schema, [(k, "ascending") for k in table.sort_by], null_placement="at_end")
    try:
        writer = RowGroupWriter(temporary, table.schema, ROW_GROUP_ROWS, write_statistics=True, sorting_columns=sorting)
        try:
            for batch in batches:
                writer.append(_as_schema(pa.Table.from_batches([batch]), table))
        except BaseException:
            writer.abandon()
            raise
        written = writer.close()
        if not written:  # a table with nothing in this partition has no file in it (as before)
            os.remove(temporary)
            lake.delete(target)
            return
        lake.commit_file(temporary, target, **put_options)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _as_schema(data: pa.Table, table: Table) -> pa.Table:
    return pa.Table.from_arrays([data.column(c).cast(table.schema.field(c).type) for c in table.column_names], schema=table.schema)

