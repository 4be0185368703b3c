"""dns_risk: each rule on built cases (a tiny lake written by the pipeline itself from CloudTrail
records made here, with look-alikes that must not be flagged) and on the sample; the rules table
in docs/dns-risk.md is the view's."""

from __future__ import annotations

import re
from datetime import date

import pytest

from flows.pipeline import run_without_prefect
from flows.query.duckdb_lake import connect
from flows.settings import LakeSettings
from tests.conftest import ROOT, gz, log_key
from tests.query.resolver_family_lake import RESOLVER_RULE_CASES
from tests.query.zone_family_records import FAMILY_RULES

ACCT = "111111111111"
DAY = "2026-11-02"
TERRAFORM = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCT}:assumed-role/deploy/terraform", "accountId": ACCT,
             "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCT}:role/deploy", "userName": "deploy"}}}
EVE = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/eve", "accountId": ACCT, "userName": "eve"}
INTRUDER = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/intruder", "accountId": ACCT, "userName": "intruder"}


def call(event_id: str, time: str, name: str, who: dict, request: dict | None = None, response: dict | None = None,
         source: str = "route53", error: str | None = None, read_only: bool = False) -> dict:
    record = {"eventVersion": "1.08", "eventTime": f"{DAY}T{time}Z", "eventSource": f"{source}.amazonaws.com", "eventName": name,
              "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.9", "userAgent": "terraform/1.9", "eventID": event_id,
              "eventType": "AwsApiCall", "readOnly": read_only, "recipientAccountId": ACCT, "userIdentity": who,
              "requestParameters": request, "responseElements": response}
    if error:
        record.update(errorCode=error, errorMessage=f"{error}: denied or invalid", responseElements=None)
    return record


def batch(event_id: str, time: str, zone: str, *changes: dict, who: dict = TERRAFORM, error: str | None = None) -> dict:
    return call(event_id, time, "ChangeResourceRecordSets", who, {"hostedZoneId": zone, "changeBatch": {"changes": list(changes)}},
                {"changeInfo": {"id": f"/change/C{event_id}", "status": "PENDING"}}, error=error)


def rr(action: str, name: str, type_: str, *values: str, ttl: int = 300) -> dict:
    return {"action": action, "resourceRecordSet": {"name": name, "type": type_, "tTL": ttl, "resourceRecords": [{"value": v} for v in values]}}


def alias(action: str, name: str, target: str, zone: str) -> dict:
    return {"action": action, "resourceRecordSet": {"name": name, "type": "A",
                                                    "aliasTarget": {"hostedZoneId": zone, "dNSName": target, "evaluateTargetHealth": False}}}


def routed(action: str, name: str, set_id: str, value: str, **routing) -> dict:
    """A routing-policy A record (weighted, failover, ...): `routing` holds weight, failover, healthCheckId."""
    return {"action": action, "resourceRecordSet": {"name": name, "type": "A", "tTL": 60, "setIdentifier": set_id,
                                                    "resourceRecords": [{"value": value}], **routing}}


def zone(event_id: str, time: str, zone_id: str, name: str) -> dict:
    return call(event_id, time, "CreateHostedZone", TERRAFORM, {"name": name, "callerReference": event_id},
                {"hostedZone": {"id": f"/hostedzone/{zone_id}", "name": name}})


