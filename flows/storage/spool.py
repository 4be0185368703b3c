"""A day folder's rows while it is read: each file's tables go to Arrow IPC files in a private
scratch folder as soon as the file is read, and staging streams them from there one file at a
time. So no process holds a folder's rows at once, however large the folder (a large account's
day is tens of GB of JSON), and a worker process hands its rows over without pickling them.

The spool can hold Route 53 rows (ARNs, IP addresses): it lives in a scratch folder (flows/storage/scratch.py),
private to the run and swept if the run is killed.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace

import pyarrow as pa

from flows.results import FileResult
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, Table

SPOOLED: tuple[Table, ...] = (EVENTS, RECORD_CHANGES, QUARANTINE)
_BUFFER = 1 << 16


def spool_result(result: FileResult, folder: str) -> FileResult:
    """The result with its rows written to `folder` and dropped from memory (empty tables stay)."""
    spooled = dict(result.spooled)
    for table in SPOOLED:
        data = getattr(result, table.name)
        if data.num_rows and not (table is QUARANTINE and result.rejected):  # a rejected file's one row stays: it is logged
            path = os.path.join(folder, f"{uuid.uuid4().hex}.{table.name}.arrow")
            # buffered: unbuffered, the writer made a system call for each of the ~100 columns' buffers
            with pa.output_stream(path, compression=None, buffer_size=_BUFFER) as sink, pa.ipc.new_file(sink, data.schema) as writer:
                writer.write_table(data)
            spooled[table.name] = path
    return replace(result, spooled=spooled, **{t.name: t.empty for t in SPOOLED if t.name in spooled})


def rows_of(result: FileResult, table: Table) -> pa.Table:
    """A file's rows of one table, from memory or memory-mapped from its spool file (the pages are
    the file's, not the heap's: the system reclaims them once they are written out)."""
    path = result.spooled.get(table.name)
    if path is None:
        return getattr(result, table.name)
    return pa.ipc.open_file(pa.memory_map(path)).read_all()  # the map lives as long as the table
