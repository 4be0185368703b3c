#!/usr/bin/env python3
"""Write a small, deterministic CloudTrail bucket for route53-lake, and the answers to expect from it.

The story
---------
Two accounts deliver CloudTrail logs to the bucket "example-trail-bucket" on three delivery days,
2026-11-01 .. 2026-11-03. Most of what they log is not Route 53 (S3, EC2, IAM, STS, KMS, CloudFront,
Lambda): the pipeline has to find the Route 53 needles in that hay.

* 123456789012, the web account, has its own trail "main-trail" (AWSLogs/123456789012/...).
  - Nov 1: the platform team's Terraform (role terraform-deploy) creates the public zone example.com.
    and fills it in one batch with every routing policy Route 53 has (simple, alias to CloudFront,
    weighted blue/green, failover with health checks, geolocation, latency, multivalue, an escaped
    wildcard). It also adds a CNAME to the private zone internal.example.com. Alice creates
    dup.example.com. by hand with the CLI. At 23:58:30 cert-manager writes an ACME TXT record; that
    event is delivered at 00:04 the next day, so it sits in the Nov 2 folder.
  - Nov 2: cert-manager removes the ACME record; Terraform raises api's TTL 60 -> 300, points the CDN
    alias at a new distribution and deletes www. The CDN change is delivered twice (same eventID in two
    files). Alice tries to create dup.example.com. again (InvalidChangeBatch), Mallory is denied.
    Terraform creates a health check, Alice updates it, and Jane (a human, via SSO and the console,
    from an office IP) shifts the green weighted record to 100. One log file of the day is truncated
    in transit (a corrupt gzip) and the external-dns change inside it is lost. The web account also
    logs in eu-west-1 that day (a Route 53 Resolver endpoint among other services).
  - Nov 3: Terraform deletes the health check, the blue weighted record, then empties and deletes the
    private zone and tags the public one. The root user looks at the console; Jane updates the
    domain's contact (route53domains).
* 210987654321 is a member account of organization o-a1b2c3d4e5, logged by the organization trail
  (AWSLogs/o-a1b2c3d4e5/210987654321/...). Its zones corp.example.net. and svc.corp.example.net.
  change a little every day, by Terraform and by CloudFormation (an AWSService identity).
* 444455556666 holds the AWS Route 53 Developer Guide's own 4-record sample log (2015-01-16), copied
  from data/seed/ unchanged.
* Next to the logs: one CloudTrail-Digest file and one CloudTrail-Insight file, which the pipeline must
  not read as logs.

External-dns (and Terraform/cert-manager waiting for their changes) poll Route 53 all day, so reads
outnumber writes. Every state change goes through a small model of each zone, so a DELETE always
carries the record as it was and a CREATE never collides, except where the story wants it to.

Determinism
-----------
No clock, no uuid4, no set ordering: every random choice comes from a random.Random seeded with a
string derived from SEED and the thing being made (so editing one file's filler does not reshuffle
the rest), ids are uuid.UUID(int=getrandbits(128), version=4), JSON is written in a fixed key order
and gzip with mtime=0 and no file name. Two runs give byte-identical trees.

Outputs: DIR (default data/cloudtrail, deleted and rewritten) and data/expected.json, the oracle,
computed by reading back the bytes that were written (not by any pipeline code).

Usage: python data/generate.py [--out DIR] [--expected FILE]
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import io
import json
import random
import shutil
import string
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = "route53-lake-sample-v1"
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "cloudtrail"
DEFAULT_EXPECTED = HERE / "expected.json"
SEED_LOG = HERE / "seed" / "route53-developer-guide-example.json"

BUCKET = "example-trail-bucket"
TRAIL_NAME = "main-trail"
WEB = "123456789012"  # account with its own trail
CORP = "210987654321"  # member of the organization trail
ORG = "o-a1b2c3d4e5"
DOCS = "444455556666"  # the AWS documentation sample
R53 = "route53.amazonaws.com"
WINDOW = timedelta(minutes=5)  # CloudTrail writes a file roughly every 5 minutes of activity

# ---------------------------------------------------------------------------------------------------
# Randomness and time
# ---------------------------------------------------------------------------------------------------


class Rand(random.Random):
    """random.Random with the id shapes AWS uses. Seeded from a string, so it is stable across runs
    and Python processes (str seeds are hashed with SHA-512, not with the salted hash())."""

    def __init__(self, *parts: object) -> None:
        super().__init__(":".join([SEED, *map(str, parts)]))

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def chars(self, n: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
        return "".join(self.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.chars(n, "0123456789abcdef")


def at(text: str) -> datetime:
    """'2026-11-01 09:05:12' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def us_medium(when: datetime, comma_after_year: bool = False) -> str:
    """Java's US medium format, as in changeInfo.submittedAt: 'Nov 1, 2026 9:05:12 AM'. Spelled out by
    hand because strftime's %b and %p follow the locale and %-d is not portable."""
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    sep = ", " if comma_after_year else " "
    return f"{_MONTHS[when.month - 1]} {when.day}, {when.year}{sep}{hour}:{when:%M:%S} {half}"


# ---------------------------------------------------------------------------------------------------
# Who calls: identities
# ---------------------------------------------------------------------------------------------------

UA_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.74.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.3 ua/2.1 os/linux "
    "lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/route53#1.46.0"
)
UA_CLI = (
    "aws-cli/2.18.11 md/awscrt#0.22.0 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.7 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off"
)
UA_EXTERNAL_DNS = (
    "ExternalDNS/v0.15.0 aws-sdk-go-v2/1.30.5 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/route53#1.44.0"
)
UA_CERT_MANAGER = (
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.8 md/GOOS#linux md/GOARCH#amd64 api/route53#1.42.3 cert-manager/v1.16.1"
)
UA_BOTO3 = "Boto3/1.35.54 md/Botocore#1.35.54 ua/2.0 os/linux#6.8.0-1017-aws md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.54"
UA_LAMBDA = UA_BOTO3.replace("cfg/retry-mode", "exec-env/AWS_Lambda_python3.12 cfg/retry-mode")
UA_CONSOLE = "console.amazonaws.com"


@dataclass(frozen=True)
class Actor:
    """A caller. kind is the userIdentity.type; console and AWS-service calls carry no tlsDetails."""

    kind: str  # IAMUser | AssumedRole | AWSService | Root
    account: str
    name: str  # user name, role name or service principal
    ip: str
    agent: str
    session: str = ""
    role_path: str = ""
    console: bool = False
    mfa: bool = False
    tls: tuple[str, str] = ("TLSv1.3", "TLS_AES_128_GCM_SHA256")

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_path}{self.name}"

    @property
    def arn(self) -> str:
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{self.account}:user/{self.name}"
        if self.kind == "Root":
            return f"arn:aws:iam::{self.account}:root"
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{self.session}"


def principal_id(actor: Actor) -> str:
    """Stable per principal (AIDA.. users, AROA.. roles), like IAM's unique ids."""
    prefix = "AIDA" if actor.kind == "IAMUser" else "AROA"
    return prefix + Rand("principal", actor.account, actor.name).chars(17)


def identity(actor: Actor, when: datetime) -> dict:
    """userIdentity as CloudTrail writes it. A session's creationDate is the top of the hour: sessions
    are renewed hourly, so all calls of one hour share it."""
    if actor.kind == "AWSService":
        return {"type": "AWSService", "invokedBy": actor.name}
    key = Rand("key", actor.account, actor.name, when.date(), when.hour)
    started = {"creationDate": iso(when.replace(minute=0, second=0)), "mfaAuthenticated": "true" if actor.mfa else "false"}
    if actor.kind == "IAMUser":
        return {
            "type": "IAMUser",
            "principalId": principal_id(actor),
            "arn": actor.arn,
            "accountId": actor.account,
            "accessKeyId": "AKIA" + Rand("akia", actor.account, actor.name).chars(16),
            "userName": actor.name,
        }
    if actor.kind == "Root":
        return {
            "type": "Root",
            "principalId": actor.account,
            "arn": actor.arn,
            "accountId": actor.account,
            "accessKeyId": "ASIA" + key.chars(16),
            "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {}, "attributes": started},
        }
    role_id = principal_id(actor)
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{actor.session}",
        "arn": actor.arn,
        "accountId": actor.account,
        "accessKeyId": "ASIA" + key.chars(16),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": actor.role_arn,
                "accountId": actor.account,
                "userName": actor.name,
            },
            "webIdFederationData": {},
            "attributes": started,
        },
    }


def role(account: str, name: str, session: str, ip: str, agent: str, **kw) -> Actor:
    return Actor("AssumedRole", account, name, ip, agent, session=session, **kw)


