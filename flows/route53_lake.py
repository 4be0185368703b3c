"""route53-lake: CloudTrail log files -> Parquet lake of Route 53 API calls and record changes.

    python -m flows.route53_lake --source s3://trail-bucket/prefix --lake s3://lake-bucket/route53 \\
        --start 2026-11-01 --end 2026-11-03

The flow reads like the pipeline: find the accounts, then per delivery day list its folders,
read and flatten every log file, publish each folder's rows, and summarize.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from flows.listing import LogObject, Trail
from flows.pipeline import DayListing, DaySummary, FileResult, list_day, list_trails, publish_day, read_and_flatten
from flows.settings import LakeSettings, SettingsError, delivery_days

# Prefect must not phone home, whoever starts us (CLI, worker, tests).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

FILE_CONCURRENCY = 8


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


def describe(s: DaySummary) -> str:
    text = (
        f"{s.delivery_date} {s.account}/{s.region}: {s.files_listed} file(s), {s.records_read} record(s), "
        f"{s.route53_records} Route 53 -> {s.events_written} event(s), {s.record_changes_written} record change(s)"
    )
    if s.duplicates_dropped:
        text += f", {s.duplicates_dropped} duplicate(s) dropped"
    if s.rejected_kinds:
        text += ", quarantined: " + ", ".join(f"{n} {k}" for k, n in sorted(s.rejected_kinds.items()))
    return text


@dataclass
class RunSummary:
    days: list[str]
    folders: list[DaySummary] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.folders)

    def describe(self) -> str:
        names = ("files_listed", "records_read", "route53_records", "events_written",
                 "record_changes_written", "duplicates_dropped", "records_quarantined", "files_rejected")
        counts = ", ".join(f"{n.replace('_', ' ')}: {self.total(n)}" for n in names)
        return f"{len(self.days)} delivery day(s), {len(self.folders)} folder(s); {counts}"


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
    run = RunSummary(days=[d.isoformat() for d in delivery_days(start, end, days)])
    trails = find_accounts(settings)
    for day in map(date.fromisoformat, run.days):
        listings = list_delivery_day(settings, trails, day)
        reads = [read_file.map(listing.objects, settings=unmapped(settings), day=unmapped(day)) for listing in listings]
        for listing, futures in zip(listings, reads, strict=True):
            run.folders.append(publish(settings, listing, [f.result() for f in futures]))
    get_run_logger().info(run.describe())
    return run


def run_without_prefect(settings: LakeSettings, days: list[date], workers: int = FILE_CONCURRENCY) -> RunSummary:
    """The same steps as the flow, called directly on a thread pool: no Prefect server needed."""
    run = RunSummary(days=[d.isoformat() for d in days])
    trails, _ = list_trails(settings)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for day in days:
            for listing in list_day(settings, trails, day):
                results = list(pool.map(lambda obj, d=day: read_and_flatten(settings, obj, d), listing.objects))
                run.folders.append(publish_day(settings, listing, results))
    return run


def make_settings(source, lake, accounts=None, regions=None, event_sources=None) -> LakeSettings:
    given = {"source": source, "lake": lake, "accounts": accounts, "regions": regions, "event_sources": event_sources}
    return LakeSettings(**{k: v for k, v in given.items() if v is not None or k == "accounts"})


# ---------------------------------------------------------------- command line

def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m flows.route53_lake",
        description="Turn CloudTrail log files into a Parquet lake of Route 53 API calls and record changes.",
        epilog="Also: 'python -m flows.route53_lake latest --lake LAKE' prints the latest record changes. "
        "S3 credentials come from the standard AWS chain (environment, ~/.aws, instance role). "
        "Exit status: 0 done, 1 the run failed, 2 bad arguments.",
    )
    p.add_argument("--source", default=LakeSettings().source, help="CloudTrail location: s3://bucket/prefix or a folder holding AWSLogs/ (default: %(default)s)")
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root: s3://bucket/prefix or a folder (default: %(default)s)")
    p.add_argument("--start", type=_date, help="first delivery day, UTC, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--end", type=_date, help="last delivery day, inclusive (default: --start)")
    p.add_argument("--day", type=_date, action="append", dest="days", help="a delivery day to add to the range; repeatable")
    p.add_argument("--account", action="append", dest="accounts", help="12-digit account id; repeatable (default: all found)")
    p.add_argument("--region", action="append", dest="regions", help="CloudTrail region folder; repeatable (default: us-east-1)")
    p.add_argument("--event-source", action="append", dest="event_sources", help="eventSource to keep; repeatable (default: route53.amazonaws.com)")
    p.add_argument("--no-prefect", action="store_true", help="run the same steps without Prefect (no server, no UI)")
    p.add_argument("--workers", type=int, default=FILE_CONCURRENCY, help="files read at once with --no-prefect (default: %(default)s)")
    return p


def latest_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.route53_lake latest", description="Print the latest record changes in the lake.")
    p.add_argument("--lake", default=LakeSettings().lake, help="lake root (default: %(default)s)")
    p.add_argument("--limit", type=int, default=15, help="rows to show (default: %(default)s)")
    args = p.parse_args(argv)
    from flows.duckdb_lake import latest_changes

    print(f"Latest record changes in {args.lake} (DuckDB):")
    latest_changes(args.lake, args.limit).show(max_width=250)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["latest"]:
        return latest_main(argv[1:])
    if argv[:1] == ["run"]:
        argv = argv[1:]
    args = parser().parse_args(argv)
    try:
        settings = make_settings(args.source, args.lake, args.accounts, args.regions, args.event_sources)
        days = delivery_days(args.start, args.end, args.days)
    except (SettingsError, ValueError) as exc:
        print(f"error: {_plain(exc)}", file=sys.stderr)
        return 2
    try:
        if args.no_prefect:
            run = run_without_prefect(settings, days, args.workers)
        else:
            run = route53_lake(start=args.start, end=args.end, days=args.days, **_flow_params(settings))
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        print(f"error: {explain_failure(exc, settings)}", file=sys.stderr)
        return 1
    for folder in run.folders:
        print(describe(folder))
    print(run.describe())
    print(f"lake: {settings.lake}")
    return 0


def _flow_params(settings: LakeSettings) -> dict:
    return {k: v for k, v in settings.model_dump().items() if k in ("source", "lake", "accounts", "regions", "event_sources")}


def _plain(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: keep only the messages a person can act on
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def explain_failure(exc: BaseException, settings: LakeSettings) -> str:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError") or "credentials" in str(exc).lower():
        return f"no AWS credentials found for {settings.source} / {settings.lake}: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run with a role ({name})"
    if isinstance(exc, PermissionError):
        return f"access denied: {exc}. Check the IAM policy (see README, 'Permissions')"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {exc}. Check --source and --lake"
    return f"{name}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
