"""The Prefect flow `route53-lake`: the pipeline's steps as tasks with retries, bounded
concurrency and logs. It reads like the pipeline: find accounts, then per delivery day list,
read and flatten every file, publish each folder, and summarize."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

# Prefect must not phone home, whoever starts us (CLI, worker, tests).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import prefect.runtime  # noqa: E402
from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from flows.listing import LogObject, Trail  # noqa: E402
from flows.pipeline import (  # noqa: E402
    FILE_CONCURRENCY,
    DayListing,
    DaySummary,
    FileResult,
    RunSummary,
    describe,
    list_day,
    list_trails,
    publish_day,
    read_and_flatten,
)
from flows.settings import LakeSettings, delivery_days  # noqa: E402


def is_transient(exc: BaseException) -> bool:
    """I/O that may succeed on retry: throttling, resets, timeouts. Not missing keys or access denied."""
    permanent = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return isinstance(exc, (OSError, TimeoutError)) and not isinstance(exc, permanent)


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
def list_delivery_day(settings: LakeSettings, trails: list[Trail], day: date) -> list[DayListing]:
    listings = list_day(settings, trails, day)
    logger = get_run_logger()
    files = sum(len(x.objects) for x in listings)
    logger.info("%s: %d log file(s) in %d folder(s)", day, files, len(listings))
    for listing in listings:
        for s in listing.skipped:
            logger.info("%s: skipped %s: %s", day, s.path, s.reason)
    return listings


@task(name="read-file", **_IO)
def read_file(obj: LogObject, settings: LakeSettings, day: date) -> FileResult:
    result = read_and_flatten(settings, obj, day)
    if result.rejected:
        get_run_logger().warning("quarantined %s: %s", result.uri, result.quarantine["error_message"][0])
    return result


@task(name="publish-day", **_IO)
def publish(settings: LakeSettings, listing: DayListing, results: list[FileResult]) -> DaySummary:
    summary = publish_day(settings, listing, results)
    get_run_logger().info(describe(summary))
    return summary


@flow(name="route53-lake", task_runner=ThreadPoolTaskRunner(max_workers=FILE_CONCURRENCY),
      persist_result=False, validate_parameters=True)
def route53_lake(
    start: date | None = None,
    end: date | None = None,
    source: str = LakeSettings().source,
    lake: str = LakeSettings().lake,
    accounts: list[str] | None = None,
    regions: list[str] | None = None,
    event_sources: list[str] | None = None,
    days: list[date] | None = None,
) -> RunSummary:
    """Publish the Route 53 records of CloudTrail delivery days [start, end] (UTC; default yesterday)."""
    settings = make_settings(source, lake, accounts, regions, event_sources)
    if start is None and end is None and not days:
        start = end = scheduled_day()
    run = RunSummary(days=[d.isoformat() for d in delivery_days(start, end, days)])
    trails = find_accounts(settings)
    for day in map(date.fromisoformat, run.days):
        listings = list_delivery_day(settings, trails, day)
        reads = [read_file.map(x.objects, settings=unmapped(settings), day=unmapped(day)) for x in listings]
        for listing, futures in zip(listings, reads, strict=True):
            run.folders.append(publish(settings, listing, [f.result() for f in futures]))
    get_run_logger().info(run.describe())
    return run


def scheduled_day() -> date:
    """The delivery day a run without dates processes: the day before its scheduled start (UTC).
    Derived from the schedule, not the clock, so a late or re-run scheduled run does the same day."""
    scheduled = prefect.runtime.flow_run.scheduled_start_time
    return (datetime.fromisoformat(str(scheduled)).astimezone(UTC).date() if scheduled else datetime.now(UTC).date()) - timedelta(days=1)


def make_settings(source, lake, accounts=None, regions=None, event_sources=None) -> LakeSettings:
    given = {"source": source, "lake": lake, "regions": regions, "event_sources": event_sources}
    return LakeSettings(accounts=accounts, **{k: v for k, v in given.items() if v is not None})
