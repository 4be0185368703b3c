"""The query cookbook (sql/cookbook/*.sql) and the views run in DuckDB against the lake the flow wrote
from data/, each with its result asserted against the sample's story (data/expected.json). The same
SQL, spelled for Spark by sqlglot, gives the same rows in tests/query/test_spark_sql.py."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from flows.query.dialects import SQL
from flows.query.duckdb_lake import connect
from tests.conftest import DATA
from tests.query.cookbook_sample import on_the_resolver_lake, on_the_sample
from tests.query.zone_family_records import ACCT, PARTNER, family_lake

EXPECTED = json.loads((DATA / "expected.json").read_text())
STORY = {f["fact"]: f for f in EXPECTED["story"]}
DEPLOY = "arn:aws:iam::123456789012:role/terraform-deploy"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(prefect_server, tmp_path_factory):
    """The lake as the Prefect flow writes it from the embedded sample."""
    from flows.route53_lake import route53_lake

    lake = tmp_path_factory.mktemp("cookbook-lake")
    days = sorted(date.fromisoformat(d) for d in EXPECTED["days"])
    route53_lake(days=days, source=str(DATA / "cloudtrail"), lake=str(lake))
    return connect(str(lake))


def run(con, name: str, **params: str) -> list[dict]:
    """A cookbook query with the sample's parameters (tests/query/cookbook_sample.py), and `params`."""
    relation = con.sql(on_the_sample(SQL / "cookbook" / name, **params))
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_every_cookbook_query_has_a_test():
    tested = {name for name in globals() if name.startswith("test_q")}
    files = sorted(p.stem for p in (SQL / "cookbook").glob("*.sql"))
    assert all(any(t.startswith(f"test_q{f.split('_', 1)[0]}_") for t in tested) for f in files)


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
    assert {(r["zone_name_source"], r["applied"], r["actor_person"]) for r in rows} == {
        ("response", True, "cert-manager"), ("response", True, "terraform")}


