"""flatten_event's rows, faster, for records spelt exactly as CloudTrail spells them.

flatten_event looks every key up case-insensitively through Obj, which is what makes it correct
for fixtures in the wild (TTL, DNSName, numbers as strings) and slow: a few hundred microseconds a
record. Here msgspec checks a record's shape in C against CloudTrail's own spelling (every key
known, every nested object an object), and the row is read off attributes. A record that does not
fit exactly, or whose values a converter refuses, returns None: the caller then uses flatten_event,
which names the problem precisely. So this path never decides anything on its own; the fast-path
tests compare its tables with flatten_event's on every corpus, sample and generated file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET, Struct, field

from transforms.errors import Rejected
from transforms.names import normalize_record_name, strip_prefix
from transforms.route53 import (
    _EVENT_COLUMNS_ON_CHANGES,
    _READ_PREFIXES,
    _change_id,
    _health_check_id,
    _hosted_zone_id,
    _hosted_zone_name,
    _object_or_none,
    _values,
)
from transforms.values import Obj, to_bool, to_int, to_json_text, to_str, to_timestamp


class _NotCanonical(Exception):
    """The record is not in CloudTrail's own shape: flatten_event reads it."""


class _Strict(Struct, forbid_unknown_fields=True):
    """Unknown keys (including other spellings of known ones) send the record to flatten_event."""


class _Attributes(_Strict):
    creationDate: Any = None
    mfaAuthenticated: Any = None


class _Issuer(_Strict):
    type: Any = None
    arn: Any = None
    userName: Any = None
    principalId: Any = UNSET  # kept in `extra`, as flatten_event keeps keys it does not read
    accountId: Any = UNSET


class _Session(_Strict):
    sessionIssuer: _Issuer | None = None
    attributes: _Attributes | None = None
    webIdFederationData: Any = UNSET
    sourceIdentity: Any = UNSET
    ec2RoleDelivery: Any = UNSET


class _Identity(_Strict):
    type: Any = None
    principalId: Any = None
    arn: Any = None
    accountId: Any = None
    accessKeyId: Any = None
    userName: Any = None
    invokedBy: Any = None
    sessionContext: _Session | None = None
    identityProvider: Any = UNSET
    credentialId: Any = UNSET


class _Tls(_Strict):
    tlsVersion: Any = None
    cipherSuite: Any = None
    clientProvidedHostHeader: Any = None


class _Addendum(_Strict):
    reason: Any = None
    originalEventID: Any = None
    updatedFields: Any = UNSET
    originalRequestID: Any = UNSET


class _Record(_Strict):
    eventID: Any = None
    eventTime: Any = None
    eventName: Any = None
    eventSource: Any = None
    eventType: Any = None
    eventVersion: Any = None
    apiVersion: Any = None
    eventCategory: Any = None
    readOnly: Any = None
    managementEvent: Any = None
    awsRegion: Any = None
    sourceIPAddress: Any = None
    userAgent: Any = None
    requestID: Any = None
    recipientAccountId: Any = None
    sharedEventID: Any = None
    vpcEndpointId: Any = None
    errorCode: Any = None
    errorMessage: Any = None
    userIdentity: _Identity | None = None
    tlsDetails: _Tls | None = None
    addendum: _Addendum | None = None
    requestParameters: Any = None
    responseElements: Any = None
    additionalEventData: Any = None
    sessionCredentialFromConsole: Any = UNSET
    vpcEndpointAccountId: Any = UNSET


class _Alias(_Strict):
    hostedZoneId: Any = None
    dNSName: Any = None
    evaluateTargetHealth: Any = None


class _Geo(_Strict):
    continentCode: Any = None
    countryCode: Any = None
    subdivisionCode: Any = None


class _RecordSet(_Strict):
    name: Any = None
    type: Any = None
    ttl: Any = field(default=None, name="tTL")
    resourceRecords: Any = None
    aliasTarget: _Alias | None = None
    setIdentifier: Any = None
    weight: Any = None
    region: Any = None
    failover: Any = None
    geoLocation: _Geo | None = None
    multiValueAnswer: Any = None
    healthCheckId: Any = None
    trafficPolicyInstanceId: Any = None


