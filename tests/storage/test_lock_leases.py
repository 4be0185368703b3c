"""Lake locks under hostile conditions: lock files no run can hold (repro_29), holders in another
PID namespace with our host name (repro_21), renewals that fail or whose answer is lost, and a
holder that lost its lock (repro_33). S3 is the loopback moto server, faults come from the fault
proxy in front of it."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from flows.storage import lease, locks
from flows.storage.store import Store
from tests.conftest import ROOT
from tests.fault_proxy import FaultProxy

# --- local lock files no run can hold (repro_29) ----------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_a_local_lock_that_is_not_a_regular_file_is_named_explained_and_never_waited_on(tmp_path, kind):
    lock_file = tmp_path / "lake" / locks.LOCKS / "folder-x.lock"
    lock_file.parent.mkdir(parents=True)
    {"fifo": os.mkfifo, "folder": os.mkdir, "symlink": lambda p: os.symlink(tmp_path / "elsewhere", p)}[kind](lock_file)
    started = time.monotonic()
    with pytest.raises(locks.LockProblem) as refused, locks.lake_lock(Store(str(tmp_path / "lake")), "folder-x"):
        pass
    assert time.monotonic() - started < 5  # a FIFO never blocks the open
    message = str(refused.value)
    assert str(lock_file) in message and "remove it" in message
    assert {"fifo": "named pipe", "folder": "a folder", "symlink": "symbolic link"}[kind] in message
    assert not (tmp_path / "elsewhere").exists()  # the link was not followed


def test_a_local_lock_file_replaced_under_its_holder_fails_the_holders_next_write(tmp_path):
    lake = Store(str(tmp_path))
    with pytest.raises(locks.LockLost, match="removed or replaced"), locks.lake_lock(lake, "folder-x"):
        lake.write_bytes("a.txt", b"before")
        os.remove(tmp_path / locks.LOCKS / "folder-x.lock")  # a person "unblocking" the day: another run may lock a new file now
        lake.write_bytes("b.txt", b"after")
    assert (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()


# --- damaged and hostile S3 lock objects (repro_29) ------------------------------------------------

HOLDER = {"owner": "x", "host": "another-host", "pid": 4242, "started": 0.0}


@pytest.mark.parametrize("body, why", [
    (json.dumps({**HOLDER, "expires": 1e308}), "lease out of range"),
    (json.dumps({**HOLDER, "expires": "soon"}), "'expires' is 'soon'"),
    ("[" * 100_000 + "]" * 100_000, "bytes, not a lock"),
    ("[" * 2000 + "]" * 2000, "not JSON (RecursionError)"),
    (json.dumps([1, 2]), "JSON list"),
    (json.dumps({**HOLDER, "expires": 1.0, "pid": True}), "'pid' is 'True'"),
    ('{"owner": "x", "host": "h", "pid": 1, "expires": NaN}', "'expires' is 'nan'"),
    ("", "not JSON"),
])
def test_a_damaged_s3_lock_object_is_a_stale_lock_taken_after_a_lease_and_said_so(s3, bucket, caplog, body, why):
    with pytest.raises(lease.DamagedLock, match=why.replace("(", r"\(").replace(")", r"\)")):
        lease.Holder.parse(body.encode())
    s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/folder-x.lock", body.encode())
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="route53_lake"), \
            locks.lake_lock(Store(f"s3://{bucket}/lake"), "folder-x", lease_seconds=1, wait_seconds=30):
        pass
    assert 1 <= time.monotonic() - started < 15  # after its lease, not at once, not never
    said = [r.getMessage() for r in caplog.records if "No run of route53-lake wrote it" in r.getMessage()]
    assert len(said) == 1 and "'folder-x'" in said[0] and f"{bucket}/lake/{locks.LOCKS}/folder-x.lock" in said[0]
    assert "taken over" in said[0] and why.split("(")[0].strip("'") in said[0]


def test_a_lease_a_holders_wrong_clock_puts_a_year_ahead_ends_by_s3s_clock(s3, bucket):
    wrong_clock = lease.Holder(owner="y", host="another-host", pid=1, started=0, expires=time.time() + 365 * 86400, lease_seconds=1)
    s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/folder-x.lock", wrong_clock.to_json())
    started = time.monotonic()
    with locks.lake_lock(Store(f"s3://{bucket}/lake"), "folder-x", wait_seconds=30):
        pass
    assert time.monotonic() - started < 15


# --- a live holder in another PID namespace with our host name (repro_21) ---------------------------

@pytest.mark.slow  # waits on leases: make check leaves it to make test
def test_a_holder_with_our_host_name_but_another_process_table_is_never_taken_for_dead(s3, bucket):
    """Its pid means nothing here: another PID namespace (a container with host networking), or
    another machine of the same name (another boot id). Only its lease decides."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    here = lease.me(expires=time.time() + 600, lease_seconds=600)
    for name, holder in (("folder-ns", dataclasses.replace(here, pid=int(dead), pid_namespace="pid:[1]")),
                         ("folder-boot", dataclasses.replace(here, pid=int(dead), boot_id="another-machine")),
                         ("folder-old", dataclasses.replace(here, pid=int(dead), boot_id="", pid_namespace=""))):
        s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/{name}.lock", holder.to_json())
        with pytest.raises(locks.LockTimeout, match=f"pid {dead} on "), \
                locks.lake_lock(Store(f"s3://{bucket}/lake"), name, wait_seconds=1):
            pass


