"""Adopting a lake an earlier version wrote: before 2026-12-01 every day folder wrote its own file
straight into the visible partition (`<table>/<column>=<value>/<day folder name>.parquet`). The
first rebuild of such a partition copies those files into staging, so their rows are kept and
deduplicated like any staged rows, and then deletes them (flows/lake/partitions.py).

Remove this module (and its two calls in partitions.refresh) when no lake written before
2026-12-01 can still be in use: once every partition has been rebuilt since (a partition rebuilt
once holds only part-0.parquet), or a release's CHANGELOG has said that such lakes must be
rebuilt from the source. tests/lake/test_exactly_once.py::test_a_lake_written_by_the_earlier_layout_is_adopted_without_loss_or_doubling
goes with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names for the annotations only: this module imports nothing of flows
    from flows.lake.layout import Partition
    from flows.storage.store import Entry, Store


def legacy_files(lake: Store, partition: Partition, parquet_files: Callable[[Store, str], list[Entry]],
                 visible: str) -> dict[str, list[Entry]]:
    """table name -> the files an earlier version wrote in the partition's visible folder (any
    Parquet file but the visible one)."""
    return {t.name: [e for e in parquet_files(lake, partition.visible_folder(t)) if _name(e) != visible] for t in partition.tables}


def adopt(lake: Store, partition: Partition, legacy: dict[str, list[Entry]]) -> None:
    """Copy each legacy file into its table's staging folder as `legacy-<its name>`, so the rebuild
    that follows reads its rows like any staged rows."""
    for table in partition.tables:
        for entry in legacy[table.name]:
            lake.write_bytes(f"{partition.staging_folder(table)}/legacy-{_name(entry)}", lake.read_bytes(entry.path))


def remove(lake: Store, legacy: dict[str, list[Entry]]) -> None:
    """Once the partition is rebuilt: its rows are in the new file, and staged."""
    for entries in legacy.values():
        for entry in entries:
            lake.delete(entry.path)


def _name(entry: Entry) -> str:
    return entry.path.rsplit("/", 1)[-1]
