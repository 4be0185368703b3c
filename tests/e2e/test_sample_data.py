"""The embedded sample: regenerating it is byte-identical, and the pipeline's lake matches the
generator's independent oracle (data/expected.json) folder by folder and story by story."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from flows.pipeline import run_without_prefect
from flows.query.duckdb_lake import connect
from flows.settings import LakeSettings
from tests.conftest import DATA, ROOT

EXPECTED = json.loads((DATA / "expected.json").read_text())
DAYS = sorted(date.fromisoformat(d) for d in EXPECTED["days"])


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generator_is_deterministic_and_the_committed_tree_is_its_output(tmp_path):
    out, expected = tmp_path / "cloudtrail", tmp_path / "expected.json"
    subprocess.run([sys.executable, str(DATA / "generate.py"), "--out", str(out), "--expected", str(expected)],
                   check=True, capture_output=True, cwd=ROOT)
    assert tree(out) == tree(DATA / "cloudtrail")
    assert json.loads(expected.read_text()) == EXPECTED


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake")
    # The oracle's per-folder counts are route53.amazonaws.com's in us-east-1: asked for explicitly (the
    # default reads the whole family in every region: test_the_default_reads_every_route53_source_in_every_region).
    settings = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(lake), regions=["us-east-1"], event_sources=["route53.amazonaws.com"])
    return run_without_prefect(settings, DAYS), connect(str(lake))


def folder_expectations():
    for day, facts in EXPECTED["days"].items():
        for account, f in facts["by_account"].items():
            yield pytest.param(day, account, f, id=f"{day}-{account}")


def _records_of_files_without_the_needle(day: str, account: str) -> list[int]:
    counts = []
    for path in sorted((DATA / "cloudtrail").glob(f"AWSLogs/**/{account}/CloudTrail/us-east-1/{day.replace('-', '/')}/*.json.gz")):
        try:
            text = gzip.decompress(path.read_bytes())
        except EOFError:
            continue  # the corrupt file: rejected, counted 0
        if b"route53.amazonaws.com" not in text.lower():
            counts.append(len(json.loads(text)["Records"]))
    return counts


@pytest.mark.parametrize(("day", "account", "expected"), folder_expectations())
def test_each_day_folder_matches_the_oracle(sample_run, day, account, expected):
    run, con = sample_run
    (folder,) = [f for f in run.folders if (f.delivery_date, f.account, f.region) == (day, account, "us-east-1")]
    us_east = dict(expected)
    eu = EXPECTED["days"][day]["by_region"].get("eu-west-1") if account == "123456789012" else None
    if eu:  # the oracle's per-account numbers include eu-west-1, which a us-east-1 run does not read
        us_east = {k: (v - eu[k] if isinstance(v, int) else v) for k, v in expected.items()}
    assert folder.files_listed == us_east["log_files"] + len(expected["corrupt_files"])
    assert folder.files_rejected == len(expected["corrupt_files"])
    # A file whose bytes do not name route53.amazonaws.com (in any case) is read but neither parsed nor counted.
    unparsed = _records_of_files_without_the_needle(day, account)
    assert folder.files_not_parsed == len(unparsed) < folder.files_listed
    assert folder.records_read == us_east["records"] - sum(unparsed)
    assert folder.route53_records == expected["route53_event_sources"].get("route53.amazonaws.com", 0)
    assert folder.duplicates_dropped == len(expected["duplicate_event_ids"])
    assert folder.record_changes_written == expected["change_rows"]
    assert folder.records_quarantined == 0
    by_date = dict(con.execute(
        "select event_date::varchar, count(*) from events where delivery_date = ?::date and recipient_account_id = ? group by 1",
        [day, account]).fetchall())
    assert by_date == expected["events_by_event_date"]


def test_the_sample_has_files_counted_without_parsing_and_source_files_says_which(sample_run):
    run, con = sample_run
    assert run.total("files_not_parsed") > 0
    rows = con.sql("SELECT parsed, count(*), count(records) FROM source_files WHERE was_read GROUP BY parsed ORDER BY parsed").fetchall()
    assert rows == [(False, run.total("files_not_parsed"), 0), (True, run.total("files_listed") - run.total("files_not_parsed"),
                                                                    run.total("files_listed") - run.total("files_not_parsed"))]


def test_every_story_fact_is_in_the_lake(sample_run):
    _, con = sample_run
    for fact in EXPECTED["story"]:
        if fact["event_source"] != "route53.amazonaws.com" or fact["region"] != "us-east-1":
            continue
        rows = con.execute("select event_name, event_date::varchar, error_code, user_identity_type, change_count "
                           "from events where event_id = ?", [fact["event_id"]]).fetchall()
        assert len(rows) == 1, fact["fact"]
        name, event_date, error_code, identity, changes = rows[0]
        assert (name, event_date, error_code, identity) == (
            fact["event_name"], fact["event_date"], fact["error_code"], fact["user_identity_type"]), fact["fact"]
        if "changes" in fact:
            assert changes == fact["changes"], fact["fact"]


def test_records_inside_the_corrupt_file_are_not_in_tables_but_the_file_is_quarantined(sample_run):
    _, con = sample_run
    lost = EXPECTED["lost_in_corrupt_file"]
    assert con.execute("select count(*) from events where event_id in (select unnest(?))", [lost["event_ids"]]).fetchall() == [(0,)]
    rows = con.execute("select error_kind, record_index from quarantine where source_file like ?", [f"%{lost['key']}"]).fetchall()
    assert rows == [("truncated_gzip", None)]


def test_the_late_event_is_filed_under_its_own_date(sample_run):
    _, con = sample_run
    late = next(f for f in EXPECTED["story"] if f["fact"] == "late_acme_challenge")
    rows = con.execute("select event_date::varchar, delivery_date::varchar from record_changes where event_id = ?", [late["event_id"]]).fetchall()
    assert rows and set(rows) == {("2026-11-01", "2026-11-02")}


def test_the_default_reads_every_route53_source_in_every_region(tmp_path):
    settings = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path))
    run = run_without_prefect(settings, DAYS)
    assert {f.region for f in run.folders} == {"us-east-1", "eu-west-1"}
    sources = {}
    for day in EXPECTED["days"].values():
        for source, n in day["route53_event_sources"].items():
            sources[source] = sources.get(source, 0) + n
    assert run.total("route53_records") == sum(sources.values())
    got = dict(connect(str(tmp_path)).sql("select event_source, count(*) from events group by 1").fetchall())
    duplicates = sum(len(d["duplicate_event_ids"]) for d in EXPECTED["days"].values())
    assert got == {**sources, "route53.amazonaws.com": sources["route53.amazonaws.com"] - duplicates}
