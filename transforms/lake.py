"""Shaping flattened tables for the lake: concatenate, deduplicate, split into event_date partitions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import Table

_LINEAGE = ["event_id", "source_file", "record_index"]


def concat(table: Table, parts: Iterable[pa.Table]) -> pa.Table:
    """All parts in one table of the declared schema (an empty table when there are none). The
    parts stay chunks (no copy): sorting gathers them into one chunk anyway."""
    parts = [p for p in parts if p.num_rows]
    return pa.concat_tables(parts).cast(table.schema) if parts else table.empty


def drop_duplicate_events(events: pa.Table, changes: pa.Table) -> tuple[pa.Table, pa.Table, int]:
    """One events row per event_id, with exactly the change rows of the copy that was kept.

    CloudTrail duplicates share their eventID (and content); the copy kept is the first by
    (source_file, record_index), so the choice does not depend on the order files were read in.
    Returns (events, changes, number of duplicate events dropped).
    """
    if events.num_rows == 0 or pc.count_distinct(events["event_id"]).as_py() == events.num_rows:
        return events, changes, 0  # the usual case: no copy, no work
    ordered = events.take(pc.sort_indices(events, sort_keys=[(k, "ascending") for k in _LINEAGE]))
    ids = ordered["event_id"].combine_chunks()
    first = pc.fill_null(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)), True)
    kept = ordered.filter(pa.concat_arrays([pa.array([True]), first]))
    return kept, changes.filter(_rows_in(changes, kept)), events.num_rows - kept.num_rows


def _rows_in(data: pa.Table, kept: pa.Table) -> pa.Array:
    """Mask of the rows of data whose lineage key is a row of kept (Acero joins reject list columns)."""
    wanted = set(zip(*(kept[k].to_pylist() for k in _LINEAGE), strict=True))
    return pa.array([key in wanted for key in zip(*(data[k].to_pylist() for k in _LINEAGE), strict=True)], pa.bool_())


def sort_rows(data: pa.Table, table: Table) -> pa.Table:
    return data.take(pc.sort_indices(data, sort_keys=[(k, "ascending") for k in table.sort_by]))


def split_by_event_date(data: pa.Table, table: Table) -> dict[date, pa.Table]:
    """Rows grouped by the UTC date of event_time, each group sorted: one file per partition.
    The table's sort order starts with event_time, so after one sort each date is a run of rows."""
    if table.sort_by[0] != "event_time":
        raise ValueError(f"{table.name} is not sorted by event_time first")
    if data.num_rows == 0:
        return {}
    ordered = sort_rows(data, table)
    dates = pc.cast(ordered["event_time"], pa.date32())  # event_time is UTC, so this is the UTC date
    runs, start = {}, 0
    for run in pc.value_counts(dates).to_pylist():  # in order of appearance, that is by date
        runs[run["values"]] = ordered.slice(start, run["counts"])
        start += run["counts"]
    return runs
