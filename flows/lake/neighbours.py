"""The key of `events` across partitions: an event delivered twice whose copies' eventTimes fall on
two UTC dates (one copy at 23:59:59, another at 00:00:01: CloudTrail's clock, or content that
differs) is staged into two `event_date` partitions. Each partition is rebuilt on its own, so it
must know of the copies staged into the others.

The rule: a copy of an event is kept when no copy of the same event_id staged into its own
partition or into a partition within NEIGHBOUR_DAYS of it ranks before it
(layout.kept_copy_order: the earliest delivered, then the smaller source_file and record_index;
then the earlier event_date and the staged file's name, which only a copy of the very same record
can tie on). So the copy the lake keeps is the earliest delivered, in the partition of its own
eventTime, and its record_changes rows are that copy's.

The bound: copies whose eventTimes are more than NEIGHBOUR_DAYS dates apart are never compared,
and each is kept (with a window of one day: copies less than 24 hours apart are always compared).
Copies of one CloudTrail event carry the same eventTime in practice; a folder whose own copies are
further apart says so when it is staged (flows/lake/staging.py counts them), and a copy that only
reaches its duplicate through a middle one (three copies on three dates) may stand beside it.

Partitions are swapped one at a time: when a copy delivered earlier is staged after a later one
was published on the neighbouring date, the event moves, and between the two swaps (or after a
crash there, until the next run) a reader sees it twice or not at all.

The cost: a rebuild reads the key and rank columns of its neighbours' staged `events` files, not
their rows (on S3 only those column chunks are fetched), and the rebuild is skipped when the
partition's own inputs and the event_ids it gives up to its neighbours are unchanged.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake.duckdb_work import parquet_files
from flows.lake.layout import NEIGHBOUR_DAYS, RANK_COLUMNS, Partition, kept_copy_order
from flows.storage.folders import local_files
from flows.storage.store import Entry, Store

NONE_LOST = [0, ""]  # what a partition built before neighbours were compared gave up to them: nothing


def neighbours(partition: Partition) -> list[Partition]:
    """The partitions whose staged copies a partition's rebuild compares with its own."""
    if partition.column != "event_date":
        return []
    day = date.fromisoformat(partition.value)
    return [Partition(partition.column, (day + timedelta(days=n)).isoformat())
            for n in range(-NEIGHBOUR_DAYS, NEIGHBOUR_DAYS + 1) if n]


def with_neighbours(partitions: set[Partition] | list[Partition]) -> set[Partition]:
    """The partitions to check when these were staged into: a partition whose copies changed can
    change what its neighbours keep."""
    return set(partitions) | {n for p in partitions for n in neighbours(p)}


def lost_to_neighbours(con, lake: Store, partition: Partition, own: list[Entry], near: dict[Partition, list[Entry]],
                       work: str) -> list:
    """Create the temporary table `lost` (event_id): the events of this partition whose copy kept
    is in a neighbour. Returns [how many, SHA-256 of their sorted ids]: what the partition's build
    record keeps, so that a change in a neighbour rebuilds this partition only if it changes that."""
    con.execute("create or replace temp table lost (event_id varchar)")
    near = {p: entries for p, entries in sorted(near.items()) if entries}
    if not own or not near:
        return list(NONE_LOST)
    groups = [(partition, own), *near.items()]
    paths = [_key_files(lake, entries, work) for _, entries in groups]
    with local_files([path for group in paths for path in group]) as names:  # the queries read them: open till done
        named = iter(names)
        reads = [_copies([next(named) for _ in group], p.value) for (p, _), group in zip(groups, paths, strict=True)]
        own_copies, near_copies = reads[0], " union all ".join(reads[1:])
        # Only the events with a copy on both sides are ranked: held as their ids, never as all the keys.
        con.execute(f"""create temp table shared as
            select distinct n.event_id from ({near_copies}) n semi join ({own_copies}) o using (event_id)""")
        con.execute(f"""
            insert into lost
            select event_id from (
                select event_id, event_date, row_number() over (
                    partition by event_id order by {kept_copy_order("c")}, c.event_date, c.staged_as) as n
                from (select * from ({own_copies}) union all select * from ({near_copies})) c
                where event_id in (select event_id from shared))
            where n = 1 and event_date <> '{partition.value}'""")
    count, digest = con.execute("select count(*), coalesce(sha256(string_agg(event_id, chr(10) order by event_id)), '') from lost").fetchone()
    con.execute("drop table shared")
    return [int(count), digest]


def _copies(files: list[str], event_date: str) -> str:
    """The copies of events in staged files of one partition: their key, rank and where they are."""
    columns = ", ".join(f'"{c}"' for c in RANK_COLUMNS)
    return (f"select {columns}, '{event_date}' as event_date, parse_filename(filename) as staged_as "
            f"from {parquet_files(files, 'filename = true')}")


def _key_files(lake: Store, entries: list[Entry], work: str) -> list[str]:
    """Local files DuckDB can read the key and rank columns from: a local lake's own files (DuckDB
    reads only those columns); on S3, a local file of those columns alone, fetched in ranges."""
    if lake.is_local:
        return [lake.path(e.path) for e in entries]
    paths = []
    for entry in entries:
        folder, name = entry.path.rsplit("/", 1)
        target = os.path.join(work, "keys", folder.replace("/", "__"), name)  # keeps the name: it ranks ties
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with lake.open_ranged(entry.path) as handle:
            source = pq.ParquetFile(handle)
            schema = pa.schema([source.schema_arrow.field(c) for c in RANK_COLUMNS])
            with pq.ParquetWriter(target, schema) as writer:
                for batch in source.iter_batches(batch_size=64 * 1024, columns=list(RANK_COLUMNS)):
                    writer.write_table(pa.Table.from_batches([batch]).select(list(RANK_COLUMNS)))
        paths.append(target)
    return paths