# The cast, per account. IPs are documentation ranges: CI runners and the EKS NAT in 198.51.100.0/24,
# people in 192.0.2.0/24 and 203.0.113.0/24.
TERRAFORM = role(WEB, "terraform-deploy", "terraform", "198.51.100.23", UA_TERRAFORM)
EXTERNAL_DNS = role(WEB, "external-dns", "external-dns-eks-prod", "198.51.100.200", UA_EXTERNAL_DNS)
CERT_MANAGER = role(WEB, "cert-manager", "cert-manager", "198.51.100.200", UA_CERT_MANAGER)
SSO_ADMIN = role(
    WEB,
    "AWSReservedSSO_Admin_abc123",
    "jane.doe@example.com",
    "203.0.113.77",
    UA_CONSOLE,
    role_path="aws-reserved/sso.amazonaws.com/",
    console=True,
    mfa=True,
)
ALICE = Actor("IAMUser", WEB, "alice", "192.0.2.44", UA_CLI, tls=("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))
MALLORY = Actor("IAMUser", WEB, "mallory", "203.0.113.250", UA_BOTO3)
ROOT = Actor("Root", WEB, "root", "203.0.113.10", UA_CONSOLE, console=True, mfa=True)
LAMBDA_WEB = role(WEB, "order-processor-role", "order-processor", "198.51.100.140", UA_LAMBDA)
CFN = Actor("AWSService", CORP, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com", "cloudformation.amazonaws.com")
TERRAFORM_CORP = role(CORP, "terraform-deploy", "terraform", "198.51.100.24", UA_TERRAFORM)
EXTERNAL_DNS_CORP = role(CORP, "external-dns", "external-dns-eks-corp", "198.51.100.201", UA_EXTERNAL_DNS)
ORG_ADMIN = role(CORP, "OrganizationAccountAccessRole", "platform-admin", "192.0.2.61", UA_CLI)
BUILD_CORP = role(CORP, "build-runner", "codebuild", "198.51.100.150", UA_BOTO3)

# Who makes the non-Route 53 noise, with weights.
FILLER_CAST = {
    WEB: [(TERRAFORM, 3), (ALICE, 2), (SSO_ADMIN, 1), (LAMBDA_WEB, 4)],
    CORP: [(TERRAFORM_CORP, 3), (ORG_ADMIN, 1), (BUILD_CORP, 4)],
}

# ---------------------------------------------------------------------------------------------------
# One record
# ---------------------------------------------------------------------------------------------------

# eventVersion per service. Route 53 moved from 1.08 to 1.09 on Nov 2; other services are on their own
# versions, including 1.10 (which a float parser would confuse with 1.1).
SERVICE_VERSION = {
    "s3.amazonaws.com": "1.10",
    "ec2.amazonaws.com": "1.10",
    "iam.amazonaws.com": "1.09",
    "sts.amazonaws.com": "1.08",
    "kms.amazonaws.com": "1.09",
    "cloudfront.amazonaws.com": "1.08",
    "lambda.amazonaws.com": "1.09",
    "route53resolver.amazonaws.com": "1.09",
    "route53domains.amazonaws.com": "1.09",
}


def event_version(source: str, when: datetime) -> str:
    if source == R53:
        return "1.08" if when < at("2026-11-02 00:00:00") else "1.09"
    return SERVICE_VERSION[source]


@dataclass
class Call:
    """What a call asked and got; api_call() wraps it in the CloudTrail envelope."""

    source: str
    name: str
    read_only: bool
    params: object = None
    response: object = None
    additional: object = None
    resources: list | None = None
    api_version: str | None = None
    host: str | None = None  # tlsDetails.clientProvidedHostHeader
    error: tuple[str, str | None] | None = None  # (errorCode, errorMessage)


def api_call(rng: Rand, when: datetime, actor: Actor, region: str, call: Call, account: str | None = None) -> dict:
    """A record in CloudTrail's own field order (files are written in this order, not sorted)."""
    account = account or actor.account
    rec = {
        "eventVersion": event_version(call.source, when),
        "userIdentity": identity(actor, when),
        "eventTime": iso(when),
        "eventSource": call.source,
        "eventName": call.name,
        "awsRegion": region,
        "sourceIPAddress": actor.ip,
        "userAgent": actor.agent,
    }
    if call.error:
        rec["errorCode"] = call.error[0]
        if call.error[1] is not None:
            rec["errorMessage"] = call.error[1]
    rec["requestParameters"] = call.params
    rec["responseElements"] = call.response
    if call.additional is not None:
        rec["additionalEventData"] = call.additional
    rec["requestID"] = rng.uuid4()
    rec["eventID"] = rng.uuid4()
    rec["readOnly"] = call.read_only
    if call.resources is not None:
        rec["resources"] = call.resources
    rec["eventType"] = "AwsApiCall"
    if call.api_version:
        rec["apiVersion"] = call.api_version
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account
    rec["eventCategory"] = "Management"
    # Console-proxied and service calls have no TLS session of their own.
    if not actor.console and actor.kind != "AWSService" and call.host:
        rec["tlsDetails"] = {"tlsVersion": actor.tls[0], "cipherSuite": actor.tls[1], "clientProvidedHostHeader": call.host}
    if actor.console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


# ---------------------------------------------------------------------------------------------------
# Route 53 shapes (CloudTrail casing: API member name with the first letter lower-cased)
# ---------------------------------------------------------------------------------------------------


def rrset(
    name: str,
    rtype: str,
    ttl: int | None = None,
    values: tuple = (),
    *,
    set_id: str | None = None,
    weight: int | None = None,
    region: str | None = None,
    geo: dict | None = None,
    failover: str | None = None,
    multivalue: bool | None = None,
    alias: dict | None = None,
    health_check: str | None = None,
) -> dict:
    """A resourceRecordSet, keys in the API's member order: tTL, resourceRecords[].value,
    aliasTarget, setIdentifier, weight, region, geoLocation, failover, multiValueAnswer, healthCheckId."""
    rs: dict = {"name": name, "type": rtype}
    optional = [
        ("setIdentifier", set_id),
        ("weight", weight),
        ("region", region),
        ("geoLocation", geo),
        ("failover", failover),
        ("multiValueAnswer", multivalue),
        ("tTL", ttl),
    ]
    rs.update((k, v) for k, v in optional if v is not None)
    if values:
        rs["resourceRecords"] = [{"value": v} for v in values]
    if alias is not None:
        rs["aliasTarget"] = alias
    if health_check is not None:
        rs["healthCheckId"] = health_check
    return rs


def alias_target(zone_id: str, dns_name: str, evaluate: bool = False) -> dict:
    return {"hostedZoneId": zone_id, "dNSName": dns_name, "evaluateTargetHealth": evaluate}


def change(action: str, rs: dict) -> dict:
    return {"action": action, "resourceRecordSet": rs}


def r53(name: str, read_only: bool, params=None, response=None, additional=None, error=None) -> Call:
    return Call(
        R53, name, read_only, params, response, additional, api_version="2013-04-01", host="route53.amazonaws.com", error=error
    )


class Zone:
    """What a hosted zone holds, so the story's DELETEs carry the real old record and CREATEs never
    collide by accident. Key: (name, type, setIdentifier)."""

    def __init__(self, zone_id: str, name: str, private: bool, records: list[dict] = ()) -> None:
        self.id, self.name, self.private = zone_id, name, private
        self.records = {self._key(r): r for r in records}

    @staticmethod
    def _key(rs: dict) -> tuple:
        return rs["name"], rs["type"], rs.get("setIdentifier")

    def current(self, name: str, rtype: str, set_id: str | None = None) -> dict:
        return copy.deepcopy(self.records[(name, rtype, set_id)])

    def exists(self, rs: dict) -> bool:
        return self._key(rs) in self.records

    def apply(self, changes: list[dict]) -> None:
        """All or nothing, like Route 53; a story mistake fails the run instead of producing nonsense."""
        for ch in changes:
            key, rs = self._key(ch["resourceRecordSet"]), ch["resourceRecordSet"]
            if ch["action"] == "CREATE":
                assert key not in self.records, f"story bug: CREATE of existing {key}"
            elif ch["action"] == "DELETE":
                assert self.records.get(key) == rs, f"story bug: DELETE of {key} does not match"
        for ch in changes:
            key, rs = self._key(ch["resourceRecordSet"]), ch["resourceRecordSet"]
            if ch["action"] == "DELETE":
                del self.records[key]
            else:
                self.records[key] = copy.deepcopy(rs)


# Zone ids are bare on the request side, "/hostedzone/..." in responses. The Zone objects are made
# fresh by each story, so build() can run twice in one process.
EXAMPLE_COM_ID, INTERNAL_ID = "Z0123456789ABCDEFGHIJ", "Z0987654321ZYXWVUTSRQ"
CORP_NET_ID, SVC_CORP_ID = "Z05CORP8EXAMPLE3NET1", "Z07SVC4CORP9PRIVATE2"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # the fixed zone id of every CloudFront alias target


# ---------------------------------------------------------------------------------------------------
# Timeline: scripted events and the facts they prove
# ---------------------------------------------------------------------------------------------------


@dataclass
class Event:
    when: datetime
    account: str
    region: str
    record: dict
    also_in: datetime | None = None  # a second file (window start) that carries an exact copy


@dataclass
class Fact:
    name: str
    description: str
    record: dict
    extra: dict = field(default_factory=dict)


class Timeline:
    """Collects the scripted events of one account, with helpers for the Route 53 calls."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.events: list[Event] = []
        self.facts: list[Fact] = []
        self.rng = Rand("story", account)

    def add(
        self,
        when: str | datetime,
        actor: Actor,
        call: Call,
        region: str = "us-east-1",
        fact: str | None = None,
        description: str = "",
        also_in: str | None = None,
        **extra,
    ) -> dict:
        when = at(when) if isinstance(when, str) else when
        rec = api_call(self.rng, when, actor, region, call, account=self.account)
        self.events.append(Event(when, self.account, region, rec, at(also_in) if also_in else None))
        if fact:
            self.facts.append(Fact(fact, description, rec, extra))
        return rec

    def change_id(self) -> str:
        return "C" + self.rng.chars(20)

    def change_info(self, when: datetime, comment: str | None = None) -> dict:
        info = {"id": f"/change/{self.change_id()}", "status": "PENDING", "submittedAt": us_medium(when)}
        if comment:
            info["comment"] = comment
        return info

    def wait_for(self, when: datetime, actor: Actor, change_info: dict, polls: int = 2) -> None:
        """SDK waiters (Terraform, cert-manager, CloudFormation) poll GetChange until INSYNC."""
        for i in range(polls):
            bare = change_info["id"].removeprefix("/change/")
            self.add(when + timedelta(seconds=3 + 30 * i), actor, r53("GetChange", True, {"id": bare}))

    def change_rrs(
        self,
        when: str,
        actor: Actor,
        zone: Zone,
        changes: list[dict],
        comment: str | None = None,
        fact: str | None = None,
        description: str = "",
        wait: bool = True,
        also_in: str | None = None,
        **extra,
    ) -> dict:
        """A successful ChangeResourceRecordSets: applied to the zone model, then logged."""
        t = at(when)
        zone.apply(changes)
        batch = {"changes": changes}
        if comment:
            batch = {"comment": comment, **batch}
        params = {"hostedZoneId": zone.id, "changeBatch": batch}
        info = self.change_info(t, comment)
        call = r53(
            "ChangeResourceRecordSets", False, params, {"changeInfo": info}, {"Note": "Do not use to reconstruct hosted zone"}
        )
        rec = self.add(
            t, actor, call, fact=fact, description=description, also_in=also_in, zone=zone.name, changes=len(changes), **extra
        )
        if wait:
            self.wait_for(t, actor, info)
        return rec


def web_story() -> Timeline:
    """Account 123456789012: example.com. from birth, and the private internal.example.com."""
    tl = Timeline(WEB)
    ex = Zone(EXAMPLE_COM_ID, "example.com.", private=False)
    # The private zone predates the logs, with one record in it.
    internal = Zone(
        INTERNAL_ID,
        "internal.example.com.",
        private=True,
        records=[rrset("ldap.internal.example.com.", "A", 300, ("10.0.12.7",))],
    )

    # --- 2026-11-01 -------------------------------------------------------------------------------
    t = at("2026-11-01 09:02:10")
    ns = ["ns-1536.awsdns-00.co.uk", "ns-0.awsdns-00.com", "ns-1024.awsdns-00.org", "ns-512.awsdns-00.net"]
    caller_ref = "terraform-20261101090210" + tl.rng.chars(12, string.digits)
    zone_config = {"comment": "Managed by Terraform", "privateZone": False}
    info = tl.change_info(t)
    tl.add(
        t,
        TERRAFORM,
        r53(
            "CreateHostedZone",
            False,
            {"name": ex.name, "callerReference": caller_ref, "hostedZoneConfig": zone_config},
            {
                "hostedZone": {
                    "id": f"/hostedzone/{ex.id}",
                    "name": ex.name,
                    "callerReference": caller_ref,
                    "config": zone_config,
                    "resourceRecordSetCount": 2,
                },
                "changeInfo": info,
                "delegationSet": {"nameServers": ns},
                "location": f"https://route53.amazonaws.com/2013-04-01/hostedzone/{ex.id}",
            },
        ),
        fact="create_zone_example_com",
        description="CreateHostedZone example.com. (public) by terraform-deploy",
        zone=ex.name,
        hosted_zone_id=ex.id,
    )
    tl.wait_for(t, TERRAFORM, info)

    hc_primary, hc_secondary = tl.rng.uuid4(), tl.rng.uuid4()  # health checks made earlier, outside the logs
    ex_batch = [
        change("CREATE", rrset("www.example.com.", "A", 300, ("192.0.2.10", "192.0.2.11"))),
        change("CREATE", rrset("api.example.com.", "CNAME", 60, ("api-lb-1234567890.us-east-1.elb.amazonaws.com",))),
        change("CREATE", rrset("example.com.", "MX", 3600, ("10 mail1.example.com.", "20 mail2.example.com."))),
        change("CREATE", rrset("example.com.", "TXT", 300, ('"v=spf1 include:_spf.example.com ~all"',))),
        change("CREATE", rrset("cdn.example.com.", "A", alias=alias_target(CLOUDFRONT_ZONE, "d111111abcdef8.cloudfront.net."))),
        change("CREATE", rrset("app.example.com.", "A", 60, ("198.51.100.10",), set_id="blue", weight=90)),
        change("CREATE", rrset("app.example.com.", "A", 60, ("198.51.100.20",), set_id="green", weight=10)),
        change(
            "CREATE",
            rrset(
                "status.example.com.",
                "A",
                60,
                ("192.0.2.30",),
                set_id="status-primary",
                failover="PRIMARY",
                health_check=hc_primary,
            ),
        ),
        change(
            "CREATE",
            rrset(
                "status.example.com.",
                "A",
                60,
                ("192.0.2.31",),
                set_id="status-secondary",
                failover="SECONDARY",
                health_check=hc_secondary,
            ),
        ),
        change("CREATE", rrset("geo.example.com.", "A", 300, ("192.0.2.40",), set_id="geo-europe", geo={"continentCode": "EU"})),
        change(
            "CREATE",
            rrset(
                "geo.example.com.",
                "A",
                300,
                ("192.0.2.41",),
                set_id="geo-us-california",
                geo={"countryCode": "US", "subdivisionCode": "CA"},
            ),
        ),
        change("CREATE", rrset("geo.example.com.", "A", 300, ("192.0.2.42",), set_id="geo-default", geo={"countryCode": "*"})),
        change(
            "CREATE",
            rrset("latency.example.com.", "A", 60, ("192.0.2.50",), set_id="latency-eu-central-1", region="eu-central-1"),
        ),
        change("CREATE", rrset("latency.example.com.", "A", 60, ("192.0.2.51",), set_id="latency-us-east-1", region="us-east-1")),
        change(
            "CREATE", rrset("mv.example.com.", "A", 60, ("192.0.2.60",), set_id="mv-1", multivalue=True, health_check=hc_primary)
        ),
        change("CREATE", rrset("mv.example.com.", "A", 60, ("192.0.2.61",), set_id="mv-2", multivalue=True)),
        change("CREATE", rrset("\\052.example.com.", "A", 300, ("192.0.2.99",))),
    ]
    tl.change_rrs(
        "2026-11-01 09:05:12",
        TERRAFORM,
        ex,
        ex_batch,
        comment="Managed by Terraform",
        fact="initial_batch",
        description="one CREATE batch with every routing policy and an escaped wildcard",
        health_check_ids=[hc_primary, hc_secondary],
    )
    tl.change_rrs(
        "2026-11-01 09:06:30",
        TERRAFORM,
        internal,
        [
            change(
                "CREATE",
                rrset("db.internal.example.com.", "CNAME", 300, ("orders.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",)),
            )
        ],
        fact="internal_create_db",
        description="CREATE db CNAME in the private zone",
    )
    tl.change_rrs(
        "2026-11-01 16:31:05",
        ALICE,
        ex,
        [change("CREATE", rrset("dup.example.com.", "A", 300, ("192.0.2.77",)))],
        wait=False,
        fact="alice_creates_dup",
        description="alice creates dup.example.com. with the CLI",
    )
    acme = rrset("_acme-challenge.example.com.", "TXT", 60, ('"gfj9Xq-Rh2kE7bTGz3v0pWnYc8sLmQ4xKdA1uJoVfN5"',))
    tl.change_rrs(
        "2026-11-01 23:58:30",
        CERT_MANAGER,
        ex,
        [change("UPSERT", acme)],
        fact="late_acme_challenge",
        description="eventTime 2026-11-01T23:58:30Z, delivered 2026-11-02T00:04Z in the 2026/11/02 folder",
    )

    # --- 2026-11-02 -------------------------------------------------------------------------------
    tl.change_rrs(
        "2026-11-02 00:01:40",
        CERT_MANAGER,
        ex,
        [change("DELETE", ex.current("_acme-challenge.example.com.", "TXT"))],
        fact="acme_cleanup",
        description="cert-manager deletes the ACME TXT record",
    )
    api = ex.current("api.example.com.", "CNAME")
    api["tTL"] = 300
    tl.change_rrs(
        "2026-11-02 08:15:21",
        TERRAFORM,
        ex,
        [change("UPSERT", api)],
        comment="Managed by Terraform",
        fact="api_ttl_60_to_300",
        description="UPSERT api.example.com. CNAME, TTL 60 -> 300",
        old_ttl=60,
        new_ttl=300,
    )
    cdn = ex.current("cdn.example.com.", "A")
    cdn["aliasTarget"]["dNSName"] = "d222222abcdef8.cloudfront.net."
    tl.change_rrs(
        "2026-11-02 08:16:02",
        TERRAFORM,
        ex,
        [change("UPSERT", cdn)],
        comment="Managed by Terraform",
        also_in="2026-11-02 12:40:00",
        fact="cdn_alias_moved",
        description="UPSERT cdn.example.com. alias to a new CloudFront distribution; "
        "this record is delivered twice (same eventID, two files)",
        old_dns_name="d111111abcdef8.cloudfront.net.",
        new_dns_name="d222222abcdef8.cloudfront.net.",
        duplicated=True,
    )
    tl.change_rrs(
        "2026-11-02 08:17:30",
        TERRAFORM,
        ex,
        [change("DELETE", ex.current("www.example.com.", "A"))],
        comment="Managed by Terraform",
        fact="delete_www",
        description="DELETE www.example.com. A with its full old record",
    )

    dup = rrset("dup.example.com.", "A", 300, ("192.0.2.78",))
    assert ex.exists(dup)  # which is why it fails
    tl.add(
        "2026-11-02 10:22:09",
        ALICE,
        r53(
            "ChangeResourceRecordSets",
            False,
            {"hostedZoneId": ex.id, "changeBatch": {"changes": [change("CREATE", dup)]}},
            None,
            error=(
                "InvalidChangeBatch",
                "[Tried to create resource record set [name='dup.example.com.', type='A'] but it already exists]",
            ),
        ),
        fact="failed_invalid_change_batch",
        description="InvalidChangeBatch with fully populated requestParameters, nothing applied",
    )
    tl.add(
        "2026-11-02 10:24:51",
        MALLORY,
        r53(
            "ChangeResourceRecordSets",
            False,
            None,
            None,
            error=(
                "AccessDenied",
                f"User: {MALLORY.arn} is not authorized to perform: route53:ChangeResourceRecordSets on resource: "
                f"arn:aws:route53:::hostedzone/{ex.id} because no identity-based policy allows the route53:ChangeResourceRecordSets action",
            ),
        ),
        fact="access_denied",
        description="AccessDenied for user mallory, requestParameters null",
    )

    t = at("2026-11-02 12:41:15")
    hc_id = tl.rng.uuid4()
    hc_request = {
        "iPAddress": "192.0.2.10",
        "port": 443,
        "type": "HTTPS",
        "resourcePath": "/health",
        "fullyQualifiedDomainName": "api.example.com",
        "requestInterval": 30,
        "failureThreshold": 3,
    }
    hc_ref = "terraform-20261102124115" + tl.rng.chars(12, string.digits)
    hc_response = {**hc_request, "measureLatency": False, "inverted": False, "disabled": False, "enableSNI": True}
    tl.add(
        t,
        TERRAFORM,
        r53(
            "CreateHealthCheck",
            False,
            {"callerReference": hc_ref, "healthCheckConfig": hc_request},
            {
                "healthCheck": {
                    "id": hc_id,
                    "callerReference": hc_ref,
                    "healthCheckConfig": hc_response,
                    "healthCheckVersion": 1,
                },
                "location": f"https://route53.amazonaws.com/2013-04-01/healthcheck/{hc_id}",
            },
        ),
        fact="create_health_check",
        description="CreateHealthCheck HTTPS api.example.com",
        health_check_id=hc_id,
    )
    hc_updated = {**hc_response, "resourcePath": "/healthz", "failureThreshold": 5}
    tl.add(
        "2026-11-02 17:47:02",
        ALICE,
        r53(
            "UpdateHealthCheck",
            False,
            {"healthCheckId": hc_id, "healthCheckVersion": 1, "resourcePath": "/healthz", "failureThreshold": 5},
            {"healthCheck": {"id": hc_id, "callerReference": hc_ref, "healthCheckConfig": hc_updated, "healthCheckVersion": 2}},
        ),
        fact="update_health_check",
        description="UpdateHealthCheck, config fields flat",
        health_check_id=hc_id,
    )
    green = ex.current("app.example.com.", "A", "green")
    green["weight"] = 100
    tl.change_rrs(
        "2026-11-02 17:48:26",
        SSO_ADMIN,
        ex,
        [change("UPSERT", green)],
        wait=False,
        fact="human_sso_change",
        description="a human (SSO admin, console, IP 203.0.113.77) shifts app.example.com. green weight 10 -> 100",
        source_ip=SSO_ADMIN.ip,
    )

    # --- 2026-11-03 -------------------------------------------------------------------------------
    tl.add(
        "2026-11-03 07:46:33",
        TERRAFORM,
        r53("DeleteHealthCheck", False, {"healthCheckId": hc_id}, None),
        fact="delete_health_check",
        description="DeleteHealthCheck, responseElements null",
        health_check_id=hc_id,
    )
    tl.change_rrs(
        "2026-11-03 09:10:44",
        TERRAFORM,
        ex,
        [change("DELETE", ex.current("app.example.com.", "A", "blue"))],
        comment="Managed by Terraform",
        fact="delete_blue",
        description="DELETE the blue weighted app.example.com. record",
    )
    tl.change_rrs(
        "2026-11-03 09:12:02",
        TERRAFORM,
        internal,
        [
            change("DELETE", internal.current("db.internal.example.com.", "CNAME")),
            change("DELETE", internal.current("ldap.internal.example.com.", "A")),
        ],
        fact="empty_private_zone",
        description="empty the private zone before deleting it",
    )
    t = at("2026-11-03 09:12:40")
    info = tl.change_info(t)
    tl.add(
        t,
        TERRAFORM,
        r53("DeleteHostedZone", False, {"id": internal.id}, {"changeInfo": info}),
        fact="delete_private_zone",
        description="DeleteHostedZone internal.example.com. (bare id in request)",
        zone=internal.name,
        hosted_zone_id=internal.id,
    )
    tl.wait_for(t, TERRAFORM, info)
    tl.add(
        "2026-11-03 09:13:58",
        TERRAFORM,
        r53(
            "ChangeTagsForResource",
            False,
            {
                "resourceType": "hostedzone",
                "resourceId": ex.id,
                "addTags": [{"key": "team", "value": "platform"}, {"key": "cost-center", "value": "cc-4711"}],
            },
            None,
        ),
        fact="tag_zone",
        description="ChangeTagsForResource on example.com.",
    )
    tl.add(
        "2026-11-03 13:06:12",
        ROOT,
        r53("ListHostedZones", True),
        fact="root_call",
        description="the root user lists hosted zones in the console",
    )
    tl.add(
        "2026-11-03 15:33:19",
        SSO_ADMIN,
        Call(
            "route53domains.amazonaws.com",
            "updateDomainContact",
            False,
            {"domainName": {"name": "example.com"}},
            {"requestId": tl.rng.uuid4()},
            "Personally-identifying contact information is not logged in the request",
            api_version="2014-05-15",
        ),
        fact="domains_update_contact",
        description="route53domains updateDomainContact (lower-case eventName, string additionalEventData)",
    )

    # --- eu-west-1, 2026-11-02: a Resolver endpoint; no route53.amazonaws.com in this region ---------
    t = at("2026-11-02 11:52:03")
    endpoint_id = "rslvr-out-" + tl.rng.hex(17)
    endpoint = {
        "id": endpoint_id,
        "creatorRequestId": "terraform-20261102115203" + tl.rng.chars(10, string.digits),
        "arn": f"arn:aws:route53resolver:eu-west-1:{WEB}:resolver-endpoint/{endpoint_id}",
        "name": "outbound-to-datacenter",
        "securityGroupIds": ["sg-0a1b2c3d4e5f67890"],
        "direction": "OUTBOUND",
        "ipAddressCount": 2,
        "hostVPCId": "vpc-0f1e2d3c4b5a69788",
        "status": "CREATING",
        "statusMessage": "[Trace id: 1-6725f1a3-0b1c2d3e4f5a6b7c8d9e0f1a] Creating the Resolver Endpoint",
        "creationTime": iso(t).replace("Z", ".412Z"),
        "modificationTime": iso(t).replace("Z", ".412Z"),
        "resolverEndpointType": "IPV4",
        "protocols": ["Do53"],
    }
    resolver = dict(host="route53resolver.eu-west-1.amazonaws.com")
    tl.add(
        t,
        TERRAFORM,
        Call(
            "route53resolver.amazonaws.com",
            "CreateResolverEndpoint",
            False,
            {
                "creatorRequestId": endpoint["creatorRequestId"],
                "name": endpoint["name"],
                "securityGroupIds": endpoint["securityGroupIds"],
                "direction": "OUTBOUND",
                "ipAddresses": [{"subnetId": "subnet-0aa11bb22cc33dd44"}, {"subnetId": "subnet-0ee55ff66aa77bb88"}],
                "tags": [],
                "resolverEndpointType": "IPV4",
            },
            {"resolverEndpoint": endpoint},
            **resolver,
        ),
        region="eu-west-1",
        fact="resolver_endpoint_eu_west_1",
        description="route53resolver CreateResolverEndpoint in eu-west-1",
    )
    for seconds in (17, 62):  # Terraform waits for the endpoint to become OPERATIONAL
        tl.add(
            t + timedelta(seconds=seconds),
            TERRAFORM,
            Call(
                "route53resolver.amazonaws.com",
                "GetResolverEndpoint",
                True,
                {"resolverEndpointId": endpoint_id},
                None,
                **resolver,
            ),
            region="eu-west-1",
        )
    return tl


def corp_story() -> Timeline:
    """Account 210987654321 (organization trail): small batches by Terraform and by CloudFormation."""
    tl = Timeline(CORP)
    net = Zone(
        CORP_NET_ID,
        "corp.example.net.",
        private=False,
        records=[rrset("corp.example.net.", "MX", 3600, ("10 mx.corp.example.net.",))],
    )
    svc = Zone(SVC_CORP_ID, "svc.corp.example.net.", private=True)

    tl.change_rrs(
        "2026-11-01 08:31:44",
        TERRAFORM_CORP,
        net,
        [
            change("CREATE", rrset("intranet.corp.example.net.", "CNAME", 300, ("intranet-alb-42.us-east-1.elb.amazonaws.com",))),
            change("CREATE", rrset("vpn.corp.example.net.", "A", 300, ("198.51.100.61", "198.51.100.62"))),
            change("CREATE", rrset("mx.corp.example.net.", "A", 3600, ("198.51.100.70",))),
        ],
        comment="Managed by Terraform",
        fact="corp_initial_batch",
        description="3 CREATEs in corp.example.net.",
    )
    tl.change_rrs(
        "2026-11-01 14:07:19",
        CFN,
        svc,
        [
            change("CREATE", rrset("api.svc.corp.example.net.", "A", 60, ("10.20.1.10",))),
            change("CREATE", rrset("grpc.svc.corp.example.net.", "CNAME", 60, ("grpc-nlb-7.elb.us-east-1.amazonaws.com",))),
        ],
        fact="corp_cfn_create",
        description="CloudFormation (AWSService identity) creates 2 records in the private zone",
    )

    vpn = net.current("vpn.corp.example.net.", "A")
    vpn["resourceRecords"] = [{"value": "198.51.100.63"}, {"value": "198.51.100.64"}]
    tl.change_rrs(
        "2026-11-02 10:02:11",
        TERRAFORM_CORP,
        net,
        [change("UPSERT", vpn)],
        comment="Managed by Terraform",
        fact="corp_vpn_upsert",
        description="UPSERT vpn A with new addresses",
    )
    api = svc.current("api.svc.corp.example.net.", "A")
    api["tTL"] = 30
    tl.change_rrs(
        "2026-11-02 13:46:50",
        CFN,
        svc,
        [
            change("UPSERT", api),
            change("UPSERT", svc.current("grpc.svc.corp.example.net.", "CNAME")),
            change("UPSERT", rrset("metrics.svc.corp.example.net.", "A", 60, ("10.20.1.30",))),
            change("UPSERT", rrset("queue.svc.corp.example.net.", "CNAME", 60, ("b-1.queue.mq.us-east-1.amazonaws.com",))),
        ],
        fact="corp_cfn_upsert",
        description="CloudFormation stack update: 4 UPSERTs",
    )
    tl.change_rrs(
        "2026-11-02 19:21:05",
        TERRAFORM_CORP,
        net,
        [
            change("CREATE", rrset(f"{host}.corp.example.net.", "CNAME", 300, (f"{host}-alb-9.us-east-1.elb.amazonaws.com",)))
            for host in ("docs", "wiki", "git", "ci", "status")
        ],
        comment="Managed by Terraform",
        fact="corp_five_creates",
        description="a batch of 5 CREATEs",
    )

    tl.change_rrs(
        "2026-11-03 09:31:27",
        TERRAFORM_CORP,
        net,
        [change("DELETE", net.current("intranet.corp.example.net.", "CNAME"))],
        comment="Managed by Terraform",
        fact="corp_delete_intranet",
        description="DELETE intranet CNAME with its old record",
    )
    tl.change_rrs(
        "2026-11-03 11:16:02",
        CFN,
        svc,
        [
            change("DELETE", svc.current("api.svc.corp.example.net.", "A")),
            change("DELETE", svc.current("grpc.svc.corp.example.net.", "CNAME")),
        ],
        fact="corp_cfn_delete",
        description="CloudFormation stack deletion: 2 DELETEs (api carries TTL 30 from the update)",
    )
    wiki = net.current("wiki.corp.example.net.", "CNAME")
    wiki["tTL"] = 3600
    tl.change_rrs(
        "2026-11-03 14:41:10",
        TERRAFORM_CORP,
        net,
        [
            change("UPSERT", wiki),
            change("DELETE", net.current("ci.corp.example.net.", "CNAME")),
            change("CREATE", rrset("build.corp.example.net.", "CNAME", 300, ("build-alb-9.us-east-1.elb.amazonaws.com",))),
        ],
        comment="Managed by Terraform",
        fact="corp_mixed_batch",
        description="UPSERT + DELETE + CREATE in one batch",
    )
    return tl


# ---------------------------------------------------------------------------------------------------
# Files: which 5-minute windows produce a log file, per account and region
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    account: str
    org: str | None = None

    @property
    def root(self) -> str:
        return f"AWSLogs/{self.org}/{self.account}" if self.org else f"AWSLogs/{self.account}"


WEB_TRAIL, CORP_TRAIL = Trail(WEB), Trail(CORP, ORG)

# Window starts (UTC). Each window becomes one log file holding the story events whose eventTime falls
# in [start, start + 5 min) plus filler. Windows are chosen around the story and spread over the day.
# "late" = delivered after midnight; "corrupt" = stored truncated.
WINDOWS: dict[tuple[Trail, str], list[str]] = {
    (WEB_TRAIL, "us-east-1"): [
        "2026-11-01 02:15",
        "2026-11-01 06:40",
        "2026-11-01 09:00",
        "2026-11-01 09:05",
        "2026-11-01 10:55",
        "2026-11-01 11:25",
        "2026-11-01 16:30",
        "2026-11-01 21:10",
        "2026-11-01 23:55 late",
        "2026-11-02 00:00",
        "2026-11-02 08:15",
        "2026-11-02 10:20",
        "2026-11-02 12:40",
        "2026-11-02 15:20 corrupt",
        "2026-11-02 17:45",
        "2026-11-02 22:05",
        "2026-11-03 03:20",
        "2026-11-03 07:45",
        "2026-11-03 09:10",
        "2026-11-03 13:05",
        "2026-11-03 15:30",
        "2026-11-03 20:50",
    ],
    (WEB_TRAIL, "eu-west-1"): ["2026-11-02 07:30", "2026-11-02 11:50", "2026-11-02 19:05"],
    (CORP_TRAIL, "us-east-1"): [
        "2026-11-01 01:40",
        "2026-11-01 08:30",
        "2026-11-01 12:15",
        "2026-11-01 14:05",
        "2026-11-01 18:50",
        "2026-11-01 22:35",
        "2026-11-02 03:10",
        "2026-11-02 10:00",
        "2026-11-02 13:45",
        "2026-11-02 16:20",
        "2026-11-02 19:20",
        "2026-11-02 23:05",
        "2026-11-03 04:25",
        "2026-11-03 09:30",
        "2026-11-03 11:15",
        "2026-11-03 14:40",
        "2026-11-03 18:10",
    ],
}
LATE_DELIVERY = timedelta(minutes=4)  # the 23:55 window is delivered at 00:04 the next day


@dataclass
class LogFile:
    trail: Trail
    region: str
    start: datetime
    records: list[dict] = field(default_factory=list)
    delivery: datetime | None = None
    corrupt: bool = False
    unique: str = ""

    @property
    def key(self) -> str:
        d = self.delivery
        name = f"{self.trail.account}_CloudTrail_{self.region}_{d:%Y%m%dT%H%M}Z_{self.unique}.json.gz"
        return f"{self.trail.root}/CloudTrail/{self.region}/{d:%Y/%m/%d}/{name}"


def plan_files() -> list[LogFile]:
    files = []
    for (trail, region), starts in WINDOWS.items():
        for spec in starts:
            day, hhmm, *flags = spec.split()
            lf = LogFile(trail, region, at(f"{day} {hhmm}:00"), corrupt="corrupt" in flags)
            rng = Rand("delivery", lf.trail.account, region, lf.start)
            # Delivered 1-10 minutes after the window closes, so 1-15 minutes after its newest event.
            lf.delivery = lf.start + WINDOW + (LATE_DELIVERY if "late" in flags else timedelta(minutes=rng.randint(1, 10)))
            assert ("late" in flags) == (lf.delivery.date() != lf.start.date()), spec
            lf.unique = rng.chars(16, string.ascii_letters + string.digits)
            files.append(lf)
    return files


def place_story(files: list[LogFile], events: list[Event]) -> dict[str, list[LogFile]]:
    """Put each scripted event in the file whose window holds its eventTime (and its copy, if any).
    Returns eventID -> files, for the oracle's story section."""
    where: dict[str, list[LogFile]] = defaultdict(list)
    for ev in events:
        for moment in [ev.when] + ([ev.also_in] if ev.also_in else []):
            hits = [
                f
                for f in files
                if f.trail.account == ev.account and f.region == ev.region and f.start <= moment < f.start + WINDOW
            ]
            assert len(hits) == 1, f"story event at {moment} of {ev.account}/{ev.region} has no window"
            hits[0].records.append(ev.record)
            where[ev.record["eventID"]].append(hits[0])
    return where


# ---------------------------------------------------------------------------------------------------
# Filler: the other services, and Route 53 reads
# ---------------------------------------------------------------------------------------------------


def _s3(r: Rand, acct: str, region: str, when: datetime) -> Call:
    bucket = r.choice([f"example-web-assets-{acct}", f"terraform-state-{acct}", f"app-uploads-{acct}-{region}"])
    host = f"{bucket}.s3.{region}.amazonaws.com"
    extra = {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": r.chars(56, string.ascii_letters + string.digits + "+/"),
        "bytesTransferredOut": r.randint(0, 900),
    }
    res = [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    name = r.choice(
        [
            "GetBucketLocation",
            "GetBucketAcl",
            "GetBucketEncryption",
            "GetBucketPolicy",
            "GetBucketVersioning",
            "PutBucketTagging",
            "PutBucketPublicAccessBlock",
        ]
    )
    # S3 logs the sub-resource of the URL as an empty parameter: GET /?acl -> "acl": "".
    subresource = {
        "GetBucketLocation": "location",
        "GetBucketAcl": "acl",
        "GetBucketEncryption": "encryption",
        "GetBucketPolicy": "policy",
        "GetBucketVersioning": "versioning",
    }
    params: dict = {"bucketName": bucket, "Host": host, subresource.get(name, ""): ""}
    error = None
    if name == "GetBucketPolicy" and r.random() < 0.5:
        error = ("NoSuchBucketPolicy", "The bucket policy does not exist")
    if name == "PutBucketTagging":
        params = {
            "bucketName": bucket,
            "Host": host,
            "tagging": "",
            "Tagging": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "TagSet": {"Tag": [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}]},
            },
        }
    elif name == "PutBucketPublicAccessBlock":
        params = {
            "bucketName": bucket,
            "Host": host,
            "publicAccessBlock": "",
            "PublicAccessBlockConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        }
    return Call("s3.amazonaws.com", name, name.startswith("Get"), params, None, extra, res, host=host, error=error)


def _ec2(r: Rand, acct: str, region: str, when: datetime) -> Call:
    host = f"ec2.{region}.amazonaws.com"
    instance = "i-0" + r.hex(16)
    name = r.choice(
        [
            "DescribeInstances",
            "DescribeInstances",
            "DescribeSecurityGroups",
            "DescribeVolumes",
            "CreateTags",
            "AuthorizeSecurityGroupIngress",
        ]
    )
    if name == "DescribeInstances":
        params = {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:Name", "valueSet": {"items": [{"value": "web-*"}]}}]}}
        return Call("ec2.amazonaws.com", name, True, params, None, host=host)
    if name in ("DescribeSecurityGroups", "DescribeVolumes"):
        return Call("ec2.amazonaws.com", name, True, {"maxResults": 1000}, None, host=host)
    if name == "CreateTags":
        params = {
            "resourcesSet": {"items": [{"resourceId": instance}]},
            "tagSet": {"items": [{"key": "Name", "value": f"web-{r.randint(1, 9)}"}, {"key": "env", "value": "prod"}]},
        }
        return Call("ec2.amazonaws.com", name, False, params, {"requestId": r.uuid4(), "_return": True}, host=host)
    group = "sg-0" + r.hex(16)
    params = {
        "groupId": group,
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "groups": {},
                    "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16", "description": "https from vpc"}]},
                    "ipv6Ranges": {},
                    "prefixListIds": {},
                }
            ]
        },
    }
    response = {
        "requestId": r.uuid4(),
        "_return": True,
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupOwnerId": acct,
                    "groupId": group,
                    "securityGroupRuleId": "sgr-0" + r.hex(16),
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrIpv4": "10.0.0.0/16",
                    "description": "https from vpc",
                }
            ]
        },
    }
    return Call("ec2.amazonaws.com", name, False, params, response, host=host)


