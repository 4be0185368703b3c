"""The Route 53 family by default (issue 23): the command without --event-source or --region reads
route53domains and route53resolver (in every region the trail delivers) beside route53, and the
night's DNS summary lists their write calls that are not record changes, read-only calls left out."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from flows.orchestration.report import dns_markdown
from flows.query.duckdb_lake import connect
from flows.query.summary import dns_summary
from tests.conftest import ROOT, a_record, log_key, route53_record, write_trail

ACCT, DAY = "123456789012", "2026-11-02"
RESOLVER, DOMAINS = "route53resolver.amazonaws.com", "route53domains.amazonaws.com"


def call(event_id: str, time: str, source: str, name: str, region: str, params: dict | None, *, read_only: bool = False,
         error: str | None = None) -> dict:
    record = route53_record(event_id, f"{DAY}T{time}Z", name=name, eventSource=source, awsRegion=region,
                            readOnly=read_only, requestParameters=params)
    if error:
        record.update(errorCode=error, errorMessage="User is not authorized to perform this action")
    return record


US_EAST = [
    route53_record("r1", f"{DAY}T09:00:00Z", a_record("www.example.com.", "192.0.2.1")),
    call("d1", "09:05:00", DOMAINS, "DisableDomainAutoRenew", "us-east-1", {"domainName": "example.com"}),
    call("z1", "09:10:00", "route53.amazonaws.com", "AssociateVPCWithHostedZone", "us-east-1",
         {"hostedZoneId": "Z0EXAMPLE", "vPC": {"vPCRegion": "eu-west-1", "vPCId": "vpc-0partner"}}),
]
EU_WEST = [
    call("v1", "10:00:00", RESOLVER, "CreateResolverRule", "eu-west-1",
         {"creatorRequestId": "c-1", "name": "corp", "ruleType": "FORWARD", "domainName": "corp.example.com",
          "targetIps": [{"ip": "203.0.113.53", "port": 53}], "resolverEndpointId": "rslvr-out-1"}),
    call("v2", "10:01:00", RESOLVER, "ListResolverRules", "eu-west-1", {"maxResults": 100}, read_only=True),
    call("v3", "10:02:00", RESOLVER, "AssociateFirewallRuleGroup", "eu-west-1",
         {"firewallRuleGroupId": "rslvr-frg-1", "vpcId": "vpc-0app", "priority": 101, "name": "fw"}, error="AccessDenied"),
]


@pytest.fixture(scope="module")
def trail(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("family") / "trail"
    return write_trail(root, {log_key(ACCT, DAY, "0915"): US_EAST, log_key(ACCT, DAY, "1005", region="eu-west-1"): EU_WEST})


def run(trail: Path, lake: Path, *flags: str) -> None:
    result = subprocess.run([sys.executable, "-m", "flows.cli.main", "--no-prefect", "--source", str(trail), "--lake", str(lake),
                             "--start", DAY, *flags], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def lake(trail, tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("family") / "lake"
    run(trail, lake)  # the default flags
    return lake


def test_the_default_reads_resolver_in_eu_west_1_and_domains_in_us_east_1(lake):
    con = connect(str(lake))
    rows = con.sql("select event_id, event_source, aws_region from events order by event_id").fetchall()
    assert rows == [("d1", DOMAINS, "us-east-1"), ("r1", "route53.amazonaws.com", "us-east-1"),
                    ("v1", RESOLVER, "eu-west-1"), ("v2", RESOLVER, "eu-west-1"), ("v3", RESOLVER, "eu-west-1"),
                    ("z1", "route53.amazonaws.com", "us-east-1")]


def test_event_source_and_region_narrow_the_default(trail, tmp_path):
    run(trail, tmp_path / "lake", "--event-source", "route53.amazonaws.com", "--region", "us-east-1")
    assert connect(str(tmp_path / "lake")).sql("select event_id from events order by 1").fetchall() == [("r1",), ("z1",)]
    run(trail, tmp_path / "resolver", "--event-source", "Route53Resolver.amazonaws.com", "--event-source", DOMAINS)
    got = connect(str(tmp_path / "resolver")).sql("select event_id from events order by 1").fetchall()
    assert got == [("d1",), ("v1",), ("v2",), ("v3",)]


def test_the_summary_lists_the_familys_other_writes_and_not_its_reads(lake):
    summary = dns_summary(connect(str(lake)), DAY)
    others = [(r["time"], r["account"], r["region"], r["source"], r["call"], r["resource"], r["role"], r["outcome"])
              for r in summary["others"]["rows"]]
    assert others == [
        ("09:05:00", ACCT, "us-east-1", DOMAINS, "DisableDomainAutoRenew", "example.com", "alice", "applied"),
        ("09:10:00", ACCT, "us-east-1", "route53.amazonaws.com", "AssociateVPCWithHostedZone", "Z0EXAMPLE VPC vpc-0partner", "alice", "applied"),
        ("10:00:00", ACCT, "eu-west-1", RESOLVER, "CreateResolverRule", "corp.example.com", "alice", "applied"),
        ("10:02:00", ACCT, "eu-west-1", RESOLVER, "AssociateFirewallRuleGroup", "rslvr-frg-1 VPC vpc-0app", "alice", "failed: AccessDenied"),
    ]
    assert summary["others"]["total"] == 4
    flagged = connect(str(lake)).sql(f"select severity, count(*) from dns_risk where event_date = '{DAY}' group by 1").fetchall()
    assert summary["risky_by_severity"] == dict(flagged)  # every dns_risk rule's rows, new rules' too
    assert [r["record"] for r in summary["changed"]["rows"]] == ["www.example.com."]  # the record change stays in its own list


def test_the_page_has_the_section_beside_the_record_changes(lake):
    page = dns_markdown(dns_summary(connect(str(lake)), DAY), str(lake))
    section = page[page.index("## Other Route 53 changes"):page.index("## Data quality")]
    assert page.index("## What changed") < page.index("## Other Route 53 changes")
    assert "**10:00:00** · CreateResolverRule · `corp.example.com` · applied · route53resolver.amazonaws.com · eu-west-1" in section
    assert "failed: AccessDenied" in section and "DisableDomainAutoRenew" in section
    assert "ListResolverRules" not in page and "ChangeResourceRecordSets" not in section


def test_a_recheck_reads_again_a_folder_read_for_fewer_sources(trail, tmp_path):
    """A lake made before the default widened: the nightly's recheck days are read again for the family."""
    from flows.lake.manifests import folder_changed
    from flows.pipeline import lake_target, list_day, list_trails
    from flows.settings import LakeSettings
    from flows.storage.store import open_store

    lake = tmp_path / "lake"
    run(trail, lake, "--event-source", "route53.amazonaws.com", "--region", "us-east-1")
    old = LakeSettings(source=str(trail), lake=str(lake), event_sources=["route53.amazonaws.com"], regions=["us-east-1"])
    new = LakeSettings(source=str(trail), lake=str(lake))
    (listing,) = list_day(old, list_trails(old)[0], date.fromisoformat(DAY))
    assert not folder_changed(lake_target(old), open_store(old.source), listing)
    assert folder_changed(lake_target(new), open_store(new.source), listing)