IN_NAMESPACE = textwrap.dedent("""
    import sys, time
    from flows.storage.locks import lake_lock
    from flows.storage.store import open_store
    with lake_lock(open_store(sys.argv[1]), "folder-x", lease_seconds=600):
        print("held", flush=True)
        time.sleep(300)
""")


@pytest.mark.skipif(shutil.which("unshare") is None or
                    subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True).returncode != 0,
                    reason="needs `unshare --pid` (root, or user namespaces)")
@pytest.mark.slow  # waits on leases: make check leaves it to make test
def test_a_holder_in_its_own_pid_namespace_keeps_its_lock(s3, bucket):
    holder = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", IN_NAMESPACE, f"s3://{bucket}/lake"],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        seen = lease.Holder.parse(s3.cat_file(f"{bucket}/lake/{locks.LOCKS}/folder-x.lock"))
        assert seen.pid_namespace != lease.me(0).pid_namespace and seen.pid < 10  # its own pid there, absent here or another process
        with pytest.raises(locks.LockTimeout, match="is another run stuck"), \
                locks.lake_lock(Store(f"s3://{bucket}/lake"), "folder-x", wait_seconds=2):
            pass
    finally:
        holder.kill()
        holder.wait()


# --- renewals that fail, answers lost, a lock taken from its holder (repro_33) ----------------------

@pytest.fixture
def proxy(s3_endpoint):
    faults = FaultProxy(s3_endpoint)
    faults.endpoint = faults.start()
    yield faults
    faults.stop()


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_a_burst_of_server_errors_on_renewal_is_retried_within_the_lease(s3, bucket, proxy, caplog):
    through_proxy = Store(f"s3://{bucket}/lake", endpoint_url=proxy.endpoint)
    order, inside = [], threading.Event()

    def hold() -> None:
        with locks.lake_lock(through_proxy, "partition-x", lease_seconds=12) as fence:
            order.append("a+")
            inside.set()
            proxy.add("PUT", r"partition-x\.lock", "500", 5)  # S3 answers 500 five times in a row
            time.sleep(15)  # past the lease: the renewals must get through
            fence.check()
            through_proxy.write_bytes("written-by-a", b"a")
            order.append("a-")

    with caplog.at_level(logging.WARNING, logger="route53_lake"):
        first = threading.Thread(target=hold)
        first.start()
        assert inside.wait(30)
        with locks.lake_lock(Store(f"s3://{bucket}/lake"), "partition-x", lease_seconds=12, wait_seconds=60):
            order.append("b+")
        first.join()
    assert order == ["a+", "a-", "b+"]
    assert len(proxy.injected) == 5
    assert any("renewing lake lock 'partition-x' failed" in r.getMessage() for r in caplog.records)
    assert not any("lost lake lock" in r.getMessage() for r in caplog.records)


def test_a_renewal_whose_answer_was_lost_is_accepted_when_the_lock_still_names_us(s3, bucket):
    lake = Store(f"s3://{bucket}/lake")
    with locks.lake_lock(lake, "partition-x", lease_seconds=30) as fence:
        applied = fence.etag
        # what a lost answer leaves: S3 applied a renewal whose new ETag we never learnt
        s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/partition-x.lock",
                     dataclasses.replace(fence.holder, expires=time.time() + 31).to_json())
        assert fence._renew_once()  # the retry's If-Match fails with 412; the object still names us
        assert fence.etag != applied and not fence.lost
        fence.check()
        lake.write_bytes("after", b"ok")


def test_a_holder_whose_lock_was_taken_writes_nothing_more_and_is_told(s3, bucket, caplog):
    lake = Store(f"s3://{bucket}/lake")
    other = lease.me(expires=time.time() + 60, lease_seconds=60)
    with caplog.at_level(logging.ERROR, logger="route53_lake"), pytest.raises(locks.LockLost, match="another run took it"), \
            locks.lake_lock(lake, "partition-x", lease_seconds=30):
        lake.write_bytes("first", b"ok")
        s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/partition-x.lock", other.to_json())  # as a waiter that judged it stale
        lake.write_bytes("second", b"too late")
    s3.invalidate_cache()
    assert s3.exists(f"{bucket}/lake/first") and not s3.exists(f"{bucket}/lake/second")
    assert lease.Holder.parse(s3.cat_file(f"{bucket}/lake/{locks.LOCKS}/partition-x.lock")).owner == other.owner  # not deleted
    assert any("lost lake lock 'partition-x'" in r.getMessage() for r in caplog.records)


@pytest.mark.slow  # waits on leases: make check leaves it to make test
def test_a_holder_whose_renewals_never_get_through_loses_its_lock_before_its_lease_ends(s3, bucket, proxy):
    through_proxy = Store(f"s3://{bucket}/lake", endpoint_url=proxy.endpoint)
    with pytest.raises(locks.LockLost, match="lease"), locks.lake_lock(through_proxy, "partition-x", lease_seconds=3) as fence:
        proxy.add("PUT", r"partition-x\.lock", "500", -1)
        time.sleep(3)  # no renewal confirmed for a whole lease: the holder cannot prove it holds the lock
        through_proxy.write_bytes("late", b"never")
    s3.invalidate_cache()
    assert not s3.exists(f"{bucket}/lake/late")
    assert fence.lost and "lease" in fence.lost


def test_leaving_the_block_after_the_lock_was_lost_raises_even_without_a_write(s3, bucket):
    with pytest.raises(locks.LockLost), locks.lake_lock(Store(f"s3://{bucket}/lake"), "partition-x", lease_seconds=30) as fence:
        fence._lose("test")
