"""The steps of a delivery day, and the one loop over a run's days (run_days) that both the Prefect
flows (flows/route53_lake.py: each step a task with retries, concurrency, logs) and `--no-prefect`
(run_without_prefect: each step called directly) run, so the two cannot drift apart:

    find the trails -> list the day's folders -> per folder: read its files, then under the
    folder's lake lock list it again, read what changed, check its digests and stage its rows
    (flows/lake/publish.py) -> rebuild the partitions the day's folders touched.

A step opens the stores it needs once and passes them down; settings cross task boundaries only.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import date

from flows.lake.layout import Partition
from flows.lake.manifests import LakeTarget, folder_changed
from flows.lake.partitions import refresh
from flows.lake.publish import Staged, partitions_of_manifest, stage_folder
from flows.results import DayFolder, DayListing, DaySummary, FileResult, FolderFailure, RunSummary, Skipped, Trail, raise_failures
from flows.settings import LakeSettings
from flows.source.digests import check_digests, digest_text, public_keys_of
from flows.source.listing import find_regions, find_trails, list_day_folder, list_day_folders, list_digest_files
from flows.source.reading import largest_peak_mib, read_and_flatten, reading_pool, start_reading
from flows.storage import scratch
from flows.storage.locks import lake_lock
from flows.storage.spool import spool_result
from flows.storage.store import Store, open_store, source_identity

log = logging.getLogger("route53_lake")


def lake_target(settings: LakeSettings) -> LakeTarget:
    """The lake a step writes, opened once, with what the lake package needs of the settings."""
    return LakeTarget(open_store(settings.lake), source_identity(settings.source), settings.event_sources,
                      settings.drop_missing_files, settings.s3_put_options())


# ---------------------------------------------------------------- the steps

def list_trails(settings: LakeSettings) -> tuple[list[Trail], list[Skipped]]:
    return find_trails(open_store(settings.source), settings.accounts)


def list_day(settings: LakeSettings, trails: list[Trail], day: date) -> list[DayListing]:
    """Every (account, region) folder of one delivery day that exists (or that a manifest says
    existed, in a region the trail still has a folder for or that the settings name), with its log
    files and its digests; the folders, then their digest folders, are listed
    concurrently (bounded by s3_requests_in_flight)."""
    source, target = open_store(settings.source), lake_target(settings)
    regions = ([settings.regions] * len(trails) if settings.regions is not None
               else find_regions(source, trails, settings.s3_requests_in_flight))
    units = [DayFolder(day, trail, region) for trail, names in zip(trails, regions, strict=True) for region in names]
    listed = zip(units, list_day_folders(source, units, settings.s3_requests_in_flight), strict=True)
    found = [(unit, objects, skipped) for unit, (objects, skipped) in listed
             if objects or skipped or target.store.exists(target.manifest_path(unit))]
    digests = (list_digest_files(source, [unit for unit, _, _ in found], settings.s3_requests_in_flight)
               if settings.digest_policy != "off" else [[] for _ in found])
    return [DayListing(unit, objects, skipped, paths) for (unit, objects, skipped), paths in zip(found, digests, strict=True)]


def changed_folders(settings: LakeSettings, listings: list[DayListing]) -> tuple[list[DayListing], set[Partition]]:
    """For a recheck: the folders whose listing differs from their manifest, and the partitions of
    the others (still checked, so a rebuild that a crashed run left undone gets done)."""
    source, target = open_store(settings.source), lake_target(settings)
    unchanged = [x for x in listings if not folder_changed(target, source, x)]
    return [x for x in listings if x not in unchanged], {p for x in unchanged for p in partitions_of_manifest(target, x)}


def load_folder(settings: LakeSettings, listing: DayListing, run_id: str, pool: Executor | None = None) -> Staged:
    """Read one day folder's files (on `pool`'s worker processes, or here; spooled: nothing of a
    folder's rows is held at once), then stage them (stage_under_lock)."""
    return start_loading(settings, listing, run_id, pool)()


def start_loading(settings: LakeSettings, listing: DayListing, run_id: str, pool: Executor | None = None) -> Loading:
    """`load_folder`, its reading started on the pool now (without a pool, the reading happens
    when the folder is staged)."""
    spool = scratch.scratch_dir("spool")  # private (0700), removed once staged or abandoned
    try:
        return Loading(settings, listing, run_id, spool, start_reading(settings, listing, spool, pool), pool is not None)
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise


