"""A backfill's days, fanned out: each day its own child flow run `day-YYYY-MM-DD` (visible and
retryable alone), at most `settings.backfill_concurrency` at once, on

- the work pool, when the backfill itself runs from a deployment and the day deployment
  (`route53-lake-day/day`) exists: N process workers publish N days at once;
- the Dask cluster, when `settings.task_runner` is dask: the child runs start in threads here and
  all send their tasks to one cluster (`settings.dask_address`, or a LocalCluster of
  backfill_concurrency workers started for the backfill);
- else threads of the backfill's process.

The parent then leaves a table (every day: state, counts, the cause of a failure in one line), a
DNS summary per event date the days delivered (from the lake), and fails naming the failed days
and why. Days take turns on shared folders and partitions through the lake's locks.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import prefect.runtime
from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.orchestration.report import day_rows, dns_markdown
from flows.orchestration.report import notes as run_notes
from flows.query.summary import delivered_event_dates, lake_summaries, lake_tag, summary_key
from flows.results import RunSummary
from flows.settings import LakeSettings

DAY_DEPLOYMENT = "route53-lake-day/day"
# the counts of a day in the parent's table (the child's own table has them all): few, so the
# error column stays on the page
BACKFILL_COUNTS = ("files_listed", "files_rejected", "records_quarantined", "events_written", "record_changes_written", "seconds")


class BackfillFailed(RuntimeError):
    """Some days of a backfill failed; the others completed."""


@dataclass
class DayOutcome:
    """A child run as the parent reports it."""

    day: str
    state: str  # COMPLETED, FAILED, CRASHED, ...
    state_name: str  # "Completed", "Completed with warnings", "Failed", ...
    cause: str | None  # why it failed, one line
    counts: dict | None  # its row of route53-lake-days (None when it failed)
    notes: list[str]  # its data-quality notes
    run_name: str | None = None


PREAMBLES = ("Flow run encountered an exception: ", "Task run encountered an exception: ",
             "RunFailed: ", "1 part(s) of the run failed, the rest was published: ")
CAUSE = 480  # characters: a long cause keeps its start (what failed) and its end (what to do)


def cause_of(message: str | None) -> str:
    """A failed state's message in one line: the exception's own words, not Prefect's preamble."""
    text = " ".join((message or "no message").split())
    for preamble in PREAMBLES:
        text = text.removeprefix(preamble)
    return text if len(text) <= CAUSE else f"{text[:CAUSE // 2 - 2]} … {text[-(CAUSE // 2 - 2):]}"


def _outcome(day: str, state, seconds: float, name: str | None = None, counts: dict | None = None) -> DayOutcome:
    """A child's state as the parent reports it. An in-process child hands over its RunSummary; a
    child on the work pool its table artifact (`counts`), read from the API."""
    notes: list[str] = []
    if state.is_completed() and counts is None:
        result = state.result(raise_on_failure=False)
        if isinstance(result, RunSummary):
            counts, notes = day_rows(day, result.folders, seconds), run_notes(result)
    if counts is not None:
        counts = {**counts, "seconds": round(seconds, 2)}
    if state.is_completed() and not notes and state.message:  # "finished with warnings: ..."
        notes = [f"delivery day {day}: {cause_of(state.message)}"]
    cause = None if state.is_completed() else cause_of(state.message)
    return DayOutcome(day, state.type.value, state.name or state.type.value.title(), cause, counts, notes, name)


# -- where the children run ----------------------------------------------------------------------

def _bounded(one: Callable[[date], DayOutcome], days: list[date], at_once: int) -> list[DayOutcome]:
    """`one(day)` for every day, `at_once` at a time, each in a copy of this run's context taken
    here (so the child runs are this run's subflows), in the order of the days."""
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="backfill-day") as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, day) for day in days]
        return [future.result() for future in futures]


def _in_threads(day_flow: Callable, settings: LakeSettings, days: list[date]) -> list[DayOutcome]:
    def one(day: date) -> DayOutcome:
        started = time.monotonic()
        state = day_flow(day=day, settings=settings, return_state=True)
        return _outcome(day.isoformat(), state, time.monotonic() - started, f"day-{day}")

    return _bounded(one, days, settings.backfill_concurrency)


def _on_work_pool(settings: LakeSettings, days: list[date]) -> list[DayOutcome]:
    from prefect.deployments import run_deployment

    parameters = settings.model_dump(mode="json", exclude_none=True)  # null is not a value the schema takes

    def one(day: date) -> DayOutcome:
        started = time.monotonic()
        child = run_deployment(DAY_DEPLOYMENT, parameters={"day": day.isoformat(), "settings": parameters},
                               flow_run_name=f"day-{day}", timeout=None, poll_interval=2, as_subflow=True)
        counts = _table_row(child.id, settings) if child.state.is_completed() else None
        return _outcome(day.isoformat(), child.state, time.monotonic() - started, child.name, counts)

    return _bounded(one, days, settings.backfill_concurrency)


