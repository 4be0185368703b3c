"""A lake of Route 53 Resolver and DNS Firewall calls, built by the pipeline (`--no-prefect`, the
route53resolver event source, two regions other than us-east-1) from records made here: every event
name resolver_rules, resolver_endpoints, firewall_rules, firewall_rule_group_associations and
firewall_changes read, with their failed, null-response and null-request variants, and the near
misses of each dns_risk rule on them. Shared by tests/query/test_resolver_family.py and the
cookbook tests (tests/query/test_cookbook.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli.main import main
from flows.query.duckdb_lake import connect
from tests.conftest import corpus_records, log_key, route53_record, write_trail

ACCT = "333333333333"
WEEK_AGO, DAY = "2026-11-09", "2026-11-16"
REGIONS = ("eu-west-1", "ap-southeast-2")
RESOLVER = "route53resolver.amazonaws.com"
ADMIN = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCT}:assumed-role/netadmin/carol", "accountId": ACCT,
         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCT}:role/netadmin", "userName": "netadmin"}}}
MALLORY = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/mallory", "accountId": ACCT, "userName": "mallory"}


def call(event_id: str, when: str, name: str, request: dict | None, response: dict | None = None, *,
         region: str = REGIONS[0], who: dict = ADMIN, error: str | None = None, day: str = DAY) -> dict:
    """A route53resolver record as CloudTrail writes it; with `error`, a failed call (responseElements null)."""
    record = route53_record(event_id, f"{day}T{when}Z", name=name, eventSource=RESOLVER, awsRegion=region, readOnly=False,
                            recipientAccountId=ACCT, userIdentity=who, requestParameters=request, responseElements=response,
                            userAgent="aws-cli/2.17.0", apiVersion="2018-04-01")
    if error:
        record.update(errorCode=error, errorMessage=f"{error}: not allowed or invalid", responseElements=None)
    return record


def targets(*ips: str) -> list[dict]:
    return [{"ipv6": ip, "port": 53} if ":" in ip else {"ip": ip, "port": 53} for ip in ips]


def rule(rule_id: str, domain: str, type_: str, *ips: str, name: str = "r") -> dict:
    """The resolverRule of a response: the whole rule after the call (domain with its trailing dot)."""
    body = {"id": rule_id, "arn": f"arn:aws:route53resolver:{REGIONS[0]}:{ACCT}:resolver-rule/{rule_id}", "name": name,
            "domainName": domain.rstrip(".") + ".", "ruleType": type_, "status": "COMPLETE", "ownerId": ACCT,
            "shareStatus": "NOT_SHARED", "creationTime": "2026-11-16T08:00:00.123456789Z"}
    if ips:  # a FORWARD rule: its targets and the outbound endpoint that reaches them
        body.update(targetIps=targets(*ips), resolverEndpointId="rslvr-out-1")
    return {"resolverRule": body}


def create_rule(event_id: str, when: str, rule_id: str, domain: str, type_: str, *ips: str, **kw) -> dict:
    request = {"creatorRequestId": f"req-{event_id}", "name": f"rule-{event_id}", "ruleType": type_, "domainName": domain}
    if ips:
        request.update(targetIps=targets(*ips), resolverEndpointId="rslvr-out-1")
    return call(event_id, when, "CreateResolverRule", request, rule(rule_id, domain, type_, *ips, name=f"rule-{event_id}"), **kw)


def firewall_rule(group: str, domain_list: str, action: str, priority: int, name: str) -> dict:
    body = {"firewallRuleGroupId": group, "firewallDomainListId": domain_list, "name": name, "priority": priority,
            "action": action, "creatorRequestId": "tf", "creationTime": "2026-11-16T08:00:00.1Z"}
    if action == "BLOCK":
        body["blockResponse"] = "NXDOMAIN"
    return {"firewallRule": body}


def create_firewall_rule(event_id: str, when: str, domain_list: str, action: str, priority: int, day: str = DAY) -> dict:
    request = {"creatorRequestId": f"req-{event_id}", "firewallRuleGroupId": "rslvr-frg-1", "firewallDomainListId": domain_list,
               "priority": priority, "action": action, "name": f"{action.lower()}-{domain_list}"}
    if action == "BLOCK":
        request["blockResponse"] = "NXDOMAIN"
    return call(event_id, when, "CreateFirewallRule", request,
                firewall_rule("rslvr-frg-1", domain_list, action, priority, request["name"]), day=day)


def update_firewall_rule(event_id: str, when: str, domain_list: str, after: dict, response: tuple[str, int] | None, **kw) -> dict:
    """UpdateFirewallRule sending `after`; `response`: the rule's (action, priority) after it, or None (failed)."""
    request = {"firewallRuleGroupId": "rslvr-frg-1", "firewallDomainListId": domain_list, **after}
    response = firewall_rule("rslvr-frg-1", domain_list, *response, f"rule-{domain_list}") if response else None
    return call(event_id, when, "UpdateFirewallRule", request, response, **kw)


