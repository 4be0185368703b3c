"""Built CloudTrail records of the Route 53 family beyond record changes: private-zone VPC associations
and authorizations, health checks and registered domains, shaped as the API reference and CloudTrail
write them (lowerCamelCase keys with the first letter lowered: vPC.vPCId, iPAddress), with the error
variants (errorCode set, responseElements null, requestParameters null or populated). EXPECTED_FLAGS
says which of them dns_risk flags; every other call here is a look-alike that must stay quiet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import log_key, write_trail

ACCT = "111111111111"
PARTNER = "222222222222"
STRANGER = "333333333333"
DAY = "2026-11-04"
PRIVATE = "ZPRIVATE0001"
PUBLIC = "ZPUBLIC00001"
FOREIGN_ZONE = "ZFOREIGN0001"  # a zone of an account the lake does not read
LEGACY = "ZLEGACY00001"  # a private zone older than the lake: only a tagging call says its account


def identity(account: str, user: str, role: str | None = None) -> dict:
    if role:
        return {"type": "AssumedRole", "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{user}", "accountId": account,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{account}:role/{role}", "userName": role}}}
    return {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account, "userName": user}


TERRAFORM = identity(ACCT, "terraform", role="deploy")
EVE = identity(ACCT, "eve")
PARTNER_ADMIN = identity(PARTNER, "partner-admin", role="network")
INTRUDER = identity(STRANGER, "intruder")


def call(event_id: str, time: str, name: str, who: dict, request: dict | None = None, response: dict | None = None,
         source: str = "route53", error: str | None = None) -> dict:
    """One CloudTrail record; recipientAccountId is the caller's account, as when each account logs its own calls."""
    record = {"eventVersion": "1.08", "eventTime": f"{DAY}T{time}Z", "eventSource": f"{source}.amazonaws.com", "eventName": name,
              "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.9", "userAgent": "terraform/1.9", "eventID": event_id,
              "eventType": "AwsApiCall", "readOnly": False, "recipientAccountId": who["accountId"], "userIdentity": who,
              "requestParameters": request, "responseElements": response}
    if error:
        record.update(errorCode=error, errorMessage=f"{error}: denied or invalid", responseElements=None)
    return record


def vpc(vpc_id: str, region: str = "us-east-1") -> dict:
    return {"vPCRegion": region, "vPCId": vpc_id}


def vpc_call(event_id: str, time: str, name: str, zone: str | None, vpc_id: str, who: dict = TERRAFORM, region: str = "us-east-1",
             error: str | None = None, spelling: str = "vPC") -> dict:
    """Associate/Disassociate (response changeInfo) or Create/DeleteVPCAssociationAuthorization (response
    repeats zone and VPC). spelling 'VPC' writes the keys as some tools do: VPC.VPCId, VPC.VPCRegion."""
    shape = vpc(vpc_id, region) if spelling == "vPC" else {"VPCRegion": region, "VPCId": vpc_id}
    request = {"hostedZoneId": zone, spelling: shape, **({"comment": "shared services"} if "Associate" in name else {})}
    response = ({"hostedZoneId": zone, "vPC": vpc(vpc_id, region)} if "Authorization" in name
                else {"changeInfo": {"id": f"/change/C{event_id}", "status": "PENDING", "submittedAt": "Nov 4, 2026 8:00:00 AM"}})
    return call(event_id, time, name, who, request, response, error=error)


def zone(event_id: str, time: str, zone_id: str, name: str, vpc_id: str | None = None) -> dict:
    request = {"name": name, "callerReference": event_id,
               "hostedZoneConfig": {"comment": "made by terraform", "privateZone": vpc_id is not None}}
    response = {"hostedZone": {"id": f"/hostedzone/{zone_id}", "name": name}, "changeInfo": {"id": f"/change/C{event_id}"}}
    if vpc_id:
        request["vPC"] = response["vPC"] = vpc(vpc_id)
    return call(event_id, time, "CreateHostedZone", TERRAFORM, request, response)


def failover(action: str, name: str, set_id: str, value: str, check: str | None) -> dict:
    record = {"name": name, "type": "A", "tTL": 60, "setIdentifier": set_id, "failover": "PRIMARY",
              "resourceRecords": [{"value": value}], **({"healthCheckId": check} if check else {})}
    return {"action": action, "resourceRecordSet": record}


def batch(event_id: str, time: str, *changes: dict) -> dict:
    return call(event_id, time, "ChangeResourceRecordSets", TERRAFORM, {"hostedZoneId": PUBLIC, "changeBatch": {"changes": list(changes)}},
                {"changeInfo": {"id": f"/change/C{event_id}", "status": "PENDING"}})


