"""The Prefect flows: the pipeline's steps as tasks with retries, bounded concurrency, logs and
artifacts. Each flow reads like the pipeline: find accounts, then per delivery day list, read and
flatten every file, publish each folder, and summarize.

- `route53-lake`: a date range (the command line's flow).
- `route53-lake-nightly`: yesterday's delivery day, plus a cheap recheck of the days before it
  for late files (only folders whose listing differs from their manifest are read again).
- `route53-lake-backfill`: a date range as one child flow run per day (`route53-lake-day`), so a
  failed day is visible on its own and the others still complete.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import Executor
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

# Prefect must not phone home, whoever starts us (CLI, worker, tests).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# A temporary server (no PREFECT_API_URL) migrates its database first: on a busy machine that takes
# longer than Prefect's 20 s, and the run failed before it started.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import prefect.runtime  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import (  # noqa: E402
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from pydantic import Field  # noqa: E402

from flows import scratch  # noqa: E402
from flows.listing import Trail  # noqa: E402
from flows.partitions import VISIBLE, Partition  # noqa: E402
from flows.pipeline import (  # noqa: E402
    DayListing,
    FolderFailure,
    RunSummary,
    describe,
    folder_changed,
    list_day,
    list_trails,
    load_folder,
    on_worker,
    raise_failures,
)
from flows.publish import Staged, partitions_of_manifest, publish_partitions  # noqa: E402
from flows.reading import reading_pool  # noqa: E402
from flows.report import day_rows, dns_markdown  # noqa: E402
from flows.settings import LakeSettings, SettingsError, delivery_days  # noqa: E402
from flows.storage import open_store  # noqa: E402
from schemas.tables import EVENTS, RECORD_CHANGES  # noqa: E402
from transforms.digest import dns_digest  # noqa: E402
from transforms.lake import concat  # noqa: E402

MAX_BACKFILL_DAYS = 366
DEFAULT_SETTINGS = LakeSettings()  # frozen: safe to share as a parameter default


def is_transient(exc: BaseException) -> bool:
    """I/O that may succeed on retry: throttling, resets, timeouts. Not missing keys, access denied,
    or a local condition a retry 1, 4 and 15 s later cannot change: a read-only or full file system,
    a quota, a name too long, a refused symbolic link (ELOOP), a file too large."""
    import errno

    permanent = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    lasting = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.ELOOP, errno.EFBIG, errno.EXDEV)
    if isinstance(exc, permanent) or getattr(exc, "errno", None) in lasting:
        return False
    return isinstance(exc, (OSError, TimeoutError))


def _retry_on_transient(task_, task_run, state) -> bool:
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - inspecting the failure, not hiding it
        return is_transient(exc)
    return False


_IO = {"retries": 3, "retry_delay_seconds": [1, 4, 15], "retry_condition_fn": _retry_on_transient,
       "cache_policy": NO_CACHE, "persist_result": False}


@task(name="find-accounts", **_IO)
def find_accounts(settings: LakeSettings) -> list[Trail]:
    trails, skipped = list_trails(settings)
    logger = get_run_logger()
    logger.info("%d account folder(s): %s", len(trails), ", ".join(t.folder for t in trails) or "none")
    for s in skipped:
        logger.info("skipped %s: %s", s.path, s.reason)
    return trails


@task(name="list-day", **_IO)
def list_delivery_day(settings: LakeSettings, trails: list[Trail], day: date, changed_only: bool = False) -> tuple[list[DayListing], set[Partition]]:
    """The day's folders to read, and (for a recheck) the partitions of the folders that have not
    changed: those are still checked, so a rebuild that a crashed run left undone gets done."""
    listings = list_day(settings, trails, day)
    logger = get_run_logger()
    for listing in listings:
        for s in listing.skipped:
            logger.info("%s: skipped %s: %s", day, s.path, s.reason)
    partitions = set()
    if changed_only:
        unchanged = [x for x in listings if not folder_changed(settings, x)]
        listings = [x for x in listings if x not in unchanged]
        partitions = {p for x in unchanged for p in partitions_of_manifest(settings, x)}
        logger.info("%s: %d folder(s) unchanged since their last run, %d to read again", day, len(unchanged), len(listings))
    logger.info("%s: %d log file(s) in %d folder(s) to read", day, sum(len(x.objects) for x in listings), len(listings))
    return listings, partitions


def _folder_task_name() -> str:
    listing = prefect.runtime.task_run.parameters["listing"]
    return f"folder-{listing.unit.day}-{listing.unit.trail.account}-{listing.unit.region}"


@task(name="read-and-stage-folder", task_run_name=_folder_task_name, **_IO)
def load(settings: LakeSettings, listing: DayListing, run_id: str, pool: Executor | None = None) -> tuple[Staged, int | None]:
    """Read a day folder's files (on the run's worker processes, or in this Dask worker) and stage
    its rows in the lake, under the folder's lake lock (runs take turns whatever started them: the
    lake is the arbiter, not this Prefect server). One task per folder: a task run costs tens of
    milliseconds, as much as reading a small file, and a night of a large organisation has
    hundreds of thousands of files. Returns what was staged and the readers' peak memory (MiB)."""
    part = RunSummary(days=[listing.unit.day.isoformat()], run_id=run_id)
    staged = load_folder(settings, listing, part, pool)
    logger = get_run_logger()
    for uri, message in staged.rejected_files:
        logger.warning("quarantined %s: %s", uri, message)
    logger.info(describe(staged.summary))
    return staged, part.largest_worker_mib


