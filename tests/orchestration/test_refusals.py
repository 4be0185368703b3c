"""Flow runs refused before any work, and the names a run's parts carry (issue 20, items 6 and 7),
on a real Prefect API: a missing S3 lake bucket or a reversed range ends the run Failed with one
line that says which setting is at fault, no traceback in its log, no file read, no child run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, LogFilter, LogFilterFlowRunId

from flows import route53_lake as flows
from flows.settings import LakeSettings
from flows.storage.store import Store
from tests.conftest import a_record, gz, log_key, route53_record

ACCT = "123456789012"
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
pytestmark = pytest.mark.slow


def run_log(state) -> list[str]:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # the run's log lines are sent in batches
    with get_client(sync_client=True) as client:
        return [log.message for log in client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))]


def assert_refused_in_one_line(state, words: str) -> None:
    assert state.is_failed() and state.message.startswith(f"refused before any work: {words}"), state.message
    assert "\n" not in state.message
    logs = run_log(state)
    assert not any("Traceback" in message for message in logs), logs
    assert any(message.startswith(f"refused before any work: {words}") for message in logs), logs


@pytest.fixture
def s3_trail(s3, bucket) -> str:
    for day in (D1, D2):
        s3.pipe(f"{bucket}/pfx/{log_key(ACCT, day.isoformat())}",
                gz([route53_record(f"e{day.day}", f"{day}T10:00:00Z", a_record("e.example.com.", "192.0.2.1"))]))
    return bucket


@pytest.fixture
def reads(monkeypatch):
    seen, original = [], Store.read_bytes

    def recording(self, relative, *args, **kwargs):
        seen.append(relative)
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", recording)
    return seen


MISSING_LAKE = "lake: the S3 bucket no-such-lake-bucket does not exist; create it, or give the lake (--lake) a bucket that exists"


@pytest.mark.parametrize("flow", ["route53_lake", "nightly", "backfill"])
def test_a_missing_lake_bucket_fails_the_run_before_any_file_is_read(prefect_server, s3_trail, reads, flow):
    """Before: every file was read, then the folder failed: '1 part(s) of the run failed, the rest was published'."""
    settings = LakeSettings(source=f"s3://{s3_trail}/pfx", lake="s3://no-such-lake-bucket/route53", workers=1)
    since = datetime.now(UTC)
    call = {"route53_lake": lambda: flows.route53_lake(start=D1, end=D2, settings=settings, return_state=True),
            "nightly": lambda: flows.nightly(settings=settings, day=D2, recheck_days=1, return_state=True),
            "backfill": lambda: flows.backfill(start=D1, end=D2, settings=settings, return_state=True)}[flow]
    assert_refused_in_one_line(call(), MISSING_LAKE)
    assert reads == []
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="day-2026-11-0")))
    assert not [c for c in children if c.created >= since]


@pytest.mark.parametrize("flow", ["route53_lake", "backfill"])
def test_a_reversed_range_fails_the_run_in_one_line_without_a_traceback(prefect_server, tmp_path, flow):
    """As the backfill form can post it: before, the run's log held the SettingsError's traceback."""
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"))
    state = getattr(flows, flow)(start=D3, end=D1, settings=settings, return_state=True)
    assert_refused_in_one_line(state, f"start {D3} is after end {D1}")
    assert not (tmp_path / "lake").exists()


def test_a_run_and_its_tasks_say_which_days_they_cover(prefect_server, tmp_path):
    trail = tmp_path / "trail"
    for day in (D1, D3):
        path = trail / log_key(ACCT, day.isoformat())
        path.parent.mkdir(parents=True)
        path.write_bytes(gz([route53_record(f"e{day.day}", f"{day}T10:00:00Z", a_record("e.example.com.", "192.0.2.1"))]))
    settings = LakeSettings(source=str(trail), lake=str(tmp_path / "lake"), workers=1)
    since = datetime.now(UTC)
    state = flows.route53_lake(days=[D3, D1], settings=settings, return_state=True)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        tasks = sorted(t.name for t in client.read_task_runs() if t.created >= since and t.flow_run_id == run.id)
    assert run.name == f"route53-lake-{D1}..{D3}"  # days alone (--day): before, 'route53-lake-2026-11-01+2day(s)'
    assert tasks == ["find-accounts", f"folder-{D1}-{ACCT}-us-east-1", f"folder-{D3}-{ACCT}-us-east-1",
                     f"list-{D1}", f"list-{D3}", f"publish-{D1}", f"publish-{D3}"]
