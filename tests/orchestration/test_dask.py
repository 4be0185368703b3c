"""The Dask task runner (a distributed.LocalCluster on this machine) writes exactly the lake the
thread runner writes."""

from __future__ import annotations

from datetime import date

import pytest

from flows.route53_lake import route53_lake_day
from flows.settings import LakeSettings
from tests.conftest import DATA, lake_files

pytestmark = pytest.mark.slow


def test_dask_local_cluster_gives_the_same_lake_as_threads(prefect_server, tmp_path):
    day = date(2026, 11, 2)  # the day with a duplicate and a truncated file
    threads = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "threads"))
    dask = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "dask"), task_runner="dask")
    by_threads = route53_lake_day(day=day, settings=threads)
    by_dask = route53_lake_day(day=day, settings=dask)
    assert by_dask.total("events_written") == by_threads.total("events_written") > 0
    assert by_dask.total("files_rejected") == 1
    assert lake_files(tmp_path / "dask") == lake_files(tmp_path / "threads")


def test_backfill_on_a_dask_cluster_of_two_runs_days_at_once_and_gives_the_sequential_lake(prefect_server, tmp_path):
    """task_runner dask: each day its own child run day-YYYY-MM-DD, two at once, all sending their
    tasks to one LocalCluster of backfill_concurrency (2) worker processes started for the backfill."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    from flows.route53_lake import backfill

    start, end = date(2026, 11, 1), date(2026, 11, 3)
    fanned = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "dask"), task_runner="dask", backfill_concurrency=2)
    state = backfill(start=start, end=end, settings=fanned, return_state=True)
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(state.state_details.flow_run_id)
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id])))
    spans = sorted((c.start_time, c.end_time, c.name) for c in children)
    assert [name for _, _, name in sorted(spans, key=lambda s: s[2])] == ["day-2026-11-01", "day-2026-11-02", "day-2026-11-03"]
    assert len({c.parameters["settings"]["dask_address"] for c in children}) == 1  # one cluster for every day
    assert any(a_end > b_start for (_, a_end, _), (b_start, _, _) in zip(spans, spans[1:], strict=False))  # two days overlapped

    sequential = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "sequential"), backfill_concurrency=1)
    backfill(start=start, end=end, settings=sequential)
    assert lake_files(tmp_path / "dask") == lake_files(tmp_path / "sequential")
