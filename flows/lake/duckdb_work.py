"""DuckDB for the lake's own work: a folder's counts (flows/lake/staging.py) and a partition's
rebuild (flows/lake/partitions.py), in bounded memory."""

from __future__ import annotations

import os

from schemas.ddl import glob_literal


def duckdb_connection(memory_limit: str, work: str):
    """A DuckDB connection for the lake's own work (a folder's counts, a partition's rebuild),
    spilling into `work`. One thread and no insertion order: what lets a window, a join and a sort
    stay within the memory limit and spill beyond it (with two threads a partition of a million
    events ran out of it). No extension is fetched; no progress bar (it drew on the terminal of a
    long rebuild)."""
    # Imported here, not at the top: DuckDB maps ~90 MB of address space when loaded, which a process
    # capped by address space (a container limit) needs for reading files before any rebuild.
    import duckdb

    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": os.path.join(work, "spill"),
                                 "threads": 1, "preserve_insertion_order": False,
                                 "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con


def parquet_files(paths: list[str], options: str = "") -> str:
    """read_parquet over exactly these files: each path quoted, and escaped as a glob (DuckDB reads
    every path it is given as one); `options` are read_parquet's own, e.g. "filename = true"."""
    listed = ", ".join("'" + glob_literal(path).replace("'", "''") + "'" for path in paths)
    return f"read_parquet([{listed}]{', ' + options if options else ''})"