@task(name="publish-partitions", **_IO)
def publish(settings: LakeSettings, partitions: list[Partition], pool: Executor | None = None) -> int:
    """The partitions the day's folders staged into, rebuilt (deduplicated, sorted, one file each)
    where their inputs changed, each under its partition's lake lock (on a worker process of the run)."""
    rebuilt = on_worker(pool, publish_partitions, settings, partitions)
    get_run_logger().info("%d partition(s) checked, %d rebuilt", len(partitions), rebuilt)
    return rebuilt


def process_days(settings: LakeSettings, days: list[date], recheck: set[date] | frozenset = frozenset()) -> RunSummary:
    """Run `publish_days` on the task runner the settings choose."""
    return publish_days.with_options(task_runner=task_runner_for(settings))(settings, days, sorted(recheck))


FOLDER_CONCURRENCY = 4  # folders read and staged at once: enough to keep the reading processes busy


def task_runner_for(settings: LakeSettings):
    """Threads, or Dask: an external cluster, or a LocalCluster whose workers use this run's
    Prefect API and never run the calling script again (flows.dask_cluster)."""
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        from flows.dask_cluster import external_cluster_api, local_cluster, prefect_api_url, refuse_flow_in_worker

        refuse_flow_in_worker()
        if settings.dask_address:
            external_cluster_api()
            return DaskTaskRunner(address=settings.dask_address)
        api = prefect_api_url()
        return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs={
            "processes": True, "threads_per_worker": 1, "dashboard_address": None,
            "env": {"PREFECT_API_URL": api} if api else {}})
    return ThreadPoolTaskRunner(max_workers=FOLDER_CONCURRENCY)