def _iam(r: Rand, acct: str, region: str, when: datetime) -> Call:
    role_name = r.choice(["order-processor-role", "eks-node-role", "github-actions-deploy"])
    name = r.choice(["GetRole", "GetRole", "ListAttachedRolePolicies", "GetPolicyVersion", "AttachRolePolicy"])
    if name == "GetPolicyVersion":
        params = {"policyArn": f"arn:aws:iam::{acct}:policy/{role_name}-policy", "versionId": f"v{r.randint(1, 6)}"}
    elif name == "AttachRolePolicy":
        params = {"roleName": role_name, "policyArn": "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"}
    else:
        params = {"roleName": role_name}
    return Call("iam.amazonaws.com", name, name != "AttachRolePolicy", params, None, host="iam.amazonaws.com")


def _sts(r: Rand, acct: str, region: str, when: datetime) -> Call:
    role_name, session = r.choice([("terraform-deploy", "terraform"), ("readonly-audit", "audit-cli"), ("eks-admin", "kubectl")])
    role_arn = f"arn:aws:iam::{acct}:role/{role_name}"
    role_id = "AROA" + Rand("principal", acct, role_name).chars(17)
    response = {
        "credentials": {
            "accessKeyId": "ASIA" + r.chars(16),
            "sessionToken": "IQoJb3JpZ2luX2VjE" + r.chars(48, string.ascii_letters + string.digits),
            "expiration": us_medium(when + timedelta(hours=1), comma_after_year=True),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role_name}/{session}",
        },
    }
    return Call(
        "sts.amazonaws.com",
        "AssumeRole",
        True,
        {"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600},
        response,
        resources=[{"accountId": acct, "type": "AWS::IAM::Role", "ARN": role_arn}],
        host=f"sts.{region}.amazonaws.com",
    )


def _kms(r: Rand, acct: str, region: str, when: datetime) -> Call:
    key_arn = f"arn:aws:kms:{region}:{acct}:key/" + Rand("kms", acct, region).uuid4()
    if r.random() < 0.5:
        params = {
            "keyId": key_arn,
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{acct}:function:order-processor"},
        }
        name = "Decrypt"
    else:
        params = {
            "keyId": key_arn,
            "keySpec": "AES_256",
            "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::app-uploads-{acct}-{region}/incoming/{r.hex(12)}.json"},
        }
        name = "GenerateDataKey"
    return Call(
        "kms.amazonaws.com",
        name,
        True,
        params,
        None,
        resources=[{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key_arn}],
        host=f"kms.{region}.amazonaws.com",
    )


