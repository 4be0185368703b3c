"""The Route 53 Resolver and DNS Firewall views (sql/views/) as the data dictionary shows them: what
each holds, its grain and key, and every column with its type and meaning. The SQL is the views'
source; tests/query/test_resolver_family.py keeps these columns equal to those the views give (names,
order and types), and schemas/docs.py renders them into docs/data-dictionary.md."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from schemas.tables import BOOL, DATE, STRING, STRINGS, TIMESTAMP

BIGINT = pa.int64()


@dataclass(frozen=True)
class ViewColumn:
    name: str
    type: pa.DataType
    description: str


@dataclass(frozen=True)
class View:
    name: str
    description: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[ViewColumn, ...]


def _c(name: str, type_: pa.DataType, description: str) -> ViewColumn:
    return ViewColumn(name, type_, description)


# The call's own columns, the same in every view below, first ...
_CALL = (
    _c("event_time", TIMESTAMP, "eventTime of the call (UTC)."),
    _c("event_date", DATE, "UTC date of event_time."),
    _c("event_id", STRING, "eventID: the key."),
    _c("event_name", STRING, "eventName as CloudTrail wrote it."),
)
_RESULT = (
    _c("applied", BOOL, "false when the call failed (error_code set): it changed nothing."),
    _c("error_code", STRING, "errorCode of a failed call; null when it succeeded."),
)
# ... and last.
_WHO = (
    _c("region", STRING, "awsRegion: Resolver is regional, the call is in that region's log folder."),
    _c("account_id", STRING, "recipientAccountId: the account that owns the resource."),
    _c("actor", STRING, "Who acted: the role behind an assumed-role session, else the caller's ARN, else the AWS service."),
    _c("actor_person", STRING, "The session or user name behind actor."),
    _c("source_ip_address", STRING, "sourceIPAddress of the call."),
    _c("user_agent", STRING, "userAgent of the call."),
    _c("event_source", STRING, "route53resolver.amazonaws.com."),
    _c("request_parameters", STRING, "requestParameters as JSON text, for what the columns do not hold."),
    _c("response_elements", STRING, "responseElements as JSON text (null for a failed call)."),
)
_STATED = "as the call states it (the response holds the whole resource after it), else as the last applied call left it"

RESOLVER_RULES = View(
    "resolver_rules",
    "Route 53 Resolver rules over time: CreateResolverRule, UpdateResolverRule, DeleteResolverRule, AssociateResolverRule "
    "and DisassociateResolverRule, failed attempts included.",
    "one call", ("event_id",),
    (*_CALL,
     _c("change", STRING, "CREATE, UPDATE, DELETE, ASSOCIATE or DISASSOCIATE."), *_RESULT,
     _c("resolver_rule_id", STRING, "The rule (rslvr-rr-...)."),
     _c("rule_name", STRING, f"The rule's name, {_STATED}."),
     _c("domain_name", STRING, f"The domain the rule is for, {_STATED}."),
     _c("rule_type", STRING, f"FORWARD, SYSTEM or RECURSIVE, {_STATED}."),
     _c("target_ips", STRINGS, f"The addresses (ip or ipv6) queries are forwarded to, the first 10, {_STATED}."),
     _c("public_target_ips", STRINGS, "Those of target_ips outside private address space (RFC 1918, CGNAT, loopback, "
        "link-local, IPv6 ULA)."),
     _c("forwards_outside", BOOL, "A FORWARD rule with public targets, or for '.', com, net, org, io or amazonaws.com "
        "(dns_risk: resolver_forward_outside)."),
     _c("resolver_endpoint_id", STRING, f"The outbound endpoint the rule forwards through, {_STATED}."),
     _c("vpc_id", STRING, "The VPC associated or dissociated (ASSOCIATE, DISASSOCIATE)."),
     _c("association_id", STRING, "The association (rslvr-rrassoc-...), as the response states it."),
     _c("association_name", STRING, "The association's name (ASSOCIATE)."),
     *_WHO),
)
RESOLVER_ENDPOINTS = View(
    "resolver_endpoints",
    "Route 53 Resolver endpoints over time: CreateResolverEndpoint, UpdateResolverEndpoint, DeleteResolverEndpoint, "
    "AssociateResolverEndpointIpAddress and DisassociateResolverEndpointIpAddress, failed attempts included.",
    "one call", ("event_id",),
    (*_CALL,
     _c("change", STRING, "CREATE, UPDATE, DELETE, ADD_IP or REMOVE_IP."), *_RESULT,
     _c("resolver_endpoint_id", STRING, "The endpoint (rslvr-in-... or rslvr-out-...)."),
     _c("endpoint_name", STRING, f"The endpoint's name, {_STATED}."),
     _c("direction", STRING, f"INBOUND or OUTBOUND, {_STATED}."),
     _c("host_vpc_id", STRING, f"The VPC the endpoint is in, {_STATED}."),
     _c("security_group_ids", STRINGS, f"The endpoint's security groups, the first 10, {_STATED}."),
     _c("ip_addresses", STRINGS, "The addresses the call sends (CREATE: the first 10; ADD_IP, REMOVE_IP: the one); "
        "an address Resolver picks itself is not in CloudTrail."),
     _c("subnet_ids", STRINGS, "The subnets of those addresses."),
     _c("ip_address_count", BIGINT, "The endpoint's number of addresses after the call, as the response states it."),
     *_WHO),
)
FIREWALL_RULES = View(
    "firewall_rules",
    "DNS Firewall rules over time: CreateFirewallRule, UpdateFirewallRule and DeleteFirewallRule, failed attempts "
    "included. A rule is (firewall_rule_group_id, firewall_domain_list_id), or the group and a threat protection id.",
    "one call", ("event_id",),
    (*_CALL,
     _c("change", STRING, "CREATE, UPDATE or DELETE."), *_RESULT,
     _c("firewall_rule_group_id", STRING, "The rule group (rslvr-frg-...)."),
     _c("firewall_domain_list_id", STRING, "The domain list the rule matches (rslvr-fdl-...)."),
     _c("firewall_threat_protection_id", STRING, "The DNS Firewall Advanced protection the rule matches, if any."),
     _c("rule_name", STRING, f"The rule's name, {_STATED}."),
     _c("before_action", STRING, "ALLOW, BLOCK or ALERT before the call, as the last applied call left it; a DELETE: "
        "the action of the rule deleted."),
     _c("after_action", STRING, "The action after the call (a failed call: the one it asked for); null after a DELETE."),
     _c("priority", BIGINT, f"The rule's priority in its group, {_STATED}."),
     _c("block_response", STRING, f"NODATA, NXDOMAIN or OVERRIDE for a BLOCK rule, {_STATED}."),
     *_WHO),
)
FIREWALL_RULE_GROUP_ASSOCIATIONS = View(
    "firewall_rule_group_associations",
    "Which VPCs a DNS Firewall rule group filters, over time: AssociateFirewallRuleGroup, "
    "UpdateFirewallRuleGroupAssociation and DisassociateFirewallRuleGroup, failed attempts included.",
    "one call", ("event_id",),
    (*_CALL,
     _c("change", STRING, "ASSOCIATE, UPDATE or DISASSOCIATE."), *_RESULT,
     _c("association_id", STRING, "The association (rslvr-frgassoc-...)."),
     _c("firewall_rule_group_id", STRING, f"The rule group, {_STATED}."),
     _c("vpc_id", STRING, f"The VPC, {_STATED}."),
     _c("priority", BIGINT, f"The group's priority in the VPC, {_STATED}."),
     _c("mutation_protection", STRING, f"ENABLED or DISABLED, {_STATED}."),
     _c("association_name", STRING, f"The association's name, {_STATED}."),
     *_WHO),
)
FIREWALL_CHANGES = View(
    "firewall_changes",
    "The other DNS Firewall changes: a VPC's firewall configuration (UpdateFirewallConfig) and the domain lists "
    "(CreateFirewallDomainList, DeleteFirewallDomainList, UpdateFirewallDomains, ImportFirewallDomains), failed "
    "attempts included.",
    "one call", ("event_id",),
    (*_CALL,
     _c("kind", STRING, "config or domain_list."), *_RESULT,
     _c("operation", STRING, "Of a domain list: ADD, REMOVE or REPLACE (an import replaces), CREATE or DELETE."),
     _c("resource_id", STRING, "Of a config: the VPC."),
     _c("firewall_fail_open", STRING, "Of a config: ENABLED or DISABLED, as sent."),
     _c("firewall_domain_list_id", STRING, "The domain list (rslvr-fdl-...)."),
     _c("domain_list_name", STRING, "The list's name, where the call or its response says it."),
     _c("domains", STRINGS, "The domains sent, the first 10."),
     _c("domain_count", BIGINT, "How many domains were sent."),
     _c("domain_file_url", STRING, "An import's file of domains."),
     *_WHO),
)
# In dependency order (none reads another); dns_risk reads them all.
RESOLVER_VIEWS: dict[str, View] = {v.name: v for v in (RESOLVER_RULES, RESOLVER_ENDPOINTS, FIREWALL_RULES,
                                                       FIREWALL_RULE_GROUP_ASSOCIATIONS, FIREWALL_CHANGES)}
