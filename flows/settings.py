"""The run's settings: one typed model, validated before anything is read or written.

Credentials are never settings: S3 access comes from the standard AWS chain (environment,
shared config, instance or task role), which s3fs reads itself.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows import redact
from schemas.ddl import GlobUnsafeLocationError, glob_root
from transforms.limits import DEFAULT_LIMITS, MIB, Limits

# Prefect logs a flow's refused parameters with their values: those records are redacted.
redact.install()

ACCOUNT_ID = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}")
EVENT_SOURCE = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MAX_DAYS_PER_RUN = 731
# The Route 53 family's CloudTrail eventSources, read by default. route53 (hosted zones, records, health
# checks) and route53domains are global and logged in us-east-1; route53resolver (Resolver rules and
# endpoints, DNS Firewall), route53profiles and ARC's recovery control and readiness APIs (us-west-2) are
# logged in the region called. ARC's routing-control data plane (route53-recovery-cluster) is left out: its
# eventSource is not documented; add it with --event-source.
ROUTE53_FAMILY = ("route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com",
                  "route53profiles.amazonaws.com", "route53-recovery-control-config.amazonaws.com",
                  "route53-recovery-readiness.amazonaws.com")


class SettingsError(ValueError):
    """A setting a person has to fix; the message says which and how."""


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USER_INFO = re.compile(r"[^/]*:[^/]*@")  # user:password@ before the first slash


def validate_uri(uri: str, what: str) -> str:
    """s3://bucket[/prefix] or a local path; nothing else, and no credentials inside.

    A refused location is never quoted back (it may hold a secret): the message names the
    setting and what to write instead. A local lake may not be the filesystem root."""
    text = uri.strip()
    if not text:
        raise SettingsError(f"{what}: empty location")
    if _CONTROL.search(text):
        raise SettingsError(f"{what}: the location has a control character (newline, tab, NUL); write it on one line")
    scheme = _SCHEME.match(text)
    if "://" in text or (scheme and scheme.group(1).lower().startswith("s3")):
        return _s3_uri(text, what)
    if _USER_INFO.match(text):
        raise SettingsError(f"{what}: the location looks like credentials (a name and a password before @); credentials are never part of a "
                            "location: use the AWS credential chain (AWS_PROFILE, environment, instance role)")
    if what == "lake" and os.path.realpath(os.path.expanduser(text)) == "/":
        raise SettingsError("lake: '/' is the filesystem root; give the lake a folder of its own, e.g. /srv/route53-lake")
    return text.rstrip("/") or "/"


def _s3_uri(text: str, what: str) -> str:
    scheme, separator, rest = text.partition("://")
    if not separator:  # s3:/bucket, s3:bucket: would be read as a local folder named "s3:"
        raise SettingsError(f"{what}: an S3 location starts with s3:// (two slashes): s3://bucket/prefix")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise SettingsError(f"{what}: not a location; use s3://bucket/prefix or a local path")
    if scheme.lower() != "s3":
        raise SettingsError(f"{what}: {scheme}:// is not supported; use s3://bucket/prefix or a local path")
    bucket, _, prefix = rest.partition("/")
    if "@" in bucket or ":" in bucket:
        raise SettingsError(f"{what}: credentials or ports in the URI are not allowed; use the AWS credential chain "
                            "(AWS_PROFILE, environment, instance role) and AWS_ENDPOINT_URL for another endpoint")
    if not _BUCKET.fullmatch(bucket):
        raise SettingsError(f"{what}: {bucket[:70]!r} is not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')")
    prefix = prefix.rstrip("/")
    segments = prefix.split("/") if prefix else []
    if "" in segments:
        raise SettingsError(f"{what}: the key prefix has an empty segment ('//'); write s3://{bucket}/{'/'.join(s for s in segments if s)}")
    if any(part in (".", "..") for part in segments):
        raise SettingsError(f"{what}: '.' and '..' are not allowed in an S3 key prefix")
    if "?" in prefix:
        raise SettingsError(f"{what}: a location has no query string ('?'); write s3://bucket/prefix")
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def nested_locations(source: str, lake: str) -> str | None:
    """Why the lake and the source overlap (the same place, or one inside the other), or None.
    Local folders are compared as the file system resolves them (links, '..', '~' included)."""
    def parts(location: str) -> tuple[str, ...]:
        if location.startswith("s3://"):
            return ("s3:", *location.removeprefix("s3://").split("/"))
        return tuple(p for p in os.path.realpath(os.path.expanduser(location)).split("/") if p)

    if source.startswith("s3://") != lake.startswith("s3://"):
        return None
    s, l_ = parts(source), parts(lake)
    if s == l_:
        return f"source and lake are the same location ({lake}); give the lake a folder of its own"
    if l_[:len(s)] == s:
        return (f"lake {lake} is inside source {source}: its files would sit among the CloudTrail input; "
                "put the lake outside the source")
    if s[:len(l_)] == l_:
        return (f"source {source} is inside lake {lake}: the run would read what it writes; "
                "keep the source outside the lake")
    return None


def check_public_keys_file(path: str) -> str:
    """A local public-keys file must exist and hold `aws cloudtrail list-public-keys` output, before
    any work: the path as the file system resolves it (a mounted secret is often a link)."""
    from transforms.cloudtrail.integrity import parse_public_keys  # cryptography: imported only when needed

    resolved = os.path.realpath(os.path.expanduser(path))
    try:
        with open(resolved, "rb") as handle:
            parse_public_keys(json.loads(handle.read(10_000_000)))
    except OSError as error:
        raise SettingsError(f"digest_public_keys: cannot read {path}: {error.strerror or error}; save it with "
                            "`aws cloudtrail list-public-keys --start-time ... > keys.json` and give its path") from None
    except ValueError as error:
        raise SettingsError(f"digest_public_keys: {path} is not `aws cloudtrail list-public-keys` output: {str(error)[:200]}") from None
    return resolved


_EMPTY = {"array": [], "string": ""}


def _form_friendly(schema: dict) -> None:
    """Prefect's run form shows an optional field (`anyOf: [X, null]`) as a choice whose null
    branch reads 'Property is type "None"': the form shows X alone, empty by default, and an
    empty value means what leaving the field out means (`_empty_is_none`)."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf", [])
        kept = [o for o in options if o.get("type") != "null"]
        if len(options) == 2 and len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
            if kept[0].get("type") in _EMPTY:
                prop["default"] = _EMPTY[kept[0]["type"]]
            else:  # a number: left empty, the form sends nothing, and the default (None) holds
                prop.pop("default", None)


