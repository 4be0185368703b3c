"""The S3 profile: a day of many small objects, served by a loopback S3 server (moto) behind a
proxy that adds a first-byte latency to every answer and counts requests (tests/fault_proxy.py).

    python -m benchmarks.run --profile s3                                  # 12 accounts x 100 files, 25 ms
    python -m benchmarks.run --profile s3 --accounts 40 --files-per-account 120 --repeats 3

An organisation's day is hundreds of accounts x ~288 files of 5-100 KB; here several accounts x
many files of ~12 KB gz (median), Route 53 in ~40% of the files and ~3% of the records. Runs, one
after the other in each repeat: the command line (`--no-prefect --workers N`) from S3, the flow
against a long-lived Prefect server (`--workers N`, as a deployment's run finds its server), and an
S3 client's floor (benchmarks/s3_floor.py: the same listings, 64 GETs in flight, gunzip and a byte
search on N processes). The same tree is also read once from local disk: the lakes must agree.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.generate import DAY, REGION, _templates, dumps
from data import generate as g

BUCKET = "bench"
PREFIX = "ct"
FILE_SHARE, RECORD_SHARE = 0.40, 0.075  # Route 53 in 40% of files, 7.5% of their records: ~3% of all records


def accounts_of(n: int) -> list[str]:
    return [f"{100000000000 + 7919 * i:012d}" for i in range(n)]


def generate_day(out: Path, accounts: int, files_per_account: int, seed: int = 1) -> dict:
    """Write the day under out/AWSLogs/ACCOUNT/CloudTrail/us-east-1/Y/M/D/; return its statistics."""
    other, route53 = _templates(seed, False, 3000), _templates(seed, True, 1500)
    rng = random.Random(f"bench-s3:{seed}")
    day_start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    stats = {"files": 0, "records": 0, "route53_records": 0, "route53_files": 0, "json_bytes": 0, "gzip_bytes": 0, "change_rows": 0}
    sizes = []
    for account in accounts_of(accounts):
        folder = out / "AWSLogs" / account / "CloudTrail" / REGION / f"{DAY:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(files_per_account):
            delivery = day_start + timedelta(minutes=5 + f * (1430 // files_per_account))
            n = min(1000, max(5, int(rng.lognormvariate(math.log(80), 0.6))))
            i, phase = stats["files"], 1 - FILE_SHARE  # stratified: exactly FILE_SHARE of the files hold Route 53
            has_r53 = int(round((i + 1) * FILE_SHARE + phase, 9)) > int(round(i * FILE_SHARE + phase, 9))
            chosen = set(rng.sample(range(n), max(1, round(n * RECORD_SHARE)))) if has_r53 else set()
            records = []
            for j in range(n):
                rec = dict((route53 if j in chosen else other)[rng.randrange(1500 if j in chosen else 3000)])
                rec["eventTime"] = (delivery - timedelta(seconds=rng.randint(60, 900))).strftime("%Y-%m-%dT%H:%M:%SZ")
                rec["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                rec["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                rec["recipientAccountId"] = account
                records.append(rec)
                if j in chosen and rec["eventName"] == "ChangeResourceRecordSets":
                    stats["change_rows"] += len(rec["requestParameters"]["changeBatch"]["changes"])
            body = dumps({"Records": records})
            blob = g.gz(body, level=6)
            unique = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))
            (folder / f"{account}_CloudTrail_{REGION}_{delivery:%Y%m%dT%H%MZ}_{unique}.json.gz").write_bytes(blob)
            stats["files"] += 1
            stats["records"] += n
            stats["route53_records"] += len(chosen)
            stats["route53_files"] += bool(chosen)
            stats["json_bytes"] += len(body)
            stats["gzip_bytes"] += len(blob)
            sizes.append(len(blob))
    stats.update(median_gzip_bytes=int(statistics.median(sizes)), accounts=accounts, files_per_account=files_per_account, seed=seed)
    return stats


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIABENCHFAKEKEY0001", "AWS_SECRET_ACCESS_KEY": "bench-fake-secret-0001",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@contextmanager
def served(root: Path, latency_ms: float, work: Path):
    """moto in a process of its own (it answers on the same 2 cores, as it would not on AWS: the
    same for every run), the tree uploaded straight to it, and the latency proxy in front of it,
    in this process. Yields (the proxy, its URL)."""
    from tests.fault_proxy import FaultProxy

    port = free_port()
    with open(work / "moto.log", "wb") as log:
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **FAKE_CREDENTIALS})
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _upload(root, endpoint)
        proxy = FaultProxy(endpoint, latency_ms=latency_ms)
        url = proxy.start()
        try:
            yield proxy, url
        finally:
            proxy.stop()
    finally:
        moto.terminate()
        moto.wait(timeout=30)


def _upload(root: Path, endpoint: str) -> None:
    import asyncio

    import s3fs
    from fsspec.asyn import sync

    fs = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=endpoint, key=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           secret=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    for attempt in range(100):  # moto starts in a second or two
        try:
            fs.mkdir(BUCKET)
            break
        except OSError:
            if attempt == 99:
                raise
            time.sleep(0.2)
    files = sorted(p for p in root.rglob("*.json.gz"))

    async def put_all() -> None:
        limit = asyncio.Semaphore(32)

        async def put(path: Path) -> None:
            async with limit:
                await fs._pipe_file(f"{BUCKET}/{PREFIX}/{path.relative_to(root)}", path.read_bytes())

        await asyncio.gather(*(put(p) for p in files))

    sync(fs.loop, put_all)


# ------------------------------------------------------------------------------ the runs

def lake_rows(lake: Path) -> dict[str, object]:
    """The lake's rows, source_file spelt from AWSLogs/ on (S3 and local sources spell it differently)."""
    import polars as pl

    out = {}
    for table, key in (("events", ["event_id"]), ("record_changes", ["event_id", "change_index"]), ("quarantine", ["source_file", "record_index"])):
        files = list((lake / table).rglob("*.parquet"))
        if not files:
            out[table] = None
            continue
        frame = pl.read_parquet(files, hive_partitioning=False)
        out[table] = frame.with_columns(pl.col("source_file").str.replace(r"^.*?/AWSLogs/", "AWSLogs/")).sort(key, nulls_last=True)
    return out


