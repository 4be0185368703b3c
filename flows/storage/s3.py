"""How the project opens S3: one place, for the stores (flows/storage/store.py) and the lake's
DuckDB readers (flows/query/lake_connection.py)."""

from __future__ import annotations

from typing import Any

import fsspec

# Connections the S3 client keeps: botocore's default (10) would cap the requests a process keeps
# in flight (LakeSettings.s3_requests_in_flight) whatever they are set to.
S3_CONNECTIONS = 128


def s3_filesystem(uri: str, **storage_options: Any) -> tuple[Any, str]:
    """(a new s3fs filesystem, the root path in it) for an s3:// URI. A fresh instance each time:
    s3fs caches instances and their listings, and a run (or a reader) must see new objects."""
    options = {"skip_instance_cache": True, "config_kwargs": {"max_pool_connections": S3_CONNECTIONS}, **storage_options}
    return fsspec.core.url_to_fs(uri, **options)
