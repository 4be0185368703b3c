"""A backfill's parent: its days fanned out as child runs (flows/orchestration/fanout.py), then its
table (every day: state, the cause of a failure in one line, a link to its run, counts), a DNS
summary per event date the days delivered (from the lake; INCOMPLETE on the pages a failed day can
hold events of), and its state: Failed naming the failed days and why, "Completed with warnings"
naming the days that finished with warnings, else Completed.

A day retried after the backfill ended brings its parent up to date (after_retry). A person retries
a failed day from its run's page; Prefect runs that child again, but nothing would tell the parent,
which would stay Failed with the old table and pages. So a `day-YYYY-MM-DD` run that finishes after
its parent ended rewrites the parent's table (its own row replaced), the parent's DNS summaries
(read from the lake again; the old versions are deleted, so no stale page stays on the parent), and
the parent's state, whose message says first which day was retried and how it ended.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import prefect.runtime
from prefect import get_client, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext
from prefect.states import Completed, Failed

from flows.orchestration.day_outcomes import DayOutcome, backfill_row, day_outcome, outcome_of, run_link
from flows.orchestration.fanout import days_as_children
from flows.orchestration.marks import WARNING_STATE, WARNING_TAG, retry_command, tag_run
from flows.orchestration.report import Gap, banner, dns_markdown, empty_summary, near
from flows.query.duckdb_lake import delivered_event_dates
from flows.query.history import lake_summaries
from flows.query.summary import lake_tag, summary_key
from flows.settings import LakeSettings

BACKFILL_FLOW = "route53-lake-backfill"


class BackfillFailed(RuntimeError):
    """Some days of a backfill failed; the others completed."""


def run_backfill(day_flow: Callable, settings: LakeSettings, days: list[date]):
    """Every day as its own child run (flows/orchestration/fanout.py), then the parent's table,
    summaries and final state."""
    _, outcomes = days_as_children(day_flow, settings, days)
    report(settings, days, outcomes)
    state = verdict(outcomes)
    if state.is_completed() and state.name == WARNING_STATE:
        get_run_logger().warning(state.message)
        tag_run(WARNING_TAG)
    else:
        get_run_logger().info(state.message)
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
    (the backfill is brought up to date when it ends: after_retry), or the command."""
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
    replace_artifact(flow_run_id, kind, key, data, description)


def after_retry(settings: LakeSettings, day: date, result) -> None:
    """If this day run is a child of a backfill that already ended (a retry), refresh that backfill.
    Never fails the day: the day itself is published either way."""
    try:
        parent_id = prefect.runtime.flow_run.parent_flow_run_id
        if not parent_id:
            return
        with get_client(sync_client=True) as client:
            parent = client.read_flow_run(parent_id)
            if parent.state is None or not parent.state.is_final():
                return  # the backfill is still running: it reports this day itself
            if client.read_flow(parent.flow_id).name != BACKFILL_FLOW:
                return
        refresh_parent(settings, day, result, str(parent_id))
    except Exception as error:  # noqa: BLE001 - the parent stays as it was; this run's own pages are right
        get_run_logger().warning("the backfill this day belongs to was not brought up to date: %s: %s", type(error).__name__, error)


def refresh_parent(settings: LakeSettings, day: date, result, parent_id: str) -> None:
    """The parent's table with this day's new row, its pages, and its state."""
    child = result if hasattr(result, "is_completed") else Completed(data=result)
    context = FlowRunContext.get()
    started = context.flow_run.start_time if context else None
    seconds = (datetime.now(UTC) - started).total_seconds() if started else 0.0
    mine = day_outcome(day.isoformat(), child, seconds, prefect.runtime.flow_run.name, None, str(prefect.runtime.flow_run.id))
    rows = parent_rows(parent_id, f"route53-lake-backfill-{lake_tag(settings.lake)}")
    outcomes = [mine if row["delivery_day"] == mine.day else outcome_of(row) for row in rows]
    if mine.day not in {o.day for o in outcomes}:
        outcomes = sorted([*outcomes, mine], key=lambda o: o.day)
    days = [date.fromisoformat(o.day) for o in outcomes]
    report(settings, days, outcomes, parent_id=parent_id)
    retried = f"{mine.day} retried by run {mine.run_name}: {mine.state_name}" + (f" ({mine.cause})" if mine.cause else "")
    state = verdict(outcomes, retried=retried)
    final = type(state)(type=state.type, name=state.name, message=state.message)  # no data: it stays here
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(parent_id, final, force=True)
    if state.name == WARNING_STATE:
        tag_run(WARNING_TAG, parent_id)
    get_run_logger().info("backfill run %s brought up to date: %s", parent_id, state.message)


def parent_rows(parent_id: str, key: str) -> list[dict]:
    """The latest version of the parent's table of days."""
    artifact = parent_artifacts(parent_id, key)[-1]
    return artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)


def parent_artifacts(flow_run_id: str, key: str) -> list:
    """A run's versions of one keyed artifact, oldest first."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC)[::-1]


def replace_artifact(flow_run_id: str, kind: str, key: str, data, description: str) -> None:
    """A new version of a keyed artifact on another run, then that run's older versions deleted:
    its Artifacts tab shows the page as it is now, and the key's latest version is this one."""
    from prefect.client.schemas.actions import ArtifactCreate

    old = parent_artifacts(flow_run_id, key)
    with get_client(sync_client=True) as client:
        client.create_artifact(ArtifactCreate(key=key, type=kind, description=description, flow_run_id=flow_run_id,
                                              data=json.dumps(data) if kind == "table" else data))
        for artifact in old:
            client.delete_artifact(artifact.id)
