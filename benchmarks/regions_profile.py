"""The cost of the default's reach (issue 23): a night read as before (route53.amazonaws.com in
us-east-1) and as the default reads it (the Route 53 family in every region the trail delivers), on
one day of one account whose other regions hold most of the volume, as a workload region does
(--home-share sets us-east-1's share; the others keep their proportions):

    us-east-1       40%  realistic-sparse: Route 53 in a quarter of the files, mostly a poller's reads
    eu-west-1       30%  a workload region: Resolver and DNS Firewall calls in ~5% of its files
    us-west-2       15%  no Route 53 family record
    ap-southeast-2  10%  no Route 53 family record
    5 idle regions   5%  (1% each) no Route 53 family record: what AWS Config and the like log there

Four runs of `route53-lake --no-prefect` per repeat, one after the other: "empty" (the default on a
day without logs: what a run costs before it reads a byte), "before" (--event-source
route53.amazonaws.com --region us-east-1), "sources" (the default's event sources, --region
us-east-1) and "default" (no flags). Printed: wall and CPU seconds (medians), which share of the
default night goes to the added sources and to the added regions, and the same beyond the empty
run's cost (what a night of gigabytes, where that fixed cost vanishes, would see). The shares depend
on the volume outside us-east-1: a trail whose other regions are idle pays about their share of the bytes.

    python -m benchmarks.run --profile regions --size-mb 200 --repeats 3 --workers 2
    python -m benchmarks.run --profile regions --size-mb 200 --repeats 3 --workers 2 --home-share 0.85 --label regions-home
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import duckdb

from benchmarks.generate import DAY, generate
from benchmarks.harness import environment, machine, measure, write_results

# region -> (generator profile, share of the day's JSON bytes)
LAYOUT = {"us-east-1": ("realistic-sparse", 0.40), "eu-west-1": ("resolver-sparse", 0.30), "us-west-2": ("quiet", 0.15),
          "ap-southeast-2": ("quiet", 0.10), **{r: ("quiet", 0.01) for r in ("eu-central-1", "ap-northeast-1", "sa-east-1",
                                                                              "ca-central-1", "eu-north-1")}}
EMPTY_DAY = "2026-11-04"  # no log file of any region (the generated day is DAY)
RUNS = {"empty": ["--start", EMPTY_DAY, "--end", EMPTY_DAY],
        "before": ["--event-source", "route53.amazonaws.com", "--region", "us-east-1"],
        "sources": ["--region", "us-east-1"], "default": []}


def shares(home: float) -> dict[str, float]:
    """Each region's share of the day's bytes: us-east-1's is `home`, the others keep LAYOUT's proportions."""
    others = 1 - LAYOUT["us-east-1"][1]
    return {region: home if region == "us-east-1" else share * (1 - home) / others for region, (_, share) in LAYOUT.items()}


def dataset(cache: Path, size_mb: float, seed: int, home: float) -> tuple[Path, dict[str, dict]]:
    """The day's tree (generated once per size, seed and share) and each region's statistics."""
    folder = cache / f"regions-{size_mb:g}mb-seed{seed}" if home == LAYOUT["us-east-1"][1] else cache / f"regions-{size_mb:g}mb-seed{seed}-home{home:g}"
    stats_file = folder / "stats.json"
    if stats_file.exists():
        return folder / "root", json.loads(stats_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    stats = {region: generate(folder / "root", LAYOUT[region][0], size_mb * share, seed, quiet=True, region=region)
             for region, share in shares(home).items()}
    stats_file.write_text(json.dumps(stats, indent=1))
    return folder / "root", stats


def events_by_source(lake: Path) -> dict[str, int]:
    if not (lake / "events").exists():
        return {}
    con = duckdb.connect()
    rows = con.sql(f"SELECT event_source, count(*) FROM read_parquet('{lake}/events/**/*.parquet') GROUP BY 1 ORDER BY 1").fetchall()
    con.close()
    return dict(rows)


def expected_sources(stats: dict[str, dict], run: str) -> dict[str, int]:
    """What each run must find: the generator's selected records of the regions and sources it reads."""
    found: dict[str, int] = {}
    for region, s in stats.items() if run != "empty" else ():
        profile = LAYOUT[region][0]
        source = "route53resolver.amazonaws.com" if profile == "resolver-sparse" else "route53.amazonaws.com"
        if s["route53_records"] and (run == "default" or region == "us-east-1") and (run != "before" or source == "route53.amazonaws.com"):
            found[source] = found.get(source, 0) + s["route53_records"]
    return found


