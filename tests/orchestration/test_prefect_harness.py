"""The REST helper of the end-to-end harness retries what Prefect's own client retries (a busy SQLite
answers 503) and nothing else, so a loaded CI machine does not fail a deployment test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests import prefect_server
from tests.prefect_server import PrefectServer


def _serving(statuses: list[int]):
    """A loopback server answering POSTs with these statuses in turn (the last one repeats)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            seen.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            status = statuses[min(len(seen), len(statuses)) - 1]
            body = json.dumps({"attempt": len(seen)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return http, seen


@pytest.fixture
def harness(tmp_path, monkeypatch):
    monkeypatch.setattr(prefect_server, "RETRY_DELAYS", (0, 0, 0, None))
    made = []

    def make(statuses: list[int]) -> tuple[PrefectServer, list[str]]:
        http, seen = _serving(statuses)
        server = PrefectServer(tmp_path / "home")
        server.http = httpx.Client(base_url=f"http://127.0.0.1:{http.server_address[1]}", timeout=5)
        made.append((server, http))
        return server, seen

    yield make
    for server, http in made:
        server.http.close()
        http.shutdown()


def test_a_busy_server_is_asked_again_with_the_same_body(harness):
    server, seen = harness([503, 502, 200])
    assert server.post("/deployments/x/create_flow_run", {"parameters": {"start": "2026-11-01"}}) == {"attempt": 3}
    assert len(seen) == 3 and len(set(seen)) == 1 and json.loads(seen[0])["parameters"]["start"] == "2026-11-01"


def test_a_server_busy_beyond_every_retry_fails_with_its_status(harness):
    server, seen = harness([503])
    with pytest.raises(httpx.HTTPStatusError, match="503"):
        server.post("/flow_runs/filter")
    assert len(seen) == len(prefect_server.RETRY_DELAYS)


def test_a_real_error_is_not_retried(harness):
    server, seen = harness([422, 200])
    with pytest.raises(httpx.HTTPStatusError, match="422"):
        server.post("/deployments/x/create_flow_run", {"parameters": {"start": "not a date"}})
    assert len(seen) == 1