def _cloudfront(r: Rand, acct: str, region: str, when: datetime) -> Call:
    dist = "E" + Rand("distribution", acct).chars(13)
    if r.random() < 0.6:
        return Call(
            "cloudfront.amazonaws.com",
            "GetDistribution",
            True,
            {"id": dist},
            None,
            api_version="2020_05_31",
            host="cloudfront.amazonaws.com",
        )
    ref = f"cli-{int(when.timestamp())}-{r.randint(100000, 999999)}"
    batch = {"paths": {"quantity": 2, "items": ["/index.html", "/assets/*"]}, "callerReference": ref}
    response = {
        "location": f"https://cloudfront.amazonaws.com/2020-05-31/distribution/{dist}/invalidation/I{r.chars(25)}",
        "invalidation": {
            "id": "I" + r.chars(25),
            "status": "InProgress",
            "createTime": us_medium(when, True),
            "invalidationBatch": batch,
        },
    }
    return Call(
        "cloudfront.amazonaws.com",
        "CreateInvalidation",
        False,
        {"distributionId": dist, "invalidationBatch": batch},
        response,
        api_version="2020_05_31",
        host="cloudfront.amazonaws.com",
    )


def _lambda(r: Rand, acct: str, region: str, when: datetime) -> Call:
    fn = r.choice(["order-processor", "thumbnailer", "nightly-report"])
    host = f"lambda.{region}.amazonaws.com"
    if r.random() < 0.8:
        return Call("lambda.amazonaws.com", "GetFunction20150331v2", True, {"functionName": fn}, None, host=host)
    arn = f"arn:aws:lambda:{region}:{acct}:function:{fn}"
    params = {"functionName": fn, "timeout": 30, "memorySize": 512}
    response = {
        "functionName": fn,
        "functionArn": arn,
        "runtime": "python3.12",
        "role": f"arn:aws:iam::{acct}:role/{fn}-role",
        "handler": "app.handler",
        "codeSize": r.randint(2000, 90000),
        "timeout": 30,
        "memorySize": 512,
        "lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "version": "$LATEST",
        "state": "Active",
        "lastUpdateStatus": "InProgress",
        "architectures": ["arm64"],
    }
    return Call("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", False, params, response, host=host)