R = "risk.example."
RECORDS = [
    zone("z1", "08:00:00", "ZRISK", R),
    zone("z2", "08:00:30", "ZOTHER", "other.example."),
    batch("b0", "08:00:40", "ZOTHER", rr("CREATE", "svc.other.example.", "A", "192.0.2.80")),
    batch("b1", "08:01:00", "ZRISK",
          rr("CREATE", f"www.{R}", "A", "192.0.2.1"),
          rr("CREATE", f"app.{R}", "CNAME", "app-lb.us-east-1.elb.amazonaws.com"),
          alias("CREATE", f"cdn.{R}", "d1.cloudfront.net.", "Z2FDTNDATAQYW2"),
          alias("CREATE", f"site.{R}", "s3-website-us-east-1.amazonaws.com.", "Z3AQBSTGFYJSTF"),
          rr("CREATE", f"docs.{R}", "CNAME", "risk-docs.github.io"),
          rr("CREATE", f"api.{R}", "A", "192.0.2.2", ttl=3600),
          rr("CREATE", R, "MX", "10 mx.risk.example."),
          rr("CREATE", f"_dmarc.{R}", "TXT", '"v=DMARC1; p=reject"'),
          rr("CREATE", f"sel._domainkey.{R}", "TXT", '"v=DKIM1; k=rsa; p=MIIB"'),
          rr("CREATE", R, "TXT", '"google-site-verification=abc"'),
          rr("CREATE", f"\\052.{R}", "A", "192.0.2.3"),
          rr("CREATE", f"old.{R}", "CNAME", "old-app.us-east-1.elb.amazonaws.com"),
          rr("CREATE", f"int.{R}", "CNAME", "legacy.us-east-1.elb.amazonaws.com"),
          alias("CREATE", f"lb.{R}", "my-lb-1.us-east-1.elb.amazonaws.com.", "Z35SXDOTRQ7X7K")),
    batch("b2", "09:00:00", "ZRISK",
          rr("UPSERT", R, "NS", "ns-1.evil.example.", "ns-2.evil.example.", ttl=172800),
          rr("UPSERT", R, "SOA", "ns-1.evil.example. hostmaster.evil.example. 1 7200 900 1209600 86400", ttl=900),
          rr("CREATE", f"sub.{R}", "NS", "ns-9.partner.example."),
          rr("UPSERT", f"api.{R}", "A", "192.0.2.2", ttl=60),
          alias("UPSERT", f"cdn.{R}", "d2.cloudfront.net.", "Z2FDTNDATAQYW2"),
          rr("UPSERT", f"old.{R}", "CNAME", "old.evil-host.example"),
          rr("UPSERT", f"int.{R}", "CNAME", "svc.other.example."),
          rr("UPSERT", f"lb.{R}", "A", "203.0.113.5"),
          rr("DELETE", f"www.{R}", "A", "192.0.2.1")),
    batch("b3", "09:30:00", "ZRISK", alias("UPSERT", f"cdn.{R}", "d1.cloudfront.net.", "Z2FDTNDATAQYW2"),
          rr("UPSERT", f"api.{R}", "A", "192.0.2.2", ttl=300)),
    batch("b4", "10:00:00", "ZRISK", rr("CREATE", f"eve.{R}", "A", "192.0.2.4"), who=EVE),
    batch("b5", "10:05:00", "ZRISK", rr("CREATE", f"eve2.{R}", "A", "192.0.2.5"), who=EVE),
    call("f1", "10:10:00", "ChangeResourceRecordSets", INTRUDER, error="AccessDenied"),
    batch("f2", "10:11:00", "ZRISK", rr("CREATE", R, "MX", "10 mx2.risk.example."), error="InvalidChangeBatch"),
    call("f3", "10:12:00", "ListHostedZones", INTRUDER, error="AccessDenied", read_only=True),
    batch("t1", "10:14:00", "ZRISK",
          routed("CREATE", f"w.{R}", "green", "192.0.2.20", weight=10),
          routed("CREATE", f"w.{R}", "blue", "192.0.2.21", weight=90),
          routed("CREATE", f"fo.{R}", "primary", "192.0.2.22", failover="PRIMARY", healthCheckId="hc-1"),
          routed("CREATE", f"fs.{R}", "one", "192.0.2.23", failover="PRIMARY", healthCheckId="hc-2"),
          routed("CREATE", f"hc.{R}", "one", "192.0.2.24", failover="SECONDARY", healthCheckId="hc-3")),
    batch("t2", "10:15:00", "ZRISK",
          routed("UPSERT", f"w.{R}", "green", "192.0.2.20", weight=100),  # traffic moves, the value stays
          routed("UPSERT", f"w.{R}", "blue", "192.0.2.99", weight=90),  # near miss: a new value, the same weight
          routed("UPSERT", f"new.{R}", "green", "192.0.2.25", weight=50),  # near miss: first seen, nothing to compare
          routed("UPSERT", f"fo.{R}", "primary", "192.0.2.22", failover="PRIMARY"),  # its health check removed
          routed("UPSERT", f"fs.{R}", "one", "192.0.2.23", failover="SECONDARY", healthCheckId="hc-2"),  # role switched
          routed("UPSERT", f"hc.{R}", "one", "192.0.2.24", failover="SECONDARY", healthCheckId="hc-9")),  # near miss: replaced
    batch("t3", "10:16:00", "ZRISK", routed("UPSERT", f"w.{R}", "blue", "192.0.2.99", weight=0),
          error="InvalidChangeBatch"),  # near miss: failed, so nothing moved
    batch("t4", "10:17:00", "ZRISK", routed("UPSERT", f"w.{R}", "green", "192.0.2.20", weight=100)),  # the same again
    call("d1", "10:20:00", "DisableHostedZoneDNSSEC", EVE, {"hostedZoneId": "ZRISK"}),
    call("d2", "10:21:00", "DeactivateKeySigningKey", EVE, {"hostedZoneId": "ZRISK", "name": "ksk1"}),
    call("d3", "10:22:00", "DeleteHostedZone", TERRAFORM, {"id": "ZOTHER"}, {"changeInfo": {"id": "/change/CD3"}}),
    call("q1", "10:23:00", "DeleteQueryLoggingConfig", EVE, {"id": "qlc-1"}),
    call("q2", "10:24:00", "DeleteResolverQueryLogConfig", EVE, {"resolverQueryLogConfigId": "rqlc-1"}, source="route53resolver"),
    call("r1", "10:30:00", "disableDomainTransferLock", EVE, {"domainName": "risk.example"}, source="route53domains"),
    call("r2", "10:31:00", "RetrieveDomainAuthCode", EVE, {"domainName": "risk.example"}, source="route53domains"),
    call("r3", "10:32:00", "TransferDomainToAnotherAwsAccount", EVE, {"domainName": "risk.example", "accountId": "222222222222"},
         source="route53domains"),
    call("r4", "10:33:00", "UpdateDomainNameservers", EVE, {"domainName": {"name": "risk.example"}, "nameservers": []},
         source="route53domains"),
    call("r5", "10:34:00", "updateDomainContact", EVE, {"domainName": {"name": "risk.example"}}, source="route53domains"),
]

