"""Nightly recheck of late files, backfills with per-day child runs, artifacts, and two runs of
the same day at once, on a real Prefect API."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date

import pytest
from prefect import get_client

from flows import route53_lake as flows
from flows.lake.manifests import MANIFESTS
from flows.orchestration.backfill import BackfillFailed
from flows.query.summary import lake_tag
from flows.settings import LakeSettings
from flows.storage.store import Store
from tests.conftest import a_record, gz, lake_files, log_key, route53_record

ACCT = "123456789012"
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
pytestmark = pytest.mark.slow


def put(root, day: date, stamp: str, unique: str, *records, age_seconds: float = 0) -> None:
    path = root / "trail" / log_key(ACCT, day.isoformat(), stamp, unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz(list(records)))
    if age_seconds:  # as CloudTrail's files are when a nightly run finds them: written long before
        os.utime(path, (time.time() - age_seconds, time.time() - age_seconds))


@pytest.fixture
def three_days(tmp_path):
    """tmp_path/trail: three delivery days, one file each, of one event with two changes; written an hour ago."""
    for n, day in enumerate((D1, D2, D3)):
        put(tmp_path, day, "0900", f"Base{n}AbCdEfGhIjK", route53_record(
            f"e{n}", f"{day}T08:59:00Z", a_record(f"r{n}.example.com.", "192.0.2.1"), a_record(f"s{n}.example.com.", "192.0.2.2", action="DELETE")),
            age_seconds=3600)
    return tmp_path


@pytest.fixture
def reads(monkeypatch):
    """The log files actually read, in order."""
    seen, original = [], Store.read_bytes

    def recording(self, relative, *args, **kwargs):
        if "/CloudTrail/" in relative:
            seen.append(relative)
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", recording)
    return seen


def settings_for(root, workers: int = 1) -> LakeSettings:
    """workers=1: files are read in the flow's own process, where these tests watch the reads."""
    return LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), workers=workers)


def test_nightly_rereads_only_the_earlier_day_that_got_a_late_file(prefect_server, three_days, reads):
    flows.nightly(settings=settings_for(three_days), day=D2, recheck_days=1)
    assert sorted({r.split("/CloudTrail/")[1][10:20] for r in reads}) == ["2026/11/01", "2026/11/02"]  # first run: both

    reads.clear()
    flows.nightly(settings=settings_for(three_days), day=D2, recheck_days=1)
    assert all("/2026/11/02/" in r for r in reads) and reads  # D1 unchanged: listed, not read

    put(three_days, D1, "2350", "LateFileAbCdEfGhI", route53_record("late", "2026-11-01T23:40:00Z", a_record("late.example.com.", "192.0.2.9")))
    reads.clear()
    run = flows.nightly(settings=settings_for(three_days), day=D2, recheck_days=1)
    assert any("LateFileAbCdEfGhI" in r for r in reads) and any("/2026/11/01/" in r for r in reads)
    assert run.total("events_written") == 3  # D1 now has two events, D2 one


def test_backfill_runs_every_day_and_reports_the_one_that_failed(prefect_server, three_days, monkeypatch):
    original = Store.read_bytes

    def broken_d2(self, relative, *args, **kwargs):
        if "/2026/11/02/" in relative:
            raise PermissionError("AccessDenied: s3:GetObject")
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", broken_d2)
    # the cause of the failed day, in one line, in the parent's message
    with pytest.raises(BackfillFailed, match="1 of 3 day\\(s\\) failed: 2026-11-02: .*PermissionError: AccessDenied: s3:GetObject"):
        flows.backfill(start=D1, end=D3, settings=settings_for(three_days))
    published = sorted(p.parent.name for p in (three_days / "lake" / MANIFESTS).glob("*/*.json"))
    assert published == ["delivery_date=2026-11-01", "delivery_date=2026-11-03"]
    rows = table_rows(artifact(f"route53-lake-backfill-{lake_tag(str(three_days / 'lake'))}"))
    assert [(r["delivery_day"], r["run"].split("]")[0].lstrip("["), r["state"], r["events_written"]) for r in rows] == [
        ("2026-11-01", "day-2026-11-01", "COMPLETED", 1), ("2026-11-02", "day-2026-11-02", "FAILED", None),
        ("2026-11-03", "day-2026-11-03", "COMPLETED", 1)]
    assert [r["error"] is None for r in rows] == [True, False, True]
    assert "PermissionError: AccessDenied: s3:GetObject" in rows[1]["error"] and "\n" not in rows[1]["error"]


