"""The README's UI path in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is downloaded) opens the Prefect UI, goes to the `backfill` deployment,
Run -> Custom run, picks start and end in the date pickers, points settings.source and
settings.lake at the sample and a temporary lake, and submits. The run, its child runs and the
lake are then checked through the REST API and DuckDB, and the pages a person reads are kept as
screenshots in test-artifacts/ (the README shows copies from docs/screenshots/): the DNS summary,
the backfill parent's table, a failed backfill and its INCOMPLETE page, the same backfill brought up
to date by its retried day, and a reversed range refused."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.query.summary import lake_tag
from tests.conftest import DATA, ROOT
from tests.prefect_server import expected_events_by_event_date, lake_events_by_event_date, partitions, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-artifacts"
SCREENSHOT = SHOTS / "custom-run-form.png"
EXPECTED = json.loads((DATA / "expected.json").read_text())
DAYS = ["2026-11-02", "2026-11-03"]

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              # CI (CI=true) installs Chromium in .ci/run and never skips this test
              pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                 reason="no /usr/bin/chromium: apt-get install chromium (.ci/run does)")]


def test_custom_run_from_the_ui_publishes_the_picked_days(deployed_prefect, tmp_path):
    from playwright.sync_api import sync_playwright

    server, lake = deployed_prefect, tmp_path / "lake"
    backfill = server.deployment("route53-lake-backfill", "backfill")
    with server.explain_failure(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            # UTC in the browser too: the date pickers must not shift a day across a time zone.
            page = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="UTC").new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{server.url}/deployments/deployment/{backfill['id']}")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run", exact=True).click()

            pick_dates(page, DAYS)

            def settings_field(label: str):
                """The textarea of a settings property, by its exact label ("Source", not "Event Sources")."""
                title = page.locator(".schema-form-property__label", has_text=re.compile(rf"^{label}( \(Optional\))?$"))
                return page.locator(".schema-form-property").filter(has=title).last.locator("textarea").first

            page.get_by_text("Accounts", exact=False).first.wait_for()
            assert page.get_by_text("Property is type", exact=False).count() == 0  # optional fields read as fields
            settings_field("Source").fill(str(DATA / "cloudtrail"))
            settings_field("Lake").fill(str(lake))
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            run_id, posted = submit(page)
            assert (posted["start"], posted["end"]) == tuple(DAYS)
            assert (posted["settings"]["source"], posted["settings"]["lake"]) == (str(DATA / "cloudtrail"), str(lake))

            run = server.wait_for_run(run_id, timeout=240)
            assert run["state_type"] == "COMPLETED", run["state"]
            assert run["deployment_id"] == backfill["id"] and run["name"] == f"backfill-{DAYS[0]}..{DAYS[-1]}"
            # the sample's 2026-11-02 has rejected files: the parent says so in its state's name and message, reason first
            assert run["state_name"] == "Completed with warnings" and "warnings" in run["tags"]
            assert run["state"]["message"].startswith("1 of 2 day(s) finished with warnings: 2026-11-02: ")
            children = server.children([run_id])
            assert sorted(c["name"] for c in children) == [f"day-{d}" for d in DAYS]
            assert all(c["state_type"] == "COMPLETED" for c in children)
            expected = expected_events_by_event_date(EXPECTED, DAYS, family=True)  # the form's defaults
            assert partitions(lake, "events") == [f"event_date={d}" for d in sorted(expected)]
            assert lake_events_by_event_date(lake) == expected

            # What a person opens: the backfill's table, the DNS summary of a day, a child's artifacts.
            tag = lake_tag(str(lake))
            parent = artifacts_of(server, [run_id])
            show(page, server, parent[f"route53-lake-backfill-{tag}"], "backfill-parent.png", "day-2026-11-03")
            show(page, server, parent[f"route53-dns-changes-2026-11-02-{tag}"], "dns-summary.png", "Route 53 changes on 2026-11-02", height=2400, fits=True)
            # jane.doe's traffic shift on 2026-11-02: this lake never saw the green record before (created on
            # 11-01), so its page gives the weight it has; a lake that holds 11-01 too shows the move.
            page.get_by_text("(not seen) → 198.51.100.20; weight 100 (set green)", exact=False).first.wait_for()
            settings = {**backfill["parameters"]["settings"], "source": str(DATA / "cloudtrail"), "lake": str(tmp_path / "lake3")}
            both = server.post(f"/deployments/{backfill['id']}/create_flow_run",
                               {"parameters": {"start": "2026-11-01", "end": DAYS[0], "settings": settings}})
            assert server.wait_for_run(both["id"], timeout=240)["state_type"] == "COMPLETED"
            shifted = artifacts_of(server, [both["id"]])[f"route53-dns-changes-2026-11-02-{lake_tag(str(tmp_path / 'lake3'))}"]
            show(page, server, shifted, "dns-summary-weight-change.png", "weight 10 → 100 (set green)", height=2400, fits=True)
            child = next(c for c in children if c["name"] == "day-2026-11-02")
            page.goto(f"{server.url}/runs/flow-run/{child['id']}")
            page.get_by_text("Artifacts", exact=True).first.click()
            page.get_by_text("route53-dns-changes-2026-11-02", exact=False).first.wait_for()
            assert page.get_by_text("did not produce any artifacts").count() == 0
            page.screenshot(path=str(SHOTS / "backfill-child-artifacts.png"), full_page=True)

            # A failed day: its cause, one line, in the parent's message and its table's error column.
            broken = tmp_path / "broken"
            shutil.copytree(DATA / "cloudtrail", broken)
            folder = broken / "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/03"
            victim = sorted(folder.iterdir())[0]
            victim.unlink()
            victim.symlink_to("/nonexistent/elsewhere.json.gz")  # refused: links below the source are never followed
            settings = {**backfill["parameters"]["settings"], "source": str(broken), "lake": str(tmp_path / "lake2")}
            failed = server.post(f"/deployments/{backfill['id']}/create_flow_run",
                                 {"parameters": {"start": DAYS[0], "end": DAYS[-1], "settings": settings}})
            failed = server.wait_for_run(failed["id"], timeout=240)
            assert failed["state_type"] == "FAILED"
            assert "1 of 2 day(s) failed: 2026-11-03: " in failed["state"]["message"] and "symbolic link" in failed["state"]["message"]
            table = artifacts_of(server, [failed["id"]])[f"route53-lake-backfill-{lake_tag(str(tmp_path / 'lake2'))}"]
            rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
            assert [(r["delivery_day"], r["state"]) for r in rows] == [(DAYS[0], "COMPLETED"), (DAYS[1], "FAILED")]
            assert rows[0]["error"] is None and "symbolic link" in rows[1]["error"]
            show(page, server, table, "failed-backfill.png", "symbolic link")
            incomplete = artifacts_of(server, [failed["id"]])[f"route53-dns-changes-2026-11-03-{lake_tag(str(tmp_path / 'lake2'))}"]
            assert incomplete["data"].splitlines()[2].startswith("> **INCOMPLETE**")  # above the totals
            show(page, server, incomplete, "incomplete-day.png", "INCOMPLETE", height=1400)

            # The cause fixed, the failed day retried (what Retry on its page does): when that run ends, the
            # backfill's state, table and pages are brought up to date (flows/orchestration/backfill.py).
            victim.unlink()
            shutil.copy2(DATA / "cloudtrail" / victim.relative_to(broken), victim)
            lost = next(c for c in server.children([failed["id"]]) if c["name"] == "day-2026-11-03")
            now = datetime.now(UTC).isoformat()
            server.post(f"/flow_runs/{lost['id']}/set_state", {"state": {"type": "SCHEDULED", "name": "AwaitingRetry",
                                                                          "state_details": {"scheduled_time": now}}, "force": True})
            mended = wait_until(lambda: (r := server.get(f"/flow_runs/{failed['id']}"))["state_type"] == "COMPLETED" and r, 300,
                                "the backfill brought up to date by its retried day")
            assert mended["state"]["message"].startswith("2026-11-03 retried by run day-2026-11-03: Completed. ")
            now_parent = artifacts_of(server, [failed["id"]])
            table = now_parent[f"route53-lake-backfill-{lake_tag(str(tmp_path / 'lake2'))}"]
            rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
            assert [(r["delivery_day"], r["state"]) for r in rows] == [(DAYS[0], "COMPLETED"), (DAYS[1], "COMPLETED")]
            assert "INCOMPLETE" not in now_parent[f"route53-dns-changes-2026-11-03-{lake_tag(str(tmp_path / 'lake2'))}"]["data"]
            page.goto(f"{server.url}/runs/flow-run/{failed['id']}")
            page.get_by_text(mended["state"]["name"], exact=True).first.wait_for()  # its state badge (11-02 has warnings)
            page.screenshot(path=str(SHOTS / "retried-backfill.png"), full_page=True)

            # A reversed range from the form: refused before any work, in the command line's words.
            page.goto(f"{server.url}/deployments/deployment/{backfill['id']}")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Custom run", exact=True).click()
            pick_dates(page, list(reversed(DAYS)))
            reversed_id, _ = submit(page)
            refused = server.wait_for_run(reversed_id, timeout=120)
            assert refused["state_type"] == "FAILED" and f"start {DAYS[1]} is after end {DAYS[0]}" in refused["state"]["message"]
            assert server.children([reversed_id]) == []
            page.goto(f"{server.url}/runs/flow-run/{reversed_id}")
            page.get_by_text("is after end", exact=False).first.wait_for()
            page.screenshot(path=str(SHOTS / "reversed-range-refused.png"), full_page=True)
        finally:
            browser.close()


def pick_dates(page, days: list[str]) -> None:
    pickers = page.locator(".p-date-button__control")  # start, end: "Select date" buttons
    pickers.first.wait_for()
    for picker, day in zip((pickers.nth(0), pickers.nth(1)), days, strict=True):
        picker.click()  # opens a calendar with a native <input type=date> ("Selected Date")
        page.locator("input[type=date]").fill(day)
        page.get_by_role("button", name="Apply", exact=True).click()


def submit(page, attempts: int = 3) -> tuple[str, dict]:
    """Submit the Custom run form: the new run's id and the parameters the form posted.

    Prefect's server answers 503 while its SQLite database is busy (its own clients retry those);
    the UI shows a toast and keeps the form, and a person clicks Submit again, so this does too."""
    for attempt in range(1, attempts + 1):
        with page.expect_response(lambda r: r.url.endswith("/create_flow_run") and r.request.method == "POST") as created:
            page.get_by_role("button", name="Submit", exact=True).click()
        if created.value.status != 503 or attempt == attempts:
            break
        print(f"create_flow_run answered 503 (attempt {attempt}): {created.value.text()}; submitting again")
        page.wait_for_timeout(3_000)
    assert created.value.status == 201, created.value.text()
    return created.value.json()["id"], json.loads(created.value.request.post_data or "{}")["parameters"]


def artifacts_of(server, run_ids: list[str]) -> dict[str, dict]:
    return {a["key"]: a for a in server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": run_ids}}})}


def show(page, server, artifact: dict, name: str, text: str, height: int = 1000, fits: bool = False) -> None:
    """An artifact's page in the UI, once `text` shows, as a screenshot of a window `height` tall
    (the UI scrolls inside its own panel, so a full-page shot is only as tall as the window).
    With `fits`, nothing on it may need scrolling sideways at the laptop width of 1400 px (the DNS
    summary, read first; a table artifact of counts scrolls inside its own table, as Prefect draws it)."""
    page.set_viewport_size({"width": 1400, "height": height})
    try:
        page.goto(f"{server.url}/artifacts/artifact/{artifact['id']}")
        page.get_by_text(text, exact=False).first.wait_for()
        assert not fits or sideways(page) == [], f"{name}: a person would scroll sideways to read this"
        page.screenshot(path=str(SHOTS / name), full_page=True)
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def sideways(page) -> list[str]:
    """What overflows its box sideways on the page: a scroll panel wider inside than out, or the
    document wider than the window."""
    return page.evaluate("""() => {
        const wide = [...document.querySelectorAll('*')].filter(e => e.clientWidth > 0
            && e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
        const found = wide.map(e => `${e.tagName}.${e.className}: ${e.scrollWidth} px in ${e.clientWidth}`);
        if (document.documentElement.scrollWidth > window.innerWidth + 1) found.push(`page: ${document.documentElement.scrollWidth} px`);
        return found;
    }""")
