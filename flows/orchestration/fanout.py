"""A backfill's days, fanned out: each day its own child flow run `day-YYYY-MM-DD` (visible and
retryable alone), at most `settings.backfill_concurrency` at once, on

- the work pool, when the backfill itself runs from a deployment and the day deployment
  (`route53-lake-day/day`) exists: N process workers publish N days at once;
- the Dask cluster, when `settings.task_runner` is dask: the child runs start in threads here and
  all send their tasks to one cluster (`settings.dask_address`, or a LocalCluster of
  backfill_concurrency workers started for the backfill);
- else threads of the backfill's process.

The parent then leaves a table (every day: state, the cause of a failure in one line, a link to
its run, counts), a DNS summary per event date the days delivered (from the lake; INCOMPLETE on the
pages a failed day can hold events of), and its state: Failed naming the failed days and why,
"Completed with warnings" naming the days that finished with warnings, else Completed. A day
retried after the backfill ended brings the backfill up to date (flows/orchestration/refresh.py).
Days take turns on shared folders and partitions through the lake's locks.
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
from prefect.states import Completed, Failed

from flows.orchestration.outcome import WARNING_STATE, WARNING_TAG, retry_command, tag_run
from flows.orchestration.report import CAUSE, Gap, banner, day_rows, dns_markdown, empty_summary, near
from flows.orchestration.report import notes as run_notes
from flows.query.duckdb_lake import delivered_event_dates
from flows.query.history import lake_summaries
from flows.query.summary import lake_tag, summary_key
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
    run_id: str | None = None  # the child flow run, for a link to its page
    message: str | None = None  # its state's message ("1 file(s) rejected on ...": the warnings of a completed day)

    @property
    def warned(self) -> bool:
        return self.state == "COMPLETED" and self.state_name != "Completed"

    @property
    def no_logs(self) -> bool:
        """A completed day that listed no log file (its own page says NO LOGS; the parent's too)."""
        return self.state == "COMPLETED" and self.counts is not None and not self.counts.get("files_listed")


PREAMBLES = ("Flow run encountered an exception: ", "Task run encountered an exception: ",
             "RunFailed: ", "1 part(s) of the run failed, the rest was published: ",
             "1 part(s) of the run failed, nothing was published: ")


TAILS = (". To retry: ", ". To do: ")  # a day run's message: reason, then what to do and where (outcome.py)


def cause_of(message: str | None) -> str:
    """A day run's state message in one line, the reason only: the exception's own words, not
    Prefect's preamble, nor the day's own hints (the parent gives its own: Retry on the day's run)."""
    text = " ".join((message or "no message").split())
    for preamble in PREAMBLES:
        text = text.removeprefix(preamble)
    for tail in TAILS:
        text = text.split(tail, 1)[0]
    return text if len(text) <= CAUSE else f"{text[:CAUSE // 2 - 2]} … {text[-(CAUSE // 2 - 2):]}"


def _outcome(day: str, state, seconds: float, name: str | None = None, counts: dict | None = None,
             run_id: str | None = None) -> DayOutcome:
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
    run_id = run_id or (str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None)
    return DayOutcome(day, state.type.value, state.name or state.type.value.title(), cause, counts, notes, name, run_id,
                      cause_of(state.message) if state.message else None)


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
        return _outcome(day.isoformat(), child.state, time.monotonic() - started, child.name, counts, str(child.id))

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

def run_backfill(day_flow: Callable, settings: LakeSettings, days: list[date]):
    """Every day as its own child run, then the parent's table, summaries and final state."""
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
    state = verdict(outcomes)
    if state.is_completed() and state.name == WARNING_STATE:
        logger.warning(state.message)
        tag_run(WARNING_TAG)
    else:
        logger.info(state.message)
    return state


def verdict(outcomes: list[DayOutcome], retried: str | None = None):
    """The parent's state from its days: Failed naming the failed days and why (reason first);
    "Completed with warnings" naming the days that finished with warnings and why; else
    Completed. `retried`: what a retried child changed, said first."""
    failed = [o for o in outcomes if o.state != "COMPLETED"]
    warned = [o for o in outcomes if o.warned]
    result = {o.day: o.state for o in outcomes}
    lead = f"{retried}. " if retried else ""
    if failed:
        causes = "; ".join(f"{o.day}: {o.cause}" for o in failed)
        text = (f"{lead}{len(failed)} of {len(outcomes)} day(s) failed: {causes}. The others completed; "
                "retry a failed day from its run's page (its row in this run's table links it), "
                "or with a backfill of that day alone.")
        return Failed(message=text[:1000], data=BackfillFailed(text))
    if warned:
        reasons = "; ".join(f"{o.day}: {(o.message or o.state_name).replace(f' on {o.day}', '')}" for o in warned)
        text = (f"{lead}{len(warned)} of {len(outcomes)} day(s) finished with warnings: {reasons}. "
                "To do: open each day's run (linked from this run's table) for its DNS summary and data-quality notes.")
        return Completed(name=WARNING_STATE, message=text[:1000], data=result)
    return Completed(message=f"{lead}all {len(outcomes)} day(s) completed", data=result)


def run_link(outcome: DayOutcome) -> str | None:
    """The child run's name as a markdown link to its page (Prefect renders a table's text cells as markdown)."""
    if not outcome.run_id or not outcome.run_name:
        return outcome.run_name
    from prefect.utilities.urls import url_for

    try:
        url = url_for("flow-run", obj_id=outcome.run_id)
    except Exception:  # noqa: BLE001 - no UI address configured: the UI's own path still works from its pages
        url = None
    return f"[{outcome.run_name}]({url or '/runs/flow-run/' + outcome.run_id})"


def backfill_row(outcome: DayOutcome) -> dict:
    """A day of the parent's table: its state, the cause if it failed, the child run (a link), its
    counts (blank when it failed). The cause comes before the run and counts: Prefect draws a table
    artifact one line per row, so what comes first is what a person reads without scrolling."""
    counts = outcome.counts or {}
    counts = {k: counts.get(k) for k in BACKFILL_COUNTS}
    return {"delivery_day": outcome.day, "state_name": outcome.state_name, "error": outcome.cause,
            "run": run_link(outcome), "state": outcome.state, **counts}


def report(settings: LakeSettings, days: list[date], outcomes: list[DayOutcome], parent_id: str | None = None) -> None:
    """The parent's artifacts: the table of days, and the DNS summary of every event date the
    days delivered (rebuilt from the lake once all children are done: the latest, complete page),
    INCOMPLETE on the pages a failed day can hold events of, NO LOGS for a day without logs.
    `parent_id`: write them on that run (a retried child refreshing its backfill) instead of this one."""
    tag = lake_tag(settings.lake)
    failed = sum(o.state != "COMPLETED" for o in outcomes)
    write(parent_id, "table", f"route53-lake-backfill-{tag}", [backfill_row(o) for o in outcomes],
          f"Backfill {days[0]} to {days[-1]}, the lake at {settings.lake}: {len(days) - failed} day(s) "
          f"completed, {failed} failed; each day's child run (a link), state, error and counts")
    gaps = [Gap(o.day, f"run {o.run_name or 'day-' + o.day}", o.cause or o.state_name) for o in outcomes if o.state != "COMPLETED"]
    no_logs = [o.day for o in outcomes if o.no_logs]
    try:
        dates = delivered_event_dates(settings.lake, days[0], days[-1])
        summaries = lake_summaries(settings.lake, sorted({*dates, *(g.day for g in gaps), *no_logs}))
    except Exception as error:  # noqa: BLE001 - the table above says what happened; the pages are extra
        get_run_logger().warning("DNS summaries not rebuilt from the lake: %s: %s", type(error).__name__, error)
        summaries = {d: empty_summary(d) for d in sorted({*(g.day for g in gaps), *no_logs})}
    notes = [f"FAILED delivery day {o.day}: {o.cause}" for o in outcomes if o.cause]
    notes += [line for o in outcomes for line in o.notes]
    retry = retry_text(settings, outcomes)
    for event_date, summary in summaries.items():
        top = banner(event_date, gaps, no_logs, retry, settings.source)
        write(parent_id, "markdown", summary_key(settings.lake, event_date), dns_markdown(summary, settings.lake, notes, top),
              f"Route 53 changes on {event_date} (event date), the lake at {settings.lake}"
              + (": INCOMPLETE" if any(near(event_date, g.day) for g in gaps) else ""))


def retry_text(settings: LakeSettings, outcomes: list[DayOutcome]) -> str:
    """How to publish a backfill's failed days again: Retry on a day run of the day deployment
    (the backfill is brought up to date when it ends: flows/orchestration/refresh.py), or the command."""
    failed = [o for o in outcomes if o.state != "COMPLETED"]
    command = retry_command(settings, [o.day for o in failed])
    if prefect.runtime.deployment.id:
        links = ", ".join(filter(None, (run_link(o) for o in failed)))
        return (f"press Retry on the failed day's run ({links}): when it ends, this backfill's table, pages and state "
                f"are brought up to date; or run {command}")
    return f"run {command} from the repository (these day runs have no deployment to retry them from)"


def write(flow_run_id: str | None, kind: str, key: str, data, description: str) -> None:
    """An artifact on this run, or (flow_run_id) on another run: a retried child brings its
    backfill's artifacts up to date, replacing the versions that run had (no stale page stays)."""
    if flow_run_id is None:
        create = create_table_artifact if kind == "table" else create_markdown_artifact
        create(**{"key": key, kind: data, "description": description})
        return
    from flows.orchestration.refresh import replace_artifact

    replace_artifact(flow_run_id, kind, key, data, description)