def test_backfill_with_a_wrong_prefix_fails_once_before_any_child_run(prefect_server, tmp_path):
    (tmp_path / "wrong" / "AWSLogs").mkdir(parents=True)
    state = flows.backfill(start=D1, end=D3, settings=LakeSettings(source=str(tmp_path / "wrong"), lake=str(tmp_path / "lake")),
                           return_state=True)
    assert state.is_failed() and "check the source prefix" in state.message
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="day-2026-11-0")))
    assert not [c for c in children if c.parameters.get("settings", {}).get("source") == str(tmp_path / "wrong")]
    assert not (tmp_path / "lake").exists()


def test_backfill_preflight_reads_public_keys_on_s3_before_any_child_run(prefect_server, s3, bucket, tmp_path):
    """The pre-flight check (flows/checks.py) reads `digest_public_keys` from S3 once for the whole
    backfill: keys that are there let every day verify its digests; keys that are not fail the
    backfill before any child run, naming the file."""
    from tests.source.test_digests import SignedTrail

    signed = SignedTrail(s3, bucket)
    settings = LakeSettings(source=f"s3://{bucket}", lake=str(tmp_path / "lake"), accounts=[ACCT], workers=1,
                            digest_signatures="verify", digest_public_keys=signed.public_keys)
    assert flows.backfill(start=D1, end=D1, settings=settings) == {D1.isoformat(): "COMPLETED"}
    (manifest,) = (tmp_path / "lake" / MANIFESTS / f"delivery_date={D1}").glob("*.json")
    assert json.loads(manifest.read_text())["digest_check"]["signatures_verified"] == 1

    missing = f"s3://{bucket}/keys/nowhere.json"
    elsewhere = settings.model_copy(update={"digest_public_keys": missing, "lake": str(tmp_path / "other")})
    state = flows.backfill(start=D1, end=D1, settings=elsewhere, return_state=True)
    assert state.is_failed() and f"digest_public_keys: cannot use {missing}" in state.message
    assert not (tmp_path / "other").exists()


def test_backfill_days_run_at_once_in_threads_and_the_lake_equals_a_sequential_run(prefect_server, three_days, monkeypatch):
    """Without a deployment the children run in threads of the parent's process, up to
    backfill_concurrency at once: the spans of their `list-day` tasks overlap (each waits for the
    others to start, so a sequential run would hang here and fail the barrier instead)."""
    from flows import pipeline

    barrier, original = threading.Barrier(3, timeout=60), pipeline.find_trails
    spans = {}

    def meeting_list(store, accounts):
        import prefect.runtime

        run = str(prefect.runtime.flow_run.name)
        if not run.startswith("day-"):  # the parent's pre-flight check of the source
            return original(store, accounts)
        spans[run] = time.monotonic()
        barrier.wait()  # all three days are listing at once, or this raises BrokenBarrierError
        return original(store, accounts)

    monkeypatch.setattr(pipeline, "find_trails", meeting_list)
    fanned = settings_for(three_days).model_copy(update={"backfill_concurrency": 3})
    assert flows.backfill(start=D1, end=D3, settings=fanned) == {d.isoformat(): "COMPLETED" for d in (D1, D2, D3)}
    assert sorted(spans) == ["day-2026-11-01", "day-2026-11-02", "day-2026-11-03"]
    monkeypatch.setattr(pipeline, "find_trails", original)
    sequential = settings_for(three_days).model_copy(update={"lake": str(three_days / "sequential"), "backfill_concurrency": 1})
    flows.backfill(start=D1, end=D3, settings=sequential)
    assert lake_files(three_days / "lake") == lake_files(three_days / "sequential")