@flow(name="route53-lake-publish", persist_result=False, validate_parameters=False)
def publish_days(settings: LakeSettings, days: list[date], recheck: list[date]) -> RunSummary:
    """The pipeline over delivery days, with a progress artifact, a table artifact and one DNS
    summary per day. Days in `recheck` only read the folders that changed since their last run.
    One task per day folder reads and stages it: on threads, the parsing runs on a pool of worker
    processes shared by the run; on Dask, in the Dask workers. Tasks and results pickle."""
    recheck = set(recheck)
    logger = get_run_logger()
    scratch.sweep()
    run = RunSummary(days=[d.isoformat() for d in days], run_id=str(prefect.runtime.flow_run.id or uuid.uuid4().hex))
    progress = create_progress_artifact(progress=0.0, description=f"{len(days)} delivery day(s)")
    trails = find_accounts(settings)
    pool = reading_pool(settings.reading_workers()) if settings.task_runner == "threads" else None
    rows = []
    try:
        for number, day in enumerate(days):
            started = time.monotonic()
            listings, partitions = list_delivery_day(settings, trails, day, changed_only=day in recheck)
            futures = [load.submit(settings, listing, run.run_id, pool) for listing in listings]
            folders, total, done = [], sum(len(x.objects) for x in listings) or 1, 0
            for listing, future in zip(listings, futures, strict=True):
                try:
                    staged, peak = future.result()
                except Exception as error:  # noqa: BLE001 - one folder's failure must not cost the others
                    run.fail(listing.unit.folder, error)
                    logger.error("%s failed: %s: %s", listing.unit.folder, type(error).__name__, error)
                    continue
                finally:
                    done += len(listing.objects)
                    update_progress_artifact(progress, 100 * (number + done / total) / len(days))
                run.largest_worker_mib = max(run.largest_worker_mib or 0, peak or 0) or None
                folders.append(staged.summary)
                partitions |= staged.partitions
                if staged.digest_failure:
                    run.failures.append(FolderFailure(listing.unit.folder, staged.digest_failure, digest=True))
            try:
                run.partitions_rebuilt += publish(settings, sorted(partitions), pool)
            except Exception as error:  # noqa: BLE001 - the other days are still published
                run.fail(f"partitions of {day}", error)
            run.folders += folders
            rows.append(day_rows(day.isoformat(), folders, time.monotonic() - started))
            try:
                summarize_day(settings, day, partitions)
            except Exception as error:  # noqa: BLE001 - a summary that cannot be made costs the summary, never the run
                logger.warning("no DNS summary for %s: %s: %s", day, type(error).__name__, error)
            update_progress_artifact(progress, 100 * (number + 1) / len(days))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    create_table_artifact(key="route53-lake-days", table=rows, description="Per delivery day: files, records, events, changes, quarantined, bytes, seconds")
    logger.info(run.describe())
    raise_failures(run)
    return run


@flow(name="route53-lake", persist_result=False, validate_parameters=True)
def route53_lake(
    start: date | None = None,
    end: date | None = None,
    source: str = LakeSettings().source,
    lake: str = LakeSettings().lake,
    accounts: list[str] | None = None,
    regions: list[str] | None = None,
    event_sources: list[str] | None = None,
    days: list[date] | None = None,
    settings: LakeSettings | None = None,
) -> RunSummary:
    """Publish the Route 53 records of CloudTrail delivery days [start, end] to the lake.

    Args:
        start: First delivery day (UTC). Default: the day before the run's scheduled time.
        end: Last delivery day, inclusive. Default: start.
        source: CloudTrail location, s3://bucket/prefix or a folder holding AWSLogs/.
        lake: Lake root, s3://bucket/prefix or a folder.
        accounts: 12-digit account ids; default every account found.
        regions: CloudTrail region folders; default us-east-1.
        event_sources: eventSource values to keep; default route53.amazonaws.com.
        days: Single delivery days to add to the range.
        settings: Every setting at once (digests, encryption, task runner); when given, it replaces
            source, lake, accounts, regions and event_sources.
    """
    settings = settings or make_settings(source, lake, accounts, regions, event_sources)
    if start is None and end is None and not days:
        start = end = scheduled_day()
    return process_days(settings, delivery_days(start, end, days))


@flow(name="route53-lake-nightly", persist_result=False, validate_parameters=True)
def nightly(
    settings: LakeSettings = DEFAULT_SETTINGS,
    day: date | None = None,
    recheck_days: Annotated[int, Field(ge=0, le=31)] = 3,
) -> RunSummary:
    """Publish one delivery day (default: the day before the scheduled time) and recheck the days
    before it for late files, reading a folder again only when its listing changed.

    Args:
        settings: Where to read and write, and what to keep.
        day: Delivery day to publish (UTC). Default: the day before the scheduled start time.
        recheck_days: How many earlier delivery days to recheck for late or replaced files.
    """
    day = day or scheduled_day()
    earlier = [day - timedelta(days=n) for n in range(recheck_days, 0, -1)]
    return process_days(settings, delivery_days(None, None, [*earlier, day]), recheck=set(earlier))


@flow(name="route53-lake-day", flow_run_name="day-{day}", persist_result=False, validate_parameters=True)
def route53_lake_day(day: date, settings: LakeSettings = DEFAULT_SETTINGS) -> RunSummary:
    """Publish one delivery day (a backfill's child run).

    Args:
        day: Delivery day (UTC).
        settings: Where to read and write, and what to keep.
    """
    return process_days(settings, [day])


class BackfillFailed(RuntimeError):
    """Some days of a backfill failed; the others completed."""


