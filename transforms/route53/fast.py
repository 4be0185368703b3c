"""The fast reading of one log file: the tables flatten_records makes, at a fraction of the cost.

The lenient reader (reference.py) looks every key up case-insensitively and converts every value,
which is what makes it right for fixtures in the wild and slow. Here the candidate records of a file
(transforms.cloudtrail.envelope.candidate_records) are decoded a batch at a time by the strict
reader (strict.py: msgspec Structs in CloudTrail's own spelling and types) and read column-wise
(canonical.py). A record that does not fit exactly goes to the lenient reader, which names any
problem precisely. So this path never decides anything on its own; the golden tests and the
fast-path tests compare its tables with the lenient reader's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, STRINGS
from transforms.cloudtrail.envelope import candidate_records, identify
from transforms.cloudtrail.jsonscan import Broken, depth_at_most
from transforms.cloudtrail.prefilter import may_be_log_file, may_hold_selected
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits, out_of_memory, too_deep, too_large
from transforms.route53 import canonical, columnwise, strict
from transforms.route53.columns import FROM_EVENT
from transforms.route53.reference import DEFAULT_EVENT_SOURCES, read_record
from transforms.route53.rows import Flattened, Repeated, Rows, arrow_table, quarantine_row
from transforms.times import TimeWindow
from transforms.values import loads_lenient


def flatten_file(
    text: bytes,
    *,
    source_file: str,
    delivery_date: date,
    event_sources: frozenset[str] = DEFAULT_EVENT_SOURCES,
    window: TimeWindow | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Flattened:
    """A decompressed log file -> the Flattened that flatten_records gives on its records as the
    lenient reference reads them (read_log_file_reference), within `limits` and `window`. Raises
    Rejected for a file that cannot be read; a record only ever costs itself (quarantined, or
    published with parse_warnings). A record beyond max_record_bytes is refused here only: the
    reference has no record text to measure.

    Records are read a batch at a time (decoded, converted, made into Arrow columns, dropped), so
    memory per record is its row in the output plus a few dozen bytes, whatever the file holds.

    A text that cannot spell any of event_sources (transforms.cloudtrail.prefilter) holds no selected record:
    it is not parsed at all, and comes back empty with parsed=False and records_read None (not
    counted: an exact count costs as much as the parse). Its first bytes are looked at, though: a
    text that cannot be a log file (prefilter.may_be_log_file: an XML page, JSON that is not an
    object with Records) is rejected as the reference rejects it, with the reference's kind. Damage
    further in is not looked for, so where the reference rejects such a file or quarantines a
    record of it whose eventSource is not text, this path finds nothing; everything else is the
    reference's reading, row for row."""
    try:
        if may_hold_selected(text, event_sources):
            return _flatten_file(text, source_file, delivery_date, event_sources, window, limits)
        if not may_be_log_file(text):
            candidate_records(text, event_sources, limits)  # raises Rejected, naming what the file is instead
    except MemoryError:  # within the bounds, yet more than the worker has: this file's rows are dropped
        raise out_of_memory(f"reading {len(text):,} bytes of JSON") from None
    return Flattened(events=EVENTS.empty, record_changes=RECORD_CHANGES.empty, quarantine=QUARANTINE.empty,
                     records_read=None, selected=0, parsed=False)


def _flatten_file(text: bytes, source_file: str, delivery_date: date, event_sources: frozenset[str],
                  window: TimeWindow | None, limits: Limits) -> Flattened:
    records_read, slices = candidate_records(text, event_sources, limits)
    where = {"source_file": source_file, "delivery_date": delivery_date}
    others = Rows()  # records not in CloudTrail's shape, as the reference reads them
    events, changes, canonical_count = [], [], 0
    repeat = Repeated()
    for chunk_batch in _batches(slices):
        exact: list[tuple[int, Any, tuple[tuple[Any, ...], Any]]] = []
        batch = _within_bounds(chunk_batch, others, event_sources, limits, source_file)
        for (index, chunk), record in zip(batch, strict.decode([chunk for _, chunk in batch]), strict=True):
            if record is not None:
                if record.eventSource is None or record.eventSource.lower() not in event_sources:
                    continue  # the reference does not select it either
                derived = canonical.derive(record, window)
                if derived is not None:
                    exact.append((index, record, derived))
                    continue
            read_record(others, index, _load(index, chunk), event_sources=event_sources, window=window, limits=limits, **where)
        if exact:
            batch_events, batch_changes = _tables(exact, repeat, **where)
            events.append(batch_events)
            changes.append(batch_changes)
            canonical_count += len(exact)
    flat = others.flattened(records_read)
    if canonical_count:
        flat.events = _in_file_order(pa.concat_tables(events), flat.events, ("record_index",))
        flat.record_changes = _in_file_order(pa.concat_tables(changes), flat.record_changes, ("record_index", "change_index"))
        flat.selected += canonical_count
    if _out_of_order(flat.quarantine["record_index"]):
        flat.quarantine = flat.quarantine.sort_by("record_index")  # a batch's records refused for a bound come first
    return flat