EXPECTED_FLAGS = {
    ("apex_ns_soa", f"{R} NS"), ("apex_ns_soa", f"{R} SOA"),
    ("mx_change", f"{R} MX"), ("mx_change", f"{R} MX failed"),
    ("email_auth_txt", f"_dmarc.{R} TXT"), ("email_auth_txt", f"sel._domainkey.{R} TXT"),
    ("wildcard", f"*.{R} A"),
    ("record_deleted", f"www.{R} A"),
    ("takeover_prone_target", f"docs.{R} CNAME"), ("takeover_prone_target", f"site.{R} A"),
    ("ttl_drop", f"api.{R} A"),
    ("traffic_shift", f"w.{R} A"), ("traffic_shift", f"fo.{R} A"), ("traffic_shift", f"fs.{R} A"),
    ("alias_target_moved", f"cdn.{R} A"),
    ("target_left_aws", f"old.{R} CNAME"), ("target_left_aws", f"lb.{R} A"),
    ("new_actor_in_zone", f"eve.{R} A"),
    ("failed_by_unknown_principal", "ChangeResourceRecordSets"),
    ("zone_deleted", "DeleteHostedZone"),
    ("dnssec_disabled", "DisableHostedZoneDNSSEC"), ("dnssec_disabled", "DeactivateKeySigningKey"),
    ("query_logging_disabled", "DeleteQueryLoggingConfig"), ("query_logging_disabled", "DeleteResolverQueryLogConfig"),
    ("domain_transfer", "disableDomainTransferLock"), ("domain_transfer", "RetrieveDomainAuthCode"),
    ("domain_transfer", "TransferDomainToAnotherAwsAccount"),
    ("domain_nameservers", "UpdateDomainNameservers"),
    ("domain_contact_changed", "updateDomainContact"),
}


@pytest.fixture(scope="module")
def risk(tmp_path_factory):
    root = tmp_path_factory.mktemp("risk")
    path = root / "trail" / log_key(ACCT, DAY, "1105")
    path.parent.mkdir(parents=True)
    path.write_bytes(gz(RECORDS))
    sources = ["route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com"]
    run_without_prefect(LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), event_sources=sources), [date(2026, 11, 2)])
    return connect(str(root / "lake"))


def flags(con, where: str = "true") -> list[dict]:
    relation = con.sql(f"select * from dns_risk where {where}")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def label(row: dict) -> tuple[str, str]:
    if row["change_index"] is None:
        return row["rule"], row["event_name"]
    return row["rule"], f"{row['record_name']} {row['record_type']}" + ("" if row["applied"] else " failed")


def test_every_rule_flags_exactly_its_cases_and_none_of_the_look_alikes(risk):
    assert sorted(map(label, flags(risk))) == sorted(EXPECTED_FLAGS)


def test_every_rule_is_exercised_by_the_built_cases(risk):
    """The rules on VPC associations, health checks and domain settings have their cases in test_zone_family,
    the Resolver and DNS Firewall rules on their own lake (test_resolver_family)."""
    exercised = {rule for rule, _ in EXPECTED_FLAGS} | FAMILY_RULES | set(RESOLVER_RULE_CASES)
    assert exercised == {r for (r,) in risk.sql("select rule from dns_risk_rules").fetchall()}


@pytest.mark.parametrize(("rule", "detail"), [
    ("ttl_drop", "TTL 3600 -> 60"),
    ("traffic_shift", "weight 10 -> 100 (set green)"),
    ("traffic_shift", "health check hc-1 removed (set primary)"),
    ("traffic_shift", "failover PRIMARY -> SECONDARY (set one)"),
    ("alias_target_moved", "ALIAS d1.cloudfront.net. -> d2.cloudfront.net. (first use of this target in the account)"),
    ("email_auth_txt", 'CREATE DMARC "v=DMARC1; p=reject"'),
    ("target_left_aws", "old-app.us-east-1.elb.amazonaws.com -> old.evil-host.example"),
    ("takeover_prone_target", "CREATE CNAME -> risk-docs.github.io"),
])
def test_the_detail_says_what_changed(risk, rule, detail):
    assert detail in {r["detail"] for r in flags(risk, f"rule = '{rule}'")}


