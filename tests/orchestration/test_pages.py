"""What a person sees of a run that did not go all well, on a real Prefect API: an incomplete day's
page opens with INCOMPLETE, a night without logs gets a page that says so, a backfill with a
warning child says so in its state, and a day retried after its backfill ended brings the backfill
(its state, table and pages) up to date."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from prefect import get_client

from flows import route53_lake as flows
from flows.query.summary import lake_tag
from flows.settings import LakeSettings
from flows.storage.store import Store
from tests.conftest import a_record, gz, log_key, route53_record

ACCT, OTHER = "123456789012", "210987654321"
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
pytestmark = pytest.mark.slow


def put(root, account: str, day: date, unique: str, data: bytes) -> None:
    path = root / "trail" / log_key(account, day.isoformat(), "0900", unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def change(n: int, day: date) -> bytes:
    return gz([route53_record(f"e{n}-{day}", f"{day}T08:59:00Z", a_record(f"r{n}.example.com.", "192.0.2.1"))])


def settings_for(root) -> LakeSettings:
    return LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), workers=1)


def page(lake: str, event_date: date, flow_run_id=None) -> str:
    key = f"route53-dns-changes-{event_date}-{lake_tag(lake)}"
    return artifacts(key, flow_run_id)[-1].data


def artifacts(key: str, flow_run_id=None) -> list:
    """The versions of a keyed artifact (on one run when given), oldest first."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    runs = ArtifactFilterFlowRunId(any_=[flow_run_id]) if flow_run_id else None
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]), flow_run_id=runs),
                                      sort=ArtifactSort.CREATED_DESC)
    return found[::-1]


def rows_of(artifact) -> list[dict]:
    return artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)


def denied_for(monkeypatch, *parts: str) -> None:
    """Reading any log file whose key holds every one of `parts` is refused, as S3 would."""
    original = Store.read_bytes

    def refusing(self, relative, *args, **kwargs):
        if all(p in relative for p in parts):
            raise PermissionError("AccessDenied: s3:GetObject")
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", refusing)


def test_an_incomplete_day_says_so_above_its_totals_and_its_state_gives_the_reason_first(prefect_server, tmp_path, monkeypatch):
    put(tmp_path, ACCT, D2, "OkAbCdEfGhIjKlMn", change(1, D2))
    put(tmp_path, OTHER, D2, "LostAbCdEfGhIjKl", change(2, D2))
    denied_for(monkeypatch, f"/{OTHER}/", "/2026/11/02/")
    settings = settings_for(tmp_path)
    state = flows.route53_lake(start=D2, settings=settings, return_state=True)
    assert state.is_failed()
    assert state.message.startswith("PermissionError: AccessDenied: s3:GetObject (1 part(s) of 2026-11-02 not published")
    assert state.message.index("To retry") < state.message.index(f"AWSLogs/{OTHER}/CloudTrail/us-east-1/2026/11/02")
    text = page(settings.lake, D2)
    lines = text.splitlines()
    assert lines[0] == "# Route 53 changes on 2026-11-02" and lines[2].startswith("> **INCOMPLETE**: 1 part(s) of delivery day 2026-11-02")
    assert text.index("INCOMPLETE") < text.index("record change(s) applied")
    assert f"`AWSLogs/{OTHER}/CloudTrail/us-east-1/2026/11/02`: PermissionError: AccessDenied" in text
    assert f"`.venv/bin/route53-lake --source {settings.source} --lake {settings.lake} --day 2026-11-02`" in text


def test_a_failed_day_with_nothing_in_the_lake_still_gets_its_incomplete_page(prefect_server, tmp_path, monkeypatch):
    put(tmp_path, ACCT, D1, "OkAbCdEfGhIjKlMn", change(1, D1))
    put(tmp_path, ACCT, D2, "LostAbCdEfGhIjKl", change(2, D2))
    denied_for(monkeypatch, "/2026/11/02/")
    settings = settings_for(tmp_path)
    assert flows.route53_lake(start=D1, end=D2, settings=settings, return_state=True).is_failed()
    assert "> **INCOMPLETE**" in page(settings.lake, D2) and "**0** record change(s) applied" in page(settings.lake, D2)
    assert "INCOMPLETE" in page(settings.lake, D1)  # D2's files can hold events of the evening before


def test_a_night_without_logs_gets_a_page_that_says_so(prefect_server, tmp_path):
    put(tmp_path, ACCT, D1, "OkAbCdEfGhIjKlMn", change(1, D1))
    settings = settings_for(tmp_path)
    state = flows.nightly(settings=settings, day=D3, recheck_days=0, return_state=True)
    assert state.is_completed() and state.name == "Completed with warnings"
    assert state.message.startswith("no CloudTrail logs on 2026-11-03. To do: check that the trail still delivers")
    text = page(settings.lake, D3)
    assert text.splitlines()[2].startswith(f"> **NO LOGS**: delivery day 2026-11-03 had no CloudTrail log file under `{settings.source}`")
    with get_client(sync_client=True) as client:
        assert "warnings" in client.read_flow_run(state.state_details.flow_run_id).tags


