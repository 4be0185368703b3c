"""Nothing outside a local root is read or written: '/' is the root it names, and no symbolic link
below a root is followed, for reads, writes, deletes and listings (flows/storage/store.py)."""

from __future__ import annotations

import os
import threading
from datetime import date

import pytest

from flows.pipeline import run_without_prefect
from flows.results import RunFailed
from flows.settings import LakeSettings
from flows.storage.store import OutsideRootError, Store
from tests.conftest import a_record, gz, log_key, route53_record

ACCT = "123456789012"
DAY = "2026-11-01"


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"root:x:0:0:OUTSIDE-SECRET\n")
    return folder


def test_root_slash_is_the_filesystem_root_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store("/")
    assert store.root == "/" and store.path("events/x.parquet") == "/events/x.parquet"
    assert store.uri_of("AWSLogs") == "/AWSLogs"
    assert {e.path for e in store.list("")} >= {"tmp", "etc"}  # listed from /, named relative to it


def test_a_write_through_a_linked_partition_folder_is_refused(tmp_path, outside):
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / "event_date=2026-11-01").symlink_to(outside)
    store = Store(str(tmp_path / "lake"))
    with pytest.raises(OutsideRootError, match="symbolic link"):
        store.write_bytes("events/event_date=2026-11-01/a.parquet", b"x")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_linked_lake_root_folder_is_refused_even_when_created_on_the_way(tmp_path, outside):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "_manifests").symlink_to(outside)
    with pytest.raises(OutsideRootError):
        Store(str(tmp_path / "lake")).write_bytes("_manifests/delivery_date=2026-11-01/m.json", b"{}")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_link_at_the_target_name_is_replaced_not_followed(tmp_path, outside):
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / "a.parquet").symlink_to(outside / "secret.txt")
    Store(str(tmp_path / "lake")).write_bytes("events/a.parquet", b"new")
    assert (outside / "secret.txt").read_bytes().startswith(b"root:x")
    assert not (tmp_path / "lake" / "events" / "a.parquet").is_symlink()
    assert (tmp_path / "lake" / "events" / "a.parquet").read_bytes() == b"new"


def test_delete_and_sweep_never_reach_through_a_link(tmp_path, outside):
    old = outside / ".a.parquet.0123.tmp"
    old.write_bytes(b"t")
    os.utime(old, (0, 0))
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / "event_date=2026-11-01").symlink_to(outside)
    (tmp_path / "lake" / "events" / "gone.parquet").symlink_to(outside / "secret.txt")
    store = Store(str(tmp_path / "lake"))
    with pytest.raises(OutsideRootError):
        store.delete("events/event_date=2026-11-01/secret.txt")
    with pytest.raises(OutsideRootError):
        store.remove_stale_temporaries("events/event_date=2026-11-01", older_than_seconds=0)
    store.delete("events/gone.parquet")  # the link itself goes, never what it points to
    assert not os.path.lexists(tmp_path / "lake" / "events" / "gone.parquet")
    assert (outside / "secret.txt").exists() and old.exists()


def test_reading_a_log_named_link_to_an_outside_file_is_refused(tmp_path, outside):
    key = log_key(ACCT, DAY)
    (tmp_path / "trail" / key).parent.mkdir(parents=True)
    (tmp_path / "trail" / key).symlink_to(outside / "secret.txt")
    store = Store(str(tmp_path / "trail"))
    with pytest.raises(OutsideRootError, match="symbolic link") as refused:
        store.read_bytes(key)
    assert "OUTSIDE-SECRET" not in str(refused.value)


def test_listing_or_reading_below_a_linked_account_folder_is_refused(tmp_path, outside):
    real = outside / "AWSLogs" / ACCT
    (real / "CloudTrail").mkdir(parents=True)
    (tmp_path / "trail" / "AWSLogs").mkdir(parents=True)
    (tmp_path / "trail" / "AWSLogs" / ACCT).symlink_to(real)
    store = Store(str(tmp_path / "trail"))
    assert [(e.path, e.is_dir) for e in store.list("AWSLogs")] == [(f"AWSLogs/{ACCT}", True)]  # as fsspec: the target's type
    with pytest.raises(OutsideRootError):
        store.list(f"AWSLogs/{ACCT}")
    with pytest.raises(OutsideRootError):
        store.read_bytes(f"AWSLogs/{ACCT}/CloudTrail/x.json.gz")


