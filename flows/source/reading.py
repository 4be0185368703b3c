"""Reading a day folder's files: in this process, or on a pool of worker processes, which parse in
parallel where threads would queue on the GIL. Every file's rows go to the folder's spool as soon
as it is read (flows/storage/spool.py), so what comes back is small however large the folder.

The command line and the flow read through the same `start_reading`; the flow runs one task per
folder, so its per-task cost does not grow with the number of files.

From S3, every GET waits tens of milliseconds for its first byte, and a day of an organisation is
tens of thousands of small files: read one at a time, a run waits on the network, not the CPU.
So each reading process fetches a batch of files with a window of GETs in flight (s3fs's event
loop, flows/storage/fetch.py `read_many`; `s3_requests_in_flight` of them) while it parses the
ones already fetched; one GET per file, no HEAD, as the listing gave each file's size. The
downloads happen in the processes that parse, not in the parent feeding them: an S3 request costs
about a millisecond of CPU in the client (signing, HTTP), as much as parsing a small file, so
spread over the workers it runs in parallel, leaves the parent free to stage folders, and the
bytes never cross a pipe. Memory stays bounded by the window: a process holds at most that many
files, fetching or fetched. The same holds where there is no pool (workers=1, Dask workers): the
process fetches ahead the same way while it parses.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import closing
from datetime import UTC, date, datetime
from multiprocessing import forkserver, get_context
from multiprocessing.context import BaseContext

import pyarrow as pa

from flows.results import DayListing, FileResult, LogObject
from flows.settings import LakeSettings
from flows.storage.fetch import read_many
from flows.storage.scratch import die_with_parent
from flows.storage.spool import spool_result
from flows.storage.store import open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES
from transforms.cloudtrail.container import decompress
from transforms.errors import Rejected
from transforms.route53.fast import flatten_file
from transforms.route53.rows import quarantine_row
from transforms.times import TimeWindow


def reading_pool(workers: int) -> ProcessPoolExecutor | None:
    """Worker processes to parse files on, or None to parse in this process (workers=1).

    Fork where it is safe (Linux, and no thread in this process yet): a worker then starts at once
    instead of importing everything again (half a second each). Otherwise (a flow run has Prefect's
    threads; an S3 source has fsspec's event-loop thread) the workers are forked from a fork server,
    a clean process that imports the reading code once for all of them."""
    if workers <= 1:
        return None
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=die_with_parent,
                                   initargs=(os.getpid(),))
        # Start every worker now, from this thread: a worker is signalled when the thread that
        # started it ends (PR_SET_PDEATHSIG), and a caller's threads may come and go.
        for _ in range(workers):
            pool.submit(os.getpid)
        return pool
    # Workers start on first use, each a fork of the server (milliseconds once it has imported):
    # the run lists its folders meanwhile. The server's environment is that of the run that
    # started it, so each worker takes this run's (AWS_ENDPOINT_URL, credentials, ...).
    return ProcessPoolExecutor(workers, mp_context=fork_server(), initializer=_forked_worker,
                               initargs=(os.getpid(), dict(os.environ)))


def fork_server() -> BaseContext:
    """multiprocessing's fork server, started if it is not running (it imports while the caller
    goes on) and kept for the process's life, so every pool of a run, a backfill or a test session
    reuses it. It imports the reading code once (flows/source/fork_server.py); a spawned worker imported
    it itself, and the run's main module too (under a deployment `prefect.engine`: all of Prefect)."""
    context = get_context("forkserver")
    context.set_forkserver_preload(["flows.source.fork_server"])
    forkserver.ensure_running()
    return context


def start_reading(settings: LakeSettings, listing: DayListing, spool: str, pool: Executor | None = None) -> Callable[[], list[FileResult]]:
    """Every listed file of the folder read and flattened, its rows spooled into `spool`, started on
    the pool now; call what it returns for the results, in listing order (it waits).
    A caller can so start reading the next folder before it stages this one, and the workers do
    not sit idle while it does. Without a pool, the reading happens when the results are asked for."""
    day, hashed = listing.unit.day, bool(listing.digests)
    if pool is None:
        return lambda: read_objects(settings, listing.objects, day, hashed, spool)
    batches = _batches(listing.objects, getattr(pool, "_max_workers", 1), settings)
    futures = [pool.submit(_read_batch, settings, batch, day, hashed, spool) for batch in batches]

    def results() -> list[FileResult]:
        try:
            return [result for future in futures for result in future.result()]
        finally:  # after a failure, batches not started yet never write into a spool the caller removes
            for future in futures:
                future.cancel()

    return results


