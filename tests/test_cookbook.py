"""The query cookbook (sql/cookbook/*.sql) runs in DuckDB against the lake the flow wrote from
data/, each with its result asserted against the sample's story (data/expected.json)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from flows.duckdb_lake import SQL, connect
from tests.conftest import DATA

EXPECTED = json.loads((DATA / "expected.json").read_text())
STORY = {f["fact"]: f for f in EXPECTED["story"]}
DEPLOY = "arn:aws:iam::123456789012:role/terraform-deploy"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(prefect_server, tmp_path_factory):
    """The lake as the Prefect flow writes it from the embedded sample."""
    from flows.flow import route53_lake

    lake = tmp_path_factory.mktemp("cookbook-lake")
    days = sorted(date.fromisoformat(d) for d in EXPECTED["days"])
    route53_lake(days=days, source=str(DATA / "cloudtrail"), lake=str(lake))
    return connect(str(lake))


def run(con, name: str) -> list[dict]:
    relation = con.sql((SQL / "cookbook" / name).read_text())
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_every_cookbook_query_has_a_test():
    tested = {name for name in globals() if name.startswith("test_q")}
    files = sorted(p.stem for p in (SQL / "cookbook").glob("*.sql"))
    assert len(tested) == len(files) and all(any(f.split("_", 1)[0] in t for t in tested) for f in files)


def test_q01_who_changed_a_record_with_values_before_and_after(lake):
    rows = run(lake, "01_who_changed_record.sql")
    assert [(r["action"], r["actor"], r["before_values"], r["after_values"]) for r in rows] == [
        ("CREATE", DEPLOY, None, ["192.0.2.10", "192.0.2.11"]),
        ("DELETE", DEPLOY, ["192.0.2.10", "192.0.2.11"], None),
    ]
    assert all(r["before_known"] and r["source_ip_address"] and r["user_agent"] for r in rows)


def test_q02_every_delete_in_a_zone(lake):
    rows = run(lake, "02_deletes_in_zone.sql")
    assert [(r["record_name"], r["set_identifier"]) for r in rows] == [
        ("_acme-challenge.example.com.", None), ("www.example.com.", None), ("app.example.com.", "blue")]
    assert rows[1]["resource_records"] == ["192.0.2.10", "192.0.2.11"] and rows[1]["ttl"] == 300


def test_q03_changes_outside_the_deploy_roles(lake):
    rows = run(lake, "03_changes_outside_deploy_roles.sql")
    actors = [r["actor"].rsplit("/", 1)[-1] for r in rows]
    assert actors == ["smithj", "smithj", "alice", "AWSReservedSSO_Admin_abc123"]
    sso = rows[-1]
    assert (sso["record_name"], sso["before_weight"], sso["after_weight"], sso["source_ip_address"]) == (
        "app.example.com.", 10, 100, "203.0.113.77")


def test_q04_failed_change_attempts_with_their_errors(lake):
    rows = run(lake, "04_failed_changes.sql")
    assert [(r["error_code"], r["actor"].rsplit("/", 1)[-1], r["record_name"]) for r in rows] == [
        ("InvalidChangeBatch", "alice", "dup.example.com."), ("AccessDenied", "mallory", None)]
    assert "already exists" in rows[0]["error_message"]
    assert {STORY["failed_invalid_change_batch"]["event_time"][:10], STORY["access_denied"]["event_time"][:10]} == {"2026-11-02"}


def test_q05_ttl_and_alias_target_changes(lake):
    rows = run(lake, "05_ttl_and_alias_changes.sql")
    found = {(r["record_name"], r["what_changed"], r["before_ttl"], r["after_ttl"], r["before_alias_dns_name"], r["after_alias_dns_name"])
             for r in rows}
    assert ("api.example.com.", "ttl", 60, 300, None, None) in found
    assert ("cdn.example.com.", "alias", None, None, "d111111abcdef8.cloudfront.net.", "d222222abcdef8.cloudfront.net.") in found
    assert len(rows) == len(found)  # only UPSERTs whose state before was known can show a change


def test_q06_records_that_changed_most(lake):
    rows = run(lake, "06_most_changed_records.sql")
    assert rows[0]["changes"] == max(r["changes"] for r in rows) and len(rows) == 20
    by_name = {(r["record_name"], r["set_identifier"]): r for r in rows}
    assert by_name[("www.example.com.", None)]["changes"] == 2 and by_name[("www.example.com.", None)]["deletes"] == 1


def test_q07_hosted_zones_created_and_deleted_with_the_actor(lake):
    rows = run(lake, "07_hosted_zones_created_deleted.sql")
    created = [r for r in rows if r["event_name"] == "CreateHostedZone"]
    assert [(r["zone_name"], r["actor"]) for r in created] == [("example.com.", DEPLOY)]
    deleted = {r["hosted_zone_id"] for r in rows if r["event_name"] == "DeleteHostedZone"}
    assert deleted == {"Z1PA6795UKMFR9", STORY["delete_private_zone"]["hosted_zone_id"]}


def test_q08_health_checks_created_updated_deleted(lake):
    rows = [r for r in run(lake, "08_health_checks.sql") if r["event_time"].year == 2026]
    assert [r["event_name"] for r in rows] == ["CreateHealthCheck", "UpdateHealthCheck", "DeleteHealthCheck"]
    assert len({r["health_check_id"] for r in rows}) == 1
    assert rows[0]["check_type"] == "HTTPS" and rows[1]["actor"].endswith("user/alice")


def test_q09_activity_by_actor_per_day(lake):
    rows = run(lake, "09_activity_by_actor.sql")
    mallory = [r for r in rows if r["actor"].endswith("user/mallory")]
    assert [(str(r["event_date"]), r["calls"], r["writes"], r["errors"]) for r in mallory] == [("2026-11-02", 1, 1, 1)]
    smithj = next(r for r in rows if r["actor"].endswith("user/smithj"))
    assert (smithj["calls"], smithj["writes"]) == (4, 3)  # ListHostedZones is a read, the other three write
    roles = {r["role_name"] for r in rows if r["user_identity_type"] == "AssumedRole"}
    assert {"terraform-deploy", "external-dns", "cert-manager"} <= roles


def test_record_history_never_includes_failed_calls_and_flags_unknown_before(lake):
    failed = STORY["failed_invalid_change_batch"]["event_id"]
    assert lake.sql(f"select count(*) from record_history where event_id = '{failed}'").fetchall() == [(0,)]
    unknown = lake.sql("select count(*) from record_history where not before_known").fetchall()[0][0]
    upserts_first = lake.sql("select count(*) from record_history where action = 'UPSERT' and change_number = 1").fetchall()[0][0]
    assert unknown == upserts_first
