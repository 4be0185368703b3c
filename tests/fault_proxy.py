"""An HTTP proxy in front of the loopback S3 server that injects S3 faults on request: throttling
(503 SlowDown), server errors (500) and connection resets, for requests matching a rule. It can
also add a first-byte latency to every answer, as S3 has (tens of milliseconds), and counts the
requests it forwards by kind (GET, HEAD, LIST, PUT, ...), for tests and the S3 benchmark."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
INTERNAL = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'


@dataclass
class Rule:
    method: str  # GET, PUT, ...
    path: str  # regex on the request path and query
    fault: str  # "503", "500" or "reset"
    times: int  # how many matching requests fail; -1 for all
    hits: int = 0


def request_kind(method: str, path: str) -> str:
    """GET of an object, or LIST (a GET of a bucket: ListObjectsV2), else the HTTP method."""
    target, _, query = path.partition("?")
    if method == "GET" and ("list-type=" in query or target.strip("/").count("/") == 0):
        return "LIST"
    return method


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the S3 benchmark opens over a hundred connections at once


@dataclass
class FaultProxy:
    upstream: str
    latency_ms: float = 0  # added before each answer's first byte
    rules: list[Rule] = field(default_factory=list)
    injected: list[tuple[str, str, str]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # requests forwarded, by request_kind
    requests: list[tuple[str, str]] = field(default_factory=list)  # (kind, path) of each, when `record`
    record: bool = False
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, fault: str, times: int) -> None:
        with self.lock:
            self.rules.append(Rule(method, path, fault, times))

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.requests.clear()
            self.most_in_flight = 0

    def fault_for(self, method: str, path: str) -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.method == method and re.search(rule.path, path) and (rule.times < 0 or rule.hits < rule.times):
                    rule.hits += 1
                    self.injected.append((method, path, rule.fault))
                    return rule.fault
        return None

    def _started(self, method: str, path: str) -> None:
        kind = request_kind(method, path)
        with self.lock:
            self.counts[kind] += 1
            if self.record:
                self.requests.append((kind, path))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _finished(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def start(self) -> str:
        proxy = self
        upstream = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_connection: http.client.HTTPConnection | None = None  # one per client connection, kept alive

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy.fault_for(self.command, self.path)
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    self.close_connection = True
                    return
                if fault in ("503", "500"):
                    payload = SLOW_DOWN if fault == "503" else INTERNAL
                    self.send_response(int(fault))
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                proxy._started(self.command, self.path)
                try:
                    self._forward(body)
                finally:
                    proxy._finished()

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "transfer-encoding", "connection")}
                headers["Host"] = self.headers.get("Host", "")
                status, answer, data = self._ask_upstream(body, headers)
                if proxy.latency_ms:
                    time.sleep(proxy.latency_ms / 1000)
                self.send_response(status)
                for key, value in answer:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _ask_upstream(self, body: bytes, headers: dict) -> tuple[int, list, bytes]:
                for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more on a new one
                    if self.upstream_connection is None:
                        self.upstream_connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                    try:
                        self.upstream_connection.request(self.command, self.path, body=body, headers=headers)
                        response = self.upstream_connection.getresponse()
                        data = response.read()
                        if response.will_close:
                            self.upstream_connection.close()
                            self.upstream_connection = None
                        return response.status, response.getheaders(), data
                    except (ConnectionError, http.client.HTTPException):
                        self.upstream_connection.close()
                        self.upstream_connection = None
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