# Relative call volume per service; IAM and CloudFront are global and log in us-east-1 only.
SERVICES = {
    "us-east-1": [(_s3, 24), (_ec2, 24), (_sts, 14), (_kms, 16), (_iam, 8), (_lambda, 8), (_cloudfront, 5)],
    "eu-west-1": [(_s3, 30), (_ec2, 30), (_sts, 15), (_kms, 15), (_lambda, 10)],
}


def weighted(r: Rand, pairs: list) -> object:
    return r.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


def filler(r: Rand, lf: LogFile, count: int) -> list[dict]:
    out = []
    for _ in range(count):
        when = lf.start + timedelta(seconds=r.randint(0, 299))
        call = weighted(r, SERVICES[lf.region])(r, lf.trail.account, lf.region, when)
        actor = weighted(r, FILLER_CAST[lf.trail.account])
        if call.source == "kms.amazonaws.com" and call.name == "GenerateDataKey" and r.random() < 0.4:
            # CloudTrail encrypting its own log files: an AWS service calls KMS.
            actor = Actor(
                "AWSService", lf.trail.account, "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com"
            )
        out.append(api_call(r, when, actor, lf.region, call, account=lf.trail.account))
    return out


def polled_zones(account: str, when: datetime) -> list[str]:
    """The zones external-dns watches: example.com. once it exists; corp.example.net. always."""
    if account == WEB:
        return [EXAMPLE_COM_ID] if when >= at("2026-11-01 09:03:00") else []
    return [CORP_NET_ID]


