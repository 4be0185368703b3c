"""The one place that touches storage: fsspec over a local folder or S3 (s3fs).

Writes are atomic as readers see them: a local file is written under a hidden temporary name
(ignored by DuckDB, Athena and polars globs) and renamed; an S3 object appears whole on PUT.

Confinement: every path goes through `path()`, which refuses '..', absolute paths and empty
segments. Below a local root, no symbolic link is ever followed, for reads and writes alike:
each folder is opened relative to its parent with O_NOFOLLOW (openat), so a link planted in the
lake cannot send a write outside it, and a link planted in a source cannot make the job read a
file outside it (and quote its bytes in a quarantine message). The root itself may be reached
through links: it is the operator's choice. Only regular files are read (a FIFO would block).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import stat
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

import fsspec
from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

# The AWS SDK logs request headers at DEBUG, Authorization (the access key id) included: whatever
# level a caller's root logger has, those records never reach run logs.
for _name in ("botocore", "aiobotocore", "s3fs", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class OutsideRootError(ValueError):
    """A path that would leave the storage root: '..', an absolute path, or a symbolic link (or
    something other than a file or folder) below a local root. Never retried: a person must act."""


# Connections the S3 client keeps: botocore's default (10) would cap the requests a process keeps
# in flight (LakeSettings.s3_requests_in_flight) whatever they are set to.
S3_CONNECTIONS = 128

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted under a log file's name returns at once (then it is refused).
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class _Folder:
    """An open folder (its descriptor), closed when dropped: a thread's cached folder."""

    __slots__ = ("fd", "identity", "relative")

    def __init__(self, relative: str, fd: int) -> None:
        self.relative, self.fd = relative, fd
        status = os.fstat(fd)
        self.identity = (status.st_dev, status.st_ino)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    etag: str | None
    is_dir: bool
    mtime: float | None = None  # local files only: S3 has the ETag


