"""The physical floor: read every log file of a day, gunzip it (ISA-L, as the pipeline does)
and count the records whose eventSource is exactly route53.amazonaws.com by a byte search.
Nothing else: no JSON parsing, no rows, no Parquet. No pipeline can read the same files faster
with the same decompressor.

    python -m benchmarks.floor --source ROOT --day 2026-11-05 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from multiprocessing import get_context
from pathlib import Path

from transforms.cloudtrail.container import decompress

NEEDLE = b'"eventSource":"route53.amazonaws.com"'


def scan(path: str) -> tuple[int, int, int]:
    """(compressed bytes, uncompressed bytes, Route 53 records) of one file."""
    data = Path(path).read_bytes()
    text = decompress(data)  # the pipeline's own inflate
    return len(data), len(text), text.count(NEEDLE)


def run(source: Path, day: str, workers: int) -> tuple[int, int, int, int]:
    y, m, d = day.split("-")
    files = sorted(str(p) for p in source.glob(f"AWSLogs/*/CloudTrail/*/{y}/{m}/{d}/*.json.gz"))
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            results = pool.map(scan, files, chunksize=4)
    else:
        results = list(map(scan, files))
    return len(files), *(sum(r[i] for r in results) for i in range(3))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.split("\n")[0])
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--day", required=True)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    files, compressed, uncompressed, route53 = run(args.source, args.day, args.workers)
    print(f"floor: files={files} compressed={compressed} uncompressed={uncompressed} route53_records={route53}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