def association(assoc_id: str, vpc: str, protection: str = "DISABLED", status: str = "UPDATING") -> dict:
    return {"firewallRuleGroupAssociation": {"id": assoc_id, "firewallRuleGroupId": "rslvr-frg-1", "vpcId": vpc, "name": "frg-assoc",
                                             "priority": 101, "mutationProtection": protection, "status": status}}


def domains(event_id: str, when: str, domain_list: str, operation: str, *names: str, **kw) -> dict:
    return call(event_id, when, "UpdateFirewallDomains",
                {"firewallDomainListId": domain_list, "operation": operation, "domains": list(names)},
                {"id": domain_list, "name": f"list-{domain_list}", "status": "UPDATING", "statusMessage": "Updating"}, **kw)


def endpoint(endpoint_id: str, name: str, direction: str = "OUTBOUND") -> dict:
    return {"resolverEndpoint": {"id": endpoint_id, "name": name, "direction": direction, "hostVPCId": "vpc-0aaa",
                                 "securityGroupIds": ["sg-0001", "sg-0002"], "ipAddressCount": 2, "status": "CREATING"}}


SECOND = REGIONS[1]
WEEK_AGO_RECORDS = [
    call("fdo", "07:00:00", "CreateFirewallDomainList", {"creatorRequestId": "fdo", "name": "old-domains"},
         {"firewallDomainList": {"id": "rslvr-fdl-old", "name": "old-domains", "domainCount": 0, "status": "COMPLETE"}}, day=WEEK_AGO),
    create_firewall_rule("fw0", "08:00:00", "rslvr-fdl-old", "BLOCK", 50, day=WEEK_AGO),  # blocked last week ...
]
RECORDS = [
    # Resolver rules
    create_rule("rr1", "08:00:00", "rslvr-rr-1", "corp.example.com", "FORWARD", "10.0.0.10", "100.64.0.53", "fd00::53"),
    create_rule("rr2", "08:01:00", "rslvr-rr-2", "exfil.example.net", "FORWARD", "10.0.0.11", "203.0.113.53"),
    create_rule("rr3", "08:02:00", "rslvr-rr-3", ".", "FORWARD", "10.0.0.10", region=SECOND),
    create_rule("rr4", "08:03:00", "rslvr-rr-4", ".", "SYSTEM"),
    create_rule("rr5", "08:04:00", "rslvr-rr-5", "internal.example.org", "FORWARD", "172.20.0.2", "192.168.1.53", "169.254.169.253"),
    call("rr6", "09:00:00", "UpdateResolverRule", {"resolverRuleId": "rslvr-rr-1", "config": {"targetIps": targets("198.51.100.7")}},
         rule("rslvr-rr-1", "corp.example.com", "FORWARD", "198.51.100.7", name="rule-rr1")),
    call("rr7", "09:01:00", "UpdateResolverRule", {"resolverRuleId": "rslvr-rr-5", "config": {"targetIps": targets("8.8.8.8")}},
         who=MALLORY, error="AccessDeniedException"),
    call("rr8", "09:02:00", "UpdateResolverRule", {"resolverRuleId": "rslvr-rr-5", "config": {"name": "renamed"}},
         rule("rslvr-rr-5", "internal.example.org", "FORWARD", "172.20.0.2", "192.168.1.53", "169.254.169.253", name="renamed")),
    call("rr9", "09:03:00", "AssociateResolverRule", {"resolverRuleId": "rslvr-rr-1", "name": "corp-in-app", "vPCId": "vpc-0aaa"},
         {"resolverRuleAssociation": {"id": "rslvr-rrassoc-1", "resolverRuleId": "rslvr-rr-1", "name": "corp-in-app",
                                      "vPCId": "vpc-0aaa", "status": "CREATING"}}),
    call("rr10", "09:04:00", "DisassociateResolverRule", {"vPCId": "vpc-0aaa", "resolverRuleId": "rslvr-rr-1"},
         {"resolverRuleAssociation": {"id": "rslvr-rrassoc-1", "resolverRuleId": "rslvr-rr-1", "name": "corp-in-app",
                                      "vPCId": "vpc-0aaa", "status": "DELETING"}}),
    call("rr13", "09:07:00", "AssociateResolverRule", {"resolverRuleId": "rslvr-rr-3", "name": "all-in-edge", "vPCId": "vpc-0ddd"},
         {"resolverRuleAssociation": {"id": "rslvr-rrassoc-3", "resolverRuleId": "rslvr-rr-3", "name": "all-in-edge",
                                      "vPCId": "vpc-0ddd", "status": "CREATING"}}, region=SECOND),
    call("rr11", "09:05:00", "DeleteResolverRule", {"resolverRuleId": "rslvr-rr-2"},
         rule("rslvr-rr-2", "exfil.example.net", "FORWARD", "10.0.0.11", "203.0.113.53", name="rule-rr2")),
    call("rr12", "09:06:00", "DeleteResolverRule", None, who=MALLORY, error="ValidationException"),  # requestParameters null
    # Resolver endpoints
    call("ep1", "07:00:00", "CreateResolverEndpoint",
         {"creatorRequestId": "ep1", "name": "outbound", "securityGroupIds": ["sg-0001", "sg-0002"], "direction": "OUTBOUND",
          "ipAddresses": [{"subnetId": "subnet-01", "ip": "10.0.0.5"}, {"subnetId": "subnet-02"}], "tags": []},
         endpoint("rslvr-out-1", "outbound")),
    call("ep2", "07:10:00", "UpdateResolverEndpoint", {"resolverEndpointId": "rslvr-out-1", "name": "outbound-main"},
         endpoint("rslvr-out-1", "outbound-main")),
    call("ep3", "07:20:00", "AssociateResolverEndpointIpAddress",
         {"resolverEndpointId": "rslvr-out-1", "ipAddress": {"subnetId": "subnet-03", "ip": "10.0.2.5"}},
         endpoint("rslvr-out-1", "outbound-main")),
    call("ep4", "07:30:00", "CreateResolverEndpoint",
         {"creatorRequestId": "ep4", "name": "inbound", "securityGroupIds": ["sg-0009"], "direction": "INBOUND",
          "ipAddresses": [{"subnetId": "subnet-01"}, {"subnetId": "subnet-02"}]}, error="LimitExceededException", region=SECOND),
    call("ep5", "10:00:00", "DeleteResolverEndpoint", {"resolverEndpointId": "rslvr-out-1"}, endpoint("rslvr-out-1", "outbound-main")),
    # DNS Firewall rules (group rslvr-frg-1)
    create_firewall_rule("fw1", "08:10:00", "rslvr-fdl-bad", "BLOCK", 100),
    create_firewall_rule("fw2", "08:11:00", "rslvr-fdl-mal", "BLOCK", 200),
    create_firewall_rule("fw3", "08:12:00", "rslvr-fdl-watch", "ALERT", 300),
    create_firewall_rule("fw4", "08:13:00", "rslvr-fdl-tmp", "BLOCK", 400),
    update_firewall_rule("fw5", "09:10:00", "rslvr-fdl-bad", {"action": "ALLOW"}, ("ALLOW", 100), who=MALLORY),
    update_firewall_rule("fw6", "09:11:00", "rslvr-fdl-mal", {"action": "ALERT"}, ("ALERT", 200)),  # near miss: still logged
    update_firewall_rule("fw7", "09:12:00", "rslvr-fdl-tmp", {"action": "ALLOW"}, None, who=MALLORY, error="AccessDeniedException"),
    update_firewall_rule("fw8", "09:13:00", "rslvr-fdl-watch", {"priority": 350}, ("ALERT", 350)),  # near miss: no action sent
    call("fw9", "09:14:00", "DeleteFirewallRule", {"firewallRuleGroupId": "rslvr-frg-1", "firewallDomainListId": "rslvr-fdl-tmp"},
         firewall_rule("rslvr-frg-1", "rslvr-fdl-tmp", "BLOCK", 400, "block-rslvr-fdl-tmp")),
    call("fw10", "09:15:00", "DeleteFirewallRule", {"firewallRuleGroupId": "rslvr-frg-1", "firewallDomainListId": "rslvr-fdl-watch"},
         firewall_rule("rslvr-frg-1", "rslvr-fdl-watch", "ALERT", 350, "alert-rslvr-fdl-watch")),  # near miss: an ALERT rule
    call("fw11", "09:16:00", "UpdateFirewallRule", None, who=MALLORY, error="ValidationException", region=SECOND),  # no request
    update_firewall_rule("fw12", "09:17:00", "rslvr-fdl-old", {"action": "ALLOW"}, ("ALLOW", 50)),  # ... and allowed now
    # their group's associations
    call("fa1", "08:20:00", "AssociateFirewallRuleGroup",
         {"creatorRequestId": "fa1", "firewallRuleGroupId": "rslvr-frg-1", "vpcId": "vpc-0aaa", "priority": 101, "name": "frg-assoc"},
         association("rslvr-frgassoc-1", "vpc-0aaa")),
    call("fa2", "08:21:00", "UpdateFirewallRuleGroupAssociation",
         {"firewallRuleGroupAssociationId": "rslvr-frgassoc-1", "mutationProtection": "ENABLED"},
         association("rslvr-frgassoc-1", "vpc-0aaa", "ENABLED")),
    call("fa3", "09:20:00", "DisassociateFirewallRuleGroup", {"firewallRuleGroupAssociationId": "rslvr-frgassoc-1"},
         association("rslvr-frgassoc-1", "vpc-0aaa", "ENABLED", "DELETING"), who=MALLORY),
    call("fa4", "09:21:00", "DisassociateFirewallRuleGroup", {"firewallRuleGroupAssociationId": "rslvr-frgassoc-2"},
         who=MALLORY, error="AccessDeniedException", region=SECOND),
    # firewall configs and domain lists
    call("fc1", "09:30:00", "UpdateFirewallConfig", {"resourceId": "vpc-0aaa", "firewallFailOpen": "ENABLED"},
         {"firewallConfig": {"id": "rslvr-fc-1", "resourceId": "vpc-0aaa", "ownerId": ACCT, "firewallFailOpen": "ENABLED"}}),
    call("fc2", "09:31:00", "UpdateFirewallConfig", {"resourceId": "vpc-0bbb", "firewallFailOpen": "DISABLED"},
         {"firewallConfig": {"id": "rslvr-fc-2", "resourceId": "vpc-0bbb", "ownerId": ACCT, "firewallFailOpen": "DISABLED"}}),
    call("fc3", "09:32:00", "UpdateFirewallConfig", {"resourceId": "vpc-0ccc", "firewallFailOpen": "ENABLED"},
         who=MALLORY, error="AccessDeniedException", region=SECOND),
    call("fd0", "08:05:00", "CreateFirewallDomainList", {"creatorRequestId": "fd0", "name": "bad-domains"},
         {"firewallDomainList": {"id": "rslvr-fdl-bad", "name": "bad-domains", "domainCount": 0, "status": "COMPLETE"}}),
    domains("fd1", "08:06:00", "rslvr-fdl-bad", "ADD", "evil.example.", "*.malware.example."),  # near miss: added
    domains("fd2", "09:40:00", "rslvr-fdl-bad", "REMOVE", "evil.example.", who=MALLORY),
    domains("fd3", "09:41:00", "rslvr-fdl-mal", "REPLACE", "only-this.example."),
    call("fd4", "09:42:00", "ImportFirewallDomains",
         {"firewallDomainListId": "rslvr-fdl-mal", "operation": "REPLACE", "domainFileUrl": "s3://lists/mal.txt"},
         {"id": "rslvr-fdl-mal", "name": "list-rslvr-fdl-mal", "status": "IMPORTING"}),
    domains("fd5", "09:43:00", "rslvr-fdl-mal", "REMOVE", "x.example.", who=MALLORY, error="AccessDeniedException"),
    domains("fd7", "09:45:00", "rslvr-fdl-old", "REMOVE", "tracker.example.", "ads.example."),  # a list a BLOCK rule used
    call("fd6", "09:44:00", "DeleteFirewallDomainList", {"firewallDomainListId": "rslvr-fdl-tmp"},
         {"firewallDomainList": {"id": "rslvr-fdl-tmp", "name": "tmp", "status": "DELETING"}}),
]

