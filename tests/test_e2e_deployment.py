"""End to end, as an operator runs it: a real Prefect server, the `local-process` work pool, the
deployments of prefect.yaml (deployed with the README's command), a worker, and a backfill started
through the REST API exactly as the UI's "Custom run" starts it. The lake, the child runs and the
artifacts it leaves are checked against the sample's oracle (data/expected.json)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA
from tests.prefect_server import expected_events_by_event_date, lake_events_by_event_date, partitions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXPECTED = json.loads((DATA / "expected.json").read_text())
DAYS = ["2026-11-01", "2026-11-02"]  # 11-02 holds a late 11-01 event, a duplicate and a corrupt file


def test_the_nightly_schedule_is_stored(deployed_prefect):
    nightly = deployed_prefect.deployment("route53-lake-nightly", "nightly")
    schedules = [s["schedule"] for s in nightly["schedules"] if s["active"]]
    assert [(s.get("cron"), s.get("timezone")) for s in schedules] == [("15 4 * * *", "UTC")]
    assert nightly["work_pool_name"] == "local-process"
    assert deployed_prefect.deployment("route53-lake-backfill", "backfill")["schedules"] == []


def test_a_custom_run_of_the_backfill_deployment_publishes_each_day(deployed_prefect, tmp_path):
    server, lake = deployed_prefect, tmp_path / "lake"
    with server.explain_failure():
        backfill = server.deployment("route53-lake-backfill", "backfill")
        # What the UI's Custom run form posts: the whole parameters object, settings included.
        settings = {**backfill["parameters"]["settings"], "source": str(DATA / "cloudtrail"), "lake": str(lake)}
        run = server.post(f"/deployments/{backfill['id']}/create_flow_run",
                          {"parameters": {"start": DAYS[0], "end": DAYS[-1], "settings": settings}})
        run = server.wait_for_run(run["id"], timeout=180)
        assert run["state_type"] == "COMPLETED", run["state"]
        assert run["parameters"]["settings"]["lake"] == str(lake)

        # The lake: exactly the event_date partitions (and rows) the oracle expects for these days.
        expected = expected_events_by_event_date(EXPECTED, DAYS)
        assert partitions(lake, "events") == [f"event_date={d}" for d in sorted(expected)]
        assert lake_events_by_event_date(lake) == expected

        # One child run `route53-lake-day` per day, each completed.
        children = server.children([run["id"]])
        days = {c["parameters"]["day"]: c for c in children}
        assert sorted(days) == DAYS and len(children) == len(DAYS)
        assert {c["name"] for c in children} == {f"day-{d}" for d in DAYS}
        assert all(c["state_type"] == "COMPLETED" for c in children)

        # Artifacts, made inside each day's publishing subflow: the per-day table and the DNS summary.
        grandchildren = server.children([c["id"] for c in children])
        artifacts = server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [g["id"] for g in grandchildren]}}})
        tables = [a for a in artifacts if a["key"] == "route53-lake-days"]
        assert len(tables) == len(DAYS) and {a["type"] for a in tables} == {"table"}
        rows = {}
        for table in tables:
            data = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
            rows.update({r["delivery_day"]: r for r in data})
        assert sorted(rows) == DAYS
        for day in DAYS:
            oracle = EXPECTED["days"][day]["by_region"]["us-east-1"]
            row = rows[day]
            assert row["events_written"] == sum(oracle["events_by_event_date"].values()), day
            assert row["record_changes_written"] == oracle["change_rows"], day
            assert row["duplicates_dropped"] == len(oracle["duplicate_event_ids"]), day
            assert row["files_read"] == oracle["log_files"] + len(oracle["corrupt_files"]), day
            assert row["quarantined"] == len(oracle["corrupt_files"]), day
            assert row["route53_records"] == oracle["route53_records"], day

        markdown = {a["key"]: a for a in artifacts if a["type"] == "markdown"}
        assert sorted(markdown) == [f"route53-dns-changes-{d}" for d in DAYS]
        for day in DAYS:
            oracle = EXPECTED["days"][day]["by_region"]["us-east-1"]
            text = markdown[f"route53-dns-changes-{day}"]["data"]
            assert text.startswith(f"# Route 53 changes delivered {day}")
            assert f"**{oracle['change_rows_without_errors']}** record change(s) applied" in text, text[:300]