def route53_polling(r: Rand, lf: LogFile) -> list[dict]:
    """external-dns syncs every minute: ListHostedZones, then ListResourceRecordSets per zone. Some
    files catch no sync at all; now and then Terraform refreshes a zone with GetHostedZone."""
    dns_actor = EXTERNAL_DNS if lf.trail.account == WEB else EXTERNAL_DNS_CORP
    tf_actor = TERRAFORM if lf.trail.account == WEB else TERRAFORM_CORP
    out = []
    for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
        when = lf.start + timedelta(seconds=r.randint(0, 290))
        out.append(api_call(r, when, dns_actor, "us-east-1", r53("ListHostedZones", True)))
        for zone in polled_zones(lf.trail.account, when):
            out.append(
                api_call(
                    r,
                    when + timedelta(seconds=1),
                    dns_actor,
                    "us-east-1",
                    r53("ListResourceRecordSets", True, {"hostedZoneId": zone}),
                )
            )
    zones = polled_zones(lf.trail.account, lf.start)
    if zones and r.random() < 0.25:
        when = lf.start + timedelta(seconds=r.randint(0, 290))
        out.append(api_call(r, when, tf_actor, "us-east-1", r53("GetHostedZone", True, {"id": zones[0]})))
    return out


def lost_change(r: Rand, lf: LogFile) -> list[dict]:
    """The corrupt file carried an external-dns change; nobody will ever read it back. (The zone models
    are not told: nothing later in the story touches these names.)"""
    when = lf.start + timedelta(seconds=67)
    shop = rrset("shop.example.com.", "CNAME", 300, ("k8s-shop-ingress-4f3e2d1c.us-east-1.elb.amazonaws.com",))
    owner = rrset(
        "cname-shop.example.com.",
        "TXT",
        300,
        ('"heritage=external-dns,external-dns/owner=eks-prod,external-dns/resource=ingress/shop/shop"',),
    )
    changes = [change("UPSERT", shop), change("UPSERT", owner)]
    info = {"id": "/change/C" + r.chars(20), "status": "PENDING", "submittedAt": us_medium(when)}
    call = r53(
        "ChangeResourceRecordSets",
        False,
        {"hostedZoneId": EXAMPLE_COM_ID, "changeBatch": {"changes": changes}},
        {"changeInfo": info},
        {"Note": "Do not use to reconstruct hosted zone"},
    )
    return [api_call(r, when, EXTERNAL_DNS, "us-east-1", call)]