def health_check(event_id: str, time: str, check_id: str | None, config: dict, who: dict = TERRAFORM, error: str | None = None) -> dict:
    """CreateHealthCheck: the config under healthCheckConfig; the response fills in Route 53's defaults."""
    returned = {"requestInterval": 30, "failureThreshold": 3, "measureLatency": False, "inverted": False, "disabled": False,
                "enableSNI": config.get("type") == "HTTPS", **config}
    response = {"healthCheck": {"id": check_id, "callerReference": event_id, "healthCheckConfig": returned, "healthCheckVersion": 1},
                "location": f"https://route53.amazonaws.com/2013-04-01/healthcheck/{check_id}"}
    return call(event_id, time, "CreateHealthCheck", who, {"callerReference": event_id, "healthCheckConfig": config}, response, error=error)


def update_check(event_id: str, time: str, check_id: str, version: int, **fields) -> dict:
    """UpdateHealthCheck: the changed fields flat beside healthCheckId; the response says the whole config
    (CONFIGS keeps each check's config as the updates so far left it)."""
    CONFIGS[check_id] = {**CONFIGS[check_id], **fields}
    return call(event_id, time, "UpdateHealthCheck", TERRAFORM, {"healthCheckId": check_id, "healthCheckVersion": version, **fields},
                {"healthCheck": {"id": check_id, "healthCheckVersion": version + 1, "healthCheckConfig": dict(CONFIGS[check_id])}})


def delete_check(event_id: str, time: str, check_id: str, error: str | None = None) -> dict:
    return call(event_id, time, "DeleteHealthCheck", TERRAFORM, {"healthCheckId": check_id}, None, error=error)


def domain(event_id: str, time: str, name: str, request: dict | None, who: dict = EVE, error: str | None = None) -> dict:
    return call(event_id, time, name, who, request, None if request is None else {"requestId": f"req-{event_id}"},
                source="route53domains", error=error)


HTTPS = {"iPAddress": "192.0.2.10", "port": 443, "type": "HTTPS", "resourcePath": "/health",
         "fullyQualifiedDomainName": "api.example.com", "requestInterval": 30, "failureThreshold": 3,
         "regions": ["us-east-1", "eu-west-1", "ap-southeast-1"]}
CONFIGS = {"hc-used": dict(HTTPS), "hc-idle": {"iPAddress": "192.0.2.9", "port": 80, "type": "TCP"},
           "hc-moved": {"iPAddress": "192.0.2.11", "port": 80, "type": "TCP"}, "hc-dropped": {"iPAddress": "192.0.2.12", "port": 80, "type": "TCP"}}
APP = "app.example.com."