@pytest.mark.parametrize(("start", "end", "words"), [
    (D3, D1, "is after end"), (date(2999, 1, 1), date(2999, 1, 2), "in the future"),
    (date(2024, 1, 1), date(2025, 6, 1), "at most 366 days"),
])
def test_backfill_refuses_bad_ranges_with_a_clear_message(prefect_server, three_days, start, end, words):
    with pytest.raises(Exception, match=words):
        flows.backfill(start=start, end=end, settings=settings_for(three_days))


def test_run_leaves_a_table_a_progress_and_a_dns_summary_artifact(prefect_server, three_days):
    lake = str(three_days / "lake")
    flows.route53_lake(start=D1, end=D2, source=str(three_days / "trail"), lake=lake)
    rows = table_rows(artifact(f"route53-lake-days-{lake_tag(lake)}"))
    assert [(r["delivery_day"], r["events_written"], r["record_changes_written"], r["files_read"], r["files_rejected"]) for r in rows] == [
        ("2026-11-01", 1, 2, 1, 0), ("2026-11-02", 1, 2, 1, 0)]
    summary = artifact(f"route53-dns-changes-2026-11-02-{lake_tag(lake)}").data
    assert summary.startswith("# Route 53 changes on 2026-11-02") and f"the lake at `{lake}`" in summary
    assert "**2** record change(s) applied, **1** deletion(s)" in summary and "s1.example.com." in summary


def test_the_progress_artifact_reaches_100_without_an_api_call_per_folder(prefect_server, tmp_path, monkeypatch):
    """Each progress update is an API call the run waits for: a day of 12 folders read within a
    second or two sends a few, not one per folder, and the bar still ends at 100."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterId

    accounts = [f"{100000000000 + 7919 * i:012d}" for i in range(12)]
    for i, account in enumerate(accounts):
        key = tmp_path / "trail" / log_key(account, D1.isoformat())
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(gz([route53_record(f"e{i}", "2026-11-01T10:00:00Z", a_record(f"h{i}.example.com.", "192.0.2.1"))]))
    created, sent = [], []
    real_create, real_update = flows.create_progress_artifact, flows.update_progress_artifact
    monkeypatch.setattr(flows, "create_progress_artifact", lambda **kw: created.append(real_create(**kw)) or created[-1])
    monkeypatch.setattr(flows, "update_progress_artifact", lambda artifact_id, progress: sent.append(progress) or real_update(artifact_id, progress))
    started = time.monotonic()
    flows.route53_lake(start=D1, end=D1, settings=settings_for(tmp_path))
    elapsed = time.monotonic() - started
    assert 1 <= len(sent) <= 2 + elapsed / flows._Progress.SECONDS and sent[-1] == 100  # at most one per interval, and the day's end
    with get_client(sync_client=True) as client:
        (artifact_,) = client.read_artifacts(artifact_filter=ArtifactFilter(id=ArtifactFilterId(any_=[created[0]])))
    assert artifact_.type == "progress" and artifact_.data == 100


def test_progress_sends_a_folder_only_when_the_last_update_is_old_and_every_days_end(monkeypatch):
    now, sent = [100.0], []
    monkeypatch.setattr(flows, "update_progress_artifact", lambda artifact_id, progress: sent.append(progress))
    progress = flows._Progress("artifact-id", days=2, clock=lambda: now[0])
    for folder in range(12):  # twelve folders within a second
        now[0] += 0.05
        progress.update(folder / 12)
    assert sent == []
    now[0] += flows._Progress.SECONDS
    progress.update(0.99)
    progress.day_done()
    assert sent == [pytest.approx(49.5), 50.0]
    progress.update(1.5)  # right after the day's end: not again
    progress.day_done()
    assert sent[-1] == 100 and len(sent) == 3


def test_a_recheck_that_reads_nothing_leaves_every_summary_complete(prefect_server, three_days):
    """A nightly run, then the same nightly again (nothing changed: no file is read): each event
    date's DNS summary is rebuilt from the lake, the same page, not "0 record change(s)"."""
    put(three_days, D2, "2350", "LateForD1AbCdEfGh", route53_record("late1", "2026-11-01T23:50:00Z", a_record("late.example.com.", "192.0.2.9")),
        age_seconds=3600)  # delivered on D2, an event of D1
    settings = settings_for(three_days)
    keys = [f"route53-dns-changes-{d}-{lake_tag(settings.lake)}" for d in (D1, D2, D3)]
    flows.nightly(settings=settings, day=D3, recheck_days=2)
    first = [artifact(k).data for k in keys]
    assert "**3** record change(s) applied" in first[0] and "late.example.com." in first[0]  # D1's two, and the late one
    flows.nightly(settings=settings, day=D3, recheck_days=2)
    again = [artifact(k).data for k in keys]
    assert again == first


