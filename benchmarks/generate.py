"""Deterministic CloudTrail days of a chosen size, for benchmarks.

    python -m benchmarks.generate --profile sparse --size-mb 200 --out /tmp/ct

Writes ROOT/AWSLogs/ACCOUNT/CloudTrail/us-east-1/YYYY/MM/DD/ACCOUNT_CloudTrail_us-east-1_
YYYYMMDDTHHmmZ_UNIQUE.json.gz files of 50-2,000 records each ({"Records": [...]}, gzip level 6,
mtime 0) until the uncompressed JSON reaches --size-mb (MB = 10**6 bytes).

Speed: records are not built one by one. A pool of record templates (realistic shapes made with
data/generate.py's helpers: S3, EC2, IAM, STS, KMS, Lambda, CloudFront calls with their nested
requestParameters; Route 53 calls of many event names) is built once; each written record is a
shallow copy of a template with a fresh eventID (unique over the whole day), requestID and
eventTime. Same seed, profile and size -> byte-identical files.

Profiles:
  sparse: Route 53 records in ~15% of files, ~20% of those files' records (about 3% overall)
  dense:  Route 53 records in ~97% of files, ~15% of their records (about 15% overall)
  realistic-sparse: Route 53 records in ~25% of files, ~8% of those files' records (about 2% overall),
          mostly reads (GetChange, List*, Get*): an account whose automation polls Route 53 every
          minute, as real organisations' days look (issue 21)
  resolver-sparse: a workload region: route53resolver records (Resolver rules, endpoints, DNS
          Firewall; mostly reads) in ~5% of files, ~2% of those files' records
  quiet:  a region without any Route 53 family record (its files are read, never parsed)

--region writes the day under another region's folder (benchmarks/regions_profile.py writes several).

With digests (the default), the day is also covered by CloudTrail's hourly integrity digests as a
trail with log file validation writes them: ROOT/AWSLogs/ACCOUNT/CloudTrail-Digest/us-east-1/
YYYY/MM/DD/ACCOUNT_CloudTrail-Digest_us-east-1_TRAIL_us-east-1_YYYYMMDDTHHmmssZ.json.gz, one per
hour (the last one in the next day's folder, as it ends at midnight), each listing the files
delivered in its hour with the SHA-256 of their uncompressed content. They are not signed (the
signature is S3 metadata, and the default digest_signatures=off checks the hashes only).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import string
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

try:
    import orjson

    def dumps(value: object) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - the venv has orjson
    import json

    def dumps(value: object) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

from data import generate as g

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = date(2026, 11, 5)
R53 = "route53.amazonaws.com"


@dataclass(frozen=True)
class Profile:
    name: str
    file_share: float  # share of files holding Route 53 records
    record_share: float  # share of Route 53 records within those files
    polling: bool = False  # Route 53 calls are mostly an automation's reads (GetChange, List*, Get*)
    resolver: bool = False  # the selected calls are route53resolver's (a regional service), not route53's


PROFILES = {
    "sparse": Profile("sparse", 0.15, 0.20),
    "dense": Profile("dense", 0.97, 0.15),
    "realistic-sparse": Profile("realistic-sparse", 0.25, 0.08, polling=True),
    "resolver-sparse": Profile("resolver-sparse", 0.05, 0.02, resolver=True),
    "quiet": Profile("quiet", 0.0, 0.0),
}
TRAIL = "org-trail"


# ------------------------------------------------------------------------------ identities

def _cast(acct: str) -> list[tuple[g.Actor, int]]:
    role = g.role
    return [
        (role(acct, "terraform-deploy", "terraform", "198.51.100.23", g.UA_TERRAFORM), 3),
        (role(acct, "external-dns", "external-dns-eks-prod", "198.51.100.200", g.UA_EXTERNAL_DNS), 4),
        (role(acct, "cert-manager", "cert-manager", "198.51.100.200", g.UA_CERT_MANAGER), 2),
        (role(acct, "AWSReservedSSO_Admin_abc123", "jane.doe@example.com", "203.0.113.77", g.UA_CONSOLE,
              role_path="aws-reserved/sso.amazonaws.com/", console=True, mfa=True), 1),
        (role(acct, "order-processor-role", "order-processor", "198.51.100.140", g.UA_LAMBDA), 4),
        (role(acct, "build-runner", "codebuild", "198.51.100.150", g.UA_BOTO3), 3),
        (g.Actor("IAMUser", acct, "alice", "192.0.2.44", g.UA_CLI, tls=("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")), 2),
        (g.Actor("IAMUser", acct, "bob", "192.0.2.45", g.UA_BOTO3), 1),
        (g.Actor("AWSService", acct, "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                 "cloudformation.amazonaws.com"), 2),
    ]


# ------------------------------------------------------------------------------ Route 53 calls

_TYPES_SIMPLE = ["A", "AAAA", "CNAME", "TXT", "MX"]


def _zone(r: g.Rand) -> tuple[str, str]:
    n = r.randint(0, 39)
    return "Z" + g.Rand("zone", n).chars(20), f"zone{n}.example.com."


def _values(r: g.Rand, rtype: str) -> tuple:
    k = r.choice([1, 1, 1, 2, 3])
    if rtype == "A":
        return tuple(f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}" for _ in range(k))
    if rtype == "AAAA":
        return tuple(f"2001:db8::{r.randint(1, 65535):x}" for _ in range(k))
    if rtype == "CNAME":
        return (f"k8s-{r.hex(8)}.{REGION}.elb.amazonaws.com",)
    if rtype == "TXT":
        return (f'"heritage=external-dns,external-dns/owner=eks-prod,external-dns/resource=ingress/{r.hex(6)}"',)
    return tuple(f"{10 * (i + 1)} mx{i}.example.net." for i in range(k))


def _rrset(r: g.Rand, zone_name: str) -> dict:
    label = r.choice(["api", "www", "shop", "auth", "cdn", "mail", "_acme-challenge", "svc", "Admin", "\\052"])
    name = f"{label}{r.randint(0, 99) if label != chr(92) + '052' else ''}.{zone_name}"
    kind = r.choices(["simple", "alias", "weighted", "failover", "geo", "latency", "multivalue"], [10, 3, 2, 2, 2, 1, 1])[0]
    if kind == "alias":
        target = r.choice([("Z2FDTNDATAQYW2", f"d{r.hex(13)}.cloudfront.net."),
                           ("Z35SXDOTRQ7X7K", f"dualstack.k8s-alb-{r.hex(8)}.{REGION}.elb.amazonaws.com.")])
        return g.rrset(name, r.choice(["A", "AAAA"]), alias=g.alias_target(*target, evaluate=r.random() < 0.5))
    ttl = r.choice([30, 60, 60, 300, 300, 300, 3600, 86400])
    if kind == "simple":
        rtype = r.choice(_TYPES_SIMPLE)
        return g.rrset(name, rtype, ttl, _values(r, rtype))
    if kind == "weighted":
        return g.rrset(name, "CNAME", ttl, _values(r, "CNAME"), set_id=r.choice(["blue", "green"]), weight=r.randint(0, 100))
    if kind == "failover":
        primary = r.random() < 0.5
        return g.rrset(name, "A", ttl, _values(r, "A"), set_id="primary" if primary else "secondary",
                       failover="PRIMARY" if primary else "SECONDARY", health_check=r.uuid4())
    if kind == "geo":
        geo = r.choice([{"continentCode": "EU"}, {"countryCode": "US", "subdivisionCode": "CA"}, {"countryCode": "*"},
                        {"countryCode": "JP"}])
        return g.rrset(name, "A", ttl, _values(r, "A"), set_id=r.hex(6), geo=geo)
    if kind == "latency":
        return g.rrset(name, "A", ttl, _values(r, "A"), set_id=r.hex(6), region=r.choice(["us-east-1", "eu-west-1"]))
    return g.rrset(name, "A", ttl, _values(r, "A"), set_id=r.hex(6), multivalue=True)


def _batch_size(r: g.Rand) -> int:
    return r.choices([1, 2, 3, r.randint(4, 10), r.randint(11, 50)], [40, 20, 10, 20, 10])[0]


_R53_NAMES = ["ChangeResourceRecordSets", "GetChange", "ListResourceRecordSets", "GetHostedZone", "ListHostedZones",
              "CreateHostedZone", "DeleteHostedZone", "CreateHealthCheck", "GetHealthCheck", "UpdateHealthCheck",
              "DeleteHealthCheck", "ChangeTagsForResource", "ListTagsForResource"]
_R53_WEIGHTS = [30, 20, 20, 8, 6, 2, 1, 2, 3, 2, 1, 2, 3]
_R53_POLLING = [6, 30, 30, 10, 12, 0, 0, 0, 6, 0, 0, 1, 5]  # a poller's reads, now and then a change


def _route53_call(r: g.Rand, when: datetime, polling: bool = False) -> g.Call:
    name = r.choices(_R53_NAMES, _R53_POLLING if polling else _R53_WEIGHTS)[0]
    zone_id, zone_name = _zone(r)
    info = {"id": "/change/C" + r.chars(20), "status": "PENDING", "submittedAt": g.us_medium(when)}
    if name == "ChangeResourceRecordSets":
        changes = [g.change(r.choice(["CREATE", "UPSERT", "UPSERT", "DELETE"]), _rrset(r, zone_name))
                   for _ in range(_batch_size(r))]
        batch: dict = {"changes": changes}
        if r.random() < 0.3:
            batch["comment"] = r.choice(["managed by terraform", "external-dns sync", "cert-manager ACME"])
        params = {"hostedZoneId": zone_id, "changeBatch": batch}
        if r.random() < 0.05:
            return g.r53(name, False, params, None, None, ("InvalidChangeBatch", "[Tried to create resource record set but it already exists]"))
        return g.r53(name, False, params, {"changeInfo": info}, {"Note": "Do not use to reconstruct hosted zone"})
    if name == "GetChange":
        return g.r53(name, True, {"id": info["id"].split("/")[-1]}, None)
    if name in ("ListResourceRecordSets", "ListTagsForResource"):
        return g.r53(name, True, {"hostedZoneId": zone_id} if name[4] == "R" else {"resourceType": "hostedzone", "resourceId": zone_id})
    if name == "GetHostedZone":
        return g.r53(name, True, {"id": zone_id})
    if name == "ListHostedZones":
        return g.r53(name, True)
    if name == "CreateHostedZone":
        private = r.random() < 0.3
        params = {"name": zone_name, "callerReference": r.uuid4(), "hostedZoneConfig": {"comment": "", "privateZone": private}}
        if private:
            params["vPC"] = {"vPCRegion": REGION, "vPCId": "vpc-0" + r.hex(16)}
        response = {"hostedZone": {"id": "/hostedzone/" + zone_id, "name": zone_name, "callerReference": params["callerReference"],
                                   "config": {"comment": "", "privateZone": private}, "resourceRecordSetCount": 2},
                    "changeInfo": info, "delegationSet": {"nameServers": [f"ns-{r.randint(1, 2000)}.awsdns-{r.randint(10, 63)}.org"]},
                    "location": "https://route53.amazonaws.com/2013-04-01/hostedzone/" + zone_id}
        return g.r53(name, False, params, response)
    if name == "DeleteHostedZone":
        return g.r53(name, False, {"id": zone_id}, {"changeInfo": info})
    hc = r.uuid4()
    if name == "CreateHealthCheck":
        config = {"type": "HTTPS", "resourcePath": "/health", "fullyQualifiedDomainName": f"api.{zone_name}".rstrip("."),
                  "requestInterval": 30, "failureThreshold": 3, "measureLatency": False, "inverted": False, "enableSNI": True}
        return g.r53(name, False, {"callerReference": r.uuid4(), "healthCheckConfig": config},
                     {"healthCheck": {"id": hc, "callerReference": r.uuid4(), "healthCheckConfig": config, "healthCheckVersion": 1},
                      "location": "https://route53.amazonaws.com/2013-04-01/healthcheck/" + hc})
    if name == "UpdateHealthCheck":
        return g.r53(name, False, {"healthCheckId": hc, "failureThreshold": r.randint(1, 5)}, {"healthCheck": {"id": hc, "healthCheckVersion": 2}})
    if name == "ChangeTagsForResource":
        return g.r53(name, False, {"resourceType": "hostedzone", "resourceId": zone_id,
                                   "addTags": [{"key": "team", "value": "platform"}]})
    return g.r53(name, name.startswith("Get"), {"healthCheckId": hc})


_RESOLVER_NAMES = ["ListResolverRules", "GetResolverRule", "ListResolverEndpoints", "ListFirewallRuleGroupAssociations",
                   "GetFirewallRuleGroup", "ListResolverRuleAssociations", "AssociateResolverRule", "CreateResolverRule",
                   "UpdateFirewallRule", "DisassociateResolverRule", "UpdateFirewallConfig"]
_RESOLVER_WEIGHTS = [20, 15, 10, 10, 10, 10, 3, 2, 2, 1, 1]


def _resolver_call(r: g.Rand, region: str) -> g.Call:
    """A Route 53 Resolver call as CloudTrail records it (mostly a controller's reads, now and then a change)."""
    name = r.choices(_RESOLVER_NAMES, _RESOLVER_WEIGHTS)[0]
    rule, group, vpc = "rslvr-rr-" + r.hex(17), "rslvr-frg-" + r.hex(16), "vpc-0" + r.hex(16)
    params: dict | None = {
        "GetResolverRule": {"resolverRuleId": rule}, "GetFirewallRuleGroup": {"firewallRuleGroupId": group},
        "AssociateResolverRule": {"resolverRuleId": rule, "vPCId": vpc, "name": "corp"},
        "DisassociateResolverRule": {"resolverRuleId": rule, "vPCId": vpc},
        "CreateResolverRule": {"creatorRequestId": r.uuid4(), "name": "corp", "ruleType": "FORWARD", "domainName": "corp.example.com",
                               "targetIps": [{"ip": f"10.0.{r.randint(0, 255)}.{r.randint(1, 254)}", "port": 53}],
                               "resolverEndpointId": "rslvr-out-" + r.hex(17)},
        "UpdateFirewallRule": {"firewallRuleGroupId": group, "firewallDomainListId": "rslvr-fdl-" + r.hex(16),
                               "action": r.choice(["ALLOW", "BLOCK", "ALERT"]), "priority": r.randint(1, 100)},
        "UpdateFirewallConfig": {"resourceId": vpc, "firewallFailOpen": r.choice(["ENABLED", "DISABLED"])},
    }.get(name, {"maxResults": 100} if name.startswith("List") else None)
    read_only = name.startswith(("List", "Get"))
    response = None if read_only else {"status": "COMPLETE", "id": rule}
    return g.Call("route53resolver.amazonaws.com", name, read_only, params, response, host=f"route53resolver.{region}.amazonaws.com")


# ------------------------------------------------------------------------------ the template pool

def _templates(seed: int, route53: bool, n: int, polling: bool = False, region: str = REGION, resolver: bool = False) -> list[dict]:
    r = g.Rand("bench-templates", seed, route53) if not polling else g.Rand("bench-templates", seed, route53, "polling")
    if region != REGION or resolver:  # the us-east-1 pools stay as they were (cached days keep their bytes)
        r = g.Rand("bench-templates", seed, route53, region, resolver)
    cast = _cast(ACCOUNT)
    base = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
    services = g.SERVICES.get(region, g.SERVICES["eu-west-1"])
    out = []
    for _ in range(n):
        when = base + timedelta(seconds=r.randint(0, 3600))
        if route53:
            call = _resolver_call(r, region) if resolver else _route53_call(r, when, polling)
        else:
            call = g.weighted(r, services)(r, ACCOUNT, region, when)
        actor = g.weighted(r, cast)
        rec = g.api_call(r, when, actor, region, call, account=ACCOUNT)
        if not route53:
            # An AWS SDK's user agent names the API it calls (api/route53#..., api/ec2#...): a tool
            # that manages DNS does not say "route53" when it calls S3.
            rec["userAgent"] = rec["userAgent"].replace("api/route53#", f"api/{call.source.split('.')[0]}#")
            assert b"route53" not in dumps(rec).lower(), rec
        out.append(rec)
    return out


# ------------------------------------------------------------------------------ the day

def day_folder(root: Path, region: str = REGION) -> Path:
    return root / "AWSLogs" / ACCOUNT / "CloudTrail" / region / f"{DAY:%Y/%m/%d}"


def digest_name(end: datetime, region: str = REGION) -> str:
    """A digest's key from the bucket root: foldered and named by the end of its hour (the trail's home region is us-east-1)."""
    folder = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}"
    return f"{folder}/{ACCOUNT}_CloudTrail-Digest_{region}_{TRAIL}_{REGION}_{end:%Y%m%dT%H%M%S}Z.json.gz"