def same_lake(a: Path, b: Path) -> list[str]:
    rows_a, rows_b = lake_rows(a), lake_rows(b)
    problems = []
    for table in rows_a:
        x, y = rows_a[table], rows_b[table]
        if (x is None) != (y is None) or (x is not None and not x.equals(y)):
            problems.append(f"{table}: {0 if x is None else x.height} rows from S3, {0 if y is None else y.height} from local disk, or values differ")
    return problems


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def per_object(counts: dict[str, int], files: int) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v / files:.3f}" for k, v in sorted(counts.items()))
    return f"{total / files:.3f} ({parts})"


def main(args) -> int:
    """The S3 profile's runs and table (called by benchmarks.run for --profile s3)."""
    import tempfile

    from benchmarks.harness import environment, long_lived_server, machine, measure, write_results

    cache = args.keep or Path(tempfile.gettempdir()) / "route53-lake-bench"
    folder = cache / f"s3-{args.accounts}x{args.files_per_account}-seed{args.seed}"
    if not (folder / "stats.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        stats = generate_day(folder / "root", args.accounts, args.files_per_account, args.seed)
        (folder / "stats.json").write_text(json.dumps(stats, indent=1))
    stats = json.loads((folder / "stats.json").read_text())
    root, files, day, w = folder / "root", stats["files"], DAY.isoformat(), int(str(args.workers).split(",")[-1])
    source = f"s3://{BUCKET}/{PREFIX}"
    ours = lambda src, out, *flags: [sys.executable, "-m", "flows.cli.main", *flags, "--workers", str(w), "--source", src,  # noqa: E731
                                    "--lake", str(out), "--start", day, "--end", day]
    floor = [sys.executable, "-m", "benchmarks.s3_floor", "--source", source, "--day", day, "--workers", str(w), "--in-flight", "64"]
    before = load()
    runs: dict[str, list[tuple[float, float, float, dict]]] = {"ours": [], "flow": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="route53-lake-bench-s3-") as tmp:
        work = Path(tmp)
        # a private temp folder: whatever a run leaves behind goes with the benchmark's own folder
        (work / "tmp").mkdir()
        env = {**environment(work), **FAKE_CREDENTIALS, "TMPDIR": str(work / "tmp")}
        local_wall, local_cpu, _ = measure(ours(str(root), work / "lake-local", "--no-prefect"), env, work / "log-local.txt")
        server, api = long_lived_server(work, env)
        with served(root, args.latency_ms, work) as (proxy, url):
            env["AWS_ENDPOINT_URL"] = url
            for repeat in range(args.repeats):
                for kind, argv in (("ours", ours(source, work / f"lake-s3-{repeat}", "--no-prefect")),
                                   ("flow", ours(source, work / f"lake-flow-{repeat}")), ("floor", floor)):
                    proxy.reset_counts()
                    run_env = {**env, "PREFECT_API_URL": api} if kind == "flow" else env
                    wall, cpu, rss = measure(argv, run_env, work / f"log-{kind}-{repeat}.txt")
                    runs[kind].append((wall, cpu, rss, dict(proxy.counts)))
                    print(f"  repeat {repeat + 1}/{args.repeats} {kind:5} {wall:7.2f} s  cpu {cpu:7.2f} s  rss {rss:6.0f} MiB  "
                          f"requests per log object {per_object(runs[kind][-1][3], files)}", file=sys.stderr, flush=True)
        server.terminate()
        server.wait(timeout=60)
        problems = same_lake(work / "lake-s3-0", work / "lake-local") + same_lake(work / "lake-flow-0", work / "lake-local")
        print(f"  ({(work / 'log-ours-0.txt').read_text(errors='replace').strip().splitlines()[-3]})", file=sys.stderr)
    text = report(args, stats, runs, (local_wall, local_cpu), problems, before, load(), machine())
    print(text)
    if problems:
        print("the S3 lake differs from the local one: FAILED", file=sys.stderr)
        return 1
    if args.results and not args.tiny:
        write_results(args.results, args.label if args.label != "main" else "s3", text)
        print(f"\nwritten to {args.results}", file=sys.stderr)
    return 0


def report(args, stats: dict, runs: dict, local: tuple[float, float], problems: list[str], before: str, after: str, machine: str) -> str:
    files = stats["files"]
    lines = [f"Machine: {machine}", f"Load: before `{before}`; after `{after}`", "",
             f"Command: `python -m benchmarks.run {' '.join(sys.argv[1:])}`", "",
             f"Data (S3 profile): {args.accounts} accounts x {args.files_per_account} files = {files} log objects, "
             f"median {stats['median_gzip_bytes'] / 1000:.1f} KB gz, {stats['gzip_bytes'] / 1e6:.1f} MB gz, {stats['records']:,} records, "
             f"{stats['route53_records']:,} Route 53 ({stats['route53_records'] / stats['records']:.1%}) in {stats['route53_files']} files "
             f"({stats['route53_files'] / files:.0%}); moto behind a proxy adding {args.latency_ms:g} ms before each answer; "
             f"{args.repeats} repeat(s), best and median.", "",
             "| run | best s | median s | objects/s (best) | requests per log object (by kind) | CPU s (median) | peak RSS of the largest process, MiB |",
             "|---|---:|---:|---:|---|---:|---:|"]
    names = {"ours": f"`route53-lake --no-prefect --workers {args.workers}` from S3",
             "flow": f"the flow, `route53-lake --workers {args.workers}` against a long-lived Prefect server, from S3",
             "floor": f"S3 client floor: same listings, 64 GETs in flight, gunzip + byte search, {args.workers} processes"}
    for kind, done in runs.items():
        walls = [r[0] for r in done]
        lines.append(f"| {names[kind]} | {min(walls):.2f} | {statistics.median(walls):.2f} | {files / min(walls):.0f} | "
                     f"{per_object(done[0][3], files)} | {statistics.median(r[1] for r in done):.2f} | {max(r[2] for r in done):.0f} |")
    lines.append(f"| the command line, same tree from local disk (once) | {local[0]:.2f} | | {files / local[0]:.0f} | - | {local[1]:.2f} | |")
    lines.append("")
    for kind, target in (("ours", 1.5), ("flow", 2.0)):  # issue 21, target 1
        best = min(r[0] for r in runs[kind]) / min(r[0] for r in runs["floor"])
        median = statistics.median(r[0] for r in runs[kind]) / statistics.median(r[0] for r in runs["floor"])
        paired = [o[0] / f[0] for o, f in zip(runs[kind], runs["floor"], strict=True)]
        cpu = statistics.median(r[1] for r in runs[kind]) / statistics.median(r[1] for r in runs["floor"])
        lines.append(f"ratio {kind}/floor wall: best {best:.2f}x, median {median:.2f}x, per repeat {', '.join(f'{r:.2f}x' for r in paired)} "
                     f"(target <= {target:g}x on the median: {'met' if median <= target else 'NOT met'}); CPU seconds {cpu:.2f}x")
    flow_cli = statistics.median(r[0] for r in runs["flow"]) / statistics.median(r[0] for r in runs["ours"])
    lines.append(f"ratio flow/--no-prefect wall: median {flow_cli:.2f}x (issue 21 target 3: <= 1.3x: {'met' if flow_cli <= 1.3 else 'NOT met'})")
    lines += ["(the S3 server's CPU, on the same cores, is not counted in either)",
              "same lakes as the local-disk run: " + ("yes (events, record_changes, quarantine)" if not problems else "NO: " + "; ".join(problems))]
    return "\n".join(lines)