def test_q02_finds_deletes_in_a_zone_whose_name_only_the_records_tell(lake):
    """internal.example.com. was never named by Route 53 in the lake: its name is inferred."""
    rows = run(lake, "02_deletes_in_zone.sql", zone="internal.example.com")
    assert [(r["record_name"], r["zone_name_source"]) for r in rows] == [
        ("db.internal.example.com.", "common_suffix"), ("ldap.internal.example.com.", "common_suffix")]


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
    keys = [(-r["changes"], r["record_name"], r["record_type"], r["set_identifier"] or "", r["hosted_zone_id"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # a total order: ties broken the same way everywhere
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


def test_q10_risky_changes_most_severe_first(lake):
    rows = run(lake, "10_risky_changes.sql")
    assert [r["severity"] for r in rows] == sorted((r["severity"] for r in rows), key=["high", "medium", "low"].index)
    found = {(r["rule"], r["record_name"] or r["detail"].split(" ")[0]) for r in rows}
    assert {("alias_target_moved", "cdn.example.com."), ("zone_deleted", "DeleteHostedZone"), ("mx_change", "example.com."),
            ("email_auth_txt", "example.com."), ("wildcard", "*.example.com."), ("ttl_drop", "api.svc.corp.example.net."),
            ("failed_by_unknown_principal", "ChangeResourceRecordSets"), ("record_deleted", "www.example.com."),
            ("traffic_shift", "app.example.com.")} <= found
    assert "domain_contact_changed" in {rule for rule, _ in found}  # the real updateDomainContact (route53domains, read by default)
    mallory = next(r for r in rows if r["rule"] == "failed_by_unknown_principal")
    assert (mallory["actor_person"], mallory["applied"], mallory["error_code"]) == ("mallory", False, "AccessDenied")
    newcomers = [r["actor_person"] for r in rows if r["rule"] == "new_actor_in_zone"]
    assert newcomers == ["alice", "cert-manager", "jane.doe@example.com"]  # terraform made the zone: not new
    assert all(r["reason"] for r in rows) and len(rows) == 21  # the 2015 zone deletion is outside the window


def test_q11_risk_per_zone_and_rule(lake):
    rows = run(lake, "11_risk_by_zone_and_rule.sql")
    by = {(r["zone"], r["hosted_zone_id"], r["rule"]): r for r in rows}
    assert by[("example.com.", "Z0123456789ABCDEFGHIJ", "record_deleted")]["flagged"] == 3
    assert by[("example.com.", "Z0123456789ABCDEFGHIJ", "new_actor_in_zone")]["actors"] == 3
    assert by[("(no zone)", None, "failed_by_unknown_principal")]["applied"] == 0
    assert sum(r["flagged"] for r in rows) == lake.sql("select count(*) from dns_risk").fetchall()[0][0] == 22


def test_q12_files_the_digests_list_that_never_arrived(lake):
    """The sample's one digest lists two files, both delivered with their hashes: nothing is missing.
    tests/transforms/test_source_files.py removes a file to see one listed."""
    assert run(lake, "12_digest_missing_files_per_week.sql") == []
    verdicts = dict(lake.sql("select digest_verdict, count(*) from source_files group by all").fetchall())
    assert verdicts == {"no_finding": 8, None: 35}  # 3 of them in eu-west-1 (the default reads every region), no digest there


def test_q13_days_without_logs(lake):
    """The sample's eu-west-1 folder (read by default: every region the trail delivers) delivered on 2026-11-02 only."""
    rows = run(lake, "13_days_without_logs.sql")
    assert [(str(r["day"]), r["account_id"], r["region"]) for r in rows] == [
        ("2026-10-31", "123456789012", "eu-west-1"), ("2026-10-31", "123456789012", "us-east-1"), ("2026-10-31", "210987654321", "us-east-1"),
        ("2026-11-01", "123456789012", "eu-west-1"), ("2026-11-03", "123456789012", "eu-west-1"),
        ("2026-11-04", "123456789012", "eu-west-1"), ("2026-11-04", "123456789012", "us-east-1"), ("2026-11-04", "210987654321", "us-east-1")]


def test_q14_a_zone_at_a_point_in_time(lake):
    rows = run(lake, "14_zone_at_point_in_time.sql")
    live = {(r["record_name"], r["record_type"], r["set_identifier"]): r for r in rows if r["hosted_zone_id"] == "Z0123456789ABCDEFGHIJ"}
    assert ("www.example.com.", "A", None) not in live  # deleted at 08:17, before noon
    assert live[("api.example.com.", "CNAME", None)]["ttl"] == 300  # the 60 -> 300 UPSERT of the morning
    assert live[("cdn.example.com.", "A", None)]["alias_dns_name"] == "d222222abcdef8.cloudfront.net."
    assert live[("app.example.com.", "A", "green")]["weight"] == 10  # Jane set 100 at 17:48, after noon
    assert ("_acme-challenge.example.com.", "TXT", None) not in live  # cleaned up after midnight
    assert all(r["seen_from_creation"] for r in live.values())


def test_q15_which_zones_changed_on_a_day_and_by_whom(lake):
    rows = run(lake, "15_zones_changed_today.sql")
    found = [(r["zone"], r["who"], r["account_id"], r["changes"]) for r in rows]
    assert ("example.com.", "jane.doe@example.com", "123456789012", 1) in found  # the SSO person, not her role's ARN
    assert ("example.com.", "terraform", "123456789012", 3) in found
    assert ("corp.example.net.", "terraform", "210987654321", 6) in found  # the same session name, the other account
    assert [r["zone"] for r in rows] == sorted(r["zone"] for r in rows)



@pytest.fixture(scope="module")
def family(tmp_path_factory):
    """The sample has no VPC association and no health check in use: the built records of the family do."""
    return connect(str(family_lake(tmp_path_factory.mktemp("cookbook-family"))))


def test_q16_which_vpcs_resolve_a_private_zone_and_since_when(family):
    rows = run(family, "16_vpcs_resolving_zone.sql")
    assert [(r["kind"], r["vpc_id"], r["vpc_account_id"], r["cross_account"], r["since"].strftime("%H:%M"), r["actor_person"])
            for r in rows] == [("association", "vpc-own1", ACCT, False, "08:00", "terraform"),  # named when the zone was created
                               ("association", "vpc-partner1", PARTNER, True, "08:03", "partner-admin"),
                               ("authorization", "vpc-own1", ACCT, False, "08:06", "terraform")]
    assert {r["zone_name"] for r in rows} == {"internal.example.com."}  # vpc-own2 was disassociated, v1 deleted


def test_q17_health_checks_removed_while_in_use(family):
    rows = run(family, "17_health_checks_removed_in_use.sql")
    assert [(r["event_name"], r["applied"], r["disabled"], r["before_disabled"]) for r in rows] == [
        ("UpdateHealthCheck", True, True, False), ("DeleteHealthCheck", False, None, None), ("DeleteHealthCheck", True, None, False)]
    assert {(r["health_check_id"], r["target"], r["record_name"]) for r in rows if r["applied"]} == {
        ("hc-used", "HTTPS api.example.com:443/healthz", "api.app.example.com.")}


def test_the_defaults_are_relative_to_today_in_utc_and_a_name_left_out_means_every_one(lake):
    def as_written(name: str) -> list[tuple]:
        return lake.sql((SQL / "cookbook" / name).read_text()).fetchall()

    today = lake.sql("select current_date").fetchall()[0][0]
    assert lake.sql("select current_setting('TimeZone')").fetchall() == [("UTC",)]
    week_ago = (today - timedelta(days=7)).isoformat()
    assert as_written("15_zones_changed_today.sql") == [tuple(r.values()) for r in run(lake, "15_zones_changed_today.sql", day=today.isoformat())]
    assert as_written("10_risky_changes.sql") == [tuple(r.values()) for r in run(
        lake, "10_risky_changes.sql", first_day=week_ago, last_day=today.isoformat())]
    every_zone = {row[2] for row in as_written("02_deletes_in_zone.sql")}
    assert {"example.com.", "internal.example.com.", "corp.example.net."} <= every_zone


def test_q03_takes_the_usual_actors_as_a_parameter(lake):
    rows = run(lake, "03_changes_outside_deploy_roles.sql", usual_actors="terraform-deploy, cloudformation.amazonaws.com")
    assert {r["actor_person"] for r in rows} >= {"alice", "cert-manager", "jane.doe@example.com"}
    assert not any(r["actor"].endswith("/terraform-deploy") for r in rows)


def test_zone_names_are_stated_or_inferred_and_marked(lake):
    assert sorted(lake.sql("select hosted_zone_id, zone_name, zone_name_source from hosted_zones").fetchall()) == [
        ("Z0123456789ABCDEFGHIJ", "example.com.", "response"),
        ("Z05CORP8EXAMPLE3NET1", "corp.example.net.", "common_suffix"),
        ("Z07SVC4CORP9PRIVATE2", "svc.corp.example.net.", "common_suffix"),
        ("Z0987654321ZYXWVUTSRQ", "internal.example.com.", "common_suffix"),
        ("Z1PA6795UKMFR9", "example.com.", "common_suffix"),
    ]
    assert lake.sql("select count(*) from record_history where zone_name is null").fetchall()[0] == (0,)


def test_one_name_for_the_actor_the_person_and_the_record_name(lake):
    people = dict(lake.sql("select user_identity_arn, actor_person from api_calls where actor_person is not null").fetchall())
    assert people["arn:aws:iam::123456789012:user/alice"] == "alice"
    sso = next(arn for arn in people if "AWSReservedSSO" in arn)
    assert people[sso] == "jane.doe@example.com" and sso.startswith("arn:aws:sts::")
    assert lake.sql("select count(*) from api_calls where actor is distinct from coalesce(session_issuer_arn, user_identity_arn, "
                    "user_identity_invoked_by)").fetchall()[0] == (0,)
    # record_changes.record_name is the raw name; every view also carries record_name_normalized, the name to compare by
    raw, normalized = lake.sql("select record_name, record_name_normalized from changes where record_name like '%052%'").fetchall()[0]
    assert (raw, normalized) == ("\\052.example.com.", "*.example.com.")
    assert lake.sql("select count(*) from record_history where record_name <> record_name_normalized").fetchall()[0] == (0,)
    assert lake.sql("select record_name_as_sent from record_history where record_name = '*.example.com.'").fetchall()[0] == (raw,)


def test_record_history_never_includes_failed_calls_and_flags_unknown_before(lake):
    failed = STORY["failed_invalid_change_batch"]["event_id"]
    assert lake.sql(f"select count(*) from record_history where event_id = '{failed}'").fetchall() == [(0,)]
    unknown = lake.sql("select count(*) from record_history where not before_known").fetchall()[0][0]
    upserts_first = lake.sql("select count(*) from record_history where action = 'UPSERT' and change_number = 1").fetchall()[0][0]
    assert unknown == upserts_first


# -- Route 53 Resolver and DNS Firewall: on the built Resolver lake (tests/query/resolver_family_lake.py) --

def run_on_resolver_lake(con, name: str) -> list[dict]:
    """A Resolver cookbook query with the built lake's parameters (RESOLVER_COOKBOOK)."""
    relation = con.sql(on_the_resolver_lake(SQL / "cookbook" / name))
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_q18_what_dns_firewall_blocked_last_week_that_it_allows_now(resolver_lake):
    rows = run_on_resolver_lake(resolver_lake, "18_firewall_blocked_now_allowed.sql")
    # blocked since the week before (fw0), allowed now (fw12); and two domains taken off its list (fd7).
    # The rules created this week are not "blocked last week".
    assert [(r["what"], r["firewall_domain_list_id"], r["now"], r["domains"], r["actor_person"]) for r in rows] == [
        ("rule", "rslvr-fdl-old", "ALLOW", None, "carol"),
        ("domains", "rslvr-fdl-old", "REMOVE", "tracker.example., ads.example.", "carol")]
    assert {(r["region"], r["firewall_rule_group_id"]) for r in rows} == {("eu-west-1", "rslvr-frg-1")}


def test_q18_on_the_day_itself_lists_allowed_alerted_and_deleted_block_rules(resolver_lake):
    path = SQL / "cookbook" / "18_firewall_blocked_now_allowed.sql"
    rows = resolver_lake.sql(on_the_resolver_lake(path, first_day="2026-11-16", last_day="2026-11-16")).fetchall()
    assert [(r[0], r[3], r[5]) for r in rows if r[0] == "rule"] == [
        ("rule", "rslvr-fdl-bad", "ALLOW"), ("rule", "rslvr-fdl-mal", "ALERT"), ("rule", "rslvr-fdl-tmp", "deleted"),
        ("rule", "rslvr-fdl-old", "ALLOW")]  # not rslvr-fdl-watch: an ALERT rule that never blocked


def test_q19_which_domains_are_forwarded_outside(resolver_lake):
    rows = run_on_resolver_lake(resolver_lake, "19_domains_forwarded_outside.sql")
    assert [(r["domain_name"], r["region"], r["target_ips"], r["public_target_ips"], r["vpc_id"]) for r in rows] == [
        (".", "ap-southeast-2", "10.0.0.10", "", "vpc-0ddd"),  # every name, to a private address: still outside the VPC
        ("corp.example.com.", "eu-west-1", "198.51.100.7", "198.51.100.7", None)]  # dissociated from vpc-0aaa since
    assert rows[0]["associated_by"] == "arn:aws:iam::333333333333:role/netadmin"
    # exfil.example.net. forwarded outside too, but the rule is deleted; internal.example.org. forwards to private addresses
