"""Transient I/O is retried by the flow's tasks; bad data and permanent errors are not."""

from __future__ import annotations

import errno
from collections import Counter
from datetime import date

import pytest

from flows.results import RunFailed, is_transient
from flows.route53_lake import route53_lake
from flows.settings import LakeSettings
from flows.storage.store import OutsideRootError, Store
from tests.conftest import a_record, log_key, route53_record, write_trail

pytestmark = pytest.mark.slow


@pytest.fixture
def one_event_trail(tmp_path):
    """tmp_path/trail: one file of one event on 2026-11-01."""
    write_trail(tmp_path / "trail", {log_key("123456789012", "2026-11-01"): [
        route53_record("e1", "2026-11-01T09:00:00Z", a_record("a.example.com.", "192.0.2.1"))]})
    return tmp_path


@pytest.mark.parametrize(("error", "transient"), [
    (ConnectionResetError("reset by peer"), True), (TimeoutError("read timed out"), True),
    (OSError("503 SlowDown"), True), (FileNotFoundError("gone"), False), (PermissionError("AccessDenied"), False),
    (ValueError("bad data"), False),
    (OSError(errno.EROFS, "Read-only file system", "/srv/lake/events"), False),  # was retried for ~20 s
    (OSError(errno.ENOSPC, "No space left on device"), False), (OSError(errno.EDQUOT, "Disk quota exceeded"), False),
    (OSError(errno.ELOOP, "Too many levels of symbolic links"), False), (OutsideRootError("a symbolic link"), False),
    (OSError(errno.EBUSY, "SlowDown"), True),
])
def test_what_counts_as_transient(error, transient):
    assert is_transient(error) is transient


def in_this_process(one_event_trail) -> LakeSettings:
    """workers=1: files are read in the flow's process, where these tests break the reads."""
    return LakeSettings(source=str(one_event_trail / "trail"), lake=str(one_event_trail / "lake"), workers=1)


def test_a_read_that_fails_once_is_retried_and_the_run_completes(prefect_server, one_event_trail, monkeypatch):
    calls, original = Counter(), Store.read_bytes

    def flaky(self, relative, *args, **kwargs):
        calls[relative] += 1
        if calls[relative] == 1:
            raise ConnectionResetError("connection reset by peer")
        return original(self, relative, *args, **kwargs)

    monkeypatch.setattr(Store, "read_bytes", flaky)
    run = route53_lake(start=date(2026, 11, 1), settings=in_this_process(one_event_trail))
    assert run.total("events_written") == 1
    # the log file failed once and was read again; then the first read of the folder's manifest failed,
    # and the folder's task (read and stage: one task per folder) was retried whole, reading it a third time
    assert [n for key, n in calls.items() if "/CloudTrail/" in key] == [3]
    assert {key.split("/")[0] for key, n in calls.items() if n > 1} >= {"_manifests", "_state"}  # staging and publishing retry their reads too


def test_access_denied_is_not_retried_and_fails_the_run(prefect_server, one_event_trail, monkeypatch):
    calls = Counter()

    def denied(self, relative, *args, **kwargs):
        calls[relative] += 1
        raise PermissionError("AccessDenied: s3:GetObject")

    monkeypatch.setattr(Store, "read_bytes", denied)
    with pytest.raises(RunFailed, match="CloudTrail/us-east-1/2026/11/01: PermissionError: AccessDenied"):
        route53_lake(start=date(2026, 11, 1), settings=in_this_process(one_event_trail))
    assert list(calls.values()) == [1]
    assert not (one_event_trail / "lake" / "events").exists()  # nothing half-published