def _table_row(flow_run_id, settings: LakeSettings) -> dict | None:
    """A child run's row of its route53-lake-days table, as the API holds it."""
    import json

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    key = f"route53-lake-days-{lake_tag(settings.lake)}"
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])))
    if not found:
        return None
    rows = found[0].data if isinstance(found[0].data, list) else json.loads(found[0].data)
    return rows[0] if rows else None


def _on_dask(day_flow: Callable, settings: LakeSettings, days: list[date]) -> list[DayOutcome]:
    """The days' child runs start here (threads, bounded) and send their tasks to one Dask
    cluster: `settings.dask_address`, or a LocalCluster of backfill_concurrency worker processes
    started for the backfill, so the cluster's workers read several days at once."""
    if settings.dask_address:
        return _in_threads(day_flow, settings, days)
    from contextlib import nullcontext

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.orchestration.dask_cluster import local_cluster, prefect_api_url

    api = prefect_api_url()  # the workers', and the children's: one run, one API (flows.orchestration.dask_cluster)
    with local_cluster(n_workers=settings.backfill_concurrency, threads_per_worker=1, processes=True, dashboard_address=None,
                       env={"PREFECT_API_URL": api} if api else {}) as cluster, \
            (temporary_settings(updates={PREFECT_API_URL: api}) if api else nullcontext()):
        return _in_threads(day_flow, settings.model_copy(update={"dask_address": cluster.scheduler_address}), days)


def _day_deployment_exists() -> bool:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(DAY_DEPLOYMENT)
        except Exception:  # noqa: BLE001 - ObjectNotFound: not deployed, the days run here
            return False
    return True


def where_days_run(settings: LakeSettings) -> str:
    if prefect.runtime.deployment.id and _day_deployment_exists():
        return "work pool"
    return "dask" if settings.task_runner == "dask" else "threads"


# -- the parent ----------------------------------------------------------------------------------

def run_backfill(day_flow: Callable, settings: LakeSettings, days: list[date]) -> dict[str, str]:
    """Every day as its own child run, then the parent's table, summaries and verdict."""
    logger = get_run_logger()
    where = where_days_run(settings)
    logger.info("backfill of %d delivery day(s), %s to %s: up to %d at once (%s)",
                len(days), days[0], days[-1], settings.backfill_concurrency, where)
    if where == "work pool":
        outcomes = _on_work_pool(settings, days)
    elif where == "dask":
        outcomes = _on_dask(day_flow, settings, days)
    else:
        outcomes = _in_threads(day_flow, settings, days)
    report(settings, days, outcomes)
    failed = [o for o in outcomes if o.state != "COMPLETED"]
    if failed:
        causes = "; ".join(f"{o.day}: {o.cause}" for o in failed)
        raise BackfillFailed(f"{len(failed)} of {len(days)} day(s) failed: {causes}. The others completed; "
                             "retry a failed day from its run's page, or with a backfill of that day alone.")
    warned = [o.day for o in outcomes if o.state_name != "Completed"]
    logger.info("all %d day(s) completed%s", len(days), f"; with warnings: {', '.join(warned)}" if warned else "")
    return {o.day: o.state for o in outcomes}


def backfill_row(outcome: DayOutcome) -> dict:
    """A day of the parent's table: its state, the cause if it failed, the child run, its counts
    (blank when it failed). The cause comes before the run and counts: Prefect draws a table
    artifact one line per row, so what comes first is what a person reads without scrolling."""
    counts = outcome.counts or {}
    counts = {k: counts.get(k) for k in BACKFILL_COUNTS}
    return {"delivery_day": outcome.day, "state_name": outcome.state_name, "error": outcome.cause,
            "run": outcome.run_name, "state": outcome.state, **counts}


def report(settings: LakeSettings, days: list[date], outcomes: list[DayOutcome]) -> None:
    """The parent's artifacts: the table of days, and the DNS summary of every event date the
    days delivered (rebuilt from the lake once all children are done: the latest, complete page)."""
    tag = lake_tag(settings.lake)
    failed = sum(o.state != "COMPLETED" for o in outcomes)
    create_table_artifact(key=f"route53-lake-backfill-{tag}", table=[backfill_row(o) for o in outcomes],
                          description=f"Backfill {days[0]} to {days[-1]} into lake {settings.lake}: {len(days) - failed} day(s) "
                                      f"completed, {failed} failed; each day's child run, state, error and counts")
    try:
        summaries = lake_summaries(settings.lake, delivered_event_dates(settings.lake, days[0], days[-1]))
    except Exception as error:  # noqa: BLE001 - the table above says what happened; the pages are extra
        get_run_logger().warning("DNS summaries not rebuilt from the lake: %s: %s", type(error).__name__, error)
        return
    notes = [f"FAILED delivery day {o.day}: {o.cause}" for o in outcomes if o.cause]
    notes += [line for o in outcomes for line in o.notes]
    for event_date, summary in summaries.items():
        create_markdown_artifact(key=summary_key(settings.lake, event_date), markdown=dns_markdown(summary, settings.lake, notes),
                                 description=f"Route 53 changes on {event_date} (event date) in lake {settings.lake}")