def fill(lf: LogFile) -> dict | None:
    """Add filler and polling to a planned file; shuffle it (CloudTrail files are not in time order).
    Returns the lost record when the file is the corrupt one."""
    r = Rand("file", lf.trail.account, lf.region, lf.start)
    lost = None
    if lf.corrupt:
        lost = lost_change(r, lf)[0]
        lf.records.append(lost)
    if lf.region == "us-east-1":
        lf.records += route53_polling(r, lf)
    lf.records += filler(r, lf, max(0, r.randint(10, 40) - len(lf.records)))
    r.shuffle(lf.records)
    assert 10 <= len(lf.records) <= 60, (lf.start, len(lf.records))
    newest = max(rec["eventTime"] for rec in lf.records)
    gap = lf.delivery - at(newest.replace("T", " ").rstrip("Z"))
    assert timedelta(minutes=1) <= gap <= timedelta(minutes=15), (lf.start, gap)
    return lost


# ---------------------------------------------------------------------------------------------------
# Bytes on disk
# ---------------------------------------------------------------------------------------------------


def gz(data: bytes, level: int = 9) -> bytes:
    """gzip with no file name and mtime 0: the same input gives the same bytes on every run."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=level) as f:
        f.write(data)
    return buf.getvalue()


def log_body(records: list[dict]) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False).encode()


def log_bytes(lf: LogFile) -> bytes:
    data = gz(log_body(lf.records))
    # A transfer cut in the middle: a gzip stream without its second half (and without its trailer).
    return data[: len(data) // 2] if lf.corrupt else data


def seed_file() -> tuple[str, bytes]:
    """The Developer Guide's sample log, gzipped as it is stored in data/seed/, at the key it would have
    had: its newest event is 00:41:57, so a delivery at 00:45."""
    raw = SEED_LOG.read_bytes()
    assert isinstance(json.loads(raw)["Records"], list)
    unique = Rand("seed").chars(16, string.ascii_letters + string.digits)
    key = f"AWSLogs/{DOCS}/CloudTrail/us-east-1/2015/01/16/{DOCS}_CloudTrail_us-east-1_20150116T0045Z_{unique}.json.gz"
    return key, gz(raw)


def digest_file(files: list[LogFile], blobs: dict[str, bytes]) -> tuple[str, bytes]:
    """The integrity digest of 123456789012/us-east-1 for the hour [11:00, 12:00) of 2026-11-01."""
    start, end = at("2026-11-01 11:00:00"), at("2026-11-01 12:00:00")
    r = Rand("digest")

    def name(end_time: datetime) -> str:  # digests are named and foldered by the end of their hour
        folder = f"AWSLogs/{WEB}/CloudTrail-Digest/us-east-1/{end_time:%Y/%m/%d}"
        return f"{folder}/{WEB}_CloudTrail-Digest_us-east-1_{TRAIL_NAME}_us-east-1_{end_time:%Y%m%dT%H%M%S}Z.json.gz"

    covered = [f for f in files if f.trail == WEB_TRAIL and f.region == "us-east-1" and start <= f.delivery < end]
    assert covered, "the digest hour must hold at least one log file"
    entries = []
    for f in sorted(covered, key=lambda f: f.delivery):
        times = sorted(rec["eventTime"] for rec in f.records)
        entries.append(
            {
                "s3Bucket": BUCKET,
                "s3Object": f.key,
                "hashValue": hashlib.sha256(gzip.decompress(blobs[f.key])).hexdigest(),  # of the uncompressed log
                "hashAlgorithm": "SHA-256",
                "newestEventTime": times[-1],
                "oldestEventTime": times[0],
            }
        )
    body = {
        "awsAccountId": WEB,
        "digestStartTime": iso(start),
        "digestEndTime": iso(end),
        "digestS3Bucket": BUCKET,
        "digestS3Object": name(end),
        "digestPublicKeyFingerprint": r.hex(32),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max(e["newestEventTime"] for e in entries),
        "oldestEventTime": min(e["oldestEventTime"] for e in entries),
        "previousDigestS3Bucket": BUCKET,
        "previousDigestS3Object": name(start),
        "previousDigestHashValue": r.hex(64),
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": r.hex(512),
        "logFiles": entries,
    }
    return name(end), gz(json.dumps(body, indent=2).encode())


def insight_file() -> tuple[str, bytes]:
    """An unusual burst of ChangeResourceRecordSets on Nov 2: an Insight start/end pair. Insight records
    name the API only inside insightDetails; they have no top-level eventSource or eventName."""
    r = Rand("insight")
    shared = r.uuid4()
    stats = {"baseline": {"average": 0.0416666667}, "insight": {"average": 7}}
    records = []
    for state, minute in (("Start", "2026-11-02 08:15:00"), ("End", "2026-11-02 08:20:00")):
        context = {"statistics": dict(stats, **({"insightDuration": 5} if state == "End" else {}))}
        records.append(
            {
                "eventVersion": "1.08",
                "eventTime": iso(at(minute)),
                "awsRegion": "us-east-1",
                "eventID": r.uuid4(),
                "eventType": "AwsCloudTrailInsight",
                "recipientAccountId": WEB,
                "sharedEventID": shared,
                "insightDetails": {
                    "state": state,
                    "eventSource": R53,
                    "eventName": "ChangeResourceRecordSets",
                    "insightType": "ApiCallRateInsight",
                    "insightContext": context,
                },
                "eventCategory": "Insight",
            }
        )
    unique = r.chars(16, string.ascii_letters + string.digits)
    key = f"AWSLogs/{WEB}/CloudTrail-Insight/us-east-1/2026/11/02/{WEB}_CloudTrail-Insight_us-east-1_20261102T0847Z_{unique}.json.gz"
    return key, gz(log_body(records))


# ---------------------------------------------------------------------------------------------------
# The oracle, from the bytes as written
# ---------------------------------------------------------------------------------------------------


def read_log(data: bytes) -> list[dict] | None:
    """Records of a log file, or None if it does not decompress and parse (the corrupt one)."""
    try:
        body = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError):
        return None
    return body["Records"] if isinstance(body, dict) and isinstance(body.get("Records"), list) else None


def change_rows(records: list[dict]) -> int:
    """One row per change of each batch; a failed call with requestParameters still has its changes."""
    return sum(len((rec.get("requestParameters") or {}).get("changeBatch", {}).get("changes", [])) for rec in records)


def tally(logs: list[tuple[str, list[dict] | None]]) -> dict:
    """Counts over (key, records) pairs; records None means corrupt."""
    valid = [recs for _, recs in logs if recs is not None]
    records = [rec for recs in valid for rec in recs]
    route53 = [rec for rec in records if rec.get("eventSource") == R53]
    ids = Counter(rec.get("eventID") for rec in records)
    distinct: dict[str, dict] = {}
    for rec in route53:
        distinct.setdefault(rec["eventID"], rec)
    crrs = [rec for rec in distinct.values() if rec["eventName"] == "ChangeResourceRecordSets"]
    return {
        "log_files": len(valid),
        "corrupt_files": sorted(key for key, recs in logs if recs is None),
        "records": len(records),
        "route53_records": len(route53),
        "route53_event_sources": dict(
            sorted(
                Counter(rec["eventSource"] for rec in records if str(rec.get("eventSource", "")).startswith("route53")).items()
            )
        ),
        "duplicate_event_ids": sorted(i for i, n in ids.items() if n > 1),
        "change_rows": change_rows(crrs),
        "change_rows_without_errors": change_rows([rec for rec in crrs if "errorCode" not in rec]),
        "route53_error_records": sum(1 for rec in distinct.values() if "errorCode" in rec),
        "events_by_event_date": dict(sorted(Counter(rec["eventTime"][:10] for rec in distinct.values()).items())),
        # what the default reads: every source of the Route 53 family (flows/settings.py ROUTE53_FAMILY)
        "family_events_by_event_date": dict(sorted(Counter(
            rec["eventTime"][:10] for rec in {rec["eventID"]: rec for rec in reversed(records)
                                              if str(rec.get("eventSource", "")).startswith("route53")}.values()).items())),
    }


def split_key(key: str) -> dict:
    """AWSLogs/[o-x/]ACCT/CloudTrail/REGION/YYYY/MM/DD/name -> parts."""
    parts = key.split("/")
    if parts[1].startswith("o-"):
        parts = parts[:1] + parts[2:]
    return {"account": parts[1], "kind": parts[2], "region": parts[3], "day": "-".join(parts[4:7])}


def oracle(blobs: dict[str, bytes], facts: list[tuple[Fact, list[str]]], lost: dict) -> dict:
    logs_by_day: dict[str, list] = defaultdict(list)
    delivery_days: dict[str, set] = defaultdict(set)
    for key, data in sorted(blobs.items()):
        p = split_key(key)
        if p["kind"] != "CloudTrail":
            continue
        logs_by_day[p["day"]].append((key, p, read_log(data)))
        delivery_days[p["account"]].add(p["day"])
    days = {}
    for day, logs in sorted(logs_by_day.items()):
        entry = tally([(k, recs) for k, _, recs in logs])
        for split in ("region", "account"):
            values = sorted({p[split] for _, p, _ in logs})
            entry[f"by_{split}"] = {v: tally([(k, recs) for k, p, recs in logs if p[split] == v]) for v in values}
        days[day] = entry
    story = []
    for fact, keys in facts:
        rec = fact.record
        story.append(
            {
                "fact": fact.name,
                "description": fact.description,
                "account": rec["recipientAccountId"],
                "event_id": rec["eventID"],
                "event_source": rec["eventSource"],
                "event_name": rec["eventName"],
                "event_time": rec["eventTime"],
                "event_date": rec["eventTime"][:10],
                "region": rec["awsRegion"],
                "error_code": rec.get("errorCode"),
                "user_identity_type": rec["userIdentity"]["type"],
                "delivery_days": sorted({split_key(k)["day"] for k in keys}),
                "keys": sorted(keys),
                **fact.extra,
            }
        )
    return {
        "generator": "data/generate.py",
        "seed": SEED,
        "delivery_days": {acct: sorted(d) for acct, d in sorted(delivery_days.items())},
        "days": days,
        "story": story,
        "lost_in_corrupt_file": lost,
        "other_files": {
            "digest": sorted(k for k in blobs if "/CloudTrail-Digest/" in k),
            "insight": sorted(k for k in blobs if "/CloudTrail-Insight/" in k),
        },
    }


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def build() -> tuple[dict[str, bytes], dict]:
    stories = [web_story(), corp_story()]
    files = plan_files()
    where = place_story(files, [ev for tl in stories for ev in tl.events])
    lost_records = [rec for lf in files if (rec := fill(lf)) is not None]
    blobs = {lf.key: log_bytes(lf) for lf in files}
    assert len(blobs) == len(files), "two files got the same key"
    corrupt_key = next(lf.key for lf in files if lf.corrupt)
    for key, data in (seed_file(), digest_file(files, blobs), insight_file()):
        blobs[key] = data
    facts = [(f, [lf.key for lf in where[f.record["eventID"]]]) for tl in stories for f in tl.facts]
    lost = {
        "key": corrupt_key,
        "event_ids": [rec["eventID"] for rec in lost_records],
        "description": "external-dns UPSERT of shop.example.com. (CNAME + ownership TXT) inside the truncated file",
    }
    return blobs, oracle(blobs, facts, lost)


def write_tree(out: Path, blobs: dict[str, bytes]) -> None:
    """Replace OUT entirely. Refuse a folder that holds anything but a previous tree (AWSLogs/)."""
    if out.exists():
        strangers = [p.name for p in out.iterdir() if p.name != "AWSLogs"]
        if strangers:
            sys.exit(f"refusing to delete {out}: it holds {strangers[:3]}, not just AWSLogs/")
        shutil.rmtree(out)
    for key, data in sorted(blobs.items()):
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="tree to (re)write, default data/cloudtrail")
    parser.add_argument("--expected", type=Path, default=DEFAULT_EXPECTED, help="oracle file, default data/expected.json")
    args = parser.parse_args(argv)
    blobs, expected = build()
    write_tree(args.out, blobs)
    args.expected.parent.mkdir(parents=True, exist_ok=True)
    args.expected.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    total = sum(len(b) for b in blobs.values())
    print(f"wrote {len(blobs)} files, {total} bytes, to {args.out}; oracle {args.expected}")


if __name__ == "__main__":
    main()