@dataclass
class Loading:
    """A folder being read: call it to wait for the reading and stage the folder, or abandon it.
    Either removes the folder's spool."""

    settings: LakeSettings
    listing: DayListing
    run_id: str
    spool: str
    reading: Callable[[], list[FileResult]]
    on_pool: bool  # the reading runs on a pool already (without one, it would only start when asked)

    def __call__(self) -> Staged:
        try:
            results = self.reading()
            staged = stage_under_lock(self.settings, self.listing, results, self.spool, self.run_id)
        finally:
            shutil.rmtree(self.spool, ignore_errors=True)
        staged.reader_peak_mib = largest_peak_mib(results)
        return staged

    def abandon(self) -> None:
        """Nothing staged; the reading waited for (or its batches not started cancelled), the spool removed."""
        try:
            if self.on_pool:
                with contextlib.suppress(Exception):
                    self.reading()
        finally:
            shutil.rmtree(self.spool, ignore_errors=True)


def stage_under_lock(settings: LakeSettings, listing: DayListing, results: list[FileResult], spool: str,
                     run_id: str) -> Staged:
    """Stage a day folder under its lake lock (runs take turns whatever started them: the lake is the
    arbiter, not a Prefect server): the folder listed again and what changed read again, so a run
    that listed before a late file arrived, or was paused, never publishes an older view than the
    lake has; then its digests checked and its rows staged."""
    source, target = open_store(settings.source), lake_target(settings)
    with lake_lock(target.store, f"folder-{target.unit_name(listing.unit)}", log):
        listing, results = current_folder(settings, source, listing, results, spool)
        findings = check_digests(source, listing, results, public_keys_of(settings) if listing.digests else None,
                                 settings.s3_requests_in_flight)
        staged = stage_folder(target, listing, results, findings, run_id)
    if staged.summary.digest_problems and settings.digest_policy == "fail":
        staged.digest_failure = f"{listing.unit.folder}: CloudTrail digests disagree with the bucket: {digest_text(findings)}"
    return staged


def current_folder(settings: LakeSettings, source: Store, listing: DayListing, results: list[FileResult],
                   spool: str) -> tuple[DayListing, list[FileResult]]:
    """The folder as it is now, and its files read as they are now: what was read after this run
    listed is kept, anything added or changed since is read (the caller holds the folder's lock)."""
    objects, skipped = list_day_folder(source, listing.unit)
    listed_then = {o.path: o for o in listing.objects}
    read_then = {r.path: r for r in results}
    current = []
    for obj in objects:
        result = read_then.get(obj.path)
        if result is None or listed_then.get(obj.path) != obj or result.size != obj.size:
            result = spool_result(read_and_flatten(settings, obj, listing.unit.day, bool(listing.digests)), spool)
        current.append(replace(result, mtime=obj.mtime))
    return replace(listing, objects=objects, skipped=skipped), current


def publish(settings: LakeSettings, partitions: list[Partition]) -> int:
    """Rebuild the partitions whose staged inputs changed, and refresh their neighbours too (the
    partitions holding copies of their events, whose rows may change with theirs, or were left
    half-done by a crash: flows/lake/neighbours.py), one at a time, each under its lake lock; returns
    how many were rebuilt. A neighbour already refreshed is refreshed again only when the partition
    that names it had its staged events changed. One that fails does not stop the others: the first
    failure is raised once all were tried (a retry finds those rebuilt unchanged, and skips them)."""
    lake, rebuilt, failures = open_store(settings.lake), 0, []
    todo, done = sorted(set(partitions)), set()
    while todo:
        partition = todo.pop(0)
        done.add(partition)
        try:
            with lake_lock(lake, partition.lock_name, log):
                refreshed = refresh(lake, partition, settings.s3_put_options())
        except Exception as error:  # noqa: BLE001 - raised below, once the other partitions are published
            failures.append(error)
            error.add_note(f"while rebuilding the partition {partition.column}={partition.value}")
            continue
        rebuilt += refreshed.rebuilt
        # A partition's staged events change once in a run (it is refreshed with them): this ends.
        again = refreshed.neighbours if refreshed.copies_changed else refreshed.neighbours - done
        todo += sorted(again - set(todo))
    if failures:
        raise failures[0]
    return rebuilt


# ---------------------------------------------------------------- the loop

@dataclass(frozen=True)
class Steps:
    """How run_days calls the steps: directly (run_without_prefect) or as Prefect tasks."""

    list_day: Callable[[LakeSettings, list[Trail], date, bool], tuple[list[DayListing], set[Partition]]]
    load: Callable[[LakeSettings, list[DayListing], str], Iterator[Staged | Exception]]  # one per listing, in order
    publish: Callable[[LakeSettings, list[Partition]], int]
    logger: logging.Logger | logging.LoggerAdapter | None = None  # where a failed folder is logged, if anywhere


@dataclass
class DayDone:
    day: date
    listings: list[DayListing]
    partitions: set[Partition]  # checked, and rebuilt where their inputs changed
    folders: list[DaySummary]
    failures: list[FolderFailure]


