"""source_files: one row per log file read or promised by a digest, from a day folder's manifest
(transforms.source_files), and the completeness queries on a lake where a digest-listed file is gone."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pyarrow as pa

from flows.pipeline import run_without_prefect
from flows.query.dialects import SQL
from flows.query.duckdb_lake import connect
from flows.settings import LakeSettings
from schemas.tables import SOURCE_FILES
from tests.conftest import DATA
from tests.query.cookbook_sample import on_the_sample
from transforms.cloudtrail.file_names import delivery_time
from transforms.source_files import source_file_rows

FOLDER = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01"
ROOT = "s3://trail-bucket/prefix"
NAME = "123456789012_CloudTrail_us-east-1_20261101T{}Z_AbCdEfGhIjKlMnOp.json.gz"


def manifest(files, digest_check=None) -> dict:
    return {"source": ROOT, "folder": FOLDER, "digest_check": digest_check, "files": files,
            "counts": {"account": "123456789012", "region": "us-east-1", "org_id": None, "delivery_date": "2026-11-01"}}


def file(stamp: str, rejected: str | None = None) -> dict:
    return {"uri": f"{ROOT}/{FOLDER}/{NAME.format(stamp)}", "size": 10, "etag": '"e"', "sha256": "ab" * 32,
            "records": 0 if rejected else 5, "route53_records": 0 if rejected else 2, "rejected": rejected}


def test_one_row_per_file_read_with_the_declared_schema():
    table = source_file_rows(manifest([file("1105"), file("0900", "truncated_gzip")]), "run-7")
    assert table.schema == SOURCE_FILES.schema
    rows = table.to_pylist()
    assert [r["source_file"].rsplit("_", 2)[1] for r in rows] == ["20261101T0900Z", "20261101T1105Z"]  # sorted by key
    assert rows[0]["rejected_kind"] == "truncated_gzip" and rows[0]["records"] == 0
    assert {(r["was_read"], r["run_id"], r["account_id"], r["folder"], r["digest_verdict"]) for r in rows} == {
        (True, "run-7", "123456789012", FOLDER, None)}  # no digest checked: null verdict


def test_digest_findings_become_verdicts_and_missing_files_rows():
    key = f"prefix/{FOLDER}/"
    check = {"missing": [key + NAME.format("1200"), "unreadable digest prefix/AWSLogs/x.json.gz"],
             "unlisted": [key + NAME.format("1105")], "hash_mismatch": [key + NAME.format("0900")]}
    rows = {r["source_file"].rsplit("_", 2)[1]: r for r in source_file_rows(manifest([file("0900"), file("1105"), file("1130")], check), None).to_pylist()}
    assert {k: (r["was_read"], r["digest_verdict"]) for k, r in rows.items()} == {
        "20261101T0900Z": (True, "hash_mismatch"), "20261101T1105Z": (True, "unlisted"),
        "20261101T1130Z": (True, "no_finding"), "20261101T1200Z": (False, "missing")}
    missing = rows["20261101T1200Z"]
    assert missing["source_file"] == f"{ROOT}/{FOLDER}/{NAME.format('1200')}" and missing["size_bytes"] is None
    assert missing["delivered_at"] == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_folder_whose_every_file_is_missing_takes_its_root_from_the_source():
    check = {"missing": [f"prefix/{FOLDER}/{NAME.format('1200')}"], "unlisted": [], "hash_mismatch": []}
    (row,) = source_file_rows(manifest([], check), None).to_pylist()
    assert row["source_file"] == f"{ROOT}/{FOLDER}/{NAME.format('1200')}" and not row["was_read"]


def test_an_empty_folder_gives_a_zero_row_table_with_the_schema():
    assert source_file_rows(manifest([]), None).equals(pa.Table.from_pylist([], schema=SOURCE_FILES.schema))


def test_delivery_time_comes_from_the_file_name_or_is_null():
    assert delivery_time(f"/x/{NAME.format('2359')}") == datetime(2026, 11, 1, 23, 59, tzinfo=UTC)
    assert delivery_time("/x/not-a-log-file.json.gz") is None


def test_completeness_queries_on_a_lake_with_a_file_the_digest_lists_taken_away(tmp_path):
    shutil.copytree(DATA / "cloudtrail", tmp_path / "trail")
    (gone,) = (tmp_path / "trail").rglob("*20261101T1137Z*.json.gz")
    gone.unlink()
    run_without_prefect(LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake")),
                        [date(2026, 11, 1), date(2026, 11, 3)])
    con = connect(str(tmp_path / "lake"))
    (missing,) = con.sql((SQL / "cookbook" / "12_digest_missing_files_per_week.sql").read_text()).fetchall()
    assert missing[0] == date(2026, 10, 26) and missing[1:3] == ("123456789012", "us-east-1") and missing[3].endswith(gone.name)
    assert missing[-1] == 1
    gaps = con.sql(on_the_sample(SQL / "cookbook" / "13_days_without_logs.sql")).fetchall()
    assert [(str(day), account) for day, account, _ in gaps] == [
        ("2026-10-31", "123456789012"), ("2026-10-31", "210987654321"), ("2026-11-02", "123456789012"),
        ("2026-11-02", "210987654321"), ("2026-11-04", "123456789012"), ("2026-11-04", "210987654321")]


def test_run_id_names_the_run_that_staged_the_files_as_they_are_and_a_rerun_keeps_it(tmp_path):
    shutil.copytree(DATA / "cloudtrail", tmp_path / "trail")
    settings = LakeSettings(source=str(tmp_path / "trail"), lake=str(tmp_path / "lake"))
    days = [date(2026, 11, 1), date(2026, 11, 3)]

    def run_ids() -> dict[str, set]:
        rows = connect(str(tmp_path / "lake")).sql("select folder, run_id from source_files").fetchall()
        return {folder: {run_id for f, run_id in rows if f == folder} for folder in {f for f, _ in rows}}

    first = run_without_prefect(settings, days)
    assert set().union(*run_ids().values()) == {first.run_id}
    before = {p: p.read_bytes() for p in (tmp_path / "lake").rglob("*.parquet")}
    second = run_without_prefect(settings, days)
    assert second.run_id != first.run_id and set().union(*run_ids().values()) == {first.run_id}
    assert {p: p.read_bytes() for p in (tmp_path / "lake").rglob("*.parquet")} == before  # nothing restaged or rebuilt

    (late,) = [p for p in (tmp_path / "trail").rglob("*20261101T1137Z*.json.gz")]
    late.with_name(late.name.replace("T1137Z", "T2355Z")).write_bytes(late.read_bytes())
    third = run_without_prefect(settings, days)
    changed = late.parent.relative_to(tmp_path / "trail").as_posix()
    ids = run_ids()
    assert ids.pop(changed) == {third.run_id} and set().union(*ids.values()) == {first.run_id}
