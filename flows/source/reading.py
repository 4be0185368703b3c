"""Reading a day folder's files: in this process, or on a pool of worker processes, which parse in
parallel where threads would queue on the GIL. Every file's rows go to the folder's spool as soon
as it is read (flows/storage/spool.py), so what comes back is small however large the folder.

The command line and the flow read through the same `read_folder`; the flow runs one task per
folder, so its per-task cost does not grow with the number of files.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, date, datetime
from multiprocessing import forkserver, get_context
from multiprocessing.context import BaseContext

import pyarrow as pa

from flows.results import DayListing, FileResult
from flows.settings import LakeSettings
from flows.source.listing import LogObject
from flows.storage.scratch import die_with_parent
from flows.storage.spool import spool_result
from flows.storage.store import open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES
from transforms.cloudtrail.container import decompress
from transforms.errors import Rejected
from transforms.route53.fast import flatten_file
from transforms.route53.reference import quarantine_row
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
        pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_die_with_parent)
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


def read_folder(settings: LakeSettings, listing: DayListing, spool: str, pool: Executor | None = None) -> list[FileResult]:
    """Every listed file of the folder read and flattened, its rows spooled into `spool`, in listing order."""
    jobs = [(settings, obj, listing.unit.day, bool(listing.digests)) for obj in listing.objects]
    if pool is None:
        return [spool_result(read_and_flatten(*job), spool) for job in jobs]
    return list(pool.map(_read_job, jobs, [spool] * len(jobs), chunksize=4))


def read_and_flatten(settings: LakeSettings, obj: LogObject, day: date, hash_content: bool = False) -> FileResult:
    """Read one log file and flatten its selected records. I/O errors raise (they are retriable);
    bad data never raises: it comes back as quarantine rows.

    hash_content: also hash the uncompressed content for the digest check. It costs about as much
    as decompressing, so only folders that a digest covers pay for it."""
    source = open_store(settings.source)
    data = source.read_bytes(obj.path)
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


def _read_job(job: tuple[LakeSettings, object, date, bool], spool: str) -> FileResult:
    """A worker's read: the rows go to the spool (sending them through the pool's pipe cost the
    parent as much CPU as a worker's reading), the counts come back with the worker's peak memory."""
    result = spool_result(read_and_flatten(*job), spool)
    result.reader_peak_mib = peak_rss_mib()
    return result


def _die_with_parent() -> None:
    """A worker must not outlive a killed run (flows/storage/scratch.py)."""
    die_with_parent()


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
