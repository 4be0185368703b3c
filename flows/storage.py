"""The one place that touches storage: fsspec over a local folder or S3 (s3fs).

Writes are atomic as readers see them: a local file is written under a hidden temporary name
(ignored by DuckDB, Athena and polars globs) and renamed; an S3 object appears whole on PUT.
Every write goes through `path()`, which refuses anything outside the root.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

# The AWS SDK logs request headers at DEBUG, Authorization (the access key id) included: whatever
# level a caller's root logger has, those records never reach run logs.
for _name in ("botocore", "aiobotocore", "s3fs", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class OutsideRootError(ValueError):
    """A path that would leave the storage root."""


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
            options = {"skip_instance_cache": True, **storage_options}
            self.fs, root = fsspec.core.url_to_fs(uri, **options)
        else:
            # One canonical spelling (`/a/./src`, `/a//src`, `../a/src` and a symlinked mount are one
            # folder): source_file URIs and everything derived from them do not depend on it.
            self.fs, root = LocalFileSystem(), os.path.realpath(LocalFileSystem._strip_protocol(uri))
        self.root = root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)

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
        return posixpath.join(self.root, relative)

    def uri_of(self, relative: str) -> str:
        return f"s3://{self.path(relative)}" if not self.is_local else self.path(relative)

    def list(self, relative: str) -> list[Entry]:
        """Entries directly under a folder; [] when it does not exist."""
        folder = self.path(relative) if relative else self.root
        try:
            infos = self.fs.ls(folder, detail=True, **({} if self.is_local else {"refresh": True}))
        except FileNotFoundError:
            return []
        entries = []
        for info in infos:
            name = info["name"].rstrip("/")
            etag = info.get("ETag") or info.get("etag")
            entries.append(Entry(
                path=name[len(self.root) + 1:] if name.startswith(self.root + "/") else name,
                size=int(info.get("size") or 0),
                etag=etag.strip('"') if isinstance(etag, str) else None,
                is_dir=info.get("type") == "directory",
                mtime=info.get("mtime") if self.is_local else None,
            ))
        return entries

    def read_bytes(self, relative: str) -> bytes:
        return self.fs.cat_file(self.path(relative))

    def metadata(self, relative: str) -> dict[str, str]:
        """An S3 object's user metadata (x-amz-meta-*, without the prefix); {} for a local file."""
        return {} if self.is_local else self.fs.metadata(self.path(relative), refresh=True)

    def modified(self, relative: str) -> float | None:
        """When an object was last written (seconds since the epoch); None if it does not exist."""
        try:
            info = self.fs.info(self.path(relative), **({} if self.is_local else {"refresh": True}))
        except FileNotFoundError:
            return None
        stamp = info.get("mtime") if self.is_local else info.get("LastModified")
        return stamp.timestamp() if hasattr(stamp, "timestamp") else stamp

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def write_bytes(self, relative: str, data: bytes, **put_options: str) -> None:
        """Write a whole object. put_options (e.g. ServerSideEncryption) are S3 PutObject headers."""
        target = self.path(relative)
        if not self.is_local:
            self.fs.pipe_file(target, data, **put_options)
            return
        folder, name = posixpath.split(target)
        self.fs.makedirs(folder, exist_ok=True)
        temporary = posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)  # a rename within one folder: atomic on POSIX
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    def temporary_file(self, relative: str) -> str:
        """A local path to build a large file in before `commit_file` publishes it as `relative`:
        beside the target for a local lake (so the rename is atomic), in the system temp folder for S3."""
        if not self.is_local:
            handle, path = tempfile.mkstemp(prefix=f"route53-lake-{os.getpid()}-upload-", suffix=".parquet")  # see flows/scratch.py
            os.close(handle)
            return path
        folder, name = posixpath.split(self.path(relative))
        self.fs.makedirs(folder, exist_ok=True)
        return posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")

    def commit_file(self, temporary: str, relative: str, **put_options: str) -> None:
        """Publish a file built with `temporary_file`: a rename (local) or one whole upload (S3; a
        multipart upload appears only when it completes). The temporary is gone afterwards."""
        try:
            if self.is_local:
                os.replace(temporary, self.path(relative))
            else:
                self.fs.put_file(temporary, self.path(relative), **put_options)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)

    def download(self, relative: str, local_path: str) -> None:
        self.fs.get_file(self.path(relative), local_path)

    def remove_stale_temporaries(self, relative_folder: str, older_than_seconds: float = 3600) -> int:
        """Delete hidden temporary files a killed writer left in a local folder. Only old ones: a
        young one may belong to a writer that is still running."""
        if not self.is_local:
            return 0  # S3 has no temporary objects: a PUT is whole or absent
        folder = self.path(relative_folder)
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if entry.name.startswith(".") and entry.name.endswith(".tmp") and time.time() - entry.stat().st_mtime > older_than_seconds:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(entry.path)
                        removed += 1
        return removed

    def delete(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(relative))


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
