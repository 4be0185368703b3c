"""Shared fixtures: a real S3-compatible server on loopback (moto), a real Prefect test server,
the public CloudTrail corpus, and helpers to build CloudTrail trees."""

from __future__ import annotations

import os

# Before anything imports prefect: nothing may phone home, from tests or from the servers they start.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import atexit
import gzip
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# A Prefect home of this test process's own: a command-line run started by a test (without
# --no-prefect) starts a temporary server on PREFECT_HOME's SQLite file, and two test processes
# (`make test` runs two) must not share one database, nor touch the developer's ~/.prefect.
_PREFECT_HOME = tempfile.mkdtemp(prefix="r53lake-tests-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
atexit.register(shutil.rmtree, _PREFECT_HOME, True)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus" / "real"
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1: real HTTP, reached through s3fs as production reaches AWS.
    Credentials are recognisable fakes, set the standard way (environment)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.WARNING)  # the test server's own request logs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "AKIATESTFAKEKEY00001", "AWS_SECRET_ACCESS_KEY": "fake-secret-never-logged-0001",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
    })
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3(s3_endpoint):
    """An s3fs client on the loopback server."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    return fs


@pytest.fixture
def bucket(s3) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.mkdir(name)
    return name


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[None]:
    """A real Prefect API (temporary SQLite DB, subprocess server) for flow tests."""
    import prefect.settings as ps
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect_home")  # isolates result storage too
    updates = {ps.PREFECT_HOME: str(home), ps.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with ps.temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=120):
        yield


def log_key(account: str, day: str, stamp: str = "1205", region: str = "us-east-1", unique: str = "AbCdEfGhIjKlMnOp",
            org: str | None = None, prefix: str = "") -> str:
    """A CloudTrail log object key, e.g. AWSLogs/ACCOUNT/CloudTrail/us-east-1/2026/11/01/...json.gz."""
    y, m, d = day.split("-")
    trail = f"AWSLogs/{org}/{account}" if org else f"AWSLogs/{account}"
    name = f"{account}_CloudTrail_{region}_{y}{m}{d}T{stamp}Z_{unique}.json.gz"
    return f"{prefix}{trail}/CloudTrail/{region}/{y}/{m}/{d}/{name}"


def gz(records: list | dict) -> bytes:
    body = records if isinstance(records, dict) else {"Records": records}
    return gzip.compress(json.dumps(body).encode(), mtime=0)


def corpus_records(name: str) -> list[dict]:
    """Records of a corpus file, whatever its shape (a log body, a list of bodies, a record, a list of records)."""
    doc = json.loads((CORPUS / name).read_text())
    bodies = doc if isinstance(doc, list) else [doc]
    records = []
    for body in bodies:
        records.extend(body["Records"] if isinstance(body, dict) and "Records" in body else [body])
    return records


def route53_record(event_id: str, event_time: str, *changes: dict, name: str = "ChangeResourceRecordSets", **extra) -> dict:
    """A route53.amazonaws.com record as CloudTrail writes it; with changes, a ChangeResourceRecordSets batch."""
    record = {
        "eventVersion": "1.08", "eventTime": event_time, "eventSource": "route53.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.17.0",
        "eventID": event_id, "requestID": f"req-{event_id}", "eventType": "AwsApiCall", "readOnly": not changes,
        "recipientAccountId": "123456789012", "managementEvent": True, "eventCategory": "Management",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"},
        "requestParameters": None, "responseElements": None,
    }
    if changes:
        record["requestParameters"] = {"hostedZoneId": "Z0EXAMPLE", "changeBatch": {"changes": list(changes)}}
        record["responseElements"] = {"changeInfo": {"id": f"/change/C{event_id}", "status": "PENDING"}}
    record.update(extra)
    return record


def a_record(name: str, *values: str, action: str = "CREATE", ttl: int = 300) -> dict:
    return {"action": action, "resourceRecordSet": {"name": name, "type": "A", "tTL": ttl,
                                                    "resourceRecords": [{"value": v} for v in values]}}


def other_record(i: int, event_time: str) -> dict:
    return {"eventVersion": "1.08", "eventTime": event_time, "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
            "eventID": f"s3-{i}", "requestParameters": {"bucketName": "b", "key": f"k{i}"}}


@pytest.fixture(scope="session")
def deployed_prefect(tmp_path_factory):
    """One real `prefect server start` (UI on), the `local-process` pool, prefect.yaml's deployments
    and a worker, all subprocesses on loopback, shared by the end-to-end and browser tests
    (tests/prefect_server.py). Stopped by process id when the session ends."""
    from tests.prefect_server import deployed_prefect as start

    with start(tmp_path_factory.mktemp("prefect_e2e"), ui=True) as server:
        yield server


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory) -> Path:
    """The lake `--no-prefect` makes from the embedded sample (data/cloudtrail, every day of
    data/expected.json), built once per test process. Read it, never write it: a test that changes
    a lake copies this one (shutil.copytree) or builds its own."""
    from datetime import date

    from flows.pipeline import run_without_prefect
    from flows.settings import LakeSettings

    lake = tmp_path_factory.mktemp("sample") / "lake"
    days = sorted(date.fromisoformat(day) for day in json.loads((DATA / "expected.json").read_text())["days"])
    run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(lake)), days)
    return lake


def write_trail(root: Path, files: dict[str, bytes | list]) -> Path:
    """A local trail: each key (tests.conftest.log_key) holding its bytes, or its records gzipped."""
    for key, data in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data if isinstance(data, bytes) else gz(data))
    return root


def put_trail(s3, bucket: str, files: dict[str, bytes | list]) -> str:
    """The same trail in a bucket of the loopback S3 server; its s3:// address."""
    for key, data in files.items():
        s3.pipe(f"{bucket}/{key}", data if isinstance(data, bytes) else gz(data))
    return f"s3://{bucket}"