class Store:
    """A filesystem and a root inside it. Paths given to methods are relative to the root."""

    def __init__(self, uri: str, **storage_options: Any) -> None:
        self.uri = uri
        if uri.startswith("s3://"):
            # A fresh instance: s3fs caches instances and listings, and a run must see new objects.
            options = {"skip_instance_cache": True, "config_kwargs": {"max_pool_connections": S3_CONNECTIONS}, **storage_options}
            self.fs, root = fsspec.core.url_to_fs(uri, **options)
        else:
            # One canonical spelling (`/a/./src`, `/a//src`, `../a/src` and a symlinked mount are one
            # folder): source_file URIs and everything derived from them do not depend on it.
            self.fs, root = LocalFileSystem(), os.path.realpath(LocalFileSystem._strip_protocol(uri))
        self.is_local = isinstance(self.fs, LocalFileSystem)
        # "/" stays "/": stripped to "", it made every path relative to the current directory.
        self.root = root.rstrip("/") or ("/" if self.is_local else root)
        self._prefix = self.root if self.root.endswith("/") else self.root + "/"
        self._cached = threading.local()  # per thread: the folder the last read opened
        self._fences = threading.local()  # per thread: the lake locks it holds (flows/storage/locks.py)

    @contextlib.contextmanager
    def fenced(self, fence: Any):
        """Within the block, every write, upload and deletion on this thread first calls
        `fence.check()`, which raises (LockLost) once the lock it stands for may have passed to another run."""
        held = getattr(self._fences, "held", ())
        self._fences.held = (*held, fence)
        try:
            yield fence
        finally:
            self._fences.held = held

    def _check_fences(self) -> None:
        for fence in getattr(self._fences, "held", ()):
            fence.check()

    @property
    def key_prefix(self) -> str:
        """The root's key prefix inside its bucket ('' for a bucket root or a local folder):
        CloudTrail digests name log files by their key from the bucket root."""
        return "" if self.is_local else self.root.partition("/")[2]

    def path(self, relative: str) -> str:
        """Absolute path of a relative one, refusing '..', absolute paths and empty segments."""
        parts = relative.split("/")
        if relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise OutsideRootError(f"refusing path {relative!r}: it must stay inside {self.uri}")
        return self._prefix + relative

    def uri_of(self, relative: str) -> str:
        return f"s3://{self.path(relative)}" if not self.is_local else self.path(relative)

    def list(self, relative: str) -> list[Entry]:
        """Entries directly under a folder; [] when it does not exist. A local symbolic link is
        listed as what it is (never a folder to descend into), and reading it is refused."""
        folder = self.path(relative) if relative else self.root
        try:
            infos = self._local_infos(relative) if self.is_local else self.fs.ls(folder, detail=True, refresh=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return self.entries(infos)

    def entries(self, infos: list[dict[str, Any]]) -> list[Entry]:
        """fsspec listing entries as Entry, paths relative to the root."""
        entries = []
        for info in infos:
            name = info["name"].rstrip("/")
            etag = info.get("ETag") or info.get("etag")
            entries.append(Entry(
                path=name[len(self._prefix):] if name.startswith(self._prefix) else name,
                size=int(info.get("size") or 0),
                etag=etag.strip('"') if isinstance(etag, str) else None,
                is_dir=info.get("type") == "directory",
                mtime=info.get("mtime") if self.is_local else None,
            ))
        return entries

    def read_bytes(self, relative: str, size: int | None = None) -> bytes:
        """A whole object. On S3 one GET: s3fs would first ask for the size (a HEAD) to decide
        whether to fetch in ranges. `size` (the listing's) lets an object larger than s3fs's block
        size (50 MiB) still be fetched in concurrent ranges, as s3fs does."""
        if not self.is_local:
            return sync(self.fs.loop, self.get_object, self.path(relative), size)
        with self.open_for_read(relative, scratch="") as handle:
            return handle.read()

    async def get_object(self, path: str, size: int | None) -> bytes:
        """An S3 object's bytes, on the client's event loop (`path`: bucket/key). See `read_bytes`."""
        if size is not None and size > self.fs.default_block_size:
            return await self.fs._cat_file(path)  # a HEAD, then concurrent ranged GETs
        return await self.fs._cat_file(path, max_concurrency=1)  # one GET (retried as s3fs retries)

    def open_for_read(self, relative: str, scratch: str) -> BinaryIO:
        """A seekable binary handle: a local file opened below the root, never through a link; an S3
        object downloaded whole into the folder `scratch` first (then read as a local file)."""
        if not self.is_local:
            local = os.path.join(scratch, uuid.uuid4().hex)
            self.fs.get_file(self.path(relative), local)
            handle = open(local, "rb")  # noqa: SIM115 - the caller closes it
            os.remove(local)  # the open handle keeps the data until it is closed
            return handle
        folder, name = self._split(relative)
        cached = self._folder_for_read(folder)
        try:
            fd = os.open(name, _FILE, dir_fd=cached.fd)
        except OSError as error:
            raise self._explained(error, relative) from None
        handle = os.fdopen(fd, "rb")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            handle.close()
            raise OutsideRootError(f"refusing to read {self.path(relative)}: not a regular file")
        return handle

    def metadata(self, relative: str) -> dict[str, str]:
        """An S3 object's user metadata (x-amz-meta-*, without the prefix); {} for a local file."""
        return {} if self.is_local else self.fs.metadata(self.path(relative), refresh=True)

    def modified(self, relative: str) -> float | None:
        """When an object was last written (seconds since the epoch); None if it does not exist."""
        if not self.is_local:
            try:
                return self.fs.info(self.path(relative), refresh=True)["LastModified"].timestamp()
            except FileNotFoundError:
                return None
        status = self._local_stat(relative)
        return None if status is None else status.st_mtime

    def exists(self, relative: str) -> bool:
        if not self.is_local:
            return self.fs.exists(self.path(relative))
        return self._local_stat(relative) is not None

    def _local_stat(self, relative: str) -> os.stat_result | None:
        """The entry itself (a link is not followed), reached without following links; None if absent."""
        folder, name = self._split(relative)
        try:
            fd = self._open_folder(folder)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        finally:
            os.close(fd)

    def write_bytes(self, relative: str, data: bytes, **put_options: str) -> None:
        """Write a whole object. put_options (e.g. ServerSideEncryption) are S3 PutObject headers."""
        target = self.path(relative)
        self._check_fences()
        if not self.is_local:
            self.fs.pipe_file(target, data, **put_options)
            return
        folder, name = self._split(relative)
        fd = self._open_folder(folder, create=True)
        temporary = f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            try:
                with os.fdopen(os.open(temporary, _NEW_FILE, 0o666, dir_fd=fd), "wb") as handle:
                    handle.write(data)
                # A rename within one folder: atomic on POSIX; a link at `name` is replaced, not followed.
                os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary, dir_fd=fd)
        except OSError as error:
            raise self._explained(error, relative) from None
        finally:
            os.close(fd)

    def temporary_file(self, relative: str) -> str:
        """A local path to build a large file in before `commit_file` publishes it as `relative`:
        beside the target for a local lake (so the rename is atomic), in the system temp folder for S3."""
        if not self.is_local:
            handle, path = tempfile.mkstemp(prefix=f"route53-lake-{os.getpid()}-upload-", suffix=".parquet")  # see flows/storage/scratch.py
            os.close(handle)
            return path
        folder, name = self._split(relative)
        os.close(self._open_folder(folder, create=True))  # made, and checked to hold no link
        return posixpath.join(self.path(folder) if folder else self.root, f".{name}.{uuid.uuid4().hex}.tmp")

    def commit_file(self, temporary: str, relative: str, **put_options: str) -> None:
        """Publish a file built with `temporary_file`: a rename (local) or one whole upload (S3; a
        multipart upload appears only when it completes). The temporary is gone afterwards."""
        try:
            self._check_fences()
            if not self.is_local:
                self.fs.put_file(temporary, self.path(relative), **put_options)
                return
            folder, name = self._split(relative)
            fd = self._open_folder(folder)
            try:
                os.replace(temporary, name, dst_dir_fd=fd)  # a link at `name` is replaced, not followed
            finally:
                os.close(fd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)

    def open_local_file(self, relative: str) -> int:
        """A read-write descriptor of a local file below the root, created if missing; never through a link."""
        folder, name = self._split(relative)
        fd = self._open_folder(folder, create=True)
        try:
            # O_NONBLOCK: a FIFO planted there opens at once (and the caller refuses it), never blocks
            return os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600, dir_fd=fd)
        finally:
            os.close(fd)

    def download(self, relative: str, local_path: str) -> None:
        self.fs.get_file(self.path(relative), local_path)

    def remove_stale_temporaries(self, relative_folder: str, older_than_seconds: float = 3600) -> int:
        """Delete hidden temporary files a killed writer left in a local folder. Only old ones: a
        young one may belong to a writer that is still running."""
        if not self.is_local:
            return 0  # S3 has no temporary objects: a PUT is whole or absent
        try:
            fd = self._open_folder(relative_folder)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        removed = 0
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        status = entry.stat(follow_symlinks=False)
                        if stat.S_ISREG(status.st_mode) and time.time() - status.st_mtime > older_than_seconds:
                            os.unlink(entry.name, dir_fd=fd)
                            removed += 1
        finally:
            os.close(fd)
        return removed

    def delete(self, relative: str) -> None:
        self._check_fences()
        if not self.is_local:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(self.path(relative))
            return
        folder, name = self._split(relative)
        try:
            fd = self._open_folder(folder)
        except FileNotFoundError:
            return
        try:
            os.unlink(name, dir_fd=fd)  # a link is removed itself, never what it points to
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    # ------------------------------------------------------------ local confinement

    def _split(self, relative: str) -> tuple[str, str]:
        self.path(relative)  # refuses '..', absolute paths, empty segments
        folder, _, name = relative.rpartition("/")
        return folder, name

    def _open_folder(self, relative: str, create: bool = False) -> int:
        """A descriptor of a folder below the local root, reached one name at a time with
        O_NOFOLLOW, so a symbolic link anywhere below the root is refused, never followed.
        create: make missing folders on the way (for writes)."""
        if create:
            os.makedirs(self.root, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        done = []
        try:
            for part in relative.split("/") if relative else []:
                try:
                    child = os.open(part, _FOLDER, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise FileNotFoundError(errno.ENOENT, "No such file or directory", self.path("/".join([*done, part]))) from None
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                    child = os.open(part, _FOLDER, dir_fd=fd)
                except OSError as error:
                    raise self._explained(error, "/".join([*done, part])) from None
                os.close(fd)
                fd = child
                done.append(part)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _folder_for_read(self, relative: str) -> _Folder:
        """The folder of the last read on this thread when it is still the same folder (one stat),
        else a fresh walk: reads of one day folder's files then cost one open each, as without
        confinement. A folder replaced since (by a link, or a new folder) has a new identity."""
        cached = getattr(self._cached, "folder", None)
        if cached is not None and cached.relative == relative:
            try:
                status = os.stat(self.path(relative) if relative else self.root)
                if (status.st_dev, status.st_ino) == cached.identity:
                    return cached
            except OSError:
                pass
        self._cached.folder = None
        self._cached.folder = cached = _Folder(relative, self._open_folder(relative))
        return cached

    def _explained(self, error: OSError, relative: str) -> Exception:
        """An OSError of a local operation, naming the whole path; a refused link as OutsideRootError."""
        if error.errno is None:
            return error
        where = self.path(relative)
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and self._is_link(relative):
            return OutsideRootError(
                f"refusing {where}: it is a symbolic link, and links below {self.uri} are never followed "
                "(nothing outside the root is read or written); remove the link, or point the location at the real folder"
            )
        return type(error)(error.errno, error.strerror, where)

    def _is_link(self, relative: str) -> bool:
        """Whether a name on the way to `relative` is a symbolic link (for the message only)."""
        parts = relative.split("/")
        return any(os.path.islink(self.path("/".join(parts[:n]))) for n in range(1, len(parts) + 1))

    def _local_infos(self, relative: str) -> list[dict[str, Any]]:
        """fsspec-shaped entries of a local folder, from a descriptor reached without links. As in
        fsspec, a link has the type of what it points to: a linked folder is then listed into and
        a linked file read, and both are refused naming the link, rather than skipped quietly."""
        fd = self._open_folder(relative)
        infos = []
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    with contextlib.suppress(FileNotFoundError):
                        status = entry.stat(follow_symlinks=False)
                        is_link = stat.S_ISLNK(status.st_mode)
                        is_dir = stat.S_ISDIR(status.st_mode) or (is_link and _points_to_folder(entry))
                        infos.append({"name": self.path(f"{relative}/{entry.name}" if relative else entry.name),
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


def source_identity(uri: str) -> str:
    """A location's identity, independent of its spelling: a local folder's real path (symlinks,
    `.`, `..` and doubled slashes resolved), or the normalised s3:// URI."""
    return uri.rstrip("/") if uri.startswith("s3://") else open_store(uri).root  # settings normalise s3:// URIs


_STORES: dict[tuple[int, str], Store] = {}


def open_store(uri: str) -> Store:
    """One Store per location and process: creating an S3 client per file would dominate small reads.
    Keyed by process id: a forked worker opens its own clients, and keeps (never uses, never
    closes) the ones it inherited, which belong to the parent's event loop."""
    key = (os.getpid(), uri)
    if key not in _STORES:
        _STORES[key] = Store(uri)
    return _STORES[key]
