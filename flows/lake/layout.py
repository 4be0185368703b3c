"""The lake's layout, and the rule every writer of it shares: which copy of an event is kept.

    <lake>/_staging/<table>/<partition>=<value>/<day folder name>.parquet   (the unit of work and of replacement)
    <lake>/<table>/<partition>=<value>/part-0.parquet                       (what readers see)
    <lake>/_state/partitions/<partition>=<value>.json                       (what a partition was built from)
    <lake>/_state/event_ids/event_date=<value>.ids                          (the ids of the events staged into it)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, SOURCE_FILES, Table
from transforms.cloudtrail.file_names import DELIVERY_MINUTE_SQL

STAGING = "_staging"
STATE = "_state/partitions"
IDS = "_state/event_ids"  # an event_date partition's event ids, hashed (flows/lake/neighbours.py)
VISIBLE = "part-0.parquet"
# Tables rebuilt together: record_changes follows the copies of events that events keeps.
GROUPS: dict[str, tuple[Table, ...]] = {"event_date": (EVENTS, RECORD_CHANGES), "delivery_date": (QUARANTINE, SOURCE_FILES)}


PARTITION_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a partition's value as the lake writes it


@dataclass(frozen=True, order=True)
class Partition:
    column: str  # event_date or delivery_date
    value: str  # YYYY-MM-DD

    @property
    def tables(self) -> tuple[Table, ...]:
        return GROUPS[self.column]

    @property
    def lock_name(self) -> str:
        return f"partition-{self.column}={self.value}"

    def staging_folder(self, table: Table) -> str:
        return f"{STAGING}/{table.name}/{self.column}={self.value}"

    def visible_folder(self, table: Table) -> str:
        return f"{table.name}/{self.column}={self.value}"

    @property
    def state_path(self) -> str:
        return f"{STATE}/{self.column}={self.value}.json"

    @property
    def ids_path(self) -> str:
        return f"{IDS}/{self.column}={self.value}.ids"  # Parquet, named so that no reader's *.parquet glob takes it


def partition_of(path: str) -> Partition:
    """The partition a lake file belongs to: [_staging/]<table>/<column>=<value>/<name>.parquet."""
    column, _, value = next(part for part in path.split("/") if "=" in part).partition("=")
    return Partition(column, value)


def staged_path(table: Table, value: str, name: str) -> str:
    return f"{STAGING}/{table.name}/{table.partition.name}={value}/{name}.parquet"


# What ranks the copies of an event (kept_copy_order), with the key: all a rebuild reads of the
# copies staged into its neighbour partitions, those holding copies of its events (flows/lake/neighbours.py).
RANK_COLUMNS = ("event_id", "delivery_date", "source_file", "record_index")


def kept_copy_order(alias: str) -> str:
    """Which copy of a duplicated event is kept, as the SQL order whose first row it is: the earliest
    delivered (delivery_date, then the delivery minute in its file's name), then the smaller
    (source_file, record_index). The one rule: the rebuild keeps it, across the whole table
    too (flows/lake/neighbours.py), and a folder's counts (flows/lake/staging.py) count it."""
    e = f"{alias}." if alias else ""
    return f"{e}delivery_date, regexp_extract({e}source_file, '{DELIVERY_MINUTE_SQL}', 1), {e}source_file, {e}record_index"