def lake_files(lake: Path) -> dict[str, bytes]:
    """Every file of a local lake by path, except `_state/`: its locks and the partitions' build
    records name this lake's own file times, so two lakes made from the same input differ there
    and only there. Run ids (source_files.run_id, the manifest's source_files_run_id) name the run
    that staged a folder, so they are blanked: the rest must be the same bytes."""
    files = {}
    for path in sorted(lake.rglob("*")):
        name = str(path.relative_to(lake))
        if path.is_file() and not name.startswith("_state/"):
            files[name] = without_run_ids(name, path.read_bytes())
    return files


def without_run_ids(name: str, data: bytes) -> bytes:
    if name.startswith(("source_files/", "_staging/source_files/")) and name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(data))
        return json.dumps(table.drop_columns(["run_id"]).to_pylist(), default=str).encode()
    if name.startswith("_manifests/") and name.endswith(".json") and b"source_files_run_id" in data:
        return json.dumps({**json.loads(data), "source_files_run_id": None}, sort_keys=True).encode()
    return data

# `make test` runs each file whole on one of two processes (--dist loadfile), handing out the next file
# when a process is nearly done. Started last, a long file is the run's tail while the other process
# idles; started first, the short files fill in behind it. So the files measured longest (seconds with
# --durations on the 2-core machine, heaviest first) are collected first, every other file after them
# in its usual order; pyproject's --no-loadscope-reorder keeps xdist from re-sorting files by test count
# (which put these, most of them a test or two, last).
LONGEST_FILES = (
    "tests/query/test_spark_sql.py",
    "tests/e2e/test_e2e_deployment.py",
    "tests/e2e/test_ui_browser.py",
    "tests/cli/test_analyst_commands.py",
    "tests/lake/test_exactly_once.py",
    "tests/query/test_readers_during_rebuild.py",
    "tests/storage/test_fencing.py",
    "tests/e2e/test_make_ui.py",
    "tests/transforms/test_bad_input.py",
    "tests/lake/test_key_across_partitions.py",
    "tests/orchestration/test_orchestration.py",
    "tests/cli/test_operator_words.py",
    "tests/query/test_history.py",
    "tests/cli/test_operator_safety.py",
    "tests/e2e/test_flow_s3.py",
    "tests/storage/test_lock_leases.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: a file's own order stays
