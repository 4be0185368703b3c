"""The Route 53 family beyond record changes, read back through its views from a lake the pipeline
wrote (tests/query/zone_family_records.py): private-zone VPC associations and authorizations
(zone_vpc_associations), health checks (health_checks), and the dns_risk rules on them and on
registered domains, each firing on its case and quiet on its near miss; and on the real records of
the corpus. Spark gives the same rows: tests/query/test_spark_sql.py runs these records too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.pipeline import run_without_prefect
from flows.query import history
from flows.query.duckdb_lake import connect
from flows.settings import LakeSettings
from flows.storage.store import open_store
from tests.conftest import corpus_records, log_key, write_trail
from tests.query.zone_family_records import (
    ACCT,
    EXPECTED_FLAGS,
    FAMILY_RULES,
    PARTNER,
    PRIVATE,
    PUBLIC,
    RECORDS,
    SOURCES,
    family_lake,
)


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    return connect(str(family_lake(tmp_path_factory.mktemp("family"))))


def rows(con, sql: str) -> list[dict]:
    relation = con.sql(sql)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def by_event(con, view: str) -> dict[str, dict]:
    return {r["event_id"]: r for r in rows(con, f"select * from {view}")}


def test_every_association_and_authorization_call_is_one_row_with_zone_vpc_and_accounts(family):
    calls = by_event(family, "zone_vpc_associations")
    assert set(calls) == {"z1", "a1", "v1", "a2", "v2", "d1", "v3", "a3", "a4", "a5", "a6", "a7"}
    assert {k: (r["kind"], r["grants"], r["vpc_id"], r["vpc_region"]) for k, r in calls.items() if k in ("z1", "v1", "d1")} == {
        "z1": ("association", True, "vpc-own1", "us-east-1"),  # the private zone's first VPC, from CreateHostedZone
        "v1": ("authorization", True, "vpc-partner1", "eu-west-1"),
        "d1": ("association", False, "vpc-own2", "us-west-2"),  # written as VPC.VPCId: read too
    }
    partner = calls["a2"]
    assert (partner["zone_name"], partner["zone_account_id"], partner["vpc_account_id"], partner["cross_account"]) == (
        "internal.example.com.", ACCT, PARTNER, True)
    assert (partner["actor_person"], partner["comment"], partner["applied"]) == ("partner-admin", "shared services", True)
    # the authorization names no account: the lake knows vpc-partner1's from the partner's association
    assert (calls["v1"]["vpc_account_id"], calls["v1"]["cross_account"]) == (PARTNER, True)
    assert (calls["a1"]["cross_account"], calls["v3"]["cross_account"]) == (False, False)
    nothing = calls["a4"]  # failed, requestParameters null
    assert (nothing["applied"], nothing["error_code"], nothing["hosted_zone_id"], nothing["vpc_id"], nothing["vpc_account_id"]) == (
        False, "AccessDenied", None, None, None)
    assert calls["a5"]["zone_account_id"] is None and calls["a5"]["cross_account"] is None
    assert [(calls[k]["zone_account_id"], calls[k]["cross_account"]) for k in ("a6", "a7")] == [(ACCT, True), (ACCT, False)]


def test_which_vpcs_resolve_the_zone_and_since_when(family):
    current = rows(family, f"""select vpc_id, event_id from zone_vpc_associations
                               where kind = 'association' and current and hosted_zone_id = '{PRIVATE}' order by vpc_id""")
    assert current == [{"vpc_id": "vpc-own1", "event_id": "z1"}, {"vpc_id": "vpc-partner1", "event_id": "a2"}]
    calls = by_event(family, "zone_vpc_associations")
    own2 = calls["a1"]  # associated 08:01, disassociated 08:05
    assert (own2["valid_from"].strftime("%H:%M"), own2["valid_until"].strftime("%H:%M"), own2["current"]) == ("08:01", "08:05", False)
    assert (calls["v1"]["valid_until"].strftime("%H:%M"), calls["v1"]["current"]) == ("08:04", False)  # authorization deleted
    assert calls["a3"]["valid_from"] is None and not calls["a3"]["current"]  # failed: never in force


def test_health_checks_say_the_config_and_its_state_before_and_after(family):
    checks = by_event(family, "health_checks")
    assert len(checks) == 16
    created = checks["h1"]
    assert (created["health_check_id"], created["type"], created["ip_address"], created["port"], created["resource_path"],
            created["fqdn"], created["failure_threshold"], created["regions"], created["enable_sni"]) == (
        "hc-used", "HTTPS", "192.0.2.10", 443, "/health", "api.example.com", 3, "us-east-1,eu-west-1,ap-southeast-1", True)
    assert (created["before_known"], created["after_target"], created["after_disabled"]) == (False, "HTTPS api.example.com:443/health", False)
    updated = checks["u1"]  # resourcePath and failureThreshold, flat
    assert (updated["before_target"], updated["after_target"]) == ("HTTPS api.example.com:443/health", "HTTPS api.example.com:443/healthz")
    assert (updated["before_failure_threshold"], updated["after_failure_threshold"], updated["health_check_version"]) == (3, 5, 2)
    assert (checks["u2"]["before_disabled"], checks["u2"]["after_disabled"]) == (False, True)
    assert (checks["u3"]["before_inverted"], checks["u3"]["after_inverted"]) == (False, True)
    deleted = checks["x1"]
    assert (deleted["before_disabled"], deleted["after_disabled"], deleted["after_target"]) == (False, None, None)
    failed = checks["x0"]
    assert (failed["applied"], failed["error_code"], failed["before_known"], failed["before_target"]) == (False, "HealthCheckInUse", False, None)
    assert checks["h5"]["health_check_id"] is None and checks["h5"]["type"] == "HTTP"  # a failed create: attempted values only
    assert checks["h6"]["type"] is None and checks["x5"]["health_check_id"] is None  # requestParameters null


def flags(con) -> set[tuple[str, str, bool]]:
    rules = ", ".join(f"'{r}'" for r in sorted(FAMILY_RULES))
    return {(r["rule"], r["event_id"], r["applied"]) for r in rows(con, f"select * from dns_risk where rule in ({rules})")}


def test_every_family_rule_flags_exactly_its_cases_and_none_of_the_near_misses(family):
    assert flags(family) == EXPECTED_FLAGS


def test_the_family_rules_are_rules_of_dns_risk_rules(family):
    known = {r["rule"]: r["severity"] for r in rows(family, "select * from dns_risk_rules")}
    assert {rule: known.get(rule) for rule in FAMILY_RULES} == {
        "cross_account_vpc_association": "high", "domain_contact_changed": "high", "health_check_removed_in_use": "medium",
        "domain_auto_renew_disabled": "medium", "domain_privacy_disabled": "low"}


@pytest.mark.parametrize(("event_id", "rule", "detail"), [
    ("a2", "cross_account_vpc_association",
     f"AssociateVPCWithHostedZone vpc-partner1 (eu-west-1, account {PARTNER}) with zone internal.example.com. (account {ACCT})"),
    ("a5", "cross_account_vpc_association",
     f"AssociateVPCWithHostedZone vpc-own1 (us-east-1, account {ACCT}) with zone ZFOREIGN0001 (account unknown to the lake)"),
    ("u2", "health_check_removed_in_use",
     "UpdateHealthCheck hc-used (disabled) while 2 record set(s) name it: api.app.example.com. A (set primary)"),
    ("r5", "domain_privacy_disabled", "UpdateDomainContactPrivacy example.org: privacy off for admin, tech"),
])
def test_the_detail_says_what_happened(family, event_id, rule, detail):
    (row,) = rows(family, f"select * from dns_risk where event_id = '{event_id}' and rule = '{rule}'")
    assert row["detail"] == detail


def test_flag_rows_carry_the_zone_record_domain_and_actor(family):
    found = {(r["rule"], r["event_id"]): r for r in rows(family, "select * from dns_risk")}
    deleted = found[("health_check_removed_in_use", "x1")]
    assert (deleted["hosted_zone_id"], deleted["zone_name"], deleted["record_name"], deleted["record_type"]) == (
        PUBLIC, "example.com.", "api.app.example.com.", "A")
    contact = found[("domain_contact_changed", "r3")]
    assert (contact["domain_name"], contact["event_source"], contact["actor_person"]) == (
        "example.org", "route53domains.amazonaws.com", "eve")
    intruder = found[("cross_account_vpc_association", "a3")]
    assert (intruder["applied"], intruder["error_code"], intruder["actor_person"]) == (False, "AccessDenied", "intruder")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The real records of the corpus, each in a log file of its own account and day."""
    root = tmp_path_factory.mktemp("real-family")
    records = corpus_records("awsdocs_amazon-route53-docs.json")
    files: dict[str, list] = {}
    for record in records:
        files.setdefault(log_key(record["recipientAccountId"], record["eventTime"][:10]), []).append(record)
    write_trail(root / "trail", files)
    days = sorted({date.fromisoformat(r["eventTime"][:10]) for r in records})
    run_without_prefect(LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), event_sources=SOURCES), days)
    return connect(str(root / "lake"))