class _Change(_Strict):
    action: Any = None
    resourceRecordSet: _RecordSet | None = None


_EMPTY = {cls: cls() for cls in (_Identity, _Session, _Issuer, _Attributes, _Tls, _Addendum, _RecordSet, _Alias, _Geo)}


def flatten_canonical(record: dict[str, Any], *, source_file: str, record_index: int, delivery_date: date):
    """(event row, change rows) exactly as flatten_event makes them, or None to use flatten_event."""
    try:
        r = msgspec.convert(record, _Record)
        event, changes = _event(r, source_file, record_index, delivery_date)
        context = {name: event[name] for name in _EVENT_COLUMNS_ON_CHANGES}
        context["batch_size"] = len(changes)
        rows = [{**context, **_change_row(index, msgspec.convert(change, _Change))} for index, change in enumerate(changes)]
        return event, rows
    except (msgspec.ValidationError, Rejected, _NotCanonical):
        return None


def _changes_of(batch: Obj) -> list[Any] | None:
    """changeBatch.changes as flatten_event finds it (case-insensitively), if it is a list of objects."""
    changes = batch.raw("changes")
    if changes is None or (isinstance(changes, list) and all(isinstance(c, dict) for c in changes)):
        return changes
    raise _NotCanonical


def _event(r: _Record, source_file: str, record_index: int, delivery_date: date) -> tuple[dict[str, Any], list[Any]]:
    """The events row and the change batch it carries."""
    event_time = to_timestamp(r.eventTime, "")
    event_name = to_str(r.eventName, "")
    event_id = to_str(r.eventID, "")
    source = to_str(r.eventSource, "")
    if event_time is None or not event_name or not event_id or source is None:
        raise _NotCanonical  # flatten_event rejects it, or derives a synthetic id
    identity = r.userIdentity or _EMPTY[_Identity]
    session = identity.sessionContext or _EMPTY[_Session]
    issuer = session.sessionIssuer or _EMPTY[_Issuer]
    attributes = session.attributes or _EMPTY[_Attributes]
    tls, addendum = r.tlsDetails or _EMPTY[_Tls], r.addendum or _EMPTY[_Addendum]
    params = Obj(_object_or_none(r.requestParameters), "requestParameters")
    response = Obj(_object_or_none(r.responseElements), "responseElements")
    change_info = response.obj("changeInfo")
    batch = params.obj("changeBatch")
    changes = _changes_of(batch)
    read_only = to_bool(r.readOnly, "")
    event = {
        "event_id": event_id,
        "event_time": event_time,
        "event_name": event_name,
        "event_source": source.lower(),
        "event_type": to_str(r.eventType, ""),
        "event_version": to_str(r.eventVersion, ""),
        "api_version": to_str(r.apiVersion, ""),
        "event_category": to_str(r.eventCategory, ""),
        "read_only": read_only if read_only is not None else event_name.lower().startswith(_READ_PREFIXES),
        "management_event": to_bool(r.managementEvent, ""),
        "aws_region": to_str(r.awsRegion, ""),
        "source_ip_address": to_str(r.sourceIPAddress, ""),
        "user_agent": to_str(r.userAgent, ""),
        "request_id": to_str(r.requestID, ""),
        "recipient_account_id": to_str(r.recipientAccountId, ""),
        "shared_event_id": to_str(r.sharedEventID, ""),
        "vpc_endpoint_id": to_str(r.vpcEndpointId, ""),
        "error_code": to_str(r.errorCode, ""),
        "error_message": to_str(r.errorMessage, ""),
        "tls_version": to_str(tls.tlsVersion, ""),
        "tls_cipher_suite": to_str(tls.cipherSuite, ""),
        "tls_client_provided_host_header": to_str(tls.clientProvidedHostHeader, ""),
        "user_identity_type": to_str(identity.type, ""),
        "user_identity_principal_id": to_str(identity.principalId, ""),
        "user_identity_arn": to_str(identity.arn, ""),
        "user_identity_account_id": to_str(identity.accountId, ""),
        "user_identity_access_key_id": to_str(identity.accessKeyId, ""),
        "user_identity_user_name": to_str(identity.userName, ""),
        "user_identity_invoked_by": to_str(identity.invokedBy, ""),
        "session_issuer_type": to_str(issuer.type, ""),
        "session_issuer_arn": to_str(issuer.arn, ""),
        "session_issuer_user_name": to_str(issuer.userName, ""),
        "session_mfa_authenticated": to_bool(attributes.mfaAuthenticated, ""),
        "session_creation_date": to_timestamp(attributes.creationDate, ""),
        "hosted_zone_id": _hosted_zone_id(event_name, params, response),
        "hosted_zone_name": _hosted_zone_name(event_name, params, response),
        "change_id": _change_id(event_name, params, change_info),
        "change_status": change_info.str("status"),
        "change_submitted_at": to_timestamp(change_info.raw("submittedAt"), ""),
        "health_check_id": _health_check_id(params, response),
        "change_count": None if changes is None else len(changes),
        "change_comment": batch.str("comment"),
        "addendum_reason": to_str(addendum.reason, ""),
        "addendum_original_event_id": to_str(addendum.originalEventID, ""),
        "request_parameters": None if r.requestParameters is None else to_json_text(r.requestParameters),
        "response_elements": None if r.responseElements is None else to_json_text(r.responseElements),
        "additional_event_data": None if r.additionalEventData is None else to_json_text(r.additionalEventData),
        "extra": _extra(("", r), ("userIdentity.", identity), ("userIdentity.sessionContext.", session),
                        ("userIdentity.sessionContext.sessionIssuer.", issuer), ("addendum.", addendum)),
        "delivery_date": delivery_date,
        "source_file": source_file,
        "record_index": record_index,
    }
    return event, changes or []


