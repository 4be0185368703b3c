"""The regions a trail delivers, found by listing each account's CloudTrail/ folder (the default reads them all)."""

from __future__ import annotations

from flows.results import Trail
from flows.source.listing import find_regions
from flows.storage.store import open_store
from tests.conftest import log_key, route53_record, write_trail


def test_every_region_folder_of_each_trail_and_nothing_else(tmp_path):
    record = [route53_record("e1", "2026-11-02T09:00:00Z")]
    root = write_trail(tmp_path / "trail", {
        log_key("123456789012", "2026-11-02"): record,
        log_key("123456789012", "2026-11-02", region="eu-west-1"): record,
        log_key("123456789012", "2026-11-01", region="ap-southeast-2"): record,  # another day: the region is the trail's
        log_key("210987654321", "2026-11-02", region="us-gov-west-1", org="o-a1b2c3d4e5"): record,
    })
    (root / "AWSLogs/123456789012/CloudTrail/not a region").mkdir()
    (root / "AWSLogs/123456789012/CloudTrail/README.txt").write_text("a stray file")
    trails = [Trail("123456789012"), Trail("210987654321", "o-a1b2c3d4e5"), Trail("444455556666")]
    assert find_regions(open_store(str(root)), trails, 4) == [["ap-southeast-2", "eu-west-1", "us-east-1"], ["us-gov-west-1"], []]