def run_days(settings: LakeSettings, trails: list[Trail], days: list[date], run: RunSummary, steps: Steps,
             recheck: set[date] | frozenset = frozenset()) -> Iterator[DayDone]:
    """The pipeline over delivery days, a day at a time (each yielded once published). Days in
    `recheck` only read the folders that changed since their last run. A folder that fails for a
    reason that is not the data (an I/O error, a lock never released) costs only that folder; the
    run notes it (run.failures) and goes on."""
    for day in days:
        failed_before, folders = len(run.failures), []
        listings, partitions = steps.list_day(settings, trails, day, day in recheck)
        for listing, staged in zip(listings, steps.load(settings, listings, run.run_id), strict=True):
            if isinstance(staged, Exception):
                _failed(run, steps, listing.unit.folder, staged)
                continue
            run.largest_worker_mib = max(run.largest_worker_mib or 0, staged.reader_peak_mib or 0) or None
            folders.append(staged.summary)
            partitions |= staged.partitions
            if staged.digest_failure:
                run.failures.append(FolderFailure(listing.unit.folder, staged.digest_failure, digest=True))
        try:
            run.partitions_rebuilt += steps.publish(settings, sorted(partitions))
        except Exception as error:  # noqa: BLE001 - the other days are still published
            _failed(run, steps, f"partitions of {day}", error)
        run.folders += folders
        yield DayDone(day, listings, partitions, folders, run.failures[failed_before:])
    keep_history(settings, steps)


def keep_history(settings: LakeSettings, steps: Steps) -> None:
    """The history checkpoint brought up to date once the days are published, so that the next
    night's DNS summary reads only what it must (flows/query/history.py). Never fails the run:
    without it a summary reads more of the lake, and the next run tries again."""
    from flows.query import history  # DuckDB loads only once the days are read (flows/lake/duckdb_work.py)

    try:
        history.advance(settings.lake, settings.s3_put_options())
    except Exception as error:  # noqa: BLE001 - the lake is published; the checkpoint is a shortcut
        (steps.logger or logging.getLogger("route53_lake")).warning(
            "history checkpoint not brought up to date: %s: %s", type(error).__name__, error)


def _failed(run: RunSummary, steps: Steps, what: str, error: BaseException) -> None:
    """A part of the run failed: noted in the run, and logged with its traceback where the steps log
    (a Prefect run's log keeps it; the command line's console shows the line alone)."""
    run.fail(what, error)
    if steps.logger:
        steps.logger.error("%s failed: %s: %s", what, type(error).__name__, error, exc_info=error)


def run_without_prefect(settings: LakeSettings, days: list[date], workers: int = 1) -> RunSummary:
    """The run's steps called directly, no Prefect server: files are read and flattened in this
    process (workers=1) or on a pool of worker processes (flows/source/reading.py). Failures are
    raised once everything else is published (raise_failures)."""
    run = RunSummary(days=[d.isoformat() for d in days])
    scratch.sweep()
    trails, _ = list_trails(settings)
    pool = reading_pool(workers)
    if pool is not None:  # the workers read; meanwhile this process loads what it stages and rebuilds with
        threading.Thread(target=importlib.import_module, args=("duckdb",), name="import-duckdb", daemon=True).start()
    steps = Steps(list_day=_list_directly, load=_loading_directly(pool), publish=publish)
    try:
        for _ in run_days(settings, trails, days, run, steps):
            pass
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    raise_failures(run)
    return run


def _list_directly(settings: LakeSettings, trails: list[Trail], day: date, changed_only: bool) -> tuple[list[DayListing], set[Partition]]:
    listings = list_day(settings, trails, day)
    return changed_folders(settings, listings) if changed_only else (listings, set())


def _loading_directly(pool: Executor | None):
    def load(settings: LakeSettings, listings: list[DayListing], run_id: str) -> Iterator[Staged | Exception]:
        """Each folder read on the pool, the next folder's reading started before this one is
        staged: the workers read while this process stages (staging is this process's work alone)."""
        if not listings:  # a day without folders
            return
        ahead = _started(settings, listings[0], run_id, pool)
        try:
            for following in [*listings[1:], None]:
                current = ahead
                ahead = _started(settings, following, run_id, pool) if following is not None else None
                try:
                    yield current()
                except Exception as error:  # noqa: BLE001 - one folder's failure must not cost the others
                    yield error
        finally:
            if isinstance(ahead, Loading):  # the caller stopped early: the folder started ahead is not staged
                ahead.abandon()
    return load


def _started(settings: LakeSettings, listing: DayListing, run_id: str, pool: Executor | None) -> Callable[[], Staged]:
    """start_loading, or, when even starting failed, what raises that failure when the folder's turn comes."""
    try:
        return start_loading(settings, listing, run_id, pool)
    except Exception as error:  # noqa: BLE001 - raised in the folder's turn, like any other failure of it
        def failed(error: Exception = error) -> Staged:
            raise error
        return failed
