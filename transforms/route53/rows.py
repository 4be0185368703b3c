"""Rows -> Arrow: the one place where either reader's values become the tables' columns.

Grain: one events row per record of a selected event source; one record_changes row per entry of
requestParameters.changeBatch.changes; one quarantine row per record that cannot be read. Every
selected record ends in exactly one of events or quarantine, and an event's change rows all come
with it or not at all (a batch is never split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, Table
from transforms.errors import Rejected
from transforms.values import is_unicode, printable, to_json_text


@dataclass
class Flattened:
    """What one file's records became. Counts reconcile:
    selected == events.num_rows + quarantined (record-level rows of this file).
    parsed False: the file's text cannot spell a selected eventSource, so it was not parsed
    (transforms.route53.fast.flatten_file) and records_read is None (not counted)."""

    events: pa.Table
    record_changes: pa.Table
    quarantine: pa.Table
    records_read: int | None
    selected: int
    parsed: bool = True


def arrow_table(table: Table, columns: dict[str, Any]) -> pa.Table:
    """Every column of the table, by name (a list of values or an Arrow array), in its schema's
    order and types: a missing or unknown column fails loudly."""
    assert columns.keys() == set(table.column_names), columns.keys() ^ set(table.column_names)
    return pa.Table.from_arrays(
        [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c, type=f.type)
         for c, f in ((columns[f.name], f) for f in table.schema)],
        schema=table.schema)


class Repeated:
    """Columns of one value on every row (the file's source_file and delivery_date, the nulls of
    columns canonical records never fill), made once per file and sliced for each batch: the
    batches share one buffer instead of a copy per row (source_file alone is ~150 bytes a row)."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, str], pa.Array] = {}

    def __call__(self, value: Any, type_: pa.DataType, rows: int) -> pa.Array:
        base = self._made.get((value, str(type_)))
        if base is None or len(base) < rows:
            size = rows if base is None else max(rows, 2 * len(base))  # most files need one batch: exactly its size
            base = self._made[(value, str(type_))] = pa.nulls(size, type_) if value is None else pa.array([value] * size, type_)
        return base if len(base) == rows else base.slice(0, rows)


_ROWS_PER_TABLE = 4096  # rows become Arrow tables this many at a time: as Python dicts they cost ~1 KB each
_TABLES = {"events": EVENTS, "changes": RECORD_CHANGES, "quarantine": QUARANTINE}
_SHARED = ("source_file", "delivery_date")  # one file's rows share them: one buffer, not a copy a row


@dataclass
class Rows:
    """Rows of one file as they are found, as dicts, turned into Arrow tables a slice at a time,
    so a file of a million records never holds a million Python dicts."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    sealed: dict[str, list[pa.Table]] = field(default_factory=lambda: {name: [] for name in _TABLES})
    repeat: Repeated = field(default_factory=lambda: Repeated())

    def add(self, event: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        self.events.append(event)
        self.changes.extend(changes)
        if len(self.events) >= _ROWS_PER_TABLE or len(self.changes) >= 4 * _ROWS_PER_TABLE:
            self._seal("events")
            self._seal("changes")

    def reject(self, row: dict[str, Any]) -> None:
        self.quarantine.append(row)
        if len(self.quarantine) >= _ROWS_PER_TABLE:
            self._seal("quarantine")

    def _seal(self, name: str) -> None:
        rows = getattr(self, name)
        if not rows:
            return
        table = _TABLES[name]
        columns: dict[str, Any] = {column: [row.get(column) for row in rows] for column in table.column_names}
        for column in _SHARED:
            values = set(columns.get(column, ()))
            if len(values) == 1:
                columns[column] = self.repeat(values.pop(), table.schema.field(column).type, len(rows))
        self.sealed[name].append(arrow_table(table, columns))
        rows.clear()

    def flattened(self, records_read: int) -> Flattened:
        tables = {}
        for name, table in _TABLES.items():
            self._seal(name)
            tables[name] = pa.concat_tables(self.sealed[name]) if self.sealed[name] else table.empty
        return Flattened(
            events=tables["events"],
            record_changes=tables["changes"],
            quarantine=tables["quarantine"],
            records_read=records_read,
            selected=tables["events"].num_rows + tables["quarantine"].num_rows,
        )


def quarantine_row(source_file: str, record_index: int | None, error: Rejected, record: Any = None, *,
                   keep_raw: bool = True, event_source: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """keep_raw=False: a record beyond a bound, whose text is not repeated here (raw is null)."""
    if isinstance(record, dict):
        event_source = _lenient_str(record.get("eventSource"))
        event_id = _lenient_str(record.get("eventID"))
    return {
        "source_file": source_file,
        "record_index": record_index,
        "error_kind": str(error.kind),
        "error_message": printable(error.message),
        "event_source": event_source,
        "event_id": event_id,
        "raw": None if record_index is None or not keep_raw else to_json_text(record),
    }


def _lenient_str(value: Any) -> str | None:
    return value if isinstance(value, str) and is_unicode(value) else None
