"""Events and the example automations, on a real Prefect API (its triggers and actions services
run in the test server): a failed day, a quarantined file and a digest finding each reach a
webhook on loopback through `route53-lake automations`' block and automations."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from datetime import date

import pytest

from flows import route53_lake as flows
from flows.orchestration.automations import create, definitions
from flows.results import RunFailed
from flows.settings import LakeSettings
from flows.storage.store import Store
from tests.conftest import DATA

pytestmark = pytest.mark.slow
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


@pytest.fixture
def webhook():
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers.get("content-length", 0)))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # the test's output stays readable
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def wait_for(received: list[dict], words: list[str], timeout: float = 120) -> list[str]:
    """Subjects of the notifications, once one contains each of `words` (or the deadline passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        subjects = [r["subject"] for r in received]
        if all(any(w in s for s in subjects) for w in words):
            return subjects
        time.sleep(0.5)
    return [r["subject"] for r in received]


def test_every_example_automation_has_an_event_the_flows_emit():
    from flows.orchestration.alerts import EVENTS, PREFIX

    assert sorted(a["event"] for a in definitions()) == sorted(f"{PREFIX}.{e}" for e in EVENTS)


def test_the_notifications_write_counts_by_kind_and_severity_as_json_not_python():
    """Prefect renders the bodies with its own Jinja: a dict printed bare is Python's repr ({'a': 1})."""
    from prefect.server.utilities.user_templates import render_user_template_sync

    payload = {"day": "2026-11-02", "lake": "lake", "files_rejected": 1, "records_quarantined": 0, "kinds": {"truncated_gzip": 1},
               "flagged": 3, "by_severity": {"high": 1, "medium": 2}, "first": ["high zone_deleted: example.com. by alice"],
               "failed": 1, "causes": ["folder x: PermissionError"], "findings": 1, "flow_run": "r", "flow_run_url": "http://u"}
    bodies = {a["event"]: render_user_template_sync(a["body"], {"event": {"payload": payload}}) for a in definitions()}
    assert '({"truncated_gzip": 1})' in bodies["route53-lake.day.quarantined"]
    assert '({"high": 1, "medium": 2})' in bodies["route53-lake.risky-change"]
    assert not any("{'" in body for body in bodies.values()), bodies


def test_a_risky_change_event_counts_every_flagged_row_by_severity_not_only_the_listed_ones(monkeypatch):
    """A summary lists 20 flagged rows; the event's counts per severity are the lake's, whatever rule flagged them."""
    from flows.orchestration import alerts

    sent = []
    monkeypatch.setattr(alerts, "emit", lambda name, lake, day, **payload: sent.append((name, day, payload)))
    rows = [{"severity": "high", "rule": "any_rule", "record": "corp.example.com", "person": "", "role": "admin"}] * 20
    summary = {"risky": {"rows": rows, "total": 25}, "risky_by_severity": {"high": 20, "low": 5}}
    assert alerts.risky_events("lake", {"2026-11-02": summary, "2026-11-03": {"risky": {"rows": [], "total": 0}}}) == ["risky-change"]
    (name, day, payload), = sent
    assert (name, day, payload["flagged"], payload["by_severity"]) == ("risky-change", "2026-11-02", 25, {"high": 20, "low": 5})
    assert payload["first"][0] == "high any_rule: corp.example.com by admin"


def test_automations_notify_a_webhook_of_a_failed_day_a_quarantined_file_and_a_digest_finding(prefect_server, tmp_path, webhook, monkeypatch):
    url, received = webhook
    assert len(create(url)) == len(definitions())
    shutil.copytree(DATA / "cloudtrail", tmp_path / "trail")
    digest = next((tmp_path / "trail").rglob("*CloudTrail-Digest*/**/2026/11/01/*.json.gz"))
    import gzip

    listed = json.loads(gzip.decompress(digest.read_bytes()))["logFiles"][0]["s3Object"]
    (tmp_path / "trail" / listed).unlink()  # 11-01: a file the digest lists is gone (a digest finding)
    original = Store.read_bytes  # 11-02 holds the sample's truncated file (quarantined)

    def access_denied_on_d3(self, relative, *args, **kwargs):
        if "/2026/11/03/" in relative:
            raise PermissionError("AccessDenied: s3:GetObject")
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", access_denied_on_d3)
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"), accounts=["123456789012"],
                            workers=1)  # read in this process, where the fault is
    with pytest.raises(RunFailed):
        flows.route53_lake(start=D1, end=D3, settings=settings)

    subjects = wait_for(received, ["2026-11-03 FAILED", "file(s) rejected on 2026-11-02", "digest findings on 2026-11-01"])
    assert any("delivery day 2026-11-03 FAILED" in s for s in subjects), subjects
    assert any("1 file(s) rejected on 2026-11-02" in s for s in subjects), subjects
    assert any("CloudTrail digest findings on 2026-11-01" in s for s in subjects), subjects
    failed = next(r for r in received if "FAILED" in r["subject"])
    assert "PermissionError: AccessDenied" in failed["body"] and str(tmp_path / "lake") in failed["body"]
    assert "/flow-run/" in failed["body"]  # a link to the run
    quarantined = next(r for r in received if "rejected on 2026-11-02" in r["subject"])
    assert '({"truncated_gzip": 1})' in quarantined["body"]  # JSON, not a Python dict


def test_a_day_without_logs_and_one_with_warnings_say_so_in_the_state(prefect_server, tmp_path):
    """A day folder-less day (wrong account list, broken trail) and a quarantined file finish as
    "Completed with warnings", with the reason first in the state's message: visible in the run list."""
    settings = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "lake"), accounts=["123456789012"])
    state = flows.route53_lake(start=D2, settings=settings, return_state=True)
    assert (state.type.value, state.name) == ("COMPLETED", "Completed with warnings")
    assert state.message.startswith("1 file(s) rejected on 2026-11-02. To do: see the rows of the lake's `quarantine` table")
    quiet = flows.route53_lake(days=[date(2026, 10, 20)], settings=settings, return_state=True)
    assert quiet.name == "Completed with warnings" and quiet.message.startswith("no CloudTrail logs on 2026-10-20. To do:")
    clean = flows.route53_lake(start=D3, settings=settings, return_state=True)
    assert clean.name == "Completed"