def write_digests(out: Path, delivered: list[tuple[int, str, str, str, str]], region: str = REGION) -> int:
    """CloudTrail's hourly digests of the day (see the module's doc). delivered: (delivery second
    of the day, key, SHA-256 of the uncompressed content, oldest and newest eventTime) per file."""
    day_start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    r = g.Rand("bench-digests") if region == REGION else g.Rand("bench-digests", region)
    previous = r.hex(512)
    for hour in range(24):
        start, end = day_start + timedelta(hours=hour), day_start + timedelta(hours=hour + 1)
        files = [
            {"s3Bucket": "bench-trail", "s3Object": key, "hashValue": sha, "hashAlgorithm": "SHA-256",
             "newestEventTime": newest, "oldestEventTime": oldest}
            for second, key, sha, oldest, newest in delivered if hour * 3600 <= second < (hour + 1) * 3600
        ]
        body = {
            "awsAccountId": ACCOUNT, "digestStartTime": g.iso(start), "digestEndTime": g.iso(end),
            "digestS3Bucket": "bench-trail", "digestS3Object": digest_name(end, region),
            "digestPublicKeyFingerprint": r.hex(32), "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max((f["newestEventTime"] for f in files), default=None),
            "oldestEventTime": min((f["oldestEventTime"] for f in files), default=None),
            "previousDigestS3Bucket": "bench-trail", "previousDigestS3Object": digest_name(start, region),
            "previousDigestHashValue": r.hex(64), "previousDigestHashAlgorithm": "SHA-256",
            "previousDigestSignature": previous, "logFiles": files,
        }
        previous = r.hex(512)
        path = out / digest_name(end, region)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(g.gz(dumps(body), level=6))
    return 24


