"""Writing a day folder's staged files in bounded memory: rows arrive a file at a time, are split by
partition value and appended to one Parquet file per (table, partition), built in local temporary
files and committed to the lake only once the folder's counts reconcile.

Rows are written in the order they arrive (files in listing order, records in file order), in row
groups of a fixed number of rows, so the same input always gives the same bytes; the partition
rebuild (flows/lake/partitions.py) deduplicates and sorts. A folder's own counts (distinct events,
changes of the copies kept) are taken from the written files by DuckDB, which spills to disk
beyond its memory limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flows.lake.duckdb_work import duckdb_connection, parquet_files
from flows.lake.layout import kept_copy_order, staged_path
from flows.lake.row_groups import RowGroupWriter
from flows.storage.folders import local_files
from flows.storage.scratch import scratch_dir
from flows.storage.store import Store
from schemas.tables import Table

ROW_GROUP_ROWS = 16 * 1024  # what a staged file's writer holds at most before writing a row group (or 16 MB)
DUCKDB_MEMORY = "128MB"


class StagedFiles:
    """The staged files of one day folder being built, in a private scratch folder."""

    def __init__(self, unit_name: str) -> None:
        self.unit_name = unit_name
        self.work = scratch_dir("stage")
        self._writers: dict[str, _Writer] = {}

    def add(self, table: Table, data: pa.Table, value: str | None = None) -> None:
        """Append rows to the table's staged files: to partition `value`, or split by the UTC date
        of event_time (events and record_changes)."""
        if not data.num_rows:
            return
        if value is not None:
            self._writer(table, value).append(data)
            return
        dates = pc.cast(data["event_time"], pa.date32())  # event_time is UTC, so this is the UTC date
        days = pc.unique(dates).to_pylist()
        if len(days) == 1:  # most files: all their rows, not a filtered copy
            self._writer(table, days[0].isoformat()).append(data)
            return
        for day in days:
            self._writer(table, day.isoformat()).append(data.filter(pc.equal(dates, pa.scalar(day, pa.date32()))))

    def _writer(self, table: Table, value: str) -> _Writer:
        path = staged_path(table, value, self.unit_name)
        if path not in self._writers:
            self._writers[path] = _Writer(table, os.path.join(self.work, f"{len(self._writers)}.parquet"))
        return self._writers[path]

    def close(self) -> dict[str, StagedFile]:
        """Finish every file: lake path -> the local file, its row count and SHA-256."""
        return {path: writer.close() for path, writer in sorted(self._writers.items())}

    def local_paths(self, table: Table) -> list[str]:
        return [w.local for p, w in sorted(self._writers.items()) if p.startswith(f"_staging/{table.name}/")]

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.abandon()
        shutil.rmtree(self.work, ignore_errors=True)


@dataclass(frozen=True)
class StagedFile:
    local: str
    rows: int
    sha256: str


class _Writer:
    def __init__(self, table: Table, local: str) -> None:
        self.local = local
        self._schema = pa.schema([f.remove_metadata() for f in table.schema])  # descriptions live in the visible files
        self._file = RowGroupWriter(local, self._schema, ROW_GROUP_ROWS, write_statistics=False)

    def append(self, data: pa.Table) -> None:
        data = data.select(self._schema.names)
        if data.schema.equals(self._schema):  # the table's own types, as spooled: relabelled, not cast column by column
            self._file.append(pa.Table.from_arrays(data.columns, schema=self._schema))
        else:
            self._file.append(data.cast(self._schema))

    def close(self) -> StagedFile:
        rows = self._file.close()
        digest = hashlib.sha256()
        with open(self.local, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return StagedFile(self.local, rows, digest.hexdigest())

    def abandon(self) -> None:
        self._file.abandon()


def commit_staged(lake: Store, staged: StagedFile, path: str, put_options: dict[str, str]) -> None:
    """Publish a staged file built in scratch: one upload to S3; on a local lake a copy beside the
    target first (scratch may be another file system), then the atomic rename."""
    if lake.is_local:
        temporary = lake.temporary_file(path)
        try:
            shutil.copyfile(staged.local, temporary)
            lake.commit_file(temporary, path)
        finally:  # gone once committed; a kill leaves it to the partition rebuild's sweep of old temporaries
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
    else:
        lake.commit_file(staged.local, path, **put_options)  # and the local file is gone


@dataclass(frozen=True)
class EventCounts:
    rows: int  # events rows staged (copies included)
    distinct: int  # distinct event ids: the events the folder contributes
    changes_of_all: int  # sum of change_count over every row: must equal the record_changes rows staged
    changes_of_kept: int  # sum of change_count over the copy of each event kept


def count_events(paths: list[str], work: str) -> EventCounts:
    """The folder's event counts from its staged events files; the copy of an event kept is the one
    the partition rebuild keeps (flows.lake.layout.kept_copy_order)."""
    if not paths:
        return EventCounts(0, 0, 0, 0)
    con = duckdb_connection(DUCKDB_MEMORY, work)
    with local_files(paths) as names:  # a lake path is no glob
        files = parquet_files(names)
        try:
            rows, distinct, changes = con.execute(f"select count(*), count(distinct event_id), coalesce(sum(change_count), 0) from {files}").fetchone()
            kept = changes
            if distinct != rows:
                (kept,) = con.execute(f"""select coalesce(sum(change_count), 0) from (
                    select change_count from {files}
                    qualify row_number() over (partition by event_id order by {kept_copy_order("")}) = 1)""").fetchone()
            return EventCounts(rows, distinct, int(changes), int(kept))
        finally:
            con.close()
