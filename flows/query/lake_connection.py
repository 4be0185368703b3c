"""A DuckDB connection to the lake that stays right while runs publish (docs/readers.md).

A partition is rebuilt in place: on a local lake its file is replaced by a rename, on S3 by one
PUT of the same key. Each file is always whole, but a query that straddles a replacement can see
the old file's footer and the new file's bytes (local: DuckDB opens a file more than once per
query), or find the object it listed replaced (S3: s3fs reads with If-Match on the listed ETag and
gets FileExpired). Both fail loudly; this connection re-runs such a query, a bounded number of
times. On S3 it lists afresh for every query: a long session sees each night's publishing.

The lake's own path never appears in a glob: a local lake is read through /proc/self/fd/N (a
folder named 'lake[1]', 'lake*', 'a\\b' or 'event_date=2020-01-01' is then just a folder), an
S3 prefix is escaped or refused (schemas.ddl.glob_root).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb

from flows.storage.folders import local_root
from flows.storage.s3 import s3_filesystem
from flows.storage.scratch import scratch_dir

log = logging.getLogger("route53_lake")
T = TypeVar("T")

ATTEMPTS = 4
BACKOFF_SECONDS = (0.2, 0.5, 1.0)  # before the second, third and fourth attempt: a rebuild replaces a table's file once
# What a query straddling a replacement says (measured, docs/readers.md): the object it listed was
# replaced (S3), or the file it reopened is the new one (local). Nothing else is retried.
REPLACED_OBJECT_SIGNS = (
    "fileexpired", "no longer exists", "precondition failed",
    "tprotocolexception", "could not read enough bytes", "invalid data", "don't know what type",
    "prefetch registered for bytes outside file", "no such file or directory", "no magic bytes",
    "not a parquet file", "footer length", "corrupt", "invalid footer", "out of buffer", "invalid ttype",
)
# Every connection reads the files anew: DuckDB's cache of remote file blocks is validated by
# modification time, which S3 gives to the second; a replacement within that second must not
# let old blocks be read with a new footer.
SETTINGS = {"enable_external_file_cache": "false", "parquet_metadata_cache": "false"}
RUN_QUERY_MEMORY = "256MB"  # a dense day's summary needs ~1.5 GB unbounded; bounded, it spills a little


def is_replaced_object_error(error: BaseException) -> bool:
    """True for the errors a reader gets when a file it was reading was replaced under it."""
    return isinstance(error, duckdb.Error | OSError) and any(sign in str(error).lower() for sign in REPLACED_OBJECT_SIGNS)


def retrying(attempt: Callable[[], T], what: str = "query") -> T:
    """attempt(), again (bounded, with a short backoff) while it fails because a file was replaced."""
    for number in range(1, ATTEMPTS + 1):
        try:
            return attempt()
        except (duckdb.Error, OSError) as error:
            if number == ATTEMPTS or not is_replaced_object_error(error):
                raise
            log.info("%s read a file while a run replaced it (%s); trying again", what, str(error).splitlines()[0][:160])
            time.sleep(BACKOFF_SECONDS[number - 1])
    raise AssertionError("unreachable")


class LakeConnection:
    """A DuckDB connection over the lake whose execute() re-runs a query that straddled a rebuild.

    On S3 every query starts from a fresh listing (the s3fs cache is emptied first), and keeps it
    for its own length: each object is read at the ETag it was listed with, so a replacement
    mid-query is a clean FileExpired (then a retry), never the old footer over the new bytes.
    execute() materialises the result (DuckDB's default), so a fetch after it cannot fail; sql()
    returns DuckDB's lazy relation, which is not retried: fetch it through `retrying` (as the
    `sql` command does) or use execute(). Everything else is DuckDB's own connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fs: Any = None, work: str | None = None) -> None:
        self.duckdb, self._fs, self._work = con, fs, work

    def fresh(self) -> None:
        """Forget what the last query listed (S3); nothing to forget on a local lake."""
        if self._fs is not None:
            self._fs.invalidate_cache()

    def execute(self, query: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        def attempt() -> duckdb.DuckDBPyConnection:
            self.fresh()
            return self.duckdb.execute(query, parameters)
        return retrying(attempt, "query")

    def sql(self, query: str, **kwargs: Any) -> duckdb.DuckDBPyRelation:
        self.fresh()
        return self.duckdb.sql(query, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.duckdb, name)

    def __enter__(self) -> LakeConnection:
        return self

    def close(self) -> None:
        self.duckdb.close()
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def new_connection(lake: str, time_zone: str | None = "UTC", bounded: bool = False) -> tuple[LakeConnection, str]:
    """A connection set up to read `lake` (no views yet), and the root its globs start with.
    Times show in `time_zone`, and current_date is that zone's day: UTC unless asked (None: the
    machine's zone, DuckDB's default), as event_date is the UTC day (docs/analysts.md).
    bounded: for a run's own queries (the DNS summaries, the history checkpoint), which share the
    run's process with its other work: DuckDB keeps within RUN_QUERY_MEMORY and spills beyond it
    into a private scratch folder, removed with the connection. An analyst's session is not bounded."""
    config: dict[str, Any] = {"autoinstall_known_extensions": False}
    work = scratch_dir("query") if bounded else None
    if work is not None:
        config |= {"memory_limit": RUN_QUERY_MEMORY, "temp_directory": os.path.join(work, "spill")}
    con = duckdb.connect(config=config)
    for name, value in SETTINGS.items():
        con.execute(f"set {name} = {value}")
    if work is not None:
        con.execute("set enable_progress_bar = false")  # a run's console and log are not a terminal to draw on
    if time_zone:
        con.execute("set TimeZone = '" + time_zone.replace("'", "''") + "'")
    if "://" in lake:
        # Its own s3fs, never the process's shared one, whose listings and ETags would be kept for
        # good (a session then failed on every query after a run published: repro_24).
        fs, _ = s3_filesystem(lake)
        con.register_filesystem(fs)
        return LakeConnection(con, fs, work), lake.rstrip("/")
    return LakeConnection(con, work=work), local_root(lake)
