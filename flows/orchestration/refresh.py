"""A backfill's day retried after the backfill ended: the child run brings its parent up to date.

A backfill (flows/orchestration/fanout.py) reports its days once, when they are all done: a table of
days, a DNS summary per event date, and a verdict (Failed when a day failed). A person then retries
the failed day from its run's page; Prefect runs that child again, but nothing would tell the parent,
which would stay Failed with the old table and pages. So a `day-YYYY-MM-DD` run that finishes after
its parent ended rewrites the parent's table (its own row replaced), the parent's DNS summaries (read
from the lake again; the old versions are deleted, so no stale page stays on the parent), and the
parent's state, whose message says first which day was retried and how it ended.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import prefect.runtime
from prefect import get_client, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Completed

from flows.query.summary import lake_tag
from flows.settings import LakeSettings

BACKFILL_FLOW = "route53-lake-backfill"
LINK = re.compile(r"^\[(?P<name>[^\]]+)\]\((?P<url>.*?/runs/flow-run/(?P<id>[0-9a-fA-F-]{36}))\)$")


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
    from flows.orchestration import fanout
    from flows.orchestration.outcome import WARNING_TAG, tag_run

    state = result if hasattr(result, "is_completed") else Completed(data=result)
    context = FlowRunContext.get()
    started = context.flow_run.start_time if context else None
    seconds = (datetime.now(UTC) - started).total_seconds() if started else 0.0
    mine = fanout._outcome(day.isoformat(), state, seconds, prefect.runtime.flow_run.name, None, str(prefect.runtime.flow_run.id))
    rows = parent_rows(parent_id, f"route53-lake-backfill-{lake_tag(settings.lake)}")
    outcomes = [mine if row["delivery_day"] == mine.day else outcome_of(row) for row in rows]
    if mine.day not in {o.day for o in outcomes}:
        outcomes = sorted([*outcomes, mine], key=lambda o: o.day)
    days = [date.fromisoformat(o.day) for o in outcomes]
    fanout.report(settings, days, outcomes, parent_id=parent_id)
    retried = f"{mine.day} retried by run {mine.run_name}: {mine.state_name}" + (f" ({mine.cause})" if mine.cause else "")
    verdict = fanout.verdict(outcomes, retried=retried)
    final = type(verdict)(type=verdict.type, name=verdict.name, message=verdict.message)  # no data: it stays here
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(parent_id, final, force=True)
    if verdict.name == fanout.WARNING_STATE:
        tag_run(WARNING_TAG, parent_id)
    get_run_logger().info("backfill run %s brought up to date: %s", parent_id, verdict.message)


def outcome_of(row: dict):
    """A day of the parent's table as the parent reported it (its counts, state, cause and run)."""
    from flows.orchestration.fanout import BACKFILL_COUNTS, DayOutcome

    link = LINK.match(row.get("run") or "")
    counts = {k: row.get(k) for k in BACKFILL_COUNTS} if row.get("state") == "COMPLETED" else None
    return DayOutcome(row["delivery_day"], row["state"], row["state_name"], row.get("error"), counts, [],
                      link["name"] if link else row.get("run"), link["id"] if link else None)


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
