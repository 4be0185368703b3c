"""The pipeline's steps as plain functions: list, read and flatten, publish.

The Prefect flow wraps each in a task (retries, concurrency, logs); `--no-prefect` calls them
directly. Both run the very same code, so they cannot drift apart.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from multiprocessing import get_context

import pyarrow as pa

from flows import scratch
from flows.digests import DigestMismatchError, check_digests  # noqa: F401 - re-exported: the step functions live here
from flows.listing import DayFolder, LogObject, Skipped, Trail, digest_folders, find_trails, list_day_folder
from flows.manifests import MANIFESTS, folder_changed, manifest_path, read_manifest  # noqa: F401 - re-exported
from flows.publish import ReconciliationError, publish_day, publish_partitions, stage_folder  # noqa: F401 - re-exported
from flows.results import DayListing, DaySummary, FileResult, FolderFailure, RunSummary, describe  # noqa: F401 - re-exported
from flows.settings import LakeSettings
from flows.storage import Store, open_store
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES
from transforms.cloudtrail import decompress
from transforms.errors import Rejected
from transforms.route53 import quarantine_row
from transforms.route53_fast import flatten_file
from transforms.times import TimeWindow

FILE_CONCURRENCY = 8  # batches of log files the flow reads at once (its task runner threads)


def list_trails(settings: LakeSettings) -> tuple[list[Trail], list[Skipped]]:
    return find_trails(open_store(settings.source), settings.accounts)


def list_day(settings: LakeSettings, trails: list[Trail], day: date) -> list[DayListing]:
    """Every (account, region) folder of one delivery day that exists, with its log files."""
    source = open_store(settings.source)
    listings = []
    for trail in trails:
        for region in settings.regions:
            unit = DayFolder(day, trail, region)
            objects, skipped = list_day_folder(source, unit)
            if objects or skipped or open_store(settings.lake).exists(manifest_path(settings, unit)):
                listings.append(DayListing(unit, objects, skipped, list_digests(settings, source, unit)))
    return listings


def list_digests(settings: LakeSettings, source: Store, unit: DayFolder) -> list[str]:
    if settings.digest_policy == "off":
        return []
    return [e.path for folder in digest_folders(unit) for e in source.list(folder)
            if not e.is_dir and e.path.endswith(".json.gz")]


def batches(objects: list[LogObject], parallel: int = FILE_CONCURRENCY, largest: int = 64) -> list[list[LogObject]]:
    """A folder's files in about 2 x parallel batches of consecutive files, at most `largest` each:
    the flow runs one task per batch, since a Prefect task run costs tens of milliseconds, as much
    as reading a small file, and a night of a large organisation has hundreds of thousands."""
    size = min(largest, max(1, math.ceil(len(objects) / (2 * parallel))))
    return [objects[start:start + size] for start in range(0, len(objects), size)]


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


class RunFailed(RuntimeError):
    """Some day folders or partitions failed for a reason that is not the data; the rest was published."""

    def __init__(self, run: RunSummary) -> None:
        self.run = run
        shown = "; ".join(f"{f.what}: {f.error}" for f in run.failures[:5])
        more = f" (and {len(run.failures) - 5} more)" if len(run.failures) > 5 else ""
        super().__init__(f"{len(run.failures)} part(s) of the run failed, the rest was published: {shown}{more}")


def run_without_prefect(settings: LakeSettings, days: list[date], workers: int = 1) -> RunSummary:
    """The flow's steps called directly, no Prefect server: files are read and flattened in this
    process (workers=1) or on a pool of worker processes, which parse in parallel where threads
    would queue on the GIL. Each day's folders are staged as they are read, then the partitions
    they touch are rebuilt. A folder that fails for a reason that is not the data (an I/O error,
    a lock never released) costs only that folder: the others are published, then RunFailed."""
    run = RunSummary(days=[d.isoformat() for d in days])
    scratch.sweep()
    trails, _ = list_trails(settings)
    # fork where it is safe (Linux, and no thread in this process yet: an S3 source has started
    # fsspec's event-loop thread by now): a worker then starts at once instead of importing
    # everything again (half a second each). Otherwise spawn.
    start = "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=get_context(start), initializer=_die_with_parent) if workers > 1 else None
    spool = scratch.scratch_dir("spool") if pool else ""  # private (0700), removed below
    try:
        for day in days:
            partitions = set()
            for listing in list_day(settings, trails, day):
                try:  # the folder's rows live only in this call: nothing of them is held while partitions rebuild
                    staged = stage_folder(settings, listing, _read_folder(settings, listing, day, pool, spool, run), read_and_flatten)
                except Exception as error:  # noqa: BLE001 - one folder's failure must not cost the others
                    run.fail(listing.unit.folder, error)
                    continue
                run.folders.append(staged.summary)
                partitions |= staged.partitions
                if staged.digest_failure:
                    run.failures.append(FolderFailure(listing.unit.folder, staged.digest_failure, digest=True))
            _publish(settings, partitions, run)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
            shutil.rmtree(spool, ignore_errors=True)
    raise_failures(run)
    return run


def raise_failures(run: RunSummary) -> None:
    """Fail a run that had failures, once everything else is published: DigestMismatchError when
    only digests disagreed (digest_policy fail), else RunFailed naming what failed and why."""
    if run.failures and all(f.digest for f in run.failures):
        raise DigestMismatchError("; ".join(f.error for f in run.failures))
    if run.failures:
        raise RunFailed(run)


def _read_folder(settings: LakeSettings, listing: DayListing, day: date, pool, spool: str, run: RunSummary) -> list[FileResult]:
    jobs = [(settings, obj, day, bool(listing.digests)) for obj in listing.objects]
    if not pool:
        return [read_and_flatten(*job) for job in jobs]
    folder_spool = tempfile.mkdtemp(dir=spool)
    try:
        done = list(pool.map(_read_job, jobs, [folder_spool] * len(jobs), chunksize=4))
        run.largest_worker_mib = max([run.largest_worker_mib or 0] + [peak for _, _, peak in done])
        # memory-mapped tables stay readable after their files are removed (Linux, macOS)
        return [_unspooled(result, paths) for result, paths, _ in done]
    finally:
        shutil.rmtree(folder_spool, ignore_errors=True)


def _publish(settings: LakeSettings, partitions: set, run: RunSummary) -> None:
    for partition in sorted(partitions):
        try:
            run.partitions_rebuilt += publish_partitions(settings, [partition])
        except Exception as error:  # noqa: BLE001 - the other partitions are still published
            run.fail(f"partition {partition.column}={partition.value}", error)


def _die_with_parent() -> None:
    """A worker must not outlive a killed run: on Linux the kernel signals it when the parent dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above took effect
        os._exit(1)


