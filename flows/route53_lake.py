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

if __name__ == "__main__":  # `python -m flows.route53_lake` was the command line before the move: run it instead
    import runpy

    runpy.run_module("flows.cli", run_name="__main__", alter_sys=True)

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Annotated, TypeVar

# Prefect must not phone home, whoever starts us (CLI, worker, tests).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# A temporary server (no PREFECT_API_URL) migrates its database first: on a busy machine that takes
# longer than Prefect's 20 s, and the run failed before it started.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import prefect.runtime  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_progress_artifact, update_progress_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402
from prefect.states import Failed, State  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from pydantic import Field  # noqa: E402

from flows import pipeline  # noqa: E402
from flows.checks import check_before_any_work  # noqa: E402
from flows.lake.layout import Partition  # noqa: E402
from flows.lake.publish import Staged  # noqa: E402
from flows.orchestration import outcome  # noqa: E402
from flows.orchestration.backfill import after_retry, run_backfill  # noqa: E402
from flows.orchestration.scheduled_names import day_before, name_scheduled_nightlies, nightly_name, run_name  # noqa: E402
from flows.results import DayListing, RunSummary, Trail, describe, is_transient  # noqa: E402
from flows.settings import LakeSettings, SettingsError, delivery_days  # noqa: E402
from flows.source.reading import fork_server, reading_pool  # noqa: E402
from flows.storage import scratch  # noqa: E402

MAX_BACKFILL_DAYS = 366

# The reading workers' fork server imports the reading code (about a second) while Prefect creates
# the run, so it is ready when the first folder is read: started as the flows load (a command-line
# run, a deployment's `prefect.engine`), not in a process multiprocessing started (a Dask worker
# loading the tasks, which reads in itself).
if multiprocessing.parent_process() is None:
    fork_server()
DEFAULT_SETTINGS = LakeSettings()  # frozen: safe to share as a parameter default
R = TypeVar("R")


def _retry_on_transient(task_, task_run, state) -> bool:
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - inspecting the failure, not hiding it
        return is_transient(exc)
    return False


_IO = {"retries": 3, "retry_delay_seconds": [1, 4, 15], "retry_condition_fn": _retry_on_transient,
       "cache_policy": NO_CACHE, "persist_result": False}


@task(name="find-accounts", task_run_name="find-accounts", **_IO)
def find_accounts(settings: LakeSettings) -> list[Trail]:
    trails, skipped = pipeline.list_trails(settings)
    logger = get_run_logger()
    logger.info("%d account folder(s): %s", len(trails), ", ".join(t.folder for t in trails) or "none")
    for s in skipped:
        logger.info("skipped %s: %s", s.path, s.reason)
    return trails


def _list_task_name() -> str:
    parameters = prefect.runtime.task_run.parameters
    return f"{'recheck' if parameters.get('changed_only') else 'list'}-{parameters['day']}"


@task(name="list-day", task_run_name=_list_task_name, **_IO)
def list_delivery_day(settings: LakeSettings, trails: list[Trail], day: date, changed_only: bool = False) -> tuple[list[DayListing], set[Partition]]:
    """The day's folders to read, and (for a recheck) the partitions of the folders that have not
    changed: those are still checked, so a rebuild that a crashed run left undone gets done."""
    listings = pipeline.list_day(settings, trails, day)
    logger = get_run_logger()
    for listing in listings:
        for s in listing.skipped:
            logger.info("%s: skipped %s: %s", day, s.path, s.reason)
    partitions = set()
    if changed_only:
        listed = len(listings)
        listings, partitions = pipeline.changed_folders(settings, listings)
        logger.info("%s: %d folder(s) unchanged since their last run, %d to read again", day, listed - len(listings), len(listings))
    logger.info("%s: %d log file(s) in %d folder(s) to read", day, sum(len(x.objects) for x in listings), len(listings))
    return listings, partitions


def _folder_task_name() -> str:
    listing = prefect.runtime.task_run.parameters["listing"]
    return f"folder-{listing.unit.day}-{listing.unit.trail.account}-{listing.unit.region}"


