"""Names for the nightly's runs that Prefect's scheduler creates ahead of time.

The scheduler builds its runs without a name, so the server gives each a random one (`amber-fox`),
and the flow's `flow_run_name` replaces it only when the run starts: Prefect 3.9 has no name template
for a deployment or a schedule. A nightly's name depends on nothing but its scheduled time
(`nightly-<the day before, UTC>`), so it is given ahead: by `make ui` right after it deploys (it asks
the server to schedule the runs first, so they exist), and at the start of every nightly for the runs
scheduled since. `python -m flows.orchestration.scheduled_names` does it by hand (after
`prefect deploy --all`); it needs PREFECT_API_URL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

NIGHTLY = "route53-lake-nightly/nightly"  # <flow name>/<deployment name>, as prefect.yaml declares it
PAGE = 200  # the most runs the API returns at once (the scheduler keeps about 100 ahead)


def run_name(prefix: str, first, last=None) -> str:
    """`nightly-2026-11-02`, `backfill-2026-11-01..2026-11-03`: what a run covers, in its name."""
    first, last = str(first), str(last or first)
    return f"{prefix}-{first}" if first == last else f"{prefix}-{first}..{last}"


def day_before(scheduled: datetime | str | None) -> date:
    """The delivery day a run without dates processes: the day before its scheduled start (UTC).
    Derived from the schedule, not the clock, so a late or re-run scheduled run does the same day."""
    stamp = datetime.fromisoformat(str(scheduled)).astimezone(UTC) if scheduled else datetime.now(UTC)
    return stamp.date() - timedelta(days=1)


def nightly_name(day: date | str | None, scheduled: datetime | str | None) -> str:
    return run_name("nightly", day or day_before(scheduled))


def name_scheduled_nightlies(client, deployment_id=None, schedule_first: bool = False) -> int:
    """Give a nightly deployment's SCHEDULED runs their names (default: prefect.yaml's nightly);
    returns how many were renamed. `client` is a sync Prefect client; with `schedule_first` the server
    first creates the runs its scheduler would (the call the scheduler service makes), so a fresh
    deployment has them."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    deployment_id = deployment_id or client.read_deployment_by_name(NIGHTLY).id
    if schedule_first:
        client.request("POST", "/deployments/{id}/schedule", path_params={"id": str(deployment_id)}, json={}).raise_for_status()
    runs, page = [], None
    while page is None or len(page) == PAGE:
        page = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=PAGE, offset=len(runs))
        runs += page
    renamed = 0
    for run in runs:
        wanted = nightly_name((run.parameters or {}).get("day"), run.expected_start_time)
        if run.name != wanted:
            client.update_flow_run(run.id, name=wanted)
            renamed += 1
    return renamed


def main() -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        renamed = name_scheduled_nightlies(client, schedule_first=True)
    print(f"scheduled nightly runs: {renamed} named nightly-<day>")


if __name__ == "__main__":
    main()