def generate(out: Path, profile: str, size_mb: float, seed: int = 1, quiet: bool = False, digests: bool = True,
             region: str = REGION) -> dict:
    """Write one delivery day of about size_mb MB of JSON under out, in `region`'s folder; return its
    statistics ("route53_records": the records of the profile's selected source, route53 or route53resolver)."""
    prof = PROFILES[profile]
    target = int(size_mb * 1_000_000)
    folder = day_folder(out, region)
    folder.mkdir(parents=True, exist_ok=True)
    other = _templates(seed, False, 3000, region=region)
    route53 = _templates(seed, True, 1500, prof.polling, region, prof.resolver)
    rng = random.Random(f"bench:{profile}:{seed}" if region == REGION else f"bench:{profile}:{seed}:{region}")
    day_start = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp())
    stamps = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day_start + s)) for s in range(86400)]
    alphabet = string.ascii_letters + string.digits
    stats = {"files": 0, "records": 0, "route53_records": 0, "route53_files": 0, "json_bytes": 0, "gzip_bytes": 0,
             "change_rows": 0, "digests": 0}
    delivered = []  # for the digests
    # Delivery times spread over the day so that the planned size fits; ~1 MB per file on average.
    est_files = max(1, target // 1_300_000 + 1)
    step = max(1, (86400 - 1200) // est_files)
    minute = 900  # first delivery at 00:15
    started = time.perf_counter()
    while stats["json_bytes"] < target:
        n = rng.randint(50, 2000)
        if target - stats["json_bytes"] < 1_000_000:
            n = min(n, 600)
        # Stratified, not random: exactly file_share of the files (the first one included) hold Route 53.
        i, phase = stats["files"], 1 - prof.file_share
        has_r53 = int(round((i + 1) * prof.file_share + phase, 9)) > int(round(i * prof.file_share + phase, 9))
        delivery = min(86340, minute)
        records = []
        k53 = 0
        chosen = set(rng.sample(range(n), max(1, round(n * prof.record_share)))) if has_r53 else ()
        for j in range(n):
            is_r53 = j in chosen
            tpl = (route53 if is_r53 else other)[rng.randrange(1500 if is_r53 else 3000)]
            rec = dict(tpl)
            rec["eventTime"] = stamps[max(0, delivery - rng.randint(60, 900))]
            rec["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            rec["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            records.append(rec)
            if is_r53:
                k53 += 1
                if rec["eventName"] == "ChangeResourceRecordSets" and rec["eventSource"] == R53:
                    stats["change_rows"] += len(rec["requestParameters"]["changeBatch"]["changes"])
        body = dumps({"Records": records})
        blob = g.gz(body, level=6)  # CloudTrail-like compression
        hhmm = time.strftime("%H%M", time.gmtime(day_start + delivery))
        unique = "".join(rng.choice(alphabet) for _ in range(16))
        name = f"{ACCOUNT}_CloudTrail_{region}_{DAY:%Y%m%d}T{hhmm}Z_{unique}.json.gz"
        (folder / name).write_bytes(blob)
        if digests:
            times = sorted(rec["eventTime"] for rec in records)
            key = (folder / name).relative_to(out).as_posix()
            delivered.append((delivery, key, hashlib.sha256(body).hexdigest(), times[0], times[-1]))
        stats["files"] += 1
        stats["records"] += n
        stats["route53_records"] += k53
        stats["route53_files"] += k53 > 0
        stats["json_bytes"] += len(body)
        stats["gzip_bytes"] += len(blob)
        minute += rng.randint(max(1, step // 2), step + step // 2)
    if digests:
        stats["digests"] = write_digests(out, delivered, region)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    stats.update(profile=profile, size_mb=size_mb, seed=seed, day=DAY.isoformat(), root=str(out), region=region)
    if not quiet:
        print(f"generated {profile}: {stats}", file=sys.stderr)
    return stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="sparse")
    p.add_argument("--size-mb", type=float, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-digests", action="store_true", help="do not write the day's CloudTrail digests")
    p.add_argument("--region", default=REGION, help="the region folder the day is written in (default: %(default)s)")
    args = p.parse_args(argv)
    generate(args.out, args.profile, args.size_mb, args.seed, digests=not args.no_digests, region=args.region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