def read_objects(settings: LakeSettings, objects: list[LogObject], day: date, hash_content: bool, spool: str) -> list[FileResult]:
    """Files read and flattened in this process, in order, spooled as they are read; from S3 with
    `s3_requests_in_flight` GETs running ahead of the parsing."""
    source = open_store(settings.source)
    # closed on the way out, even by an error: the GETs still in flight are cancelled then, not left to run
    with closing(read_many(source, [o.path for o in objects], [o.size for o in objects], settings.s3_requests_in_flight)) as contents:
        return [spool_result(read_and_flatten(settings, obj, day, hash_content, data), spool)
                for obj, data in zip(objects, contents, strict=True)]


def _batches(objects: list[LogObject], workers: int, settings: LakeSettings) -> list[list[LogObject]]:
    """A folder's files cut into the pool's units of work. Local files: 4 at a time, so the work
    spreads evenly however unequal the files. S3: long enough for a window of GETs to pay off
    (each batch starts with one latency), short enough that every worker gets a share of the
    folder: about two batches per worker, of 4 to 4 windows of files."""
    if open_store(settings.source).is_local:
        size = 4
    else:
        window = settings.s3_requests_in_flight
        size = min(max(4, -(-len(objects) // (2 * max(1, workers)))), 4 * window)
    return [objects[i:i + size] for i in range(0, len(objects), size)]


def read_and_flatten(settings: LakeSettings, obj: LogObject, day: date, hash_content: bool = False,
                     data: bytes | None = None) -> FileResult:
    """Read one log file (unless its bytes are given) and flatten its selected records. I/O errors
    raise (they are retriable); bad data never raises: it comes back as quarantine rows.

    hash_content: also hash the uncompressed content for the digest check. It costs about as much
    as decompressing, so only folders that a digest covers pay for it."""
    source = open_store(settings.source)
    if data is None:
        data = source.read_bytes(obj.path, obj.size)
    uri = source.uri_of(obj.path)
    common = {"uri": uri, "path": obj.path, "size": len(data), "etag": obj.etag, "sha256": hashlib.sha256(data).hexdigest(),
              "content_sha256": "" if hash_content else None}  # "": undecodable, matches no digest
    limits = settings.limits()
    try:
        content = decompress(data, limits=limits)
        if hash_content:
            common["content_sha256"] = hashlib.sha256(content).hexdigest()
        flat = flatten_file(content, source_file=uri, delivery_date=day, event_sources=frozenset(settings.event_sources),
                            window=TimeWindow.until(datetime.now(UTC)), limits=limits)
    except Rejected as error:
        return FileResult(
            **common, records_read=0, route53_records=0, rejected=str(error.kind),
            events=EVENTS.empty, record_changes=RECORD_CHANGES.empty,
            quarantine=pa.Table.from_pylist([quarantine_row(uri, None, error)], schema=QUARANTINE.schema),
        )
    return FileResult(
        **common, records_read=flat.records_read, route53_records=flat.selected, rejected=None,
        events=flat.events, record_changes=flat.record_changes, quarantine=flat.quarantine, parsed=flat.parsed,
    )


def largest_peak_mib(results: list[FileResult]) -> int | None:
    return max((r.reader_peak_mib for r in results if r.reader_peak_mib), default=None)


def _read_batch(settings: LakeSettings, objects: list[LogObject], day: date, hash_content: bool, spool: str) -> list[FileResult]:
    """A worker's read: the rows go to the spool (sending them through the pool's pipe cost the
    parent as much CPU as a worker's reading), the counts come back with the worker's peak memory."""
    results = read_objects(settings, objects, day, hash_content, spool)
    peak = peak_rss_mib()
    for result in results:
        result.reader_peak_mib = peak
    return results


def _forked_worker(run_pid: int, environ: dict[str, str]) -> None:
    """A worker forked from the fork server: it takes the run's environment, and ends when the run's
    process is gone (its parent is the fork server, which outlives the run while workers live)."""
    os.environ.clear()
    os.environ.update(environ)
    threading.Thread(target=_exit_after, args=(run_pid,), name="watch-run", daemon=True).start()


def _exit_after(pid: int) -> None:
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except OSError:  # no such process (or, its number reused, not ours to signal)
            os._exit(1)


def peak_rss_mib() -> int:
    """This process's own high-water mark (VmHWM). Not ru_maxrss, which on Linux also counts the
    memory of the parent the process was forked from."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
