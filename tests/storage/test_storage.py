"""Nothing is written outside the lake root; writes are atomic as readers see them."""

from __future__ import annotations

import pytest

from flows.settings import LakeSettings, SettingsError, validate_uri
from flows.storage.store import OutsideRootError, Store


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", ""])
def test_paths_that_leave_the_root_are_refused(tmp_path, relative):
    with pytest.raises(OutsideRootError):
        Store(str(tmp_path / "lake")).write_bytes(relative, b"x")
    assert not (tmp_path / "x").exists()


def test_local_write_leaves_no_temporary_file_and_replaces_whole(tmp_path):
    store = Store(str(tmp_path))
    store.write_bytes("events/event_date=2026-11-01/a.parquet", b"first")
    store.write_bytes("events/event_date=2026-11-01/a.parquet", b"second")
    files = [p.name for p in (tmp_path / "events" / "event_date=2026-11-01").iterdir()]
    assert files == ["a.parquet"] and store.read_bytes("events/event_date=2026-11-01/a.parquet") == b"second"


@pytest.mark.parametrize(("uri", "words"), [
    ("ftp://host/x", "not supported"),
    ("s3://AKIA:secret@bucket/x", "credentials"),
    ("s3://Bad_Bucket/x", "not a valid S3 bucket name"),
    ("s3://bucket/a/../b", "'..'"),
    ("", "empty"),
])
def test_bad_locations_are_refused(uri, words):
    with pytest.raises(SettingsError, match=words):
        validate_uri(uri, "lake")


def test_settings_validate_accounts_regions_and_sources():
    ok = LakeSettings(accounts=["123456789012"], regions=["us-east-1", "us-gov-west-1"], event_sources=["Route53.amazonaws.com"])
    assert ok.event_sources == ["route53.amazonaws.com"] and ok.regions == ["us-east-1", "us-gov-west-1"]
    for bad in ({"accounts": ["12345"]}, {"accounts": ["../../etc"]}, {"regions": ["us-east-1/../x"]},
                {"event_sources": []}, {"event_sources": ["evil"]}):
        with pytest.raises(ValueError):
            LakeSettings(**bad)
    # No regions (None, or [] as Prefect's run form sends an emptied list) is the default: every region the trail delivers.
    assert LakeSettings(regions=[]).regions is None and LakeSettings().regions is None
