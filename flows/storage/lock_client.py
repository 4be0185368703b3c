"""The S3 client a lake lock renews and checks itself with (flows/storage/lease.py): its calls fail
fast and run on an event loop of their own, so that the lease's own loop does the retrying within
the lease, and a large upload of the run's (on s3fs's shared loop) never holds up a renewal."""

from __future__ import annotations

import asyncio
import os
import threading

_LOOP: list[asyncio.AbstractEventLoop] = []
_LOOP_PID: list[int] = [0]  # a forked child starts its own (the thread did not survive the fork)
_LOOP_GUARD = threading.Lock()


def _lock_loop() -> asyncio.AbstractEventLoop:
    """An event loop of the locks' own: s3fs clients share one loop thread per process, where a
    large upload of the run's could hold up a renewal."""
    with _LOOP_GUARD:
        if not _LOOP or _LOOP[0].is_closed() or _LOOP_PID[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="lake-locks-io", daemon=True).start()
            _LOOP[:], _LOOP_PID[:] = [loop], [os.getpid()]
        return _LOOP[0]


_CLIENTS: dict[tuple, object] = {}


def lock_client(fs: object, lease_seconds: float) -> object:
    """A client of the lake's S3 for the lock alone, whose calls fail fast (one attempt, timeouts a
    tenth of the lease): the lease's own loop retries, so that a burst of errors, which botocore
    and s3fs would retry with backoff for longer than a short lease, costs one round of its retries.
    One per lake, lease and process (making one costs more than a lock's requests)."""
    key = (id(fs), lease_seconds, os.getpid())  # this very client: its endpoint came from the environment then
    with _LOOP_GUARD:
        lake_client, client = _CLIENTS.get(key, (None, None))
    if lake_client is not fs:
        client = _new_lock_client(fs, lease_seconds)
        with _LOOP_GUARD:
            _CLIENTS[key] = (fs, client)
    return client


def _new_lock_client(fs: object, lease_seconds: float) -> object:
    options = dict(getattr(fs, "storage_options", {}))
    timeout = max(2.0, lease_seconds / 10)
    config = {**(options.get("config_kwargs") or {}), "retries": {"max_attempts": 1, "mode": "standard"},
              "connect_timeout": timeout, "read_timeout": timeout}
    client = type(fs)(**{**options, "config_kwargs": config, "skip_instance_cache": True, "loop": _lock_loop()})
    client.retries = 1  # s3fs's own retry loop (class attribute, 5)
    return client