class LakeSettings(BaseModel):
    """Where to read, where to write, and what to keep."""

    # hide_input_in_errors: a refused value (say a URI with a secret in it) is never quoted back
    # by pydantic, in a terminal or in a Prefect run's log.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True, json_schema_extra=_form_friendly)

    source: Annotated[str, Field(description="CloudTrail location: s3://bucket/optional/prefix or a local folder; AWSLogs/ is below it.")] = "data/cloudtrail"
    lake: Annotated[str, Field(description="Lake root: s3://bucket/prefix or a local folder. Nothing is written outside it.")] = "lake"
    accounts: Annotated[list[str] | None, Field(description="12-digit account ids to read; default: every account found under AWSLogs/ and AWSLogs/o-*/.")] = None
    regions: Annotated[list[str] | None, Field(description="CloudTrail region folders to read; default: every region the trail delivers (Route 53 and domains log to us-east-1, but Resolver, DNS Firewall, Profiles and ARC log in the region called).")] = None
    event_sources: Annotated[list[str], Field(description="eventSource values to keep (case-insensitive); default: the Route 53 family (route53, route53domains, route53resolver, route53profiles, ARC).")] = list(ROUTE53_FAMILY)
    digest_policy: Annotated[Literal["off", "record", "fail"], Field(description="CloudTrail digest check per day folder: off; record findings (missing, unlisted, altered files) in the manifest; or also fail the run.")] = "record"
    digest_signatures: Annotated[Literal["off", "verify"], Field(description="Also verify each digest's RSA signature (S3 sources only: the signature is S3 object metadata); needs digest_public_keys.")] = "off"
    digest_public_keys: Annotated[str | None, Field(description="The trail region's public keys as `aws cloudtrail list-public-keys --start-time ... > keys.json` prints them: s3:// or a local path.")] = None
    workers: Annotated[int | None, Field(ge=1, le=256, description="Processes that read and parse log files in parallel, for task_runner threads and the command line; default: one per core. (With dask, the cluster's workers do.)")] = None
    s3_requests_in_flight: Annotated[int, Field(ge=1, le=128, description="S3 requests one process keeps in flight: GETs of log files per reading process (each holds at most this many files, fetching or fetched, so memory grows with it: about this many times the largest file), and LISTs of a day's folders. Every request waits for S3's first byte (tens of ms): one at a time, a day of small files waits on the network, not the CPU.")] = 32
    task_runner: Annotated[Literal["threads", "dask"], Field(description="Where the flow's tasks run: threads in the flow's process, or a Dask cluster (command line: --task-runner). A script that calls the flow on Dask must do it under `if __name__ == \"__main__\":` (local workers are started without the script; one restarted later would run it again, and refuses to).")] = "threads"
    dask_address: Annotated[str | None, Field(description="Dask scheduler address (tcp://host:8786) for task_runner dask (command line: --dask-address); default: a local cluster with one process per core. An external cluster's workers need PREFECT_API_URL set to the flow's own Prefect server; the flow refuses to start on one without it.")] = None
    backfill_concurrency: Annotated[int, Field(ge=1, le=64, description="Days of a backfill published at once, each its own child run day-YYYY-MM-DD: on the work pool's workers when the backfill runs from a deployment (the route53-lake-day/day deployment), else on the Dask cluster (task_runner dask) or in threads of the backfill's process.")] = 4
    drop_missing_files: Annotated[bool, Field(description="Drop the rows of log files an earlier run read that the source no longer has (retention, lifecycle rules). Off: the lake keeps them, and the manifest marks those files in_source: false.")] = False
    server_side_encryption: Annotated[Literal["AES256", "aws:kms"], Field(description="Encryption of objects written to an S3 lake: SSE-S3 (AES256) or SSE-KMS (aws:kms).")] = "AES256"
    kms_key_id: Annotated[str | None, Field(description="KMS key id or ARN for aws:kms; default: the account's aws/s3 key.")] = None
    # Bounds on one log file (transforms.limits): beyond one, the file or the record is quarantined with its own
    # error kind and the rest of the folder is published. Memory per file is bounded by them, not by the input.
    max_decompressed_bytes: Annotated[int, Field(ge=MIB, le=16 * 1024 * MIB, description="Largest JSON text one log file may inflate to, in bytes; inflating stops there and the file is quarantined (file_too_large). A worker needs about 1.5 times this.")] = DEFAULT_LIMITS.max_decompressed_bytes
    max_expansion_ratio: Annotated[int, Field(ge=10, le=1100, description="Largest inflated/compressed size ratio beyond the first MiB; more is a gzip bomb, quarantined (compression_ratio) as soon as it is reached. CloudTrail logs compress 10-40x.")] = DEFAULT_LIMITS.max_expansion_ratio
    max_records_per_file: Annotated[int, Field(ge=1000, le=100_000_000, description="Most records one log file may hold; more is quarantined (too_many_records). Reading costs a few hundred bytes per selected record.")] = DEFAULT_LIMITS.max_records_per_file
    max_record_bytes: Annotated[int, Field(ge=64 * 1024, le=1024 * MIB, description="Largest JSON text of one selected record; a larger one is quarantined (record_too_large) unread. CloudTrail caps a record's fields at 100 KB each.")] = DEFAULT_LIMITS.max_record_bytes
    max_json_depth: Annotated[int, Field(ge=8, le=200, description="Deepest nesting of objects and arrays in one selected record; deeper is quarantined (too_deep) unread. CloudTrail records nest about 10 levels.")] = DEFAULT_LIMITS.max_json_depth

    def limits(self) -> Limits:
        """The bounds as the transforms take them."""
        return Limits(max_decompressed_bytes=self.max_decompressed_bytes, max_expansion_ratio=self.max_expansion_ratio,
                      max_records_per_file=self.max_records_per_file, max_record_bytes=self.max_record_bytes,
                      max_json_depth=self.max_json_depth)

    def s3_put_options(self) -> dict[str, str]:
        """Headers for every object written to an S3 lake (ignored for a local lake)."""
        options = {"ServerSideEncryption": self.server_side_encryption}
        if self.server_side_encryption == "aws:kms" and self.kms_key_id:
            options["SSEKMSKeyId"] = self.kms_key_id
        return options

    @field_validator("accounts", "regions", "digest_public_keys", "dask_address", "kms_key_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" or value == [] else value

    @field_validator("source", "lake")
    @classmethod
    def _uri(cls, value: str, info) -> str:
        location = validate_uri(value, info.field_name)
        if info.field_name == "lake" and location.startswith("s3://"):
            try:  # DuckDB reads an S3 lake through globs (a local one through a descriptor of its folder)
                glob_root(location)
            except GlobUnsafeLocationError as error:
                raise SettingsError(f"lake: {error}") from None
        return location

    @field_validator("digest_public_keys")
    @classmethod
    def _keys_uri(cls, value: str | None, info) -> str | None:
        if value is None:
            return None
        value = validate_uri(value, info.field_name)
        return value if value.startswith("s3://") else check_public_keys_file(value)

    @model_validator(mode="after")
    def _roots_apart(self) -> LakeSettings:
        problem = nested_locations(self.source, self.lake)
        if problem:
            raise SettingsError(problem)
        return self

    @model_validator(mode="after")
    def _signatures_need_keys(self) -> LakeSettings:
        if self.digest_signatures == "verify" and (self.digest_policy == "off" or not self.digest_public_keys):
            raise SettingsError("digest_signatures verify needs digest_public_keys and a digest_policy other than off")
        return self

    def reading_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @field_validator("dask_address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(tcp|tls)://[A-Za-z0-9.-]+:\d{1,5}", value):
            raise SettingsError("dask_address: expected tcp://host:port or tls://host:port")
        return value

    @field_validator("kms_key_id")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9:/_-]{1,2048}", value):
            raise SettingsError("kms_key_id: expected a KMS key id, alias or ARN")
        return value

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [a for a in value if not ACCOUNT_ID.fullmatch(a)]
        if bad:
            raise SettingsError(f"accounts: {bad} are not 12-digit AWS account ids")
        return sorted(set(value))

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [r for r in value if not REGION.fullmatch(r)]
        if bad:
            raise SettingsError(f"regions: {bad} are not AWS region names like us-east-1")
        return sorted(set(value))

    @field_validator("event_sources")
    @classmethod
    def _event_sources(cls, value: list[str]) -> list[str]:
        lowered = sorted({s.strip().lower() for s in value})
        bad = [s for s in lowered if not EVENT_SOURCE.fullmatch(s)]
        if bad or not lowered:
            raise SettingsError(f"event_sources: {bad or 'none given'} are not like route53.amazonaws.com")
        return lowered


def yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def delivery_days(start: date | None, end: date | None, extra_days: list[date] | None = None) -> list[date]:
    """The delivery days of a run, UTC, inclusive, sorted, checked: default yesterday."""
    today = datetime.now(UTC).date()
    if start is None and end is None and not extra_days:
        start = end = yesterday_utc()
    days: set[date] = set(extra_days or [])
    if start is not None or end is not None:
        start, end = start or end, end or start
        if start > end:
            raise SettingsError(f"start {start} is after end {end}")
        span = (end - start).days + 1
        if span > MAX_DAYS_PER_RUN:
            raise SettingsError(f"{span} days from {start} to {end}; split runs longer than {MAX_DAYS_PER_RUN} days")
        days.update(start + timedelta(days=i) for i in range(span))
    if len(days) > MAX_DAYS_PER_RUN:
        raise SettingsError(f"{len(days)} delivery days in one run; at most {MAX_DAYS_PER_RUN}: split it into several runs")
    future = sorted(d for d in days if d > today)
    if future:
        raise SettingsError(f"{future[0]} is in the future (today is {today} UTC); CloudTrail cannot have delivered it")
    return sorted(days)