def main(args) -> int:
    cache = args.keep or Path(tempfile.gettempdir()) / "route53-lake-bench"
    cache.mkdir(parents=True, exist_ok=True)
    root, stats = dataset(cache, args.size_mb, args.seed, args.home_share)
    workers = args.workers.split(",")[-1]
    wall: dict[str, list[float]] = {run: [] for run in RUNS}
    cpu: dict[str, list[float]] = {run: [] for run in RUNS}
    rss: dict[str, list[float]] = {run: [] for run in RUNS}
    problems = []
    with tempfile.TemporaryDirectory(prefix="route53-lake-bench-regions-") as tmp:
        work = Path(tmp)
        env = environment(work)
        for repeat in range(args.repeats):
            for run, flags in RUNS.items():
                lake = work / f"lake-{run}-{repeat}"
                argv = [sys.executable, "-m", "flows.cli.main", "--no-prefect", "--workers", workers, "--source", str(root),
                        "--lake", str(lake), "--start", DAY.isoformat(), "--end", DAY.isoformat(), *flags]
                w, c, r = measure(argv, env, work / f"log-{run}-{repeat}.txt")
                wall[run].append(w), cpu[run].append(c), rss[run].append(r)
                print(f"  repeat {repeat + 1}/{args.repeats} {run:8} {w:7.2f} s  cpu {c:7.2f} s  rss {r:6.0f} MiB", file=sys.stderr, flush=True)
                if repeat == 0 and (got := events_by_source(lake)) != (want := expected_sources(stats, run)):
                    problems.append(f"{run}: events by source {got}, the generator wrote {want}")
                shutil.rmtree(lake, ignore_errors=True)
    text = report(args, stats, wall, cpu, rss, problems)
    print(text)
    if problems:
        print("the runs did not find what the generator wrote", file=sys.stderr)
        return 1
    if args.results and not args.tiny:
        write_results(args.results, args.label if args.label != "main" else "regions", text)
    return 0


def report(args, stats: dict[str, dict], wall: dict, cpu: dict, rss: dict, problems: list[str]) -> str:
    total = sum(s["json_bytes"] for s in stats.values())
    layout = "; ".join(f"{region} {s['json_bytes'] / 1e6:.1f} MB JSON ({s['json_bytes'] / total:.0%}), {s['files']} files"
                       + (f", {s['route53_records']:,} {'Resolver' if LAYOUT[region][0] == 'resolver-sparse' else 'Route 53'} records"
                          if s["route53_records"] else "") for region, s in stats.items())
    med = {run: (statistics.median(wall[run]), statistics.median(cpu[run]), max(rss[run])) for run in RUNS}
    lines = [f"Machine: {machine()}", "", f"Command: `python -m benchmarks.run {' '.join(sys.argv[1:])}`", "",
             f"Data (one account, one day, {total / 1e6:.1f} MB JSON, {sum(s['gzip_bytes'] for s in stats.values()) / 1e6:.1f} MB gzip): "
             f"{layout}; median of {args.repeats} repeat(s), `--no-prefect --workers {args.workers.split(',')[-1]}`.", "",
             "| run | flags | median s | CPU s | peak RSS of the largest process, MiB |", "|---|---|---:|---:|---:|"]
    for run, flags in RUNS.items():
        lines.append(f"| {run} | `{' '.join(flags) or '(none: the default)'}` | {med[run][0]:.2f} | {med[run][1]:.2f} | {med[run][2]:.0f} |")
    empty, before, sources, default = (med[run][1] for run in RUNS)
    lines += ["", f"ratio default/before: CPU {default / before:.2f}x, wall {med['default'][0] / med['before'][0]:.2f}x; "
              f"share of the default night's CPU on the added sources (us-east-1): {(sources - before) / default:.1%}, "
              f"on the added regions: {(default - sources) / default:.1%}",
              f"beyond the empty run's {empty:.2f} CPU s (a night of gigabytes): default/before {(default - empty) / (before - empty):.2f}x; "
              f"share on the added sources {(sources - before) / (default - empty):.1%}, on the added regions {(default - sources) / (default - empty):.1%}",
              "found: " + ("what the generator wrote, in every run" if not problems else "NO: " + "; ".join(problems))]
    return "\n".join(lines)