def test_the_real_create_health_check_reads_with_route53s_defaults(real):
    (check,) = rows(real, "select * from health_checks")
    assert (check["health_check_id"], check["type"], check["ip_address"], check["port"], check["request_interval"],
            check["failure_threshold"], check["after_target"], check["actor_person"]) == (
        "b3c9cbc6-cd18-43bc-93f8-9e557example", "TCP", "192.0.2.249", 80, 30, 3, "TCP 192.0.2.249:80", "smithj")


def test_the_real_update_domain_contact_is_flagged(real):
    (flag,) = rows(real, "select * from dns_risk where rule = 'domain_contact_changed'")
    assert (flag["event_name"], flag["domain_name"], flag["applied"], flag["severity"]) == ("updateDomainContact", "example.com", True, "high")


LATE = {"v2", "d1", "v3", "a3", "a4", "a5", "a6", "a7", "u2", "u3", "u4", "x0", "x1", "x2", "x3", "x4", "x5", "r5", "r6", "r7"}


def spread_over(days: list[date]) -> dict[str, list[dict]]:
    """The records in their order, those looking back (LATE) on the last three days, the others on the days before."""
    early, late = [r for r in RECORDS if r["eventID"] not in LATE], [r for r in RECORDS if r["eventID"] in LATE]
    files: dict[str, list[dict]] = {}
    for group, group_days in ((early, days[:-3]), (late, days[-3:])):
        for i, record in enumerate(group):
            day = group_days[i * len(group_days) // len(group)].isoformat()
            files.setdefault(log_key(ACCT, day, "1105"), []).append({**record, "eventTime": f"{day}T{record['eventTime'][11:]}"})
    return files


@pytest.mark.slow
def test_a_nights_views_from_a_checkpoint_say_what_the_whole_lake_says(tmp_path, monkeypatch):
    """The calls of the last days look back at days a checkpoint holds (flows/query/history_keep.py):
    the zone's owner and the VPC's, a health check's state and the record sets naming it."""
    monkeypatch.setattr(history, "HORIZON_DAYS", 3)
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(8)]
    write_trail(tmp_path / "trail", spread_over(days))
    lake = str(tmp_path / "lake")
    run_without_prefect(LakeSettings(source=str(tmp_path / "trail"), lake=lake, event_sources=SOURCES), days)
    (checkpoint,) = history.checkpoints(open_store(lake))
    first = days[-3].isoformat()
    assert checkpoint.through < first
    whole, night = connect(lake), history.summary_connection(lake, [d.isoformat() for d in days[-3:]])
    try:
        for view in ("zone_vpc_associations", "health_checks", "dns_risk"):
            query = f"select * from {view} where event_date >= '{first}'"
            assert sorted(map(repr, night.execute(query).fetchall())) == sorted(map(repr, whole.execute(query).fetchall())), view
        assert {(rule, event_id) for rule, event_id, _ in EXPECTED_FLAGS if event_id in LATE} == set(
            night.execute(f"select rule, event_id from dns_risk where event_date >= '{first}' and rule in "
                          f"({', '.join(repr(r) for r in sorted(FAMILY_RULES))})").fetchall())
    finally:
        whole.close(), night.close()
