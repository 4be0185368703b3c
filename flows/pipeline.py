"""The pipeline's steps as plain functions: list, read and flatten, publish.

The Prefect flow wraps each in a task (retries, concurrency, logs); `--no-prefect` calls them
directly. Both run the very same code, so they cannot drift apart.
"""

from __future__ import annotations

import shutil
from concurrent.futures import Executor
from datetime import date

from flows.lake.manifests import MANIFESTS, folder_changed, manifest_path, read_manifest  # noqa: F401 - re-exported
from flows.lake.publish import ReconciliationError, Staged, publish_day, publish_partitions, stage_folder  # noqa: F401 - re-exported
from flows.results import DayListing, DaySummary, FileResult, FolderFailure, RunSummary, describe  # noqa: F401 - re-exported
from flows.settings import LakeSettings
from flows.source.digests import DigestMismatchError, check_digests  # noqa: F401 - re-exported: the step functions live here
from flows.source.listing import DayFolder, Skipped, Trail, digest_folders, find_trails, list_day_folders, list_digest_files
from flows.source.reading import largest_peak_mib, read_and_flatten, read_folder, reading_pool  # noqa: F401 - re-exported
from flows.storage import scratch
from flows.storage.store import Store, open_store


def list_trails(settings: LakeSettings) -> tuple[list[Trail], list[Skipped]]:
    return find_trails(open_store(settings.source), settings.accounts)


def list_day(settings: LakeSettings, trails: list[Trail], day: date) -> list[DayListing]:
    """Every (account, region) folder of one delivery day that exists, with its log files."""
    source, units = open_store(settings.source), [DayFolder(day, trail, region) for trail in trails for region in settings.regions]
    found = [(unit, objects, skipped) for unit, (objects, skipped) in zip(units, list_day_folders(source, units, settings.s3_requests_in_flight), strict=True)
             if objects or skipped or open_store(settings.lake).exists(manifest_path(settings, unit))]
    digests = list_digest_files(source, [u for u, _, _ in found], settings.s3_requests_in_flight) if settings.digest_policy != "off" else [[]] * len(found)
    return [DayListing(unit, objects, skipped, paths) for (unit, objects, skipped), paths in zip(found, digests, strict=True)]


def list_digests(settings: LakeSettings, source: Store, unit: DayFolder) -> list[str]:
    if settings.digest_policy == "off":
        return []
    return [e.path for folder in digest_folders(unit) for e in source.list(folder)
            if not e.is_dir and e.path.endswith(".json.gz")]


class RunFailed(RuntimeError):
    """Some day folders or partitions failed for a reason that is not the data; the rest was published."""

    def __init__(self, run: RunSummary) -> None:
        self.run = run
        shown = "; ".join(f"{f.what}: {f.error}" for f in run.failures[:5])
        more = f" (and {len(run.failures) - 5} more)" if len(run.failures) > 5 else ""
        super().__init__(f"{len(run.failures)} part(s) of the run failed, the rest was published: {shown}{more}")


def run_without_prefect(settings: LakeSettings, days: list[date], workers: int = 1) -> RunSummary:
    """The flow's steps called directly, no Prefect server: files are read and flattened in this
    process (workers=1) or on a pool of worker processes (flows/source/reading.py). Each day's folders are
    staged as they are read, then the partitions they touch are rebuilt. A folder that fails for a
    reason that is not the data (an I/O error, a lock never released) costs only that folder: the
    others are published, then RunFailed."""
    run = RunSummary(days=[d.isoformat() for d in days])
    scratch.sweep()
    trails, _ = list_trails(settings)
    pool = reading_pool(workers)
    try:
        for day in days:
            partitions = set()
            for listing in list_day(settings, trails, day):
                try:
                    staged = load_folder(settings, listing, run, pool)
                except Exception as error:  # noqa: BLE001 - one folder's failure must not cost the others
                    run.fail(listing.unit.folder, error)
                    continue
                partitions |= staged.partitions
            _publish(settings, partitions, run)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    raise_failures(run)
    return run


def load_folder(settings: LakeSettings, listing: DayListing, run: RunSummary, pool: Executor | None = None) -> Staged:
    """Read one day folder's files (spooled: nothing of a folder's rows is held at once) and stage
    them; notes the folder in the run."""
    spool = scratch.scratch_dir("spool")  # private (0700), removed below
    try:
        results = read_folder(settings, listing, spool, pool)
        run.largest_worker_mib = max(run.largest_worker_mib or 0, largest_peak_mib(results) or 0) or None
        staged = stage_folder(settings, listing, results, read_and_flatten, run.run_id)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    run.folders.append(staged.summary)
    if staged.digest_failure:
        run.failures.append(FolderFailure(listing.unit.folder, staged.digest_failure, digest=True))
    return staged


def raise_failures(run: RunSummary) -> None:
    """Fail a run that had failures, once everything else is published: DigestMismatchError when
    only digests disagreed (digest_policy fail), else RunFailed naming what failed and why."""
    if run.failures and all(f.digest for f in run.failures):
        raise DigestMismatchError("; ".join(f.error for f in run.failures))
    if run.failures:
        raise RunFailed(run)


def _publish(settings: LakeSettings, partitions: set, run: RunSummary) -> None:
    for partition in sorted(partitions):
        try:
            run.partitions_rebuilt += publish_partitions(settings, [partition])
        except Exception as error:  # noqa: BLE001 - the other partitions are still published
            run.fail(f"partition {partition.column}={partition.value}", error)