def _extra(*scopes: tuple[str, Struct]) -> str | None:
    """Keys present that flatten_event does not read, as its `extra` column spells them."""
    found = {prefix + name: value for prefix, struct in scopes for name in _UNREAD[type(struct)]
             if (value := getattr(struct, name)) is not UNSET}
    return to_json_text(dict(sorted(found.items()))) if found else None


_UNREAD = {cls: tuple(name for name, default in zip(cls.__struct_fields__, cls.__struct_defaults__, strict=True) if default is UNSET)
           for cls in (_Record, _Identity, _Session, _Issuer, _Addendum)}


def _change_row(index: int, change: _Change) -> dict[str, Any]:
    rrset = change.resourceRecordSet or _EMPTY[_RecordSet]
    alias, geo = rrset.aliasTarget or _EMPTY[_Alias], rrset.geoLocation or _EMPTY[_Geo]
    action = to_str(change.action, "")
    name = to_str(rrset.name, "")
    return {
        "change_index": index,
        "action": action.upper() if action else None,
        "record_name": name,
        "record_name_normalized": normalize_record_name(name),
        "record_type": to_str(rrset.type, ""),
        "ttl": to_int(rrset.ttl, ""),
        "resource_records": _values(_list(rrset.resourceRecords), ""),
        "alias_hosted_zone_id": strip_prefix(to_str(alias.hostedZoneId, ""), "/hostedzone/"),
        "alias_dns_name": to_str(alias.dNSName, ""),
        "alias_evaluate_target_health": to_bool(alias.evaluateTargetHealth, ""),
        "set_identifier": to_str(rrset.setIdentifier, ""),
        "weight": to_int(rrset.weight, ""),
        "region": to_str(rrset.region, ""),
        "failover": to_str(rrset.failover, ""),
        "geo_continent_code": to_str(geo.continentCode, ""),
        "geo_country_code": to_str(geo.countryCode, ""),
        "geo_subdivision_code": to_str(geo.subdivisionCode, ""),
        "multi_value_answer": to_bool(rrset.multiValueAnswer, ""),
        "health_check_id": to_str(rrset.healthCheckId, ""),
        "traffic_policy_instance_id": to_str(rrset.trafficPolicyInstanceId, ""),
        "cidr_collection_id": None,
        "cidr_location_name": None,
        "geoproximity_aws_region": None,
        "geoproximity_local_zone_group": None,
        "geoproximity_latitude": None,
        "geoproximity_longitude": None,
        "geoproximity_bias": None,
        "extra": None,
    }


def _list(value: Any) -> list[Any] | None:
    if value is None or isinstance(value, list):
        return value
    raise _NotCanonical
