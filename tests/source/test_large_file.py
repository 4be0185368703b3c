"""A 200 MB log file (uncompressed) is read whole and correctly, in memory bounded by the file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CHILD = r"""
import json, sys
from isal import igzip
from transforms.cloudtrail.container import decompress
from transforms.route53.fast import flatten_file
from datetime import date
other = json.dumps({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                    "eventTime": "2026-11-01T10:00:00Z", "requestParameters": {"bucketName": "b", "key": "k" * 600}}).encode()
route53 = json.dumps({"eventVersion": "1.08", "eventSource": "route53.amazonaws.com", "eventName": "ChangeResourceRecordSets",
                      "eventTime": "2026-11-01T10:00:00Z", "eventID": "e", "requestParameters": {"hostedZoneId": "Z1",
                      "changeBatch": {"changes": [{"action": "UPSERT", "resourceRecordSet": {"name": "a.example.com.", "type": "A",
                      "tTL": 60, "resourceRecords": [{"value": "192.0.2.1"}]}}]}}}).encode()
# Written in pieces, so that the peak measured below is the reading's, not the making's.
import io
buffer, size = io.BytesIO(), 0
with igzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1) as gz:
    size += gz.write(b'{"Records": [')
    for i in range(300_000):
        size += gz.write((b"," if i else b"") + (route53 if i % 1000 == 0 else other))
    size += gz.write(b"]}")
data = buffer.getvalue()
flat = flatten_file(decompress(data), source_file="big", delivery_date=date(2026, 11, 1))
# VmHWM, not ru_maxrss: Linux counts the forking parent's (pytest's) memory in a child's ru_maxrss.
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"size": size, "records": flat.records_read, "events": flat.events.num_rows,
                  "changes": flat.record_changes.num_rows, "peak": peak}))
"""


def test_a_200_mb_file_is_read_whole_in_memory_bounded_by_the_file():
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    facts = json.loads(result.stdout)
    assert facts["size"] > 200 * 2**20
    assert (facts["records"], facts["events"], facts["changes"]) == (300_000, 300, 300)
    # the file's text is held once (plus its split into raw records, the compressed bytes and the
    # interpreter): never a copy per record or objects for every record
    assert facts["peak"] < 2 * facts["size"], f"peak RSS {facts['peak'] / 2**20:.0f} MiB for a {facts['size'] / 2**20:.0f} MiB file"