def test_rows_carry_severity_reason_actor_and_names(risk):
    rows = flags(risk)
    assert all(r["severity"] in ("high", "medium", "low") and len(r["reason"]) > 40 for r in rows)
    (eve,) = flags(risk, "rule = 'new_actor_in_zone'")
    assert (eve["actor"], eve["actor_person"], eve["zone_name"], eve["zone_name_source"]) == (
        f"arn:aws:iam::{ACCT}:user/eve", "eve", R, "response")
    (ns,) = flags(risk, "rule = 'domain_nameservers'")
    assert ns["domain_name"] == "risk.example" and ns["event_source"] == "route53domains.amazonaws.com"
    (lock,) = flags(risk, "rule = 'domain_transfer' and event_name = 'disableDomainTransferLock'")
    assert lock["domain_name"] == "risk.example"  # eventName compared case-insensitively
    failed = flags(risk, "not applied")
    assert {(r["rule"], r["error_code"]) for r in failed} == {("mx_change", "InvalidChangeBatch"), ("failed_by_unknown_principal", "AccessDenied")}


def test_dns_risk_on_the_sample(sample_lake):
    counts = dict(connect(str(sample_lake)).sql("select rule, count(*) from dns_risk group by rule").fetchall())
    assert counts == {"alias_target_moved": 1, "email_auth_txt": 1, "failed_by_unknown_principal": 1, "mx_change": 1,
                      "new_actor_in_zone": 3, "record_deleted": 9, "ttl_drop": 1, "wildcard": 1,
                      "zone_deleted": 2,  # one of them the real DeleteHostedZone of 2015-01-16
                      "traffic_shift": 1,
                      "domain_contact_changed": 1}  # the real updateDomainContact: route53domains is read by default


def test_the_documented_rules_are_the_views_rules(risk):
    text = (ROOT / "docs" / "dns-risk.md").read_text()
    documented = re.findall(r"^\| `([a-z_]+)` \| (high|medium|low) \| (.+?) \|$", text, re.MULTILINE)
    assert documented == risk.sql("select rule, severity, reason from dns_risk_rules").fetchall()


def changed_items(con) -> dict[tuple[str, str, str], str]:
    """The DNS summary's "What changed" of the built day: (time, record, set) -> the change as the page shows it."""
    from flows.orchestration.report import change_text
    from flows.query.summary import dns_summary

    return {(r["time"], r["record"], r["set_identifier"]): change_text(r) for r in dns_summary(con, DAY, limit=1000)["changed"]["rows"]}


def test_record_history_has_before_and_after_of_every_routing_field(risk):
    rows = risk.sql("""select set_identifier, before_weight, after_weight, before_failover, after_failover,
                               before_health_check_id, after_health_check_id
                        from record_history where event_id = 't2' order by change_index""").fetchall()
    assert rows == [("green", 10, 100, None, None, None, None), ("blue", 90, 90, None, None, None, None),
                    ("green", None, 50, None, None, None, None), ("primary", None, None, "PRIMARY", "PRIMARY", "hc-1", None),
                    ("one", None, None, "PRIMARY", "SECONDARY", "hc-2", "hc-2"), ("one", None, None, "SECONDARY", "SECONDARY", "hc-3", "hc-9")]


def test_the_summary_shows_a_routing_change_with_its_set_and_says_when_nothing_changed(risk):
    items = changed_items(risk)
    assert items[("10:15:00", f"w.{R}", "green")] == "weight 10 → 100 (set green)"  # not 192.0.2.20 → 192.0.2.20
    assert items[("10:17:00", f"w.{R}", "green")] == "(no change) (set green): 192.0.2.20"
    assert items[("10:15:00", f"fo.{R}", "primary")] == "health check hc-1 → (none) (set primary)"
    assert items[("10:15:00", f"w.{R}", "blue")] == "192.0.2.21 → 192.0.2.99 (set blue)"  # the weight stayed: not said
    assert items[("10:15:00", f"hc.{R}", "one")] == "health check hc-3 → hc-9 (set one)"
    assert items[("10:15:00", f"new.{R}", "green")] == "(not seen) → 192.0.2.25; weight 50 (set green)"
    assert items[("10:14:00", f"fo.{R}", "primary")] == "(none) → 192.0.2.22; failover PRIMARY, health check hc-1 (set primary)"