# Each rule's cases by event id (False: a failed attempt). The near misses, never flagged: rr1 (private,
# CGNAT and ULA targets), rr4 (a SYSTEM rule for "."), rr5 and rr8 (private and link-local targets),
# fw6 (BLOCK -> ALERT), fw8 (ALERT rule, no action sent), fw10 (an ALERT rule deleted), fc2 (fail-open
# DISABLED), fd1 (domains added).
RESOLVER_RULE_CASES = {
    "resolver_forward_outside": {"rr2": True, "rr3": True, "rr6": True, "rr7": False, "rr9": True, "rr13": True},
    "firewall_block_to_allow": {"fw5": True, "fw7": False, "fw9": True, "fw12": True},
    "firewall_rule_group_detached": {"fa3": True, "fa4": False},
    "firewall_fail_open": {"fc1": True, "fc3": False},
    "firewall_domain_removed": {"fd2": True, "fd3": True, "fd4": True, "fd5": False, "fd7": True},
}


def real_create_resolver_endpoint() -> dict:
    """The AWS guide's CreateResolverEndpoint record (tests/corpus/real/, us-west-2, eventVersion 1.05)."""
    (record,) = [r for r in corpus_records("awsdocs_amazon-route53-docs.json") if r.get("eventName") == "CreateResolverEndpoint"]
    return record


