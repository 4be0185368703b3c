"""Listing by delivery-day folder against a real S3 endpoint on loopback, through s3fs."""

from __future__ import annotations

from datetime import date

import pytest

from flows.pipeline import list_day
from flows.settings import LakeSettings
from flows.source.listing import DayFolder, Trail, digest_folders, find_trails, list_day_folder
from flows.storage.store import Store
from tests.conftest import gz, log_key

ACCT, OTHER, ORG = "123456789012", "210987654321", "o-a1b2c3d4e5"


@pytest.fixture
def trail_bucket(s3, bucket):
    """A bucket with a prefix, a plain and an organization trail, and the neighbours to skip."""
    prefix = "org/trails/"
    keys = [
        log_key(ACCT, "2026-11-01", "0105", prefix=prefix),
        log_key(ACCT, "2026-11-01", "1310", unique="Q1w2E3r4T5y6U7i8", prefix=prefix),
        log_key(ACCT, "2026-11-02", "0004", prefix=prefix),
        log_key(ACCT, "2026-11-03", "0004", prefix=prefix),
        log_key(ACCT, "2026-11-02", "0500", region="eu-west-1", prefix=prefix),
        log_key(OTHER, "2026-11-02", "0700", org=ORG, prefix=prefix),
    ]
    for key in keys:
        s3.pipe(f"{bucket}/{key}", gz([]))
    day = f"{bucket}/{prefix}AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/11/01"
    s3.pipe(f"{day}/", b"")  # folder marker written by a console upload
    s3.pipe(f"{day}/README.txt", b"not a log")
    s3.pipe(f"{day}/{ACCT}_CloudTrail_us-east-1_20261101T0105Z_x.json", b"{}")
    s3.pipe(f"{day}/{OTHER}_CloudTrail_us-east-1_20261101T0105Z_AbCdEfGhIjKlMnOp.json.gz", gz([]))
    s3.pipe(f"{bucket}/{prefix}AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2026/11/01/{ACCT}_CloudTrail-Digest_us-east-1_t_us-east-1_20261101T120000Z.json.gz", gz({}))
    s3.pipe(f"{bucket}/{prefix}AWSLogs/{ACCT}/CloudTrail-Insight/us-east-1/2026/11/01/{ACCT}_CloudTrail-Insight_us-east-1_20261101T1200Z_a.json.gz", gz([]))
    s3.pipe(f"{bucket}/{prefix}AWSLogs/vpcflowlogs-notes.txt", b"x")
    return f"s3://{bucket}/{prefix.rstrip('/')}", keys


def test_finds_plain_and_organization_accounts_under_a_prefix(trail_bucket):
    uri, _ = trail_bucket
    trails, skipped = find_trails(Store(uri), None)
    assert trails == [Trail(ACCT), Trail(OTHER, ORG)]
    assert [s.path.rsplit("/", 1)[-1] for s in skipped] == ["vpcflowlogs-notes.txt"]


def test_account_filter_keeps_only_the_given_accounts(trail_bucket):
    uri, _ = trail_bucket
    assert find_trails(Store(uri), [OTHER])[0] == [Trail(OTHER, ORG)]


def test_day_folder_lists_log_files_and_says_why_others_were_skipped(trail_bucket):
    uri, keys = trail_bucket
    objects, skipped = list_day_folder(Store(uri), DayFolder(date(2026, 11, 1), Trail(ACCT), "us-east-1"))
    assert [o.path for o in objects] == sorted(k.removeprefix("org/trails/") for k in keys[:2])
    assert all(o.size > 0 and o.etag for o in objects)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in skipped}
    assert reasons["01"] == "a folder marker"
    assert reasons["README.txt"].startswith("not a CloudTrail log file name")
    assert reasons[f"{ACCT}_CloudTrail_us-east-1_20261101T0105Z_x.json"].startswith("not a CloudTrail log file name")
    assert "named for 210987654321/us-east-1" in reasons[f"{OTHER}_CloudTrail_us-east-1_20261101T0105Z_AbCdEfGhIjKlMnOp.json.gz"]


def test_organization_trail_day_folder(trail_bucket):
    uri, keys = trail_bucket
    objects, _ = list_day_folder(Store(uri), DayFolder(date(2026, 11, 2), Trail(OTHER, ORG), "us-east-1"))
    assert [o.path for o in objects] == [keys[5].removeprefix("org/trails/")]


def test_only_the_requested_day_folders_are_listed(trail_bucket, monkeypatch):
    uri, keys = trail_bucket
    import flows.source.listing as listing

    listed = []
    original = listing.list_many

    def recording_list_many(store, folders, concurrency):
        listed.extend(folders)
        return original(store, folders, concurrency)

    monkeypatch.setattr(listing, "list_many", recording_list_many)
    trails = [Trail(ACCT), Trail(OTHER, ORG)]
    day_folders = sorted(f"{t.folder}/CloudTrail/{r}/2026/11/02" for t in trails for r in ("us-east-1", "eu-west-1"))
    for policy in ("off", "record"):
        listed.clear()
        settings = LakeSettings(source=uri, lake="unused-lake", regions=["us-east-1", "eu-west-1"], digest_policy=policy)
        listings = list_day(settings, trails, date(2026, 11, 2))
        # one list call per account x region x day; with the digest check, two more (that day's and
        # the next day's digest folder) per folder that exists: never a cost that grows with the bucket
        digests = sorted(f for x in listings for f in digest_folders(x.unit)) if policy == "record" else []
        assert len(listings) == 3 and sorted(listed) == sorted(day_folders + digests)
        found = sorted(o.path for x in listings for o in x.objects)
        assert found == sorted(k.removeprefix("org/trails/") for k in (keys[2], keys[4], keys[5]))


def test_missing_day_folder_is_empty_not_an_error(trail_bucket):
    uri, _ = trail_bucket
    assert list_day_folder(Store(uri), DayFolder(date(2026, 10, 1), Trail(ACCT), "us-east-1")) == ([], [])
