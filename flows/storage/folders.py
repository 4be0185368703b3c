"""Local folders named to DuckDB without their path: /proc/self/fd/N. Every path DuckDB's
read_parquet is given is a glob, so a lake at 'lake[1]', 'lake*', 'a\\b' or under a folder named
like a Hive partition ('event_date=2020-01-01') would read other files, or none; through an open
descriptor of the folder the path is just a folder. The views (flows/query/lake_connection.py) and
the partition rebuilds and staging counts (flows/lake/) name local files this way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_FOLDERS: dict[tuple[int, str], tuple[int, int, int]] = {}  # (pid, path) -> (fd, st_dev, st_ino)


def local_root(path: str) -> str:
    """/proc/self/fd/N for a local lake folder: a path free of glob characters and of Hive-looking
    folders, whatever the lake's own path is. The descriptor stays open for the process (a view
    made earlier may still name it; a closed number could come back as another folder); a folder
    replaced at the same path gets a new one. Where /proc is missing, the path (escaped later)."""
    path = os.path.realpath(path)
    if not os.path.isdir("/proc/self/fd"):
        return path
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return path  # no lake yet: the views are empty
    key = (os.getpid(), path)
    cached = _FOLDERS.get(key)
    if cached is None or cached[1:] != (stat.st_dev, stat.st_ino):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        cached = _FOLDERS[key] = (fd, stat.st_dev, stat.st_ino)
    return f"/proc/self/fd/{cached[0]}"


@contextmanager
def local_files(paths: list[str]) -> Iterator[list[str]]:
    """The local files as DuckDB should be given them while the block runs: each folder through a
    descriptor opened for the block (and closed after it: a rebuild names many folders, most of
    them scratch folders deleted soon after), then the file's own name, which the pipeline makes
    and which schemas.ddl.glob_literal escapes where needed. Paths stay as they are where /proc is missing."""
    if not os.path.isdir("/proc/self/fd"):
        yield list(paths)
        return
    opened: dict[str, int] = {}
    try:
        names = []
        for path in paths:
            folder, name = os.path.split(os.path.realpath(path))
            if folder not in opened:
                opened[folder] = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            names.append(f"/proc/self/fd/{opened[folder]}/{name}")
        yield names
    finally:
        for fd in opened.values():
            os.close(fd)
