"""The Dask task runner (a distributed.LocalCluster on this machine) writes exactly the lake the
thread runner writes."""

from __future__ import annotations

from datetime import date

import pytest

from flows.flow import route53_lake_day
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