def test_a_backfill_with_a_warning_child_says_so_in_its_state_and_links_its_days(prefect_server, tmp_path):
    for day in (D1, D2, D3):
        put(tmp_path, ACCT, day, "OkAbCdEfGhIjKlMn", change(1, day))
    put(tmp_path, ACCT, D2, "CutAbCdEfGhIjKlM", change(2, D2)[:30])  # a truncated gzip: rejected
    settings = settings_for(tmp_path)
    state = flows.backfill(start=D1, end=D3, settings=settings, return_state=True)
    assert state.is_completed() and state.name == "Completed with warnings"
    assert state.message.startswith("1 of 3 day(s) finished with warnings: 2026-11-02: 1 file(s) rejected. To do: open each day's run")
    with get_client(sync_client=True) as client:
        assert "warnings" in client.read_flow_run(state.state_details.flow_run_id).tags
    (table,) = artifacts(f"route53-lake-backfill-{lake_tag(settings.lake)}", state.state_details.flow_run_id)
    rows = rows_of(table)
    assert [r["state_name"] for r in rows] == ["Completed", "Completed with warnings", "Completed"]
    assert all(re.fullmatch(rf"\[day-{d}\]\(\S*/runs/flow-run/[0-9a-f-]{{36}}\)", r["run"]) for r, d in zip(rows, (D1, D2, D3), strict=True))


def test_a_day_retried_after_its_backfill_failed_brings_the_backfill_up_to_date(prefect_server, tmp_path, monkeypatch):
    from prefect.flow_engine import run_flow
    from prefect.states import AwaitingRetry

    for day in (D1, D2, D3):
        put(tmp_path, ACCT, day, "OkAbCdEfGhIjKlMn", change(1, day))
    settings = settings_for(tmp_path)
    original = Store.read_bytes
    denied_for(monkeypatch, "/2026/11/02/")
    parent = flows.backfill(start=D1, end=D3, settings=settings, return_state=True)
    parent_id = parent.state_details.flow_run_id
    assert parent.is_failed() and parent.message.startswith("1 of 3 day(s) failed: 2026-11-02: ")
    assert "> **INCOMPLETE**" in page(settings.lake, D2, parent_id)

    monkeypatch.setattr(Store, "read_bytes", original)  # access fixed; the person presses Retry on day-2026-11-02
    since = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])))
        (child,) = [c for c in children if c.name == "day-2026-11-02"]
        client.set_flow_run_state(child.id, AwaitingRetry(), force=True)
        child = client.read_flow_run(child.id)
    retried = run_flow(flows.route53_lake_day, flow_run=child, parameters={"day": D2, "settings": settings}, return_type="state")
    assert retried.is_completed()

    with get_client(sync_client=True) as client:
        refreshed = client.read_flow_run(parent_id)
    assert refreshed.state.type.value == "COMPLETED"
    assert refreshed.state.message.startswith("2026-11-02 retried by run day-2026-11-02: Completed. all 3 day(s) completed")
    (table,) = artifacts(f"route53-lake-backfill-{lake_tag(settings.lake)}", parent_id)  # the old version is gone
    assert table.created >= since
    assert [(r["delivery_day"], r["state"], r["events_written"]) for r in rows_of(table)] == [
        ("2026-11-01", "COMPLETED", 1), ("2026-11-02", "COMPLETED", 1), ("2026-11-03", "COMPLETED", 1)]
    pages = artifacts(f"route53-dns-changes-{D2}-{lake_tag(settings.lake)}", parent_id)
    assert len(pages) == 1 and "INCOMPLETE" not in pages[0].data and "r1.example.com." in pages[0].data


def test_a_digest_finding_under_digest_policy_fail_gives_its_reason_first(prefect_server, tmp_path):
    import shutil

    from flows.results import DigestMismatchError
    from tests.conftest import DATA

    shutil.copytree(DATA / "cloudtrail", tmp_path / "trail")
    promised = next(p for p in (tmp_path / "trail").rglob("*_20261101T11*Z_*.json.gz"))
    promised.unlink()  # a file the day's digest lists
    settings = settings_for(tmp_path).model_copy(update={"digest_policy": "fail"})
    state = flows.route53_lake(start=D1, settings=settings, return_state=True)
    assert state.is_failed() and not state.message.startswith(("Flow run", "DigestMismatchError"))
    assert "1 missing" in state.message.split(" (CloudTrail digest findings")[0]
    with pytest.raises(DigestMismatchError):
        state.result()