@flow(name="route53-lake-backfill", persist_result=False, validate_parameters=True)
def backfill(start: date, end: date, settings: LakeSettings = DEFAULT_SETTINGS) -> dict[str, str]:
    """Publish every delivery day from start to end, one child flow run per day.

    Args:
        start: First delivery day (UTC).
        end: Last delivery day (UTC), inclusive; not in the future.
        settings: Where to read and write, and what to keep.
    """
    days = backfill_days(start, end)
    logger = get_run_logger()
    logger.info("backfill of %d delivery day(s), %s to %s", len(days), start, end)
    states, rows = {}, []
    for day in days:
        started = time.monotonic()
        states[day.isoformat()] = state = route53_lake_day(day=day, settings=settings, return_state=True)
        rows.append(backfill_row(day.isoformat(), state, time.monotonic() - started))
    create_table_artifact(key="route53-lake-backfill", table=rows,
                          description=f"Backfill {start} to {end}: each day's child run, its state and counts")
    outcome = {day: state.type.value for day, state in states.items()}
    failed = [day for day, state in states.items() if not state.is_completed()]
    if failed:
        raise BackfillFailed(f"{len(failed)} of {len(days)} day(s) failed: {', '.join(failed)}; the others completed. "
                             "Retry a day with a backfill of that day alone.")
    logger.info("all %d day(s) completed", len(days))
    return outcome


def backfill_row(day: str, state, seconds: float) -> dict:
    """A day of the backfill's table: the child run's state, then its counts (blank if it failed)."""
    summary = state.result(raise_on_failure=False) if state.is_completed() else None
    row = day_rows(day, summary.folders if isinstance(summary, RunSummary) else [], seconds)
    if summary is None:
        row = {k: (v if k in ("delivery_day", "seconds") else None) for k, v in row.items()}
    return {"delivery_day": day, "state": state.type.value, **row}


def backfill_days(start: date, end: date) -> list[date]:
    if (end - start).days + 1 > MAX_BACKFILL_DAYS:
        raise SettingsError(f"a backfill covers at most {MAX_BACKFILL_DAYS} days; {start} to {end} is {(end - start).days + 1}")
    return delivery_days(start, end)


@task(name="summarize-day", **_IO)
def summarize_day(settings: LakeSettings, day: date, partitions: set[Partition]) -> None:
    """The day's DNS summary artifact, built from what the lake now holds for it."""
    events, changes = published_rows(settings, day, partitions)
    create_markdown_artifact(key=f"route53-dns-changes-{day.isoformat()}", markdown=dns_markdown(day.isoformat(), dns_digest(events, changes)),
                             description=f"What changed in Route 53, delivered {day}")


def published_rows(settings: LakeSettings, day: date, partitions: set[Partition]) -> tuple[pa.Table, pa.Table]:
    """The day's events and record changes as the lake has them now (deduplicated, whatever this run
    re-read), for its DNS summary: a recheck that read nothing still summarizes the whole day."""
    lake = open_store(settings.lake)
    delivered = pc.field("delivery_date") == pa.scalar(day, pa.date32())
    failed_writes = pc.field("error_code").is_valid() & ((pc.field("read_only") == pa.scalar(False)) | pc.field("read_only").is_null())
    tables = []
    for table, wanted in ((EVENTS, delivered & failed_writes), (RECORD_CHANGES, delivered)):  # the summary's events are failed calls
        parts = []
        for partition in sorted(p for p in partitions if p.column == "event_date"):
            path = f"{partition.visible_folder(table)}/{VISIBLE}"
            if lake.exists(path):
                parts.append(pq.read_table(pa.BufferReader(lake.read_bytes(path)), filters=wanted))
        tables.append(concat(table, parts))
    return tables[0], tables[1]


def scheduled_day() -> date:
    """The delivery day a run without dates processes: the day before its scheduled start (UTC).
    Derived from the schedule, not the clock, so a late or re-run scheduled run does the same day."""
    scheduled = prefect.runtime.flow_run.scheduled_start_time
    stamp = datetime.fromisoformat(str(scheduled)).astimezone(UTC) if scheduled else datetime.now(UTC)
    return stamp.date() - timedelta(days=1)


def make_settings(source, lake, accounts=None, regions=None, event_sources=None) -> LakeSettings:
    given = {"source": source, "lake": lake, "regions": regions, "event_sources": event_sources}
    return LakeSettings(accounts=accounts, **{k: v for k, v in given.items() if v is not None})