def by_region(records: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault(record["awsRegion"], []).append(record)
    return grouped


def write_family_trail(root: Path) -> Path:
    """The records in the region folders CloudTrail would deliver them to (each record's awsRegion and date)."""
    files = {}
    for day, records in ((WEEK_AGO, WEEK_AGO_RECORDS), (DAY, RECORDS)):
        for region, in_region in by_region(records).items():
            files[log_key(ACCT, day, "1005", region=region)] = in_region
    return write_trail(root, files)


def run_cli(trail: Path, lake: Path, first: str, last: str, regions: tuple[str, ...]) -> Path:
    """`route53-lake --no-prefect` over the trail, reading the Resolver event source in `regions`."""
    args = ["--source", str(trail), "--lake", str(lake), "--start", first, "--end", last, "--no-prefect",
            "--event-source", RESOLVER, *(a for region in regions for a in ("--region", region))]
    assert main(args) == 0
    return lake


def build_resolver_lake(root: Path) -> Path:
    return run_cli(write_family_trail(root / "trail"), root / "lake", WEEK_AGO, DAY, REGIONS)


@pytest.fixture(scope="module")
def resolver_lake_path(tmp_path_factory) -> Path:
    return build_resolver_lake(tmp_path_factory.mktemp("resolver_lake"))


@pytest.fixture(scope="module")
def resolver_lake(resolver_lake_path):
    """A DuckDB connection to the built lake."""
    return connect(str(resolver_lake_path))