def test_a_fifo_named_like_a_log_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.json.gz")
    with pytest.raises(OutsideRootError, match="not a regular file"):
        Store(str(tmp_path)).read_bytes("x.json.gz")


def test_a_folder_replaced_by_a_link_after_a_read_is_refused(tmp_path, outside):
    """The folder a thread read last is reused only while it is the same folder (st_dev, st_ino)."""
    day = tmp_path / "trail" / "day"
    day.mkdir(parents=True)
    (day / "a").write_bytes(b"first")
    store = Store(str(tmp_path / "trail"))
    assert store.read_bytes("day/a") == b"first"
    day.rename(tmp_path / "moved")
    day.symlink_to(outside)
    with pytest.raises(OutsideRootError):
        store.read_bytes("day/secret.txt")
    day.unlink()
    day.mkdir()
    (day / "a").write_bytes(b"second")
    assert store.read_bytes("day/a") == b"second"  # a new folder of the same name is read afresh


def test_reads_from_many_threads_see_their_own_folders(tmp_path):
    store = Store(str(tmp_path))
    for folder in "abcd":
        (tmp_path / folder).mkdir()
        for n in range(20):
            (tmp_path / folder / str(n)).write_bytes(f"{folder}{n}".encode())
    wrong = []

    def read(folder: str) -> None:
        for _ in range(20):
            for n in range(20):
                if store.read_bytes(f"{folder}/{n}") != f"{folder}{n}".encode():
                    wrong.append((folder, n))

    threads = [threading.Thread(target=read, args=(f,)) for f in "abcdabcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_missing_files_are_named_by_their_whole_path(tmp_path):
    store = Store(str(tmp_path))
    with pytest.raises(FileNotFoundError) as missing:
        store.read_bytes("AWSLogs/x/y.json.gz")
    assert missing.value.filename == f"{tmp_path}/AWSLogs"
    assert store.list("AWSLogs/x") == [] and not store.exists("AWSLogs/x/y.json.gz")


def _trail(root) -> None:
    key = log_key(ACCT, DAY)
    (root / key).parent.mkdir(parents=True)
    (root / key).write_bytes(gz([route53_record("e1", f"{DAY}T09:00:00Z", a_record("a.example.com.", "192.0.2.1"))]))


def test_a_run_never_writes_through_a_link_in_the_lake(tmp_path, outside):
    """repro_09: a partition folder linked outside the lake used to receive the Parquet file."""
    _trail(tmp_path / "trail")
    (tmp_path / "lake" / "events").mkdir(parents=True)
    (tmp_path / "lake" / "events" / f"event_date={DAY}").symlink_to(outside)
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"))
    with pytest.raises(RunFailed, match="OutsideRootError: refusing .*symbolic link"):  # that partition fails, by name
        run_without_prefect(settings, [date(2026, 11, 1)])
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_run_never_reads_a_log_named_link_to_an_outside_file(tmp_path, outside):
    """repro_09, the source side: the linked file's bytes used to reach a quarantine message."""
    _trail(tmp_path / "trail")
    link = tmp_path / "trail" / log_key(ACCT, DAY, "1300", unique="LinkLinkLinkLink")
    link.symlink_to(outside / "secret.txt")
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"))
    with pytest.raises(RunFailed, match="OutsideRootError") as refused:  # that folder fails, by name
        run_without_prefect(settings, [date(2026, 11, 1)])
    assert link.name in str(refused.value) and "OUTSIDE-SECRET" not in str(refused.value)
    written = [p.read_bytes() for p in (tmp_path / "lake").rglob("*") if p.is_file()] if (tmp_path / "lake").exists() else []
    assert not any(b"OUTSIDE-SECRET" in data for data in written)


def test_a_run_over_a_linked_account_folder_fails_naming_it(tmp_path, outside):
    _trail(outside)
    (tmp_path / "trail" / "AWSLogs").mkdir(parents=True)
    (tmp_path / "trail" / "AWSLogs" / ACCT).symlink_to(outside / "AWSLogs" / ACCT)
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"))
    with pytest.raises(OutsideRootError, match=f"AWSLogs/{ACCT}: it is a symbolic link"):
        run_without_prefect(settings, [date(2026, 11, 1)])
