"""The key of `events` across the whole table: an event delivered twice whose copies' eventTimes
fall on different UTC dates (one copy at 23:59:59, another at 00:00:01: CloudTrail's clock; or
content that differs, days apart) is staged into two `event_date` partitions. Each partition is
rebuilt on its own, so it must know of the copies staged into the others: its *neighbours* are the
partitions that hold a copy of one of its events, however far apart in time.

The rule: a copy of an event is kept when no copy of the same event_id staged anywhere in the table
ranks before it (layout.kept_copy_order: the earliest delivered, then the smaller source_file and
record_index; then the earlier event_date and the staged file's name, which only a copy of the very
same record can tie on). So the copy the lake keeps is the earliest delivered, in the partition of
its own eventTime, and its record_changes rows are that copy's.

Finding the neighbours without reading the table: each event_date partition keeps the ids of the
copies staged into it, as 64 bits of their MD5, distinct and sorted, in
`_state/event_ids/event_date=<date>.ids` (a Parquet file) (8 bytes an event: 3 MB for a year of 1,000 events a
day). A partition whose staged events changed rewrites its id file first, then scans the others':
its neighbours are the partitions sharing a value with its ids, old or new (a copy that left still
counts once), and those its last build compared with. A hash collision only adds a neighbour: the
comparison itself is on event_id. The pipeline refreshes the neighbours a refresh finds too
(flows/pipeline.py publish). Two runs staging copies of one event at once each write their id file
before reading the other's, so at least one of them sees the other's and refreshes that partition.

Partitions are swapped one at a time: when a copy delivered earlier is staged after a later one
was published on another date, the event moves, and between the two swaps (or after a crash there,
until the next run that refreshes either) a reader sees it twice or not at all.

The cost: a refresh lists `_state/event_ids/` and scans the id files (on S3 each is fetched once a
process, again only when its ETag changes); a rebuild reads the key and rank columns of its
neighbours' staged `events` files, not their rows (on S3 only those column chunks are fetched), and
is skipped when the partition's own inputs and the event_ids it gives up to its neighbours are unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake.duckdb_work import parquet_files
from flows.lake.layout import IDS, PARTITION_VALUE, RANK_COLUMNS, Partition, kept_copy_order
from flows.storage.folders import local_files
from flows.storage.scratch import scratch_dir
from flows.storage.store import Entry, Store

log = logging.getLogger("route53_lake")
NONE_LOST = [0, ""]  # what a partition built before neighbours were compared gave up to them: nothing


def find_neighbours(con, lake: Store, partition: Partition, own: list[Entry], changed: bool, work: str,
                    put_options: dict[str, str]) -> set[Partition]:
    """The partitions holding a copy of one of this partition's events, as its id file says before
    and after `changed` (its staged events changed since the file was written, which is then
    rewritten first). The caller holds the partition's lock."""
    before = _readable(_ids_copy(lake, partition, work), partition.ids_path) if changed else None
    if changed:
        _write_ids(con, lake, partition, own, work, put_options)
    listed = _id_files(lake)
    current = _readable(_ids_copy(lake, partition, work), partition.ids_path) if partition in listed else None
    if own and current is None:  # a lake from before id files, or a damaged one: written now
        _write_ids(con, lake, partition, own, work, put_options)
        listed = _id_files(lake)
        current = _ids_copy(lake, partition, work)
    mine = [path for path in (before, current) if path]
    cached = _cached_all(lake, {p: e for p, e in listed.items() if p != partition and not e.is_dir})
    others = {p: path for p, path in cached.items() if _readable(path, listed[p].path)}
    # Compared by their staged files; each rewrites its own file when refreshed.
    damaged = {p for p in listed if p != partition} - set(others)
    if not mine or not others:
        return damaged
    with local_files([*mine, *others.values()]) as names:
        theirs = dict(zip(names[len(mine):], others, strict=True))
        found = con.execute(f"""select distinct filename from {parquet_files(list(theirs), "filename = true")}
                                where id_hash in (select id_hash from {parquet_files(names[:len(mine)])})""").fetchall()
    return {theirs[name] for (name,) in found} | damaged


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


