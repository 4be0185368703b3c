"""A Parquet file written in row groups of bounded size, for the staged files and the partitions.

Rows arrive in pieces; a row group is written once the pieces held add up to `max_rows` rows or
`max_bytes` bytes, whichever comes first. So the writer's memory is one row group, however many
rows the file gets, and the same pieces in the same order always give the same bytes.
"""

from __future__ import annotations

import contextlib

import pyarrow as pa
import pyarrow.parquet as pq

MAX_BYTES = 16 << 20  # a row group of wide events (their raw JSON) is written once it holds this much


class RowGroupWriter:
    def __init__(self, path: str, schema: pa.Schema, max_rows: int, max_bytes: int = MAX_BYTES, **options) -> None:
        self.rows = 0  # written so far
        self._max_rows, self._max_bytes = max_rows, max_bytes
        self._pending: list[pa.Table] = []
        self._pending_rows = self._pending_bytes = 0
        self._file = pq.ParquetWriter(path, schema, compression="zstd", **options)

    def append(self, data: pa.Table) -> None:
        """Rows in the file's schema (the caller converts them)."""
        self._pending.append(data)
        self._pending_rows += data.num_rows
        self._pending_bytes += data.nbytes
        if self._pending_rows >= self._max_rows or self._pending_bytes >= self._max_bytes:
            self._flush()

    def close(self) -> int:
        """Write what is held and close the file; returns the rows written in all."""
        if self._pending_rows:
            self._flush()
        self._file.close()
        return self.rows

    def abandon(self) -> None:
        with contextlib.suppress(Exception):  # the file is being thrown away
            self._file.close()

    def _flush(self) -> None:
        self._file.write_table(pa.concat_tables(self._pending), row_group_size=self._pending_rows)
        self.rows += self._pending_rows
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
