"""The README's UI path in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is downloaded) opens the Prefect UI, goes to the `backfill` deployment,
Run -> Custom run, picks start and end in the date pickers, points settings.source and
settings.lake at the sample and a temporary lake, and submits. The run, its child runs and the
lake are then checked through the REST API and DuckDB."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT
from tests.prefect_server import expected_events_by_event_date, lake_events_by_event_date, partitions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "test-artifacts" / "custom-run-form.png"
EXPECTED = json.loads((DATA / "expected.json").read_text())
DAYS = ["2026-11-02", "2026-11-03"]

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install chromium (.ci/run does)")]


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

            pickers = page.locator(".p-date-button__control")  # start, end: "Select date" buttons
            pickers.first.wait_for()
            for picker, day in zip((pickers.nth(0), pickers.nth(1)), DAYS, strict=True):
                picker.click()  # opens a calendar with a native <input type=date> ("Selected Date")
                page.locator("input[type=date]").fill(day)
                page.get_by_role("button", name="Apply", exact=True).click()

            def settings_field(label: str):
                """The textarea of a settings property, by its exact label ("Source", not "Event Sources")."""
                title = page.locator(".schema-form-property__label", has_text=re.compile(rf"^{label}( \(Optional\))?$"))
                return page.locator(".schema-form-property").filter(has=title).last.locator("textarea").first

            settings_field("Source").fill(str(DATA / "cloudtrail"))
            settings_field("Lake").fill(str(lake))
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            with page.expect_response(lambda r: r.url.endswith("/create_flow_run") and r.request.method == "POST") as created:
                page.get_by_role("button", name="Submit", exact=True).click()
            assert created.value.status == 201, created.value.text()
            posted = json.loads(created.value.request.post_data or "{}")["parameters"]
            run_id = created.value.json()["id"]
        finally:
            browser.close()

        # What the form sent is what the flow got: the picked dates as ISO dates, the two paths.
        assert (posted["start"], posted["end"]) == tuple(DAYS)
        assert (posted["settings"]["source"], posted["settings"]["lake"]) == (str(DATA / "cloudtrail"), str(lake))

        run = server.wait_for_run(run_id, timeout=180)
        assert run["state_type"] == "COMPLETED", run["state"]
        assert run["deployment_id"] == backfill["id"]
        children = server.children([run_id])
        assert sorted(c["parameters"]["day"] for c in children) == DAYS
        assert all(c["state_type"] == "COMPLETED" for c in children)

        expected = expected_events_by_event_date(EXPECTED, DAYS)
        assert partitions(lake, "events") == [f"event_date={d}" for d in sorted(expected)]
        assert lake_events_by_event_date(lake) == expected
