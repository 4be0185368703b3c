"""Many S3 requests at once from one process: listings of many folders, and a window of GETs
that runs ahead of the code working on what came back. s3fs is asynchronous; its event loop
runs in a thread of its own, so the requests wait on the network together while the calling
thread parses. A local store does the same one item at a time (a local read has no latency to hide).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Iterator

from fsspec.asyn import sync

from flows.storage.store import Entry, Store


def list_many(store: Store, folders: list[str], concurrency: int) -> list[list[Entry]]:
    """`store.list` of each folder, in the order given: on S3 with up to `concurrency` LISTs in
    flight, one request per folder of up to 1,000 keys (a missing folder costs one empty LIST,
    where s3fs's `ls` lists its parent too)."""
    if store.is_local:
        return [store.list(folder) for folder in folders]

    async def every() -> list[list[dict]]:
        limit = asyncio.Semaphore(max(1, concurrency))

        async def one(folder: str) -> list[dict]:
            async with limit:
                return await store.fs._lsdir(store.path(folder), refresh=True)

        return await asyncio.gather(*(one(folder) for folder in folders))

    return [store.entries(infos) for infos in sync(store.fs.loop, every)]


def read_many(store: Store, relatives: Iterable[str], sizes: Iterable[int | None], in_flight: int) -> Iterator[bytes]:
    """The objects' bytes, in the order given. On S3 up to `in_flight` GETs (one per object, no
    HEAD) run at once while the caller works on what came back: that many objects at most are
    held (fetching or fetched, not yet taken), so memory is bounded by the window, not by the
    number of objects. An object that cannot be read raises when its turn comes; the GETs still
    pending are then cancelled."""
    pairs = iter(zip(relatives, sizes, strict=True))
    if store.is_local or in_flight <= 1:
        yield from (store.read_bytes(relative, size) for relative, size in pairs)
        return
    pending: deque = deque()

    def fill() -> None:
        for relative, size in pairs:
            pending.append(asyncio.run_coroutine_threadsafe(store.get_object(store.path(relative), size), store.fs.loop))
            if len(pending) >= in_flight:
                return

    try:
        fill()
        while pending:
            data = pending.popleft().result()
            fill()  # the window moves on before the caller works on this object
            yield data
    finally:
        for future in pending:
            future.cancel()
