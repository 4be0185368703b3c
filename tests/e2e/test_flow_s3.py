"""The whole flow, S3 to a lake on S3, through a real Prefect API and moto on loopback; the lake
read back with DuckDB and polars as analysts read it."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from flows.pipeline import run_without_prefect
from flows.query.duckdb_lake import connect
from flows.route53_lake import route53_lake
from flows.settings import LakeSettings
from tests.conftest import a_record, gz, log_key, other_record, put_trail, route53_record, without_run_ids

ACCT = "123456789012"
pytestmark = pytest.mark.slow


@pytest.fixture
def s3_two_days(s3, bucket):
    """Two delivery days: an event from 23:58 delivered after midnight, a duplicate across files,
    a failed batch, and a truncated file in the middle of a day."""
    day1 = [
        route53_record("e1", "2026-11-01T09:00:00Z", a_record("www.example.com.", "192.0.2.1", "192.0.2.2"), a_record("api.example.com.", "192.0.2.3")),
        other_record(1, "2026-11-01T09:00:01Z"),
        route53_record("e2", "2026-11-01T10:00:00Z", name="ListHostedZones"),
    ]
    day1_b = [route53_record("e3", "2026-11-01T12:00:00Z", a_record("x.example.com.", "192.0.2.9", action="DELETE"),
                             errorCode="InvalidChangeBatch", errorMessage="not found"), other_record(2, "2026-11-01T12:00:00Z")]
    day2_a = [route53_record("e4", "2026-11-01T23:58:30Z", a_record("late.example.com.", "192.0.2.4", action="UPSERT")),
              route53_record("e5", "2026-11-02T00:01:00Z", a_record("www.example.com.", "192.0.2.1", action="DELETE"))]
    day2_b = [route53_record("e5", "2026-11-02T00:01:00Z", a_record("www.example.com.", "192.0.2.1", action="DELETE")),
              other_record(3, "2026-11-02T00:02:00Z")]
    files = {
        log_key(ACCT, "2026-11-01", "0905"): gz(day1),
        log_key(ACCT, "2026-11-01", "1205", unique="BbCdEfGhIjKlMnOp"): gz(day1_b),
        log_key(ACCT, "2026-11-02", "0004"): gz(day2_a),
        log_key(ACCT, "2026-11-02", "0010", unique="TrUnCaTeDfIlE123"): gz(day2_a)[:40],
        log_key(ACCT, "2026-11-02", "0015", unique="CcCdEfGhIjKlMnOp"): gz(day2_b),
    }
    source = put_trail(s3, f"{bucket}/cloudtrail", files)
    s3.mkdir(f"lake-{bucket}")
    return source, f"s3://lake-{bucket}/route53"


def lake_objects(s3, lake: str) -> dict[str, bytes]:
    root = lake.removeprefix("s3://")
    s3.invalidate_cache()
    return {path.removeprefix(root): without_run_ids(path.removeprefix(root + "/"), s3.cat_file(path)) for path in s3.find(root)
            if not path.removeprefix(root + "/").startswith("_state/")}  # as tests.conftest.lake_files


def test_flow_publishes_s3_to_s3_and_reads_back_in_duckdb_and_polars(prefect_server, s3, s3_two_days, s3_endpoint):
    source, lake = s3_two_days
    run = route53_lake(start=date(2026, 11, 1), end=date(2026, 11, 2), source=source, lake=lake)
    assert run.total("events_written") == 5 and run.total("duplicates_dropped") == 1
    assert run.total("files_rejected") == 1 and run.total("record_changes_written") == 5

    con = connect(lake)
    by_date = con.sql("select event_date::varchar, count(*) from events group by 1 order by 1").fetchall()
    assert by_date == [("2026-11-01", 4), ("2026-11-02", 1)]  # e4 was delivered on 11-02 but happened on 11-01
    late = con.sql("select event_date::varchar, delivery_date::varchar from record_changes where record_name = 'late.example.com.'").fetchall()
    assert late == [("2026-11-01", "2026-11-02")]
    assert con.sql("select count(*) from events where event_id = 'e5'").fetchall() == [(1,)]
    failed = con.sql("select error_code, action from record_changes where event_id = 'e3'").fetchall()
    assert failed == [("InvalidChangeBatch", "DELETE")]
    quarantine = con.sql("select error_kind, source_file, record_index from quarantine").fetchall()
    assert len(quarantine) == 1 and quarantine[0][0] == "truncated_gzip" and "TrUnCaTeDfIlE123" in quarantine[0][1]
    assert quarantine[0][2] is None

    options = {"aws_access_key_id": "AKIATESTFAKEKEY00001", "aws_secret_access_key": "fake-secret-never-logged-0001",
               "aws_region": "us-east-1", "aws_endpoint_url": s3_endpoint, "aws_allow_http": "true"}
    changes = pl.scan_parquet(f"{lake}/record_changes/", storage_options=options, hive_partitioning=True).collect()
    assert changes.height == 5
    assert changes.schema["event_date"] == pl.Date and changes.schema["event_time"] == pl.Datetime("us", "UTC")
    www = changes.filter(pl.col("record_name_normalized") == "www.example.com.").sort("event_time")
    assert www["action"].to_list() == ["CREATE", "DELETE"]
    assert www["resource_records"].to_list()[0] == ["192.0.2.1", "192.0.2.2"]


def test_rerun_gives_the_same_lake_and_prefect_equals_no_prefect(prefect_server, s3, s3_two_days):
    source, lake = s3_two_days
    route53_lake(start=date(2026, 11, 1), end=date(2026, 11, 2), source=source, lake=lake)
    first = lake_objects(s3, lake)
    route53_lake(start=date(2026, 11, 1), end=date(2026, 11, 2), source=source, lake=lake)
    assert lake_objects(s3, lake) == first  # same keys, same bytes: nothing duplicated, nothing lost

    other_lake = lake.replace("/route53", "/direct")
    run_without_prefect(LakeSettings(source=source, lake=other_lake), [date(2026, 11, 1), date(2026, 11, 2)], workers=2)
    assert lake_objects(s3, other_lake) == first


def test_a_file_gone_from_the_source_keeps_its_rows_until_dropped_on_purpose(prefect_server, s3, s3_two_days):
    """CloudTrail's retention (or a lifecycle rule) removes log files; the lake outlives it. Only
    drop_missing_files removes their rows."""
    source, lake = s3_two_days
    route53_lake(start=date(2026, 11, 2), end=date(2026, 11, 2), source=source, lake=lake)
    before = lake_objects(s3, lake)
    s3.rm(f"{source.removeprefix('s3://')}/{log_key(ACCT, '2026-11-02', '0004')}")  # holds e4 and e5
    run = route53_lake(start=date(2026, 11, 2), end=date(2026, 11, 2), source=source, lake=lake)
    assert run.total("files_missing") == 1 and run.total("events_from_missing_files") == 2
    assert {k: v for k, v in lake_objects(s3, lake).items() if not k.startswith(("/_manifests", "/_state"))} == \
        {k: v for k, v in before.items() if not k.startswith(("/_manifests", "/_state"))}
    assert connect(lake).sql("select event_id from events order by 1").fetchall() == [("e4",), ("e5",)]
    manifest = json.loads(next(v for k, v in lake_objects(s3, lake).items() if k.startswith("/_manifests")))
    assert [(f["uri"].rsplit("/", 1)[-1][:48], f["in_source"]) for f in manifest["files"]] == [
        (log_key(ACCT, "2026-11-02", "0004").rsplit("/", 1)[-1][:48], False),
        (log_key(ACCT, "2026-11-02", "0010").rsplit("/", 1)[-1][:48], True),
        (log_key(ACCT, "2026-11-02", "0015").rsplit("/", 1)[-1][:48], True)]

    dropping = LakeSettings(source=source, lake=lake, drop_missing_files=True)
    route53_lake(start=date(2026, 11, 2), end=date(2026, 11, 2), settings=dropping)
    assert connect(lake).sql("select event_id from events order by 1").fetchall() == [("e5",)]  # e5 is also in the 0015 file