@task(name="read-and-stage-folder", task_run_name=_folder_task_name, **_IO)
def load(settings: LakeSettings, listing: DayListing, run_id: str, pool: Executor | None = None) -> Staged:
    """Read a day folder's files (on the run's worker processes, or in this Dask worker) and stage
    its rows in the lake, under the folder's lake lock (flows/pipeline.py). One task per folder: a
    task run costs tens of milliseconds, as much as reading a small file, and a night of a large
    organisation has hundreds of thousands of files."""
    staged = pipeline.load_folder(settings, listing, run_id, pool)
    logger = get_run_logger()
    for uri, message in staged.rejected_files:
        logger.warning("quarantined %s: %s", uri, message)
    logger.info(describe(staged.summary))
    return staged


def _publish_task_name() -> str:
    partitions = prefect.runtime.task_run.parameters["partitions"]
    dates = sorted({str(p.value) for p in partitions})  # event dates and the delivery day
    return run_name("publish", dates[0], dates[-1]) if dates else "publish-nothing"


@task(name="publish-partitions", task_run_name=_publish_task_name, **_IO)
def publish(settings: LakeSettings, partitions: list[Partition]) -> int:
    """The partitions the day's folders staged into, rebuilt (deduplicated, sorted, one file each)
    where their inputs changed, each under its partition's lake lock."""
    rebuilt = pipeline.publish(settings, partitions)
    get_run_logger().info("%d partition(s) checked, %d rebuilt", len(partitions), rebuilt)
    return rebuilt


def process_days(settings: LakeSettings, days: list[date], recheck: set[date] | frozenset = frozenset()):
    """The pipeline over delivery days inside the calling flow run (no inner subflow: the run a
    person opens holds every artifact), on the task runner the settings choose; then the run's
    artifacts, events and final state (outcome.finish)."""
    with task_runner_scope(settings):
        run, report = publish_days(settings, days, set(recheck))
    return outcome.finish(settings, run, report)


@contextmanager
def task_runner_scope(settings: LakeSettings):
    """Tasks submitted in this block go to the task runner `settings.task_runner` chooses. A flow's
    task runner is fixed when it is declared, but settings are a run's parameters: the flow's own
    (threads) serves `threads`; for `dask` the run's context is entered again with the Dask runner."""
    context = FlowRunContext.get()
    if settings.task_runner == "threads" or context is None:
        yield
        return
    with task_runner_for(settings) as runner, context.model_copy(update={"task_runner": runner}):
        yield


FOLDER_CONCURRENCY = 4  # folders read and staged at once: enough to keep the reading processes busy


def task_runner_for(settings: LakeSettings):
    """Threads, or Dask: an external cluster, or a LocalCluster whose workers use this run's
    Prefect API and never run the calling script again (flows.orchestration.dask_cluster)."""
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        from flows.orchestration.dask_cluster import external_cluster_api, local_cluster, prefect_api_url, refuse_flow_in_worker

        refuse_flow_in_worker()
        if settings.dask_address:
            external_cluster_api()
            return DaskTaskRunner(address=settings.dask_address)
        api = prefect_api_url()
        return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs={
            "processes": True, "threads_per_worker": 1, "dashboard_address": None,
            "env": {"PREFECT_API_URL": api} if api else {}})
    return ThreadPoolTaskRunner(max_workers=FOLDER_CONCURRENCY)


def publish_days(settings: LakeSettings, days: list[date], recheck: set[date]) -> tuple[RunSummary, outcome.RunReport]:
    """The pipeline's loop over delivery days (pipeline.run_days) with its steps as tasks, and a
    progress artifact: the run's summary and its report (outcome.RunReport: table rows, the event
    dates published or checked, events sent; the artifacts and the final state come after, in
    outcome.finish). Days in `recheck` only read the folders that changed since their last run.
    One task per day folder reads and stages it: on threads, the parsing runs on a pool of worker
    processes shared by the run; on Dask, in the Dask workers. Tasks and results pickle."""
    scratch.sweep()
    run = RunSummary(days=[d.isoformat() for d in days], run_id=str(prefect.runtime.flow_run.id or uuid.uuid4().hex))
    # first: the reading processes start while the run finds and lists its folders
    pool = reading_pool(settings.reading_workers()) if settings.task_runner == "threads" else None
    report = outcome.RunReport()
    try:
        progress = create_progress_artifact(progress=0.0, description=f"{len(days)} delivery day(s)")
        trails = find_accounts(settings)
        tracker = _Progress(progress, len(days))
        steps = pipeline.Steps(list_day=list_delivery_day, load=tracker.loading(pool), publish=publish, logger=get_run_logger())
        started = time.monotonic()
        for done in pipeline.run_days(settings, trails, days, run, steps, recheck):
            report.day(settings, done.day, done.listings, done.partitions, done.folders, done.failures, time.monotonic() - started)
            tracker.day_done()
            started = time.monotonic()
    finally:
        if pool:  # every read is done: the workers end while the run writes its summaries
            pool.shutdown(wait=False, cancel_futures=True)
    return run, report