def artifact(key: str):
    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_latest_artifacts()}[key]


def table_rows(table) -> list[dict]:
    return table.data if isinstance(table.data, list) else json.loads(table.data)


def test_two_runs_of_the_same_day_at_once_take_turns_and_the_lake_is_right(prefect_server, three_days, monkeypatch):
    """The folder's lake lock (not Prefect) makes them take turns: each span starts inside the lock
    (when the folder is listed again) and ends after its staging returned, lock released."""
    from flows import pipeline

    spans, began, original_current, original_stage = [], {}, pipeline.current_folder, pipeline.stage_folder

    def slow_current(*args):
        began[threading.get_ident()] = time.monotonic()
        time.sleep(3)  # long enough that unlocked runs would overlap here
        return original_current(*args)

    def timed_stage(*args):
        staged = original_stage(*args)
        spans.append((began[threading.get_ident()], time.monotonic()))
        return staged

    monkeypatch.setattr(pipeline, "current_folder", slow_current)
    monkeypatch.setattr(pipeline, "stage_folder", timed_stage)
    errors = []

    def one_run():
        try:
            flows.route53_lake(start=D2, source=str(three_days / "trail"), lake=str(three_days / "lake"))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(spans) == 2
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert a_end <= b_start  # the folder's lock made them take turns
    from flows.query.duckdb_lake import connect

    con = connect(str(three_days / "lake"))
    assert con.sql("select count(*), count(distinct event_id) from events").fetchall() == [(1, 1)]
    assert con.sql("select count(*) from record_changes").fetchall() == [(2,)]


def test_a_folder_is_one_task_run_its_files_parsed_on_worker_processes(prefect_server, tmp_path):
    """A Prefect task run costs tens of milliseconds, as much as reading a small file: a folder is
    one task run whatever its number of files, and the parsing runs on processes, not threads."""
    for n in range(40):
        put(tmp_path, D1, f"{n // 60:02d}{n % 60:02d}", f"Many{n:02d}AbCdEfGhIjK", route53_record(f"m{n}", f"{D1}T08:00:00Z"))
    from datetime import UTC, datetime

    since = datetime.now(UTC)
    state = flows.route53_lake(start=D1, settings=settings_for(tmp_path, workers=2), return_state=True)
    run = state.result()
    assert run.total("events_written") == 40 and run.total("files_listed") == 40
    assert run.largest_worker_mib  # reported by the worker processes that parsed the files
    with get_client(sync_client=True) as client:
        names = [t.name for t in client.read_task_runs() if t.name.startswith("folder-") and t.created >= since]
    assert names == [f"folder-{D1}-123456789012-us-east-1"]
