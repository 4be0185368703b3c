"""Smoke tests of the benchmark harness (benchmarks/): it runs end to end on a tiny day and its
generator is deterministic. No timing is asserted."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.generate import day_folder, generate
from flows.source.listing import LOG_FILE_NAME

ROOT = Path(__file__).resolve().parents[2]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(day_folder(root).iterdir()):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.slow  # a few seconds: make check leaves it to make test
def test_generator_is_deterministic_and_names_are_cloudtrails(tmp_path):
    a, b, c = generate(tmp_path / "a", "dense", 3, seed=7, quiet=True), generate(tmp_path / "b", "dense", 3, seed=7, quiet=True), \
        generate(tmp_path / "c", "dense", 3, seed=8, quiet=True)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert a["files"] == b["files"] and c["files"] >= 1
    for path in day_folder(tmp_path / "a").iterdir():
        assert LOG_FILE_NAME.fullmatch(path.name), path.name


@pytest.mark.slow  # a few seconds: make check leaves it to make test
def test_sparse_profile_route53_share(tmp_path):
    stats = generate(tmp_path, "sparse", 20, seed=1, quiet=True)
    records = route53 = files_with = 0
    event_ids = set()
    for path in day_folder(tmp_path).iterdir():
        recs = json.loads(gzip.decompress(path.read_bytes()))["Records"]
        assert 50 <= len(recs) <= 2000
        n = sum(r["eventSource"] == "route53.amazonaws.com" for r in recs)
        records, route53, files_with = records + len(recs), route53 + n, files_with + (n > 0)
        event_ids.update(r["eventID"] for r in recs)
    assert (records, route53) == (stats["records"], stats["route53_records"])
    assert len(event_ids) == records  # unique: our lake keeps one row per event id
    assert 0.01 <= route53 / records <= 0.06  # configured: about 3%
    assert files_with < stats["files"] / 2  # a minority of files


@pytest.mark.slow  # a few seconds: make check leaves it to make test
def test_tiny_benchmark_runs_and_agrees(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--profile", "dense", "--only", "ours,duckdb,floor",
         "--keep", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "| profile | run | workers | median s |" in text
    assert "| dense | ours --no-prefect | 1 process |" in text
    assert "| dense | DuckDB SQL peer | 1 thread |" in text
    assert "agree: yes" in text
    assert text.rstrip().splitlines()[-1].startswith("ratio dense workers=1: ours/DuckDB throughput = ")
    assert "of the floor" in text


@pytest.mark.slow  # a few seconds: make check leaves it to make test
def test_generator_writes_another_regions_day_with_resolver_calls(tmp_path):
    """The regions profile's workload region (benchmarks/regions_profile.py): files named and foldered for
    eu-west-1, route53resolver records the only ones that name the Route 53 family."""
    stats = generate(tmp_path, "resolver-sparse", 3, seed=1, quiet=True, region="eu-west-1")
    resolver = 0
    for path in day_folder(tmp_path, "eu-west-1").iterdir():
        assert LOG_FILE_NAME.fullmatch(path.name)["region"] == "eu-west-1", path.name
        for record in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            assert record["awsRegion"] == "eu-west-1"
            if record["eventSource"] == "route53resolver.amazonaws.com":
                resolver += 1
            else:
                assert "route53" not in json.dumps(record).lower()
    assert resolver == stats["route53_records"] > 0 and stats["change_rows"] == 0