class _Progress:
    """The run's progress artifact: a day's share grows as its folders are staged. Each update is an
    API call the run waits for (0.1-0.2 s measured against a long-lived server under load: 7 s of a
    40-folder day, a minute of a night of 300 accounts when made per folder), so a folder's update is
    sent only when the last one is SECONDS old; a day's end is always sent."""

    SECONDS = 2.0

    def __init__(self, artifact, days: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.artifact, self.days, self.number, self.clock = artifact, days, 0, clock
        self.sent = clock()

    def loading(self, pool: Executor | None):
        def load_all(settings: LakeSettings, listings: list[DayListing], run_id: str):
            futures = [load.submit(settings, listing, run_id, pool) for listing in listings]
            total, done = sum(len(x.objects) for x in listings) or 1, 0
            for listing, future in zip(listings, futures, strict=True):
                try:
                    yield future.result()
                except Exception as error:  # noqa: BLE001 - one folder's failure must not cost the others
                    yield error
                finally:
                    done += len(listing.objects)
                    self.update(self.number + done / total)
        return load_all

    def day_done(self) -> None:
        self.number += 1
        self.update(self.number, always=True)

    def update(self, days_done: float, always: bool = False) -> None:
        if always or self.clock() - self.sent >= self.SECONDS:
            update_progress_artifact(self.artifact, 100 * days_done / self.days)
            self.sent = self.clock()


def _parameter(name: str):
    return (prefect.runtime.flow_run.parameters or {}).get(name)


def _range_name() -> str:
    """`route53-lake-2026-11-01..2026-11-03`, `+1day(s)` for days added to a range; days alone
    (`--day`) are named as a range is: `route53-lake-2026-11-02` for one."""
    days = sorted(str(d) for d in _parameter("days") or [])
    first, last = _parameter("start") or _parameter("end"), _parameter("end") or _parameter("start")
    if first is None:
        return run_name("route53-lake", days[0], days[-1]) if days else run_name("route53-lake", scheduled_day())
    name = run_name("route53-lake", first, last)
    return f"{name}+{len(days)}day(s)" if days else name


def _nightly_name() -> str:
    return nightly_name(_parameter("day"), prefect.runtime.flow_run.scheduled_start_time)


def _backfill_name() -> str:
    return run_name("backfill", _parameter("start"), _parameter("end"))


RUNNER = ThreadPoolTaskRunner(max_workers=FOLDER_CONCURRENCY)  # the flows' own: task_runner threads
_FLOW = {"persist_result": False, "validate_parameters": True, "task_runner": RUNNER}



def checked_first(settings: LakeSettings, days: Callable[[], list[date]], work: Callable[[list[date]], R]) -> R | State:
    """`work` on the run's delivery days once the days, the lake and the source pass their checks
    (flows.checks); else the run ends Failed, its message and its log one line that says which
    setting is at fault (a raised SettingsError left Prefect's traceback in the run's log)."""
    try:
        checked = days()
        check_before_any_work(settings)
    except SettingsError as error:
        get_run_logger().error("refused before any work: %s", error)
        return Failed(message=f"refused before any work: {error}")
    return work(checked)

@flow(name="route53-lake", flow_run_name=_range_name, **_FLOW)
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
        regions: CloudTrail region folders; default every region the trail delivers.
        event_sources: eventSource values to keep; default the Route 53 family (flows/settings.py, ROUTE53_FAMILY).
        days: Single delivery days to add to the range.
        settings: Every setting at once (digests, encryption, task runner); when given, it replaces
            source, lake, accounts, regions and event_sources.
    """
    settings = settings or make_settings(source, lake, accounts, regions, event_sources)
    if start is None and end is None and not days:
        start = end = scheduled_day()
    return checked_first(settings, lambda: delivery_days(start, end, days), lambda checked: process_days(settings, checked))


@flow(name="route53-lake-nightly", flow_run_name=_nightly_name, **_FLOW)
def nightly(
    settings: LakeSettings = DEFAULT_SETTINGS,
    day: date | None = None,
    recheck_days: Annotated[int, Field(ge=0, le=31, description="How many earlier delivery days to recheck for late or replaced files.")] = 3,
) -> RunSummary:
    """Publish one delivery day (default: the day before the scheduled time) and recheck the days
    before it for late files, reading a folder again only when its listing changed.

    Args:
        settings: Where to read and write, and what to keep.
        day: Delivery day to publish (UTC). Default: the day before the scheduled start time.
        recheck_days: How many earlier delivery days to recheck for late or replaced files.
    """
    _name_the_next_nightlies()
    day = day or scheduled_day()
    earlier = [day - timedelta(days=n) for n in range(recheck_days, 0, -1)]
    return checked_first(settings, lambda: delivery_days(None, None, [*earlier, day]),
                         lambda checked: process_days(settings, checked, recheck=set(earlier)))


def _name_the_next_nightlies() -> None:
    """The runs the scheduler created since the last night get their names now, not when they start
    (flows.orchestration.scheduled_names). A name is never worth a night: a failure is a warning."""
    deployment_id = prefect.runtime.deployment.id
    if not deployment_id:
        return
    try:
        with get_client(sync_client=True) as client:
            name_scheduled_nightlies(client, deployment_id)
    except Exception as error:  # noqa: BLE001
        get_run_logger().warning("the scheduled nightly runs keep their random names until they start: %s", error)


@flow(name="route53-lake-day", flow_run_name="day-{day}", **_FLOW)
def route53_lake_day(day: date, settings: LakeSettings = DEFAULT_SETTINGS) -> RunSummary:
    """Publish one delivery day (a backfill's child run; retry it alone from its page).

    Args:
        day: Delivery day (UTC).
        settings: Where to read and write, and what to keep.
    """
    def publish_day(checked: list[date]) -> RunSummary:
        result = process_days(settings, checked)
        after_retry(settings, day, result)  # a retry after its backfill ended brings the backfill up to date
        return result

    return checked_first(settings, lambda: delivery_days(day, day), publish_day)


@flow(name="route53-lake-backfill", flow_run_name=_backfill_name, **_FLOW)
def backfill(start: date, end: date, settings: LakeSettings = DEFAULT_SETTINGS) -> dict[str, str]:
    """Publish every delivery day from start to end, one child flow run `day-YYYY-MM-DD` per day,
    up to `settings.backfill_concurrency` at once.

    Args:
        start: First delivery day (UTC).
        end: Last delivery day (UTC), inclusive; not in the future.
        settings: Where to read and write, and what to keep.
    """
    return checked_first(settings, lambda: backfill_days(start, end),
                         lambda checked: run_backfill(route53_lake_day, settings, checked))


def backfill_days(start: date, end: date) -> list[date]:
    """The days of a backfill, refused (SettingsError, the command line's words) before any work."""
    if (end - start).days + 1 > MAX_BACKFILL_DAYS:
        raise SettingsError(f"a backfill covers at most {MAX_BACKFILL_DAYS} days; {start} to {end} is {(end - start).days + 1}")
    return delivery_days(start, end)


def scheduled_day() -> date:
    """The delivery day a run without dates processes: the day before its scheduled start (UTC).
    Derived from the schedule, not the clock, so a late or re-run scheduled run does the same day."""
    return day_before(prefect.runtime.flow_run.scheduled_start_time)


def make_settings(source, lake, accounts=None, regions=None, event_sources=None) -> LakeSettings:
    given = {"source": source, "lake": lake, "regions": regions, "event_sources": event_sources}
    return LakeSettings(accounts=accounts, **{k: v for k, v in given.items() if v is not None})
