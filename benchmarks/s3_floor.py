"""An S3 client's floor: the same listings as the pipeline (the account folders, then every
account's day folder and its two digest folders, at once), then every log file fetched with one
GET each (s3fs async `_cat_file`, a fixed number in flight across the processes), gunzipped
(ISA-L, as the pipeline does) and searched for Route 53 records by a byte search. Nothing else:
no JSON parsing, no rows, no Parquet, no digest check.

    python -m benchmarks.s3_floor --source s3://bucket/prefix --day 2026-11-05 --workers 2 --in-flight 64
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from multiprocessing import get_context

from transforms.cloudtrail.container import decompress

NEEDLE = b'"eventSource":"route53.amazonaws.com"'


def s3(connections: int):
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, config_kwargs={"max_pool_connections": connections})


async def _listed(fs, root: str, day: date, in_flight: int) -> list[str]:
    limit = asyncio.Semaphore(in_flight)

    async def ls(folder: str) -> list[dict]:
        async with limit:
            return await fs._lsdir(folder, refresh=True)

    accounts = [e["name"].rstrip("/") for e in await ls(f"{root}/AWSLogs") if e["type"] == "directory"]
    region, nxt = "us-east-1", day + timedelta(days=1)
    folders = [f"{a}/CloudTrail/{region}/{day:%Y/%m/%d}" for a in accounts]
    digests = [f"{a}/CloudTrail-Digest/{region}/{d:%Y/%m/%d}" for a in accounts for d in (day, nxt)]
    listed = await asyncio.gather(*(ls(f) for f in folders + digests))
    return sorted(e["name"] for entries in listed[:len(folders)] for e in entries if e["name"].endswith(".json.gz"))


async def _scanned(fs, paths: list[str], in_flight: int) -> tuple[int, int, int]:
    limit = asyncio.Semaphore(in_flight)
    totals = [0, 0, 0]

    async def one(path: str) -> None:
        async with limit:
            data = await fs._cat_file(path, max_concurrency=1)  # one GET, no HEAD
        text = decompress(data)
        totals[0] += len(data)
        totals[1] += len(text)
        totals[2] += text.count(NEEDLE)

    await asyncio.gather(*(one(p) for p in paths))
    return totals[0], totals[1], totals[2]


def scan_share(paths: list[str], in_flight: int) -> tuple[int, int, int]:
    from fsspec.asyn import sync

    fs = s3(in_flight)
    return sync(fs.loop, _scanned, fs, paths, in_flight)


def run(source: str, day: date, workers: int, in_flight: int) -> tuple[int, int, int, int]:
    from fsspec.asyn import sync

    fs = s3(in_flight)
    paths = sync(fs.loop, _listed, fs, source.removeprefix("s3://").rstrip("/"), day, in_flight)
    shares = [paths[i::workers] for i in range(workers)]
    each = max(1, in_flight // workers)
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            results = pool.starmap(scan_share, [(share, each) for share in shares])
    else:
        results = [scan_share(paths, in_flight)]
    return len(paths), *(sum(r[i] for r in results) for i in range(3))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.s3_floor", description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="s3://bucket/prefix holding AWSLogs/")
    p.add_argument("--day", type=date.fromisoformat, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--in-flight", type=int, default=64, help="GETs in flight, over all processes (default: %(default)s)")
    args = p.parse_args(argv)
    files, compressed, uncompressed, route53 = run(args.source, args.day, args.workers, args.in_flight)
    print(f"s3 floor: files={files} compressed={compressed} uncompressed={uncompressed} route53_records={route53}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
