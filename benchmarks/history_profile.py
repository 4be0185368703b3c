"""The history case (issue 21, target 3): does a night cost more on an older lake? For each lake age
(--history-days, e.g. 7,365) a lake of that many small days (300 Route 53 changes a day, 10% of
them of the day before, one zone of 50 record sets) is built with --no-prefect (not timed); then the
next delivery day is published, on a fresh copy of the lake each time, by the flow against a
long-lived Prefect server (`server`) and by `--no-prefect` (`ours`). The flow's night includes its
DNS summaries of the event dates it touched. Printed: wall and CPU seconds per run, and the ratio
of the oldest lake's night to the youngest's (target <= 1.2x).

    python -m benchmarks.run --profile history --history-days 7,365 --repeats 3
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from benchmarks.harness import environment, machine, measure, write_results

ACCT = "123456789012"
LAST = date(2026, 11, 29)  # the night's delivery day; the lake holds the days before it
EVENTS_PER_DAY = 300


def record(event_id: str, when: str, i: int, day: date) -> dict:
    return {"eventVersion": "1.08", "eventTime": when, "eventSource": "route53.amazonaws.com", "eventName": "ChangeResourceRecordSets",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2", "eventID": event_id,
            "requestID": "r-" + event_id, "eventType": "AwsApiCall", "readOnly": False, "recipientAccountId": ACCT,
            "managementEvent": True, "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/alice", "accountId": ACCT},
            "requestParameters": {"hostedZoneId": "Z1EXAMPLE", "changeBatch": {"changes": [
                {"action": "UPSERT", "resourceRecordSet": {"name": f"r{i % 50}.example.com.", "type": "A", "tTL": 60,
                                                         "resourceRecords": [{"value": f"192.0.2.{(i + day.day) % 250}"}]}}]}},
            "responseElements": {"changeInfo": {"id": "/change/C" + event_id, "status": "PENDING"}}}


def write_day(source: Path, day: date) -> None:
    folder = source / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    records = [record(f"{day}-{i:04d}", f"{day - timedelta(days=1) if i % 10 == 0 else day}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z", i, day)
               for i in range(EVENTS_PER_DAY)]
    name = f"{ACCT}_CloudTrail_us-east-1_{day:%Y%m%d}T0100Z_Histaaaaaaaaaaaa.json.gz"
    (folder / name).write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), mtime=0))


def build(work: Path, days: int, env: dict) -> tuple[Path, Path]:
    """A source of `days` days and the night's, and the lake of the `days` days (built with --no-prefect)."""
    source, lake = work / f"source-{days}", work / f"lake-{days}"
    first = LAST - timedelta(days=days)
    for k in range(days + 1):
        write_day(source, first + timedelta(days=k))
    measure([sys.executable, "-m", "flows.cli.main", "--no-prefect", "--source", str(source), "--lake", str(lake),
             "--start", first.isoformat(), "--end", (LAST - timedelta(days=1)).isoformat()], env, work / f"build-{days}.log")
    return source, lake


def night(kind: str, source: Path, lake: Path, out: Path, env: dict) -> tuple[float, float]:
    """(wall, CPU) of publishing the night's day into a copy of `lake`."""
    shutil.copytree(lake, out)
    argv = [sys.executable, "-m", "flows.cli.main", *(["--no-prefect"] if kind == "ours" else []),
            "--source", str(source), "--lake", str(out), "--start", LAST.isoformat(), "--end", LAST.isoformat()]
    wall, cpu, _ = measure(argv, env, out.with_suffix(".log"))
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu


def main(args) -> int:
    from benchmarks.run import long_lived_server

    ages = [int(d) for d in args.history_days.split(",")]
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="route53-lake-history-") as tmp:
        work = Path(tmp)
        env = environment(work)
        lakes = {age: build(work, age, env) for age in ages}
        server, api = long_lived_server(work, env)
        try:
            for repeat in range(args.repeats):
                for age in ages:
                    for kind in ("server", "ours"):
                        result = night(kind, *lakes[age], work / f"night-{kind}-{age}-{repeat}", {**env, "PREFECT_API_URL": api} if kind == "server" else env)
                        runs.setdefault((kind, age), []).append(result)
                        print(f"  repeat {repeat + 1}/{args.repeats} {age:4} days {kind:6} {result[0]:7.2f} s  cpu {result[1]:7.2f} s",
                              file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    report = report_text(args, ages, runs)
    print(report)
    if args.results:
        write_results(args.results, args.label, report)
    return 0


def report_text(args, ages: list[int], runs: dict) -> str:
    def median(kind: str, age: int, i: int) -> float:
        return statistics.median(r[i] for r in runs[(kind, age)])

    lines = [f"Machine: {machine()}", "", f"Command: `python -m benchmarks.run --profile history --history-days {args.history_days} "
             f"--repeats {args.repeats}`", "",
             "| lake age, days | run | median wall s | median CPU s |", "|---:|---|---:|---:|"]
    for age in ages:
        for kind, label in (("server", "the flow, long-lived server"), ("ours", "--no-prefect")):
            lines.append(f"| {age} | {label} | {median(kind, age, 0):.2f} | {median(kind, age, 1):.2f} |")
    young, old = min(ages), max(ages)
    for kind in ("server", "ours"):
        wall, cpu = (median(kind, old, i) / median(kind, young, i) for i in (0, 1))
        verdict = f" (target <= 1.2x: {'met' if wall <= 1.2 else 'NOT met'})" if kind == "server" else ""
        lines += ["", f"ratio {kind}: {old}-day night / {young}-day night = {wall:.2f}x wall, {cpu:.2f}x CPU{verdict}"]
    for age in ages:
        lines.append(f"flow / --no-prefect on the {age}-day lake: {median('server', age, 0) / median('ours', age, 0):.2f}x wall, "
                     f"{median('server', age, 1) / median('ours', age, 1):.2f}x CPU")
    return "\n".join(lines)
