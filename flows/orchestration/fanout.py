"""Where a backfill's days run: each day its own child flow run `day-YYYY-MM-DD` (visible and
retryable alone), at most `settings.backfill_concurrency` at once, on

- the work pool, when the backfill itself runs from a deployment and the day deployment
  (`route53-lake-day/day`) exists: N process workers publish N days at once;
- the Dask cluster, when `settings.task_runner` is dask: the child runs start in threads here and
  all send their tasks to one cluster (`settings.dask_address`, or a LocalCluster of
  backfill_concurrency workers started for the backfill);
- else threads of the backfill's process.

Days take turns on shared folders and partitions through the lake's locks. The parent reports
them (flows/orchestration/backfill.py)."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import prefect.runtime
from prefect import get_run_logger

from flows.orchestration.day_outcomes import DayOutcome, day_outcome
from flows.query.summary import lake_tag
from flows.settings import LakeSettings

DAY_DEPLOYMENT = "route53-lake-day/day"


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
        return day_outcome(day.isoformat(), state, time.monotonic() - started, f"day-{day}")

    return _bounded(one, days, settings.backfill_concurrency)


def _on_work_pool(settings: LakeSettings, days: list[date]) -> list[DayOutcome]:
    from prefect.deployments import run_deployment

    parameters = settings.model_dump(mode="json", exclude_none=True)  # null is not a value the schema takes

    def one(day: date) -> DayOutcome:
        started = time.monotonic()
        child = run_deployment(DAY_DEPLOYMENT, parameters={"day": day.isoformat(), "settings": parameters},
                               flow_run_name=f"day-{day}", timeout=None, poll_interval=2, as_subflow=True)
        counts = _table_row(child.id, settings) if child.state.is_completed() else None
        return day_outcome(day.isoformat(), child.state, time.monotonic() - started, child.name, counts, str(child.id))

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


def days_as_children(day_flow: Callable, settings: LakeSettings, days: list[date]) -> tuple[str, list[DayOutcome]]:
    """Every day as its own child run, where they run (where_days_run); (where, their outcomes)."""
    where = where_days_run(settings)
    get_run_logger().info("backfill of %d delivery day(s), %s to %s: up to %d at once (%s)",
                          len(days), days[0], days[-1], settings.backfill_concurrency, where)
    if where == "work pool":
        return where, _on_work_pool(settings, days)
    if where == "dask":
        return where, _on_dask(day_flow, settings, days)
    return where, _in_threads(day_flow, settings, days)
