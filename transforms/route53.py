"""CloudTrail records -> rows of events, record_changes and quarantine.

Grain: one events row per record of a selected event source; one record_changes row per entry of
requestParameters.changeBatch.changes; one quarantine row per record that cannot be read. Every
selected record ends in exactly one of events or quarantine, and an event's change rows all come
with it or not at all (a batch is never split).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, Table
from transforms.errors import ErrorKind, Rejected
from transforms.names import normalize_record_name, strip_prefix
from transforms.values import Obj, to_json_text, to_str, to_timestamp

DEFAULT_EVENT_SOURCES = frozenset({"route53.amazonaws.com"})


@dataclass
class Flattened:
    """What one file's records became. Counts reconcile:
    selected == events.num_rows + quarantined (record-level rows of this file)."""

    events: pa.Table
    record_changes: pa.Table
    quarantine: pa.Table
    records_read: int
    selected: int


@dataclass
class Rows:
    """Rows of one file as they are found; flattened() turns them into Arrow tables."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        self.events.append(event)
        self.changes.extend(changes)

    def add_reference(self, index: int, record: Any, *, source_file: str, delivery_date: date,
                      event_sources: frozenset[str]) -> None:
        """One record as the reference reads it: skipped, an event with its changes, or quarantined."""
        try:
            if not _is_selected(record, event_sources):
                return
            self.add(*flatten_event(record, source_file=source_file, record_index=index, delivery_date=delivery_date))
        except Rejected as error:
            self.quarantine.append(quarantine_row(source_file, index, error, record))

    def flattened(self, records_read: int) -> Flattened:
        return Flattened(
            events=_arrow(self.events, EVENTS),
            record_changes=_arrow(self.changes, RECORD_CHANGES),
            quarantine=_arrow(self.quarantine, QUARANTINE),
            records_read=records_read,
            selected=len(self.events) + len(self.quarantine),
        )


def quarantine_row(source_file: str, record_index: int | None, error: Rejected, record: Any = None) -> dict[str, Any]:
    source = event_id = None
    if isinstance(record, dict):
        source = _lenient_str(record.get("eventSource"))
        event_id = _lenient_str(record.get("eventID"))
    return {
        "source_file": source_file,
        "record_index": record_index,
        "error_kind": str(error.kind),
        "error_message": error.message,
        "event_source": source,
        "event_id": event_id,
        "raw": None if record_index is None else to_json_text(record),
    }


def _lenient_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def flatten_records(
    records: list[Any],
    *,
    source_file: str,
    delivery_date: date,
    event_sources: frozenset[str] = DEFAULT_EVENT_SOURCES,
) -> Flattened:
    """Keep the records whose eventSource (case-insensitive) is in event_sources and flatten them,
    every one through flatten_event: the reference that transforms.route53_fast is tested against."""
    rows = Rows()
    for index, record in enumerate(records):
        rows.add_reference(index, record, source_file=source_file, delivery_date=delivery_date, event_sources=event_sources)
    return rows.flattened(len(records))


def _arrow(rows: list[dict[str, Any]], table: Table) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=table.schema) if rows else table.empty


def _is_selected(record: Any, event_sources: frozenset[str]) -> bool:
    """True for a record of a selected source. Raises for records whose source cannot be told:
    they might be Route 53, so they go to quarantine rather than being skipped."""
    if not isinstance(record, dict):
        raise Rejected(ErrorKind.RECORD_NOT_OBJECT, f"expected a JSON object, found {type(record).__name__}")
    source = Obj(record, "").raw("eventSource")
    if source is None:
        return False  # Insights records have no eventSource; they are not API calls
    return to_str(source, "eventSource").lower() in event_sources


