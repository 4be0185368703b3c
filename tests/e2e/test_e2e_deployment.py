"""End to end, as an operator runs it: a real Prefect server, the `local-process` work pool, the
deployments of prefect.yaml (deployed with the README's command), a worker, and a backfill started
through the REST API exactly as the UI's "Custom run" starts it. The lake, the child runs and the
artifacts it leaves are checked against the sample's oracle (data/expected.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from flows.query.duckdb_lake import connect
from flows.query.summary import lake_tag
from tests.conftest import DATA, ROOT, lake_files
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
    assert deployed_prefect.deployment("route53-lake-day", "day")["schedules"] == []


def test_a_custom_run_of_the_backfill_deployment_publishes_each_day(deployed_prefect, tmp_path):
    server, lake = deployed_prefect, tmp_path / "lake"
    with server.explain_failure():
        backfill = server.deployment("route53-lake-backfill", "backfill")
        # What the UI's Custom run form posts: the whole parameters object, settings included.
        # Narrowed to what the oracle's per-day counts cover (the default, the whole Route 53 family
        # in every region, is what tests/e2e/test_ui_browser.py posts).
        settings = {**backfill["parameters"]["settings"], "source": str(DATA / "cloudtrail"), "lake": str(lake),
                    "regions": ["us-east-1"], "event_sources": ["route53.amazonaws.com"]}
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

        # Artifacts on the run a person opens: each child run `day-YYYY-MM-DD` holds its table and
        # the DNS summaries of the event dates it touched; the parent the backfill table and the
        # summaries rebuilt once every day is in.
        tag = lake_tag(str(lake))
        artifacts = server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [c["id"] for c in children]}}})
        tables = [a for a in artifacts if a["key"] == f"route53-lake-days-{tag}"]
        assert len(tables) == len(DAYS) and {a["type"] for a in tables} == {"table"}
        assert {a["flow_run_id"] for a in tables} == {c["id"] for c in children}
        rows = {}
        for table in tables:
            rows.update({r["delivery_day"]: r for r in table_data(table)})
        assert sorted(rows) == DAYS
        for day in DAYS:
            oracle = EXPECTED["days"][day]["by_region"]["us-east-1"]
            row = rows[day]
            assert row["events_written"] == sum(oracle["events_by_event_date"].values()), day
            assert row["record_changes_written"] == oracle["change_rows"], day
            assert row["duplicates_dropped"] == len(oracle["duplicate_event_ids"]), day
            assert row["files_read"] == oracle["log_files"] + len(oracle["corrupt_files"]), day
            assert row["files_rejected"] == len(oracle["corrupt_files"]), day
            assert row["route53_records"] == oracle["route53_records"], day
        assert {c["name"]: c["state_name"] for c in children} == {"day-2026-11-01": "Completed", "day-2026-11-02": "Completed with warnings"}
        child_pages = {a["key"] for a in artifacts if a["type"] == "markdown"}
        assert {f"route53-dns-changes-{d}-{tag}" for d in DAYS} <= child_pages

        parent = server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
        backfill_table = next(a for a in parent if a["key"] == f"route53-lake-backfill-{tag}")
        assert [(r["delivery_day"], r["run"].split("]")[0].lstrip("["), r["state"], r["error"]) for r in table_data(backfill_table)] == [
            (d, f"day-{d}", "COMPLETED", None) for d in DAYS]
        pages = {a["key"]: a["data"] for a in parent if a["type"] == "markdown"}
        assert sorted(pages) == [f"route53-dns-changes-{d}-{tag}" for d in sorted(expected)]
        con = connect(str(lake))
        for event_date in expected:
            applied = con.execute("select count(*) from changes where applied and event_date = ?", [event_date]).fetchone()[0]
            text = pages[f"route53-dns-changes-{event_date}-{tag}"]
            assert text.startswith(f"# Route 53 changes on {event_date}")
            assert f"**{applied}** record change(s) applied" in text, text[:300]


def test_two_process_workers_publish_backfill_days_at_once_and_the_lake_equals_a_sequential_run(deployed_prefect, tmp_path):
    """A backfill from its deployment starts each day as a run of the `day` deployment; with two
    process workers on the pool, two child runs overlap (start of one before the end of another)."""
    server = deployed_prefect
    with server.explain_failure():
        server.start_worker()  # a second worker on the pool (the fixture started one)
        backfill = server.deployment("route53-lake-backfill", "backfill")
        days = ["2026-11-01", "2026-11-02", "2026-11-03"]

        def run_backfill(lake, concurrency):
            settings = {**backfill["parameters"]["settings"], "source": str(DATA / "cloudtrail"), "lake": str(lake),
                        "backfill_concurrency": concurrency}
            created = server.post(f"/deployments/{backfill['id']}/create_flow_run",
                                  {"parameters": {"start": days[0], "end": days[-1], "settings": settings}})
            finished = server.wait_for_run(created["id"], timeout=300)
            assert finished["state_type"] == "COMPLETED", finished["state"]
            return server.children([finished["id"]])

        children = run_backfill(tmp_path / "fanned", 3)
        assert sorted(c["name"] for c in children) == [f"day-{d}" for d in days]
        assert all(c["deployment_id"] == server.deployment("route53-lake-day", "day")["id"] for c in children)
        spans = sorted((c["start_time"], c["end_time"]) for c in children)
        assert any(b_start < a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)), spans
        run_backfill(tmp_path / "sequential", 1)
        assert lake_files(tmp_path / "fanned") == lake_files(tmp_path / "sequential")


def test_deployed_from_another_folder_without_project_dir_a_run_finds_its_code(deployed_prefect, tmp_path):
    """`prefect deploy --prefect-file .../prefect.yaml` from elsewhere, PROJECT_DIR unset: the
    deployment is made, and its runs change into the repository (flows/orchestration/deploy_steps.py)."""
    import subprocess

    from tests.prefect_server import BIN, ROOT

    server = deployed_prefect
    env = {k: v for k, v in server.env.items() if k != "PROJECT_DIR"}
    done = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file", str(ROOT / "prefect.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    day = server.deployment("route53-lake-day", "day")
    settings = {**day["parameters"]["settings"], "lake": str(tmp_path / "lake")}  # source: data/cloudtrail, relative to the repository
    created = server.post(f"/deployments/{day['id']}/create_flow_run", {"parameters": {"day": "2026-11-03", "settings": settings}})
    with server.explain_failure():
        finished = server.wait_for_run(created["id"], timeout=180)
        assert finished["state_type"] == "COMPLETED", finished["state"]
        assert finished["name"] == "day-2026-11-03"
    assert partitions(tmp_path / "lake", "events")


def table_data(artifact: dict) -> list[dict]:
    return json.loads(artifact["data"]) if isinstance(artifact["data"], str) else artifact["data"]


def test_the_nightlys_next_runs_are_named_before_they_start(deployed_prefect, tmp_path):
    """Prefect's scheduler creates the nightly's next runs with random names: the README's step names
    them `nightly-<the day before>` at once, and a nightly names those scheduled since when it starts."""
    server = deployed_prefect
    nightly = server.deployment("route53-lake-nightly", "nightly")

    def scheduled() -> list[dict]:
        return server.flow_runs(deployment_id={"any_": [nightly["id"]]}, state={"type": {"any_": ["SCHEDULED"]}})

    def named_for_their_day(runs: list[dict]) -> bool:
        return all(r["name"] == f"nightly-{datetime.fromisoformat(r['expected_start_time']).astimezone(UTC).date() - timedelta(days=1)}"
                   for r in runs)

    with server.explain_failure():
        by_hand = subprocess.run([sys.executable, "-m", "flows.orchestration.scheduled_names"], env=server.env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert by_hand.returncode == 0, by_hand.stderr[-3000:]
        runs = scheduled()
        assert len(runs) >= 3 and named_for_their_day(runs), [(r["name"], r["expected_start_time"]) for r in runs]
        assert "named nightly-<day>" in by_hand.stdout

        # As a run the scheduler adds later looks until a nightly starts.
        later = max(runs, key=lambda r: r["expected_start_time"])
        assert server.http.patch(f"/flow_runs/{later['id']}", json={"name": "amber-fox"}).status_code == 204
        settings = {**nightly["parameters"]["settings"], "source": str(DATA / "cloudtrail"), "lake": str(tmp_path / "lake")}
        run = server.post(f"/deployments/{nightly['id']}/create_flow_run",
                          {"parameters": {"day": "2026-11-02", "recheck_days": 0, "settings": settings}})
        run = server.wait_for_run(run["id"], timeout=180)
        assert run["state_type"] == "COMPLETED" and run["name"] == "nightly-2026-11-02", run["state"]
        assert named_for_their_day(scheduled())
