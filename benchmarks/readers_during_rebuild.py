"""What readers see while partitions are rebuilt (docs/readers.md): a loop of queries in separate
processes while the publisher replaces one partition's files again and again, exactly as a rebuild
publishes them (Store.temporary_file + Store.commit_file: a rename on a local lake, one PUT on S3).

    python -m benchmarks.readers_during_rebuild --where local --seconds 60
    python -m benchmarks.readers_during_rebuild --where s3 --seconds 60     # moto on loopback

Readers: `plain` is an analyst's own DuckDB glob, read_parquet('<lake>/events/*/*.parquet') (on
S3 through a fresh s3fs per query: DuckDB's httpfs cannot be installed offline); `project` is one
long session from flows.query.duckdb_lake.connect. A result is wrong when a partition's count is
none of the counts it was published with, or an event id appears twice. Prints one JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("events", "record_changes")
QUERY = ("select event_date::varchar, count(*), count(distinct {key}) from {source} group by all")
KEYS = {"events": "event_id", "record_changes": "(event_id, change_index)"}


def versions(real: dict[str, pa.Table], rows: int, count: int, step: int) -> list[dict[str, pa.Table]]:
    """`count` versions of one partition of each table: its real rows tiled to `rows` events (then
    `step` more per version), every copy with its own event ids: what rebuilds with late files publish."""
    copies = -(-(rows + count * step) // real["events"].num_rows)
    tiled = {name: pa.concat_tables([_renamed(table, f"-{i}") for i in range(copies)]) for name, table in real.items()}
    out = []
    for k in range(count):
        events = tiled["events"].slice(0, rows + k * step)
        changes = tiled["record_changes"].filter(pc.is_in(tiled["record_changes"]["event_id"], events["event_id"]))
        out.append({"events": events, "record_changes": changes})
    return out


def _renamed(table: pa.Table, suffix: str) -> pa.Table:
    ids = pc.binary_join_element_wise(table["event_id"], pa.scalar(suffix), "")
    return table.set_column(table.schema.get_field_index("event_id"), table.schema.field("event_id"), ids)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=64 * 1024, compression="zstd")
    return sink.getvalue().to_pybytes()


def build(lake: str, work: str) -> tuple[str, list[dict[str, bytes]], dict[str, dict[str, list[int]]]]:
    """A real lake (the flow over data/cloudtrail), one partition of which gets rebuilt versions.
    Returns the partition's folder name, the versions' bytes per table, and the valid counts."""
    sys.path.insert(0, str(ROOT))
    from flows.pipeline import run_without_prefect
    from flows.settings import LakeSettings
    from flows.storage.store import Store

    local = os.path.join(work, "built")
    run_without_prefect(LakeSettings(source=str(ROOT / "data" / "cloudtrail"), lake=local), [date(2026, 11, 2)])
    partition = sorted(p.name for p in Path(local, "events").iterdir())[-1]
    real = {t: pq.read_table(Path(local, t, partition, "part-0.parquet")) for t in TABLES}
    built = [{t: parquet_bytes(v[t]) for t in TABLES} for v in versions(real, 60_000, 4, 1_500)]
    valid = {t: {partition.split("=")[1]: sorted({pq.read_metadata(pa.BufferReader(v[t])).num_rows for v in built})} for t in TABLES}
    store = Store(lake)
    for path in Path(local).rglob("*.parquet"):
        relative = path.relative_to(local).as_posix()
        if relative.split("/")[0] in TABLES:
            store.write_bytes(relative, built[0][relative.split("/")[0]] if relative.split("/")[1] == partition else path.read_bytes())
            if relative.split("/")[1] != partition:
                valid[relative.split("/")[0]][relative.split("/")[1].split("=")[1]] = [pq.read_metadata(path).num_rows]
    return partition, built, valid


def publish(lake: str, partition: str, built: list[dict[str, bytes]], seconds: float, pause: float) -> int:
    """Replace the partition's files over and over as a rebuild does, `pause` seconds apart (a real
    rebuild of a partition this size takes longer than its files take to write); the number of rebuilds."""
    from flows.storage.store import Store

    store, rebuilds, deadline = Store(lake), 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for table in TABLES:
            target = f"{table}/{partition}/part-0.parquet"
            temporary = store.temporary_file(target)
            Path(temporary).write_bytes(built[(rebuilds + 1) % len(built)][table])
            store.commit_file(temporary, target)
        rebuilds += 1
        time.sleep(pause)
    return rebuilds


def reader(kind: str, lake: str, seconds: float, valid: dict) -> dict:
    """Queries in a loop for `seconds`; a report of what they saw."""
    import duckdb

    report = {"kind": kind, "queries": 0, "errors": [], "wrong": []}
    from flows.query.duckdb_lake import connect

    con = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for table in TABLES:
            try:
                if kind == "project":
                    con = con or connect(lake)  # one session for the whole loop, once it opens
                    rows = con.execute(QUERY.format(key=KEYS[table], source=table)).fetchall()
                else:
                    rows = plain_query(duckdb, lake, table)
            except Exception as error:  # noqa: BLE001 - the measurement: every failure is recorded
                lines = [line.strip() for line in str(error).splitlines() if line.strip()]
                named = [line for line in lines if "Error" in line or "Exception" in line or "Expired" in line]
                report["errors"].append(f"{type(error).__name__}: {(named or lines or [''])[-1][:160]}")
            else:
                report["wrong"] += [f"{table} {d}: {n} rows, {distinct} distinct" for d, n, distinct in rows
                                    if n != distinct or n not in valid[table].get(d, [])]
            report["queries"] += 1
    return report


def plain_query(duckdb, lake: str, table: str) -> list:
    con = duckdb.connect()
    if lake.startswith("s3://"):
        import s3fs

        con.register_filesystem(s3fs.S3FileSystem(skip_instance_cache=True))
    source = f"read_parquet('{lake}/{table}/*/*.parquet', hive_partitioning = true)"
    try:
        return con.execute(QUERY.format(key=KEYS[table], source=source)).fetchall()
    finally:
        con.close()


def measure(lake: str, seconds: float, pause: float, kinds: tuple[str, ...] = ("plain", "project")) -> dict:
    """Build, start one reader process per kind, publish for `seconds`, collect the reports."""
    with tempfile.TemporaryDirectory(prefix="r53-readers-") as work:
        partition, built, valid = build(lake, work)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        readers = {kind: subprocess.Popen([sys.executable, "-m", "benchmarks.readers_during_rebuild", "--reader", kind,
                                           "--lake", lake, "--seconds", str(seconds), "--valid", json.dumps(valid)],
                                          cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for kind in kinds}
        time.sleep(2)  # the readers' imports and first connection
        rebuilds = publish(lake, partition, built, seconds, pause)
        reports = {kind: json.loads(p.communicate(timeout=seconds + 300)[0]) for kind, p in readers.items()}
    for report in reports.values():
        report["error_kinds"] = sorted({e[:110] for e in report["errors"]})[:8]
        report["errors"] = len(report["errors"])
    return {"lake": lake, "seconds": seconds, "pause": pause, "rebuilds": rebuilds, "valid": valid, "readers": reports}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--where", choices=("local", "s3"), default="local")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--pause", type=float, default=0.5, help="seconds between rebuilds (0: back to back)")
    p.add_argument("--reader", choices=("plain", "project"))
    p.add_argument("--lake")
    p.add_argument("--valid")
    args = p.parse_args()
    if args.reader:
        print(json.dumps(reader(args.reader, args.lake, args.seconds, json.loads(args.valid))))
        return
    if args.where == "local":
        with tempfile.TemporaryDirectory(prefix="r53-readers-lake-") as folder:
            print(json.dumps(measure(os.path.join(folder, "lake"), args.seconds, args.pause), indent=1))
        return
    print(json.dumps(with_loopback_s3(lambda: measure("s3://lake/r53", args.seconds, args.pause)), indent=1))


def with_loopback_s3(work):
    """work() with moto on 127.0.0.1 and a bucket 'lake' (fake credentials, set the standard way)."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ACCESS_KEY_ID": "AKIABENCHFAKE0000001", "AWS_SECRET_ACCESS_KEY": "bench-fake-secret",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                       "AWS_EC2_METADATA_DISABLED": "true"})
    boto3.client("s3").create_bucket(Bucket="lake")
    try:
        return work()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