RECORDS = [
    # private zone internal.example.com.: created with its own VPC, shared with a partner account's VPC
    zone("z1", "08:00:00", PRIVATE, "internal.example.com.", vpc_id="vpc-own1"),
    vpc_call("a1", "08:01:00", "AssociateVPCWithHostedZone", PRIVATE, "vpc-own2", region="us-west-2"),  # near miss: own VPC
    vpc_call("v1", "08:02:00", "CreateVPCAssociationAuthorization", PRIVATE, "vpc-partner1", region="eu-west-1", who=EVE),
    vpc_call("a2", "08:03:00", "AssociateVPCWithHostedZone", PRIVATE, "vpc-partner1", region="eu-west-1", who=PARTNER_ADMIN),
    vpc_call("v2", "08:04:00", "DeleteVPCAssociationAuthorization", PRIVATE, "vpc-partner1", region="eu-west-1"),  # takes back
    vpc_call("d1", "08:05:00", "DisassociateVPCFromHostedZone", PRIVATE, "vpc-own2", region="us-west-2", spelling="VPC"),
    vpc_call("v3", "08:06:00", "CreateVPCAssociationAuthorization", PRIVATE, "vpc-own1"),  # near miss: a VPC of the zone's account
    vpc_call("a3", "08:07:00", "AssociateVPCWithHostedZone", PRIVATE, "vpc-evil", who=INTRUDER, error="AccessDenied"),
    call("a4", "08:08:00", "AssociateVPCWithHostedZone", EVE, None, None, error="AccessDenied"),  # says nothing: not flagged
    vpc_call("a5", "08:09:00", "AssociateVPCWithHostedZone", FOREIGN_ZONE, "vpc-own1"),  # own VPC answered by an unknown zone
    call("c1", "08:09:30", "ChangeTagsForResource", TERRAFORM,
         {"resourceType": "hostedzone", "resourceId": LEGACY, "addTags": [{"key": "team", "value": "platform"}]}),
    vpc_call("a6", "08:09:40", "AssociateVPCWithHostedZone", LEGACY, "vpc-partner2", who=PARTNER_ADMIN),
    vpc_call("a7", "08:09:50", "AssociateVPCWithHostedZone", LEGACY, "vpc-own3"),  # near miss: the zone's account is known
    # health checks: one named by a failover record, one nothing uses, one a record moved off, one whose record was deleted
    zone("z2", "09:00:00", PUBLIC, "example.com."),
    health_check("h1", "09:01:00", "hc-used", HTTPS),
    health_check("h2", "09:01:10", "hc-idle", CONFIGS["hc-idle"]),
    health_check("h3", "09:01:20", "hc-moved", CONFIGS["hc-moved"]),
    health_check("h4", "09:01:30", "hc-dropped", CONFIGS["hc-dropped"]),
    health_check("h5", "09:01:40", None, {"type": "HTTP"}, who=EVE, error="InvalidInput"),
    call("h6", "09:01:50", "CreateHealthCheck", INTRUDER, None, None, error="AccessDenied"),
    batch("b1", "09:02:00", failover("CREATE", APP, "primary", "192.0.2.10", "hc-used"),
          failover("CREATE", f"api.{APP[:-1]}.", "primary", "192.0.2.11", "hc-moved"),
          failover("CREATE", f"old.{APP[:-1]}.", "primary", "192.0.2.12", "hc-dropped")),
    batch("b2", "09:03:00", failover("UPSERT", f"api.{APP[:-1]}.", "primary", "192.0.2.11", "hc-used"),
          failover("DELETE", f"old.{APP[:-1]}.", "primary", "192.0.2.12", "hc-dropped")),
    update_check("u1", "09:04:00", "hc-used", 1, failureThreshold=5, resourcePath="/healthz"),  # near miss: still enabled
    update_check("u2", "09:05:00", "hc-used", 2, disabled=True),
    update_check("u3", "09:06:00", "hc-idle", 1, inverted=True),  # near miss: nothing uses it
    update_check("u4", "09:07:00", "hc-used", 3, disabled=False),  # near miss: enabled again
    delete_check("x0", "09:08:00", "hc-used", error="HealthCheckInUse"),
    delete_check("x1", "09:09:00", "hc-used"),
    delete_check("x2", "09:09:10", "hc-idle"),  # near miss: nothing uses it
    delete_check("x3", "09:09:20", "hc-moved"),  # near miss: its record moved to another check
    delete_check("x4", "09:09:30", "hc-dropped"),  # near miss: its record was deleted
    call("x5", "09:09:40", "DeleteHealthCheck", INTRUDER, None, None, error="AccessDenied"),  # names no check
    # registered domains (route53domains writes some eventNames lower-camel-case)
    domain("r1", "10:00:00", "DisableDomainAutoRenew", {"domainName": "example.org"}),
    domain("r2", "10:01:00", "EnableDomainAutoRenew", {"domainName": "example.org"}),  # near miss
    domain("r3", "10:02:00", "updateDomainContact", {"domainName": {"name": "example.org"}}),
    domain("r4", "10:03:00", "UpdateDomainContact", None, who=INTRUDER, error="AccessDenied"),
    domain("r5", "10:04:00", "UpdateDomainContactPrivacy",
           {"domainName": "example.org", "adminPrivacy": False, "registrantPrivacy": True, "techPrivacy": False}),
    domain("r6", "10:05:00", "UpdateDomainContactPrivacy",
           {"domainName": "example.org", "adminPrivacy": True, "registrantPrivacy": True, "techPrivacy": True}),  # near miss
    domain("r7", "10:06:00", "UpdateDomainContactPrivacy", {"domainName": "example.net", "registrantPrivacy": False},
           who=INTRUDER, error="AccessDenied"),
]

# (rule, event_id, applied) of every flag the records above must raise, and no other
EXPECTED_FLAGS = {
    ("cross_account_vpc_association", "v1", True), ("cross_account_vpc_association", "a2", True),
    ("cross_account_vpc_association", "a3", False), ("cross_account_vpc_association", "a5", True),
    ("cross_account_vpc_association", "a6", True),
    ("health_check_removed_in_use", "u2", True), ("health_check_removed_in_use", "x0", False),
    ("health_check_removed_in_use", "x1", True),
    ("domain_auto_renew_disabled", "r1", True),
    ("domain_contact_changed", "r3", True), ("domain_contact_changed", "r4", False),
    ("domain_privacy_disabled", "r5", True), ("domain_privacy_disabled", "r7", False),
}
FAMILY_RULES = {rule for rule, _, _ in EXPECTED_FLAGS}

SOURCES = ["route53.amazonaws.com", "route53domains.amazonaws.com"]


def write_family_trail(trail: Path) -> date:
    """RECORDS as one log file of ACCT under `trail`; the day to run."""
    write_trail(trail, {log_key(ACCT, DAY, "1105"): RECORDS})
    return date.fromisoformat(DAY)


def family_lake(root: Path) -> Path:
    """The lake the pipeline (--no-prefect) writes from RECORDS, route53domains read too."""
    day = write_family_trail(root / "trail")
    run_without_prefect(LakeSettings(source=str(root / "trail"), lake=str(root / "lake"), event_sources=SOURCES), [day])
    return root / "lake"