_BATCH = 4096  # records decoded and converted at a time


def _batches(slices: Iterable[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    batch = []
    for item in slices:
        batch.append(item)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _within_bounds(slices: list[tuple[int, Any]], others: Rows, event_sources: frozenset[str], limits: Limits,
                   source_file: str) -> list[tuple[int, bytes]]:
    """The batch's records as bytes, less those beyond max_record_bytes or max_json_depth, which no
    parser reads: those that are selected are quarantined, with the identifiers read at their top level."""
    kept = []
    for index, chunk in slices:
        chunk = bytes(chunk)
        if len(chunk) > limits.max_record_bytes:
            error = too_large(len(chunk), limits)
        elif not depth_at_most(chunk, limits.max_json_depth):
            error = too_deep(limits)
        else:
            kept.append((index, chunk))
            continue
        try:
            selected, source, event_id = identify(chunk, event_sources) if chunk.lstrip()[:1] == b"{" else (True, None, None)
        except Broken as broken:
            raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON in record {index}: {broken}") from None
        if selected:
            others.reject(quarantine_row(source_file, index, error, keep_raw=False, event_source=source, event_id=event_id))
    return kept


def _load(index: int, chunk: bytes) -> Any:
    """A record's value: orjson, or, for a value orjson refuses (a lone surrogate, a number beyond a
    double, bytes that are not UTF-8), the lenient reading that RFC 8259 allows. A record that is
    not JSON at all means the file is not (the scan that cut it checks brackets only)."""
    try:
        return orjson.loads(chunk)
    except orjson.JSONDecodeError:
        pass
    try:
        return loads_lenient(chunk)
    except ValueError as exc:
        raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON in record {index}: {exc}") from None


def _out_of_order(column: pa.ChunkedArray) -> bool:
    if len(column) < 2:
        return False
    return pc.any(pc.less(column.slice(1), column.slice(0, len(column) - 1))).as_py()


def _in_file_order(fast: pa.Table, reference: pa.Table, key: tuple[str, ...]) -> pa.Table:
    if not reference.num_rows:
        return fast
    return pa.concat_tables([fast, reference]).sort_by([(name, "ascending") for name in key])


def _tables(exact: list[tuple[int, Any, tuple[tuple[Any, ...], Any]]], repeat: Repeated, *, source_file: str,
            delivery_date: date) -> tuple[pa.Table, pa.Table]:
    """The events and record_changes rows of records in CloudTrail's shape, built column by column."""
    rows = len(exact)
    columns = _nulls_repeated(canonical.event_columns([r for _, r, _ in exact], [d[0] for _, _, d in exact]), _EVENT_TYPES,
                              repeat, rows)
    columns |= {
        "parse_warnings": repeat(None, STRINGS, rows),  # a record with a value set aside is not canonical
        "delivery_date": repeat(delivery_date, pa.date32(), rows),
        "source_file": repeat(source_file, pa.string(), rows),
        "record_index": [index for index, _, _ in exact],
    }
    events = arrow_table(EVENTS, columns)
    return events, _changes_table(events, [d[1].changes or () for _, _, d in exact], repeat, source_file, delivery_date)


def _changes_table(events: pa.Table, batches: list[Any], repeat: Repeated, source_file: str, delivery_date: date) -> pa.Table:
    """One row per change; the event's columns are copied by Arrow (take), not row by row."""
    changes = [change for batch in batches for change in batch]
    parents = pa.array([parent for parent, batch in enumerate(batches) for _ in batch], type=pa.int64())
    copied = [name for name in FROM_EVENT if name not in ("source_file", "delivery_date")]
    context = events.select([*copied, "change_count"]).take(parents)
    columns: dict[str, Any] = {name: context.column(name) for name in copied}
    columns |= _nulls_repeated(columnwise.changes(changes), _CHANGE_TYPES, repeat, len(changes))
    columns |= {
        "source_file": repeat(source_file, pa.string(), len(changes)),
        "delivery_date": repeat(delivery_date, pa.date32(), len(changes)),
        "batch_size": context.column("change_count"),
        "change_index": [position for batch in batches for position in range(len(batch))],
        "extra": repeat(None, pa.string(), len(changes)),  # canonical records have none
        "parse_warnings": repeat(None, STRINGS, len(changes)),
    }
    return arrow_table(RECORD_CHANGES, columns)


_EVENT_TYPES = {f.name: f.type for f in EVENTS.schema}
_CHANGE_TYPES = {f.name: f.type for f in RECORD_CHANGES.schema}


def _nulls_repeated(columns: dict[str, Any], types: dict[str, pa.DataType], repeat: Repeated, rows: int) -> dict[str, Any]:
    """A column no row has a value for, as the file's one column of nulls (no list, no conversion)."""
    return {name: repeat(None, types[name], rows) if values is None else values for name, values in columns.items()}
