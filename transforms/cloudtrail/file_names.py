"""CloudTrail's log file name, declared once: ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz.

The listing admits only files so named (flows/source/listing.py), the delivery minute in the name
orders the copies of a duplicated event (flows/lake/layout.py, in SQL) and dates a file for the
digest check and the source_files table: all from the pieces below.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ACCOUNT, _REGION, _STAMP, _UNIQUE = r"\d{12}", r"[a-z0-9-]+", r"\d{8}T\d{4}Z", r"[A-Za-z0-9]{1,64}"
LOG_FILE_NAME = re.compile(rf"(?P<account>{_ACCOUNT})_CloudTrail_(?P<region>{_REGION})_(?P<stamp>{_STAMP})_?{_UNIQUE}\.json\.gz")
SPELLED = "ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz"
# The delivery minute of a file's URI in SQL (DuckDB's RE2): group 1, '' for a name not so spelled.
DELIVERY_MINUTE_SQL = rf"(?:^|/){_ACCOUNT}_CloudTrail_{_REGION}_({_STAMP})_?{_UNIQUE}\.json\.gz$"


def delivery_time(path: str) -> datetime | None:
    """The delivery time a log file's name gives (UTC, to the minute), or None for another name."""
    found = LOG_FILE_NAME.fullmatch(path.rsplit("/", 1)[-1])
    return datetime.strptime(found["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC) if found else None