def flatten_event(
    record: dict[str, Any], *, source_file: str, record_index: int, delivery_date: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One record -> its events row and its record_changes rows. Raises Rejected for a bad shape."""
    r = Obj(record, "")
    event_time = to_timestamp(r.raw("eventTime"), "eventTime")
    event_name = r.str("eventName")
    if event_time is None or not event_name:
        missing = "eventTime" if event_time is None else "eventName"
        raise Rejected(ErrorKind.MISSING_FIELD, f"{missing} is missing or null")
    identity = r.obj("userIdentity")
    session = identity.obj("sessionContext")
    issuer, attributes = session.obj("sessionIssuer"), session.obj("attributes")
    tls, addendum = r.obj("tlsDetails"), r.obj("addendum")
    # requestParameters/responseElements are kept whole as JSON; only their join keys are typed.
    params = Obj(_object_or_none(r.raw("requestParameters")), "requestParameters")
    response = Obj(_object_or_none(r.raw("responseElements")), "responseElements")
    change_info = response.obj("changeInfo")
    batch = params.obj("changeBatch")
    changes = batch.list("changes")

    event = {
        "event_id": r.str("eventID") or _synthetic_event_id(r),
        "event_time": event_time,
        "event_name": event_name,
        "event_source": r.str("eventSource").lower(),
        "event_type": r.str("eventType"),
        "event_version": r.str("eventVersion"),
        "api_version": r.str("apiVersion"),
        "event_category": r.str("eventCategory"),
        "read_only": _read_only(r, event_name),
        "management_event": r.bool("managementEvent"),
        "aws_region": r.str("awsRegion"),
        "source_ip_address": r.str("sourceIPAddress"),
        "user_agent": r.str("userAgent"),
        "request_id": r.str("requestID"),
        "recipient_account_id": r.str("recipientAccountId"),
        "shared_event_id": r.str("sharedEventID"),
        "vpc_endpoint_id": r.str("vpcEndpointId"),
        "error_code": r.str("errorCode"),
        "error_message": r.str("errorMessage"),
        "tls_version": tls.str("tlsVersion"),
        "tls_cipher_suite": tls.str("cipherSuite"),
        "tls_client_provided_host_header": tls.str("clientProvidedHostHeader"),
        "user_identity_type": identity.str("type"),
        "user_identity_principal_id": identity.str("principalId"),
        "user_identity_arn": identity.str("arn"),
        "user_identity_account_id": identity.str("accountId"),
        "user_identity_access_key_id": identity.str("accessKeyId"),
        "user_identity_user_name": identity.str("userName"),
        "user_identity_invoked_by": identity.str("invokedBy"),
        "session_issuer_type": issuer.str("type"),
        "session_issuer_arn": issuer.str("arn"),
        "session_issuer_user_name": issuer.str("userName"),
        "session_mfa_authenticated": attributes.bool("mfaAuthenticated"),
        "session_creation_date": to_timestamp(attributes.raw("creationDate"), "userIdentity.sessionContext.attributes.creationDate"),
        "hosted_zone_id": _hosted_zone_id(event_name, params, response),
        "hosted_zone_name": _hosted_zone_name(event_name, params, response),
        "change_id": _change_id(event_name, params, change_info),
        "change_status": change_info.str("status"),
        "change_submitted_at": to_timestamp(change_info.raw("submittedAt"), "responseElements.changeInfo.submittedAt"),
        "health_check_id": _health_check_id(params, response),
        "change_count": None if changes is None else len(changes),
        "change_comment": batch.str("comment"),
        "addendum_reason": addendum.str("reason"),
        "addendum_original_event_id": addendum.str("originalEventID"),
        "request_parameters": r.json("requestParameters"),
        "response_elements": r.json("responseElements"),
        "additional_event_data": r.json("additionalEventData"),
        "extra": _unknown_keys(
            ("", r), ("userIdentity.", identity), ("userIdentity.sessionContext.", session),
            ("userIdentity.sessionContext.sessionIssuer.", issuer),
            ("userIdentity.sessionContext.attributes.", attributes), ("tlsDetails.", tls), ("addendum.", addendum),
        ),
        "delivery_date": delivery_date,
        "source_file": source_file,
        "record_index": record_index,
    }
    return event, explode_changes(event, changes or [])


_READ_PREFIXES = ("get", "list", "describe", "testdnsanswer", "check", "view")


def _read_only(r: Obj, event_name: str) -> bool:
    """readOnly as recorded; records older than eventVersion 1.01 lack it, and then the API naming
    convention decides (Get*, List*, TestDNSAnswer... read; everything else writes)."""
    recorded = r.bool("readOnly")
    return recorded if recorded is not None else event_name.lower().startswith(_READ_PREFIXES)


def _object_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _synthetic_event_id(r: Obj) -> str:
    """eventVersion 1.0 records have no eventID: derive a stable one from what identifies the call."""
    parts = [r.raw(k) for k in ("eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress")]
    parts += [Obj(_object_or_none(r.raw("userIdentity")), "").raw("arn"), r.raw("requestParameters")]
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"synthetic:{digest[:32]}"


def _hosted_zone_id(event_name: str, params: Obj, response: Obj) -> str | None:
    zone = params.str("hostedZoneId")
    if zone is None and "hostedzone" in event_name.lower():
        zone = params.str("id")  # DeleteHostedZone, GetHostedZone, UpdateHostedZoneComment
    if zone is None and (params.str("resourceType") or "").lower() == "hostedzone":
        zone = params.str("resourceId")  # ChangeTagsForResource
    if zone is None:
        zone = response.obj("hostedZone").str("id")  # CreateHostedZone
    return strip_prefix(zone, "/hostedzone/")


def _hosted_zone_name(event_name: str, params: Obj, response: Obj) -> str | None:
    if event_name.lower() != "createhostedzone":
        return None
    return normalize_record_name(params.str("name") or response.obj("hostedZone").str("name"))


def _change_id(event_name: str, params: Obj, change_info: Obj) -> str | None:
    change = change_info.str("id")
    if change is None and event_name.lower() == "getchange":
        change = params.str("id")
    return strip_prefix(change, "/change/")


def _health_check_id(params: Obj, response: Obj) -> str | None:
    check = params.str("healthCheckId") or response.obj("healthCheck").str("id")
    if check is None and (params.str("resourceType") or "").lower() == "healthcheck":
        check = params.str("resourceId")
    return check


_EVENT_COLUMNS_ON_CHANGES = (
    "event_id", "event_time", "recipient_account_id", "hosted_zone_id", "change_id", "change_comment",
    "user_identity_type", "user_identity_arn", "user_identity_invoked_by", "session_issuer_arn", "source_ip_address", "user_agent",
    "error_code", "delivery_date", "source_file", "record_index",
)


def explode_changes(event: dict[str, Any], changes: list[Any]) -> list[dict[str, Any]]:
    """One row per entry of changeBatch.changes. Key: (event_id, change_index)."""
    context = {name: event[name] for name in _EVENT_COLUMNS_ON_CHANGES}
    context["batch_size"] = len(changes)
    return [{**context, **_change_row(index, change)} for index, change in enumerate(changes)]


def _change_row(index: int, value: Any) -> dict[str, Any]:
    path = f"requestParameters.changeBatch.changes[{index}]"
    if not isinstance(value, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, f"{path}: expected an object, found {type(value).__name__}")
    change = Obj(value, path)
    rrset = change.obj("resourceRecordSet")
    alias, geo = rrset.obj("aliasTarget"), rrset.obj("geoLocation")
    cidr, proximity = rrset.obj("cidrRoutingConfig"), rrset.obj("geoProximityLocation")
    coordinates = proximity.obj("coordinates")
    action = change.str("action")
    name = rrset.str("name")
    row = {
        "change_index": index,
        "action": action.upper() if action else None,
        "record_name": name,
        "record_name_normalized": normalize_record_name(name),
        "record_type": rrset.str("type"),
        "ttl": rrset.int("ttl"),
        "resource_records": _values(rrset.list("resourceRecords"), f"{rrset.path}.resourceRecords"),
        "alias_hosted_zone_id": strip_prefix(alias.str("hostedZoneId"), "/hostedzone/"),
        "alias_dns_name": alias.str("dNSName"),
        "alias_evaluate_target_health": alias.bool("evaluateTargetHealth"),
        "set_identifier": rrset.str("setIdentifier"),
        "weight": rrset.int("weight"),
        "region": rrset.str("region"),
        "failover": rrset.str("failover"),
        "geo_continent_code": geo.str("continentCode"),
        "geo_country_code": geo.str("countryCode"),
        "geo_subdivision_code": geo.str("subdivisionCode"),
        "multi_value_answer": rrset.bool("multiValueAnswer"),
        "health_check_id": rrset.str("healthCheckId"),
        "traffic_policy_instance_id": rrset.str("trafficPolicyInstanceId"),
        "cidr_collection_id": cidr.str("collectionId"),
        "cidr_location_name": cidr.str("locationName"),
        "geoproximity_aws_region": proximity.str("aWSRegion"),
        "geoproximity_local_zone_group": proximity.str("localZoneGroup"),
        "geoproximity_latitude": coordinates.float("latitude"),
        "geoproximity_longitude": coordinates.float("longitude"),
        "geoproximity_bias": proximity.int("bias"),
    }
    row["extra"] = _unknown_keys(
        ("change.", change), ("", rrset), ("aliasTarget.", alias), ("geoLocation.", geo),
        ("cidrRoutingConfig.", cidr), ("geoProximityLocation.", proximity),
        ("geoProximityLocation.coordinates.", coordinates),
    )
    return row


def _values(items: list[Any] | None, path: str) -> list[str] | None:
    if items is None:
        return None
    values = []
    for i, item in enumerate(items):
        value = Obj(item, f"{path}[{i}]").str("value") if isinstance(item, dict) else to_str(item, f"{path}[{i}]")
        values.append(value)
    return values


def _unknown_keys(*scopes: tuple[str, Obj]) -> str | None:
    unknown = {prefix + key: value for prefix, obj in scopes for key, value in obj.unknown().items()}
    return to_json_text(dict(sorted(unknown.items()))) if unknown else None