def _write_ids(con, lake: Store, partition: Partition, own: list[Entry], work: str, put_options: dict[str, str]) -> None:
    """The partition's id file from its staged events files (none when nothing is staged)."""
    if not own:
        lake.delete(partition.ids_path)
        return
    temporary = lake.temporary_file(partition.ids_path)
    try:
        with local_files(_key_files(lake, own, work)) as names:
            con.execute(f"""copy (select distinct md5_number_upper(event_id) as id_hash from {parquet_files(names)} order by 1)
                            to '{temporary.replace("'", "''")}' (format parquet)""")
    except BaseException:
        os.remove(temporary)
        raise
    lake.commit_file(temporary, partition.ids_path, **put_options)


def _readable(path: str | None, name: str) -> str | None:
    """The path if it holds an id file as _write_ids writes them; None (logged) if it does not."""
    if path is None:
        return None
    try:
        if pq.read_schema(path).remove_metadata() == ID_SCHEMA:
            return path
        problem = f"columns {pq.read_schema(path).names}"
    except (OSError, pa.ArrowException) as error:
        problem = f"{type(error).__name__}: {str(error)[:200]}"
    log.warning("an event id file (%s) is damaged (%s): its partition is compared by its staged files, and the "
                "file is rewritten when the partition is next refreshed", name, problem)
    return None


def _id_files(lake: Store) -> dict[Partition, Entry]:
    """The id files in the lake by partition (a folder where one should be is listed, as damaged);
    a file not named as the lake names them is not one."""
    found = {}
    for entry in lake.list(IDS):
        column, _, value = entry.path.rsplit("/", 1)[-1].removesuffix(".ids").partition("=")
        if column == "event_date" and PARTITION_VALUE.fullmatch(value) and entry.path.endswith(".ids"):  # a folder too: damaged
            found[Partition(column, value)] = entry
    return found


def _ids_copy(lake: Store, partition: Partition, work: str) -> str | None:
    """A local copy of the partition's id file as it is now (it may be rewritten or deleted next), or None."""
    try:
        data = lake.read_bytes(partition.ids_path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise RuntimeError(f"{lake.uri_of(partition.ids_path)} is a folder where the lake keeps a file of the partition's "
                           "event ids: remove it (the next run writes the file)") from None
    target = os.path.join(work, f"ids-{uuid.uuid4().hex}.parquet")
    with open(target, "wb") as handle:
        handle.write(data)
    return target


FETCHES_IN_FLIGHT = 16
ID_SCHEMA = pa.schema([("id_hash", pa.uint64())])
_CACHE: dict[str, tuple[str | None, str]] = {}  # an S3 id file's URI -> (its ETag, a local copy), for the process


def _cached_all(lake: Store, entries: dict[Partition, Entry]) -> dict[Partition, str]:
    """_cached for each, fetched FETCHES_IN_FLIGHT at a time on S3 (a year of id files at 25 ms each
    is 9 s one by one)."""
    if lake.is_local or len(entries) < 2:
        return {p: _cached(lake, e) for p, e in entries.items()}
    with ThreadPoolExecutor(FETCHES_IN_FLIGHT, thread_name_prefix="event-ids") as pool:
        return dict(zip(entries, pool.map(lambda e: _cached(lake, e), entries.values()), strict=True))


def _cached(lake: Store, entry: Entry) -> str:
    """A local file of another partition's ids: a local lake's own; on S3 a copy kept for the
    process and fetched again only when the object's ETag changes."""
    if lake.is_local:
        return lake.path(entry.path)
    uri = lake.uri_of(entry.path)
    held = _CACHE.get(uri)
    if held is None or held[0] != entry.etag or not os.path.exists(held[1]):
        target = os.path.join(_cache_dir(), hashlib.sha256(uri.encode()).hexdigest()[:32] + ".parquet")
        lake.download(entry.path, target)
        _CACHE[uri] = held = (entry.etag, target)
    return held[1]


@functools.cache
def _cache_dir() -> str:
    return scratch_dir("event-ids")