_SPOOLED = {"events": EVENTS, "record_changes": RECORD_CHANGES}


def _read_job(job: tuple[LakeSettings, LogObject, date, bool], spool: str) -> tuple[FileResult, dict[str, str], int]:
    """A worker's read, with the worker's peak memory so far (MiB). The file's Route 53 rows are
    handed over as Arrow IPC files in the spool folder, which the parent maps into memory: sending
    them through the pool's pipe cost the parent as much CPU as a worker's reading."""
    result = read_and_flatten(*job)
    paths = {}
    for name in _SPOOLED:
        table = getattr(result, name)
        if table.num_rows:
            paths[name] = os.path.join(spool, f"{uuid.uuid4().hex}.arrow")
            with pa.ipc.new_file(paths[name], table.schema) as writer:
                writer.write_table(table)
    return replace(result, **{name: _SPOOLED[name].empty for name in paths}), paths, _peak_rss_mib()


def _unspooled(result: FileResult, paths: dict[str, str]) -> FileResult:
    return replace(result, **{name: pa.ipc.open_file(pa.memory_map(path)).read_all() for name, path in paths.items()})


def _peak_rss_mib() -> int:
    """This process's own high-water mark (VmHWM). Not ru_maxrss, which on Linux also counts the
    memory of the parent the process was forked from."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
