"""The one place that touches storage: fsspec over a local folder or S3 (s3fs).

Writes are atomic as readers see them: a local file is written under a hidden temporary name
(ignored by DuckDB, Athena and polars globs) and renamed; an S3 object appears whole on PUT.

Confinement (below a local root: flows/storage/confined.py): every path goes through `path()`, which refuses '..', absolute paths and empty
segments. Below a local root, no symbolic link is ever followed, for reads and writes alike:
each folder is opened relative to its parent with O_NOFOLLOW (openat), so a link planted in the
lake cannot send a write outside it, and a link planted in a source cannot make the job read a
file outside it (and quote its bytes in a quarantine message). The root itself may be reached
through links: it is the operator's choice. Only regular files are read (a FIFO would block).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

from flows.storage import confined
from flows.storage.confined import FILE_FLAGS, NEW_FILE_FLAGS, OutsideRootError  # noqa: F401 - OutsideRootError: callers catch it from here
from flows.storage.s3 import s3_filesystem
from flows.storage.scratch import scratch_file

# The AWS SDK logs request headers at DEBUG, Authorization (the access key id) included: whatever
# level a caller's root logger has, those records never reach run logs.
for _name in ("botocore", "aiobotocore", "s3fs", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


RANGE_BYTES = 4 * 1024 * 1024  # open_ranged's GETs: a column chunk of a staged file is rarely larger

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
            self.fs, root = s3_filesystem(uri, **storage_options)
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
            infos = confined.local_infos(self, relative) if self.is_local else self.fs.ls(folder, detail=True, refresh=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return self.entries(infos)

    def holds_anything(self, relative: str = "") -> bool:
        """Whether anything is stored under the folder `relative` ("" the root), in one request that
        also proves the location reachable, as `list` does not: on S3 a missing bucket raises
        FileNotFoundError naming it (its listing would read as empty), a LIST the credentials may
        not make PermissionError. One LIST of at most one key, inside the prefix iam/ allows."""
        if self.is_local:
            return bool(self.list(relative))
        bucket, _, key = (self.path(relative) if relative else self.root).partition("/")
        try:
            listed = self.fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=f"{key}/" if key else "", MaxKeys=1)
        except FileNotFoundError:
            raise FileNotFoundError(f"the S3 bucket {bucket} does not exist") from None
        return bool(listed.get("KeyCount"))

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
        folder, name = confined.split(self, relative)
        cached = confined.folder_for_read(self, folder)
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=cached.fd)
        except OSError as error:
            raise confined.explained(self, error, relative) from None
        handle = os.fdopen(fd, "rb")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            handle.close()
            raise OutsideRootError(f"refusing to read {self.path(relative)}: not a regular file")
        return handle

    def open_ranged(self, relative: str) -> BinaryIO:
        """A seekable binary handle that reads only what is read: on S3 in ranged GETs of a few MB
        (a Parquet reader fetches the footer and the column chunks it wants, not the object); a
        local file as open_for_read opens it."""
        if self.is_local:
            return self.open_for_read(relative, "")
        return self.fs.open(self.path(relative), "rb", block_size=RANGE_BYTES, cache_type="readahead")

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
        status = confined.local_stat(self, relative)
        return None if status is None else status.st_mtime

    def exists(self, relative: str) -> bool:
        if not self.is_local:
            return self.fs.exists(self.path(relative))
        return confined.local_stat(self, relative) is not None

    def write_bytes(self, relative: str, data: bytes, **put_options: str) -> None:
        """Write a whole object. put_options (e.g. ServerSideEncryption) are S3 PutObject headers."""
        target = self.path(relative)
        self._check_fences()
        if not self.is_local:
            self.fs.pipe_file(target, data, **put_options)
            return
        folder, name = confined.split(self, relative)
        fd = confined.open_folder(self, folder, create=True)
        temporary = f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            try:
                with os.fdopen(os.open(temporary, NEW_FILE_FLAGS, 0o666, dir_fd=fd), "wb") as handle:
                    handle.write(data)
                # A rename within one folder: atomic on POSIX; a link at `name` is replaced, not followed.
                os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary, dir_fd=fd)
        except OSError as error:
            raise confined.explained(self, error, relative) from None
        finally:
            os.close(fd)

    def temporary_file(self, relative: str) -> str:
        """A local path to build a large file in before `commit_file` publishes it as `relative`:
        beside the target for a local lake (so the rename is atomic), in the system temp folder for S3."""
        if not self.is_local:
            return scratch_file("upload", suffix=".parquet")
        folder, name = confined.split(self, relative)
        os.close(confined.open_folder(self, folder, create=True))  # made, and checked to hold no link
        return posixpath.join(self.path(folder) if folder else self.root, f".{name}.{uuid.uuid4().hex}.tmp")

    def commit_file(self, temporary: str, relative: str, **put_options: str) -> None:
        """Publish a file built with `temporary_file`: a rename (local) or one whole upload (S3; a
        multipart upload appears only when it completes). The temporary is gone afterwards."""
        try:
            self._check_fences()
            if not self.is_local:
                self.fs.put_file(temporary, self.path(relative), **put_options)
                return
            folder, name = confined.split(self, relative)
            fd = confined.open_folder(self, folder)
            try:
                os.replace(temporary, name, dst_dir_fd=fd)  # a link at `name` is replaced, not followed
            finally:
                os.close(fd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)

    def open_local_file(self, relative: str) -> int:
        """A read-write descriptor of a local file below the root, created if missing; never through a link."""
        folder, name = confined.split(self, relative)
        fd = confined.open_folder(self, folder, create=True)
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
            fd = confined.open_folder(self, relative_folder)
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
        folder, name = confined.split(self, relative)
        try:
            fd = confined.open_folder(self, folder)
        except FileNotFoundError:
            return
        try:
            os.unlink(name, dir_fd=fd)  # a link is removed itself, never what it points to
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)


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
