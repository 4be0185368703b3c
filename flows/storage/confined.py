"""A local root that no symbolic link below it can leave (see flows/storage/store.py): each folder is
opened relative to its parent with O_NOFOLLOW (openat), one name at a time, so a link planted in
the lake cannot send a write outside it, nor one planted in a source make the job read a file
outside it. Only regular files are read (a FIFO would block). The Store calls these for local roots."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from typing import Any, Protocol


class Store(Protocol):
    """What these functions need of a local Store (flows/storage/store.py), which calls them."""

    root: str
    uri: str
    _cached: threading.local  # the calling thread's open folder

    def path(self, relative: str) -> str: ...


class OutsideRootError(ValueError):
    """A path that would leave the storage root: '..', an absolute path, or a symbolic link (or
    something other than a file or folder) below a local root. Never retried: a person must act."""


FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted under a log file's name returns at once (then it is refused).
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class OpenFolder:
    """An open folder (its descriptor), closed when dropped: a thread's cached folder."""

    __slots__ = ("fd", "identity", "relative")

    def __init__(self, relative: str, fd: int) -> None:
        self.relative, self.fd = relative, fd
        status = os.fstat(fd)
        self.identity = (status.st_dev, status.st_ino)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def local_stat(store: Store, relative: str) -> os.stat_result | None:
    """The entry itself (a link is not followed), reached without following links; None if absent."""
    folder, name = split(store, relative)
    try:
        fd = open_folder(store, folder)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(fd)


def split(store: Store, relative: str) -> tuple[str, str]:
    store.path(relative)  # refuses '..', absolute paths, empty segments
    folder, _, name = relative.rpartition("/")
    return folder, name


def open_folder(store: Store, relative: str, create: bool = False) -> int:
    """A descriptor of a folder below the local root, reached one name at a time with
    O_NOFOLLOW, so a symbolic link anywhere below the root is refused, never followed.
    create: make missing folders on the way (for writes)."""
    if create:
        os.makedirs(store.root, exist_ok=True)
    fd = os.open(store.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    done = []
    try:
        for part in relative.split("/") if relative else []:
            try:
                child = os.open(part, FOLDER_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", store.path("/".join([*done, part]))) from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, FOLDER_FLAGS, dir_fd=fd)
            except OSError as error:
                raise explained(store, error, "/".join([*done, part])) from None
            os.close(fd)
            fd = child
            done.append(part)
    except BaseException:
        os.close(fd)
        raise
    return fd


def folder_for_read(store: Store, relative: str) -> OpenFolder:
    """The folder of the last read on this thread when it is still the same folder (one stat),
    else a fresh walk: reads of one day folder's files then cost one open each, as without
    confinement. A folder replaced since (by a link, or a new folder) has a new identity."""
    cached = getattr(store._cached, "folder", None)
    if cached is not None and cached.relative == relative:
        try:
            status = os.stat(store.path(relative) if relative else store.root)
            if (status.st_dev, status.st_ino) == cached.identity:
                return cached
        except OSError:
            pass
    store._cached.folder = None
    store._cached.folder = cached = OpenFolder(relative, open_folder(store, relative))
    return cached


def explained(store: Store, error: OSError, relative: str) -> Exception:
    """An OSError of a local operation, naming the whole path; a refused link as OutsideRootError."""
    if error.errno is None:
        return error
    where = store.path(relative)
    if error.errno in (errno.ELOOP, errno.ENOTDIR) and is_link(store, relative):
        return OutsideRootError(
            f"refusing {where}: it is a symbolic link, and links below {store.uri} are never followed "
            "(nothing outside the root is read or written); remove the link, or point the location at the real folder"
        )
    return type(error)(error.errno, error.strerror, where)


def is_link(store: Store, relative: str) -> bool:
    """Whether a name on the way to `relative` is a symbolic link (for the message only)."""
    parts = relative.split("/")
    return any(os.path.islink(store.path("/".join(parts[:n]))) for n in range(1, len(parts) + 1))


def local_infos(store: Store, relative: str) -> list[dict[str, Any]]:
    """fsspec-shaped entries of a local folder, from a descriptor reached without links. As in
    fsspec, a link has the type of what it points to: a linked folder is then listed into and
    a linked file read, and both are refused naming the link, rather than skipped quietly."""
    fd = open_folder(store, relative)
    infos = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    status = entry.stat(follow_symlinks=False)
                    is_link = stat.S_ISLNK(status.st_mode)
                    is_dir = stat.S_ISDIR(status.st_mode) or (is_link and _points_to_folder(entry))
                    infos.append({"name": store.path(f"{relative}/{entry.name}" if relative else entry.name),
                                  "size": status.st_size, "type": "directory" if is_dir else "file", "islink": is_link,
                                  "mtime": status.st_mtime, "ino": status.st_ino})
    finally:
        os.close(fd)
    return infos


def _points_to_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)  # a stat of the target; nothing is opened or read
    except OSError:
        return False
