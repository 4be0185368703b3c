"""The fast reading of one log file: the tables flatten_records makes, at a fraction of the cost.

flatten_event looks every key up case-insensitively through Obj and converts every value, which
is what makes it correct for fixtures in the wild (TTL, DNSName, numbers as strings) and slow.
Here the candidate records of a file (transforms.cloudtrail.envelope.candidate_records) are decoded a batch at
a time by msgspec into typed structs in CloudTrail's own spelling: msgspec checks in C that every key
is known and every value has CloudTrail's type, so the row is read off attributes without
converting anything. A record that does not fit exactly goes to flatten_event, which names any
problem precisely. So this path never decides anything on its own; the fast-path tests compare its
tables with flatten_records' on every corpus, sample and generated file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from msgspec import UNSET, Meta, Raw, Struct, field

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, STRINGS, Table
from transforms.cloudtrail.envelope import candidate_records, identify
from transforms.cloudtrail.jsonscan import Broken, depth_at_most
from transforms.cloudtrail.prefilter import may_hold_selected
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits, out_of_memory, too_deep, too_large
from transforms.route53.names import normalize_record_name, strip_prefix
from transforms.route53.reference import (
    _EVENT_COLUMNS_ON_CHANGES,
    _READ_PREFIXES,
    DEFAULT_EVENT_SOURCES,
    Flattened,
    Repeated,
    Rows,
    _change_id,
    _health_check_id,
    _hosted_zone_id,
    _hosted_zone_name,
    _object_or_none,
    quarantine_row,
)
from transforms.times import TimeWindow, to_timestamp
from transforms.values import loads_lenient, to_bool, to_json_text


def flatten_file(
    text: bytes,
    *,
    source_file: str,
    delivery_date: date,
    event_sources: frozenset[str] = DEFAULT_EVENT_SOURCES,
    window: TimeWindow | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Flattened:
    """A decompressed log file -> the Flattened that flatten_records gives on its records as the
    lenient reference reads them (read_log_file_reference), within `limits` and `window`. Raises
    Rejected for a file that cannot be read; a record only ever costs itself (quarantined, or
    published with parse_warnings). A record beyond max_record_bytes is refused here only: the
    reference has no record text to measure.

    Records are read a batch at a time (decoded, converted, made into Arrow columns, dropped), so
    memory per record is its row in the output plus a few dozen bytes, whatever the file holds.

    A text that cannot spell any of event_sources (transforms.cloudtrail.prefilter) holds no selected record:
    it is not parsed at all, and comes back empty with parsed=False and records_read None (not
    counted: an exact count costs as much as the parse). Such a file is not checked as JSON
    either, so where the reference rejects it or quarantines a record of it whose eventSource is
    not text, this path finds nothing; everything else is the reference's reading, row for row."""
    if not may_hold_selected(text, event_sources):
        return Flattened(events=EVENTS.empty, record_changes=RECORD_CHANGES.empty, quarantine=QUARANTINE.empty,
                         records_read=None, selected=0, parsed=False)
    try:
        return _flatten_file(text, source_file, delivery_date, event_sources, window, limits)
    except MemoryError:  # within the bounds, yet more than the worker has: this file's rows are dropped
        raise out_of_memory(f"reading {len(text):,} bytes of JSON") from None


def _flatten_file(text: bytes, source_file: str, delivery_date: date, event_sources: frozenset[str],
                  window: TimeWindow | None, limits: Limits) -> Flattened:
    records_read, slices = candidate_records(text, event_sources, limits)
    where = {"source_file": source_file, "delivery_date": delivery_date}
    others = Rows()  # records not in CloudTrail's shape, as the reference reads them
    events, changes, canonical_count = [], [], 0
    repeat = Repeated()
    for chunk_batch in _batches(slices):
        canonical: list[tuple[int, _Record, _Derived]] = []
        batch = _within_bounds(chunk_batch, others, event_sources, limits, source_file)
        for (index, chunk), record in zip(batch, _decode(batch), strict=True):
            if record is not None:
                if record.eventSource is None or record.eventSource.lower() not in event_sources:
                    continue  # the reference does not select it either
                derived = _derive(record, window)
                if derived is not None:
                    canonical.append((index, record, derived))
                    continue
            others.add_reference(index, _load(index, chunk), event_sources=event_sources, window=window, limits=limits, **where)
        if canonical:
            batch_events, batch_changes = _tables(canonical, repeat, **where)
            events.append(batch_events)
            changes.append(batch_changes)
            canonical_count += len(canonical)
    flat = others.flattened(records_read)
    if canonical_count:
        flat.events = _in_file_order(pa.concat_tables(events), flat.events, ("record_index",))
        flat.record_changes = _in_file_order(pa.concat_tables(changes), flat.record_changes, ("record_index", "change_index"))
        flat.selected += canonical_count
    if _out_of_order(flat.quarantine["record_index"]):
        flat.quarantine = flat.quarantine.sort_by("record_index")  # a batch's records refused for a bound come first
    return flat


_BATCH = 4096  # records decoded and converted at a time


def _batches(slices: Iterable[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    batch = []
    for item in slices:
        batch.append(item)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _within_bounds(slices: list[tuple[int, Any]], others: Rows, event_sources: frozenset[str], limits: Limits,
                   source_file: str) -> list[tuple[int, bytes]]:
    """The batch's records as bytes, less those beyond max_record_bytes or max_json_depth, which no
    parser reads: those that are selected are quarantined, with the identifiers read at their top level."""
    kept = []
    for index, chunk in slices:
        chunk = bytes(chunk)
        if len(chunk) > limits.max_record_bytes:
            error = too_large(len(chunk), limits)
        elif not depth_at_most(chunk, limits.max_json_depth):
            error = too_deep(limits)
        else:
            kept.append((index, chunk))
            continue
        try:
            selected, source, event_id = identify(chunk, event_sources) if chunk.lstrip()[:1] == b"{" else (True, None, None)
        except Broken as broken:
            raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON in record {index}: {broken}") from None
        if selected:
            others.reject(quarantine_row(source_file, index, error, keep_raw=False, event_source=source, event_id=event_id))
    return kept


def _load(index: int, chunk: bytes) -> Any:
    """A record's value: orjson, or, for a value orjson refuses (a lone surrogate, a number beyond a
    double, bytes that are not UTF-8), the lenient reading that RFC 8259 allows. A record that is
    not JSON at all means the file is not (the scan that cut it checks brackets only)."""
    try:
        return orjson.loads(chunk)
    except orjson.JSONDecodeError:
        pass
    try:
        return loads_lenient(chunk)
    except ValueError as exc:
        raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON in record {index}: {exc}") from None


def _out_of_order(column: pa.ChunkedArray) -> bool:
    if len(column) < 2:
        return False
    return pc.any(pc.less(column.slice(1), column.slice(0, len(column) - 1))).as_py()


def _in_file_order(fast: pa.Table, reference: pa.Table, key: tuple[str, ...]) -> pa.Table:
    if not reference.num_rows:
        return fast
    return pa.concat_tables([fast, reference]).sort_by([(name, "ascending") for name in key])


class _NotCanonical(Exception):
    """The record is not in CloudTrail's own shape: flatten_event reads it."""


# CloudTrail's types. A value of any other type (a number where a string belongs, "true" for true)
# fails msgspec's check and sends the record to flatten_event, which converts it.
_Str = str | None
_Bool = bool | None
_Int = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | None
_NULL = Raw(b"null")


class _Strict(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown keys (including other spellings of known ones) send the record to flatten_event."""


class _Attributes(_Strict):
    creationDate: _Str = None
    mfaAuthenticated: bool | str | None = None  # CloudTrail writes the string "false"


class _Issuer(_Strict):
    type: _Str = None
    arn: _Str = None
    userName: _Str = None
    principalId: Any = UNSET  # kept in `extra`, as flatten_event keeps keys it does not read
    accountId: Any = UNSET


class _Session(_Strict):
    sessionIssuer: _Issuer | None = None
    attributes: _Attributes | None = None
    webIdFederationData: Any = UNSET
    sourceIdentity: Any = UNSET
    ec2RoleDelivery: Any = UNSET


class _Identity(_Strict):
    type: _Str = None
    principalId: _Str = None
    arn: _Str = None
    accountId: _Str = None
    accessKeyId: _Str = None
    userName: _Str = None
    invokedBy: _Str = None
    sessionContext: _Session | None = None
    identityProvider: Any = UNSET
    credentialId: Any = UNSET


class _Tls(_Strict):
    tlsVersion: _Str = None
    cipherSuite: _Str = None
    clientProvidedHostHeader: _Str = None


class _Addendum(_Strict):
    reason: _Str = None
    originalEventID: _Str = None
    updatedFields: Any = UNSET
    originalRequestID: Any = UNSET


class _Record(_Strict):
    eventID: _Str = None
    eventTime: _Str = None
    eventName: _Str = None
    eventSource: _Str = None
    eventType: _Str = None
    eventVersion: _Str = None
    apiVersion: _Str = None
    eventCategory: _Str = None
    readOnly: _Bool = None
    managementEvent: _Bool = None
    awsRegion: _Str = None
    sourceIPAddress: _Str = None
    userAgent: _Str = None
    requestID: _Str = None
    recipientAccountId: _Str = None
    sharedEventID: _Str = None
    vpcEndpointId: _Str = None
    errorCode: _Str = None
    errorMessage: _Str = None
    userIdentity: _Identity | None = None
    tlsDetails: _Tls | None = None
    addendum: _Addendum | None = None
    requestParameters: Raw = _NULL  # kept whole as JSON text; parsed once for its join keys
    responseElements: Raw = _NULL
    additionalEventData: Raw = _NULL
    sessionCredentialFromConsole: Any = UNSET
    vpcEndpointAccountId: Any = UNSET


class _Alias(_Strict):
    hostedZoneId: _Str = None
    dNSName: _Str = None
    evaluateTargetHealth: _Bool = None


class _Geo(_Strict):
    continentCode: _Str = None
    countryCode: _Str = None
    subdivisionCode: _Str = None


class _Value(_Strict):
    value: _Str = None


class _RecordSet(_Strict):
    name: _Str = None
    type: _Str = None
    ttl: _Int = field(default=None, name="tTL")
    resourceRecords: list[_Value | str | None] | None = None
    aliasTarget: _Alias | None = None
    setIdentifier: _Str = None
    weight: _Int = None
    region: _Str = None
    failover: _Str = None
    geoLocation: _Geo | None = None
    multiValueAnswer: _Bool = None
    healthCheckId: _Str = None
    trafficPolicyInstanceId: _Str = None


class _Change(_Strict):
    action: _Str = None
    resourceRecordSet: _RecordSet | None = None


class _Batch(_Strict):
    changes: list[_Change] | None = None
    comment: _Str = None


class _Params(Struct, gc=False):
    """requestParameters, read only for its change batch (its other keys stay in the JSON text)."""

    changeBatch: _Batch | None = None


_RECORDS = msgspec.json.Decoder(list[_Record])
_RECORD = msgspec.json.Decoder(_Record)
_REFUSED = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)  # a type it does not expect, text not UTF-8, deep nesting
_PARAMS = msgspec.json.Decoder(_Params)
_EMPTY = {cls: cls() for cls in (_Identity, _Session, _Issuer, _Attributes, _Tls, _Addendum, _RecordSet, _Alias, _Geo, _Batch)}


def _decode(slices: list[tuple[int, bytes]]) -> list[_Record | None]:
    """The slices as records in CloudTrail's shape, in one call; None for a slice that is not."""
    if not slices:
        return []
    try:
        return _RECORDS.decode(b"[" + b",".join(chunk for _, chunk in slices) + b"]")
    except _REFUSED:
        return [_decode_one(chunk) for _, chunk in slices]


def _decode_one(chunk: bytes) -> _Record | None:
    try:
        return _RECORD.decode(chunk)
    except _REFUSED:
        return None


_ANY_PLAUSIBLE = TimeWindow()
_CLOUDTRAIL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _time(text: str | None, window: TimeWindow, epoch: bool = False) -> datetime | None:
    """to_timestamp, with CloudTrail's own format (2026-11-05T12:34:56Z) read in C."""
    if text is not None and _CLOUDTRAIL_TIME.fullmatch(text):
        return window.check(datetime.fromisoformat(text), "", text)
    return to_timestamp(text, "", window, epoch=epoch)


def _json(raw: Raw) -> Any:
    return None if raw is _NULL else orjson.loads(memoryview(raw))


class _Derived(Struct, gc=False):
    """What an events row needs beyond copying a field: conversions, join keys, JSON texts."""

    event_time: datetime
    read_only: bool
    session_mfa_authenticated: bool | None
    session_creation_date: datetime | None
    hosted_zone_id: str | None
    hosted_zone_name: str | None
    change_id: str | None
    change_status: str | None
    change_submitted_at: datetime | None
    health_check_id: str | None
    request_parameters: str | None
    response_elements: str | None
    additional_event_data: str | None
    extra: str | None
    batch: _Batch


def _derive(r: _Record, window: TimeWindow | None = None) -> _Derived | None:
    """The converted values of a record in CloudTrail's shape, or None to use flatten_event (which
    also reads every value set aside with a warning, and every time outside the window)."""
    window = window or _ANY_PLAUSIBLE
    try:
        event_time = _time(r.eventTime, window)
        event_name = r.eventName
        if event_time is None or not event_name or not r.eventID:
            return None  # flatten_event rejects it, or derives a synthetic id
        identity = r.userIdentity or _EMPTY[_Identity]
        session = identity.sessionContext or _EMPTY[_Session]
        issuer = session.sessionIssuer or _EMPTY[_Issuer]
        attributes = session.attributes or _EMPTY[_Attributes]
        request, response_value, additional = _json(r.requestParameters), _json(r.responseElements), _json(r.additionalEventData)
        params, response = _Exact(_object_or_none(request)), _Exact(_object_or_none(response_value))
        change_info = response.obj("changeInfo")
        return _Derived(
            event_time=event_time,
            read_only=r.readOnly if r.readOnly is not None else event_name.lower().startswith(_READ_PREFIXES),
            session_mfa_authenticated=to_bool(attributes.mfaAuthenticated, ""),
            session_creation_date=_time(attributes.creationDate, window, epoch=True),
            hosted_zone_id=_hosted_zone_id(event_name, params, response),
            hosted_zone_name=_hosted_zone_name(event_name, params, response),
            change_id=_change_id(event_name, params, change_info),
            change_status=change_info.str("status"),
            change_submitted_at=to_timestamp(change_info.raw("submittedAt"), "", window, epoch=True),
            health_check_id=_health_check_id(params, response),
            request_parameters=None if request is None else to_json_text(request),
            response_elements=None if response_value is None else to_json_text(response_value),
            additional_event_data=None if additional is None else to_json_text(additional),
            extra=_extra(("", r), ("userIdentity.", identity), ("userIdentity.sessionContext.", session),
                         ("userIdentity.sessionContext.sessionIssuer.", issuer), ("addendum.", r.addendum or _EMPTY[_Addendum])),
            batch=_batch(r.requestParameters, request),
        )
    except (Rejected, _NotCanonical, ValueError):  # ValueError: a date fromisoformat refuses, or JSON
        return None  # orjson refuses, which flatten_file then meets again on the whole record


def _tables(canonical: list[tuple[int, _Record, _Derived]], repeat: Repeated, *, source_file: str,
            delivery_date: date) -> tuple[pa.Table, pa.Table]:
    """The events and record_changes rows of canonical records, built column by column."""
    records = [r for _, r, _ in canonical]
    derived = [d for _, _, d in canonical]
    identities = [r.userIdentity or _EMPTY[_Identity] for r in records]
    sessions = [i.sessionContext or _EMPTY[_Session] for i in identities]
    issuers = [s.sessionIssuer or _EMPTY[_Issuer] for s in sessions]
    tls = [r.tlsDetails or _EMPTY[_Tls] for r in records]
    addenda = [r.addendum or _EMPTY[_Addendum] for r in records]
    events = _table(EVENTS, {
        "event_id": [r.eventID for r in records],
        "event_time": [d.event_time for d in derived],
        "event_name": [r.eventName for r in records],
        "event_source": [r.eventSource.lower() for r in records],
        "event_type": [r.eventType for r in records],
        "event_version": [r.eventVersion for r in records],
        "api_version": [r.apiVersion for r in records],
        "event_category": [r.eventCategory for r in records],
        "read_only": [d.read_only for d in derived],
        "management_event": [r.managementEvent for r in records],
        "aws_region": [r.awsRegion for r in records],
        "source_ip_address": [r.sourceIPAddress for r in records],
        "user_agent": [r.userAgent for r in records],
        "request_id": [r.requestID for r in records],
        "recipient_account_id": [r.recipientAccountId for r in records],
        "shared_event_id": [r.sharedEventID for r in records],
        "vpc_endpoint_id": [r.vpcEndpointId for r in records],
        "error_code": [r.errorCode for r in records],
        "error_message": [r.errorMessage for r in records],
        "tls_version": [t.tlsVersion for t in tls],
        "tls_cipher_suite": [t.cipherSuite for t in tls],
        "tls_client_provided_host_header": [t.clientProvidedHostHeader for t in tls],
        "user_identity_type": [i.type for i in identities],
        "user_identity_principal_id": [i.principalId for i in identities],
        "user_identity_arn": [i.arn for i in identities],
        "user_identity_account_id": [i.accountId for i in identities],
        "user_identity_access_key_id": [i.accessKeyId for i in identities],
        "user_identity_user_name": [i.userName for i in identities],
        "user_identity_invoked_by": [i.invokedBy for i in identities],
        "session_issuer_type": [i.type for i in issuers],
        "session_issuer_arn": [i.arn for i in issuers],
        "session_issuer_user_name": [i.userName for i in issuers],
        "session_mfa_authenticated": [d.session_mfa_authenticated for d in derived],
        "session_creation_date": [d.session_creation_date for d in derived],
        "hosted_zone_id": [d.hosted_zone_id for d in derived],
        "hosted_zone_name": [d.hosted_zone_name for d in derived],
        "change_id": [d.change_id for d in derived],
        "change_status": [d.change_status for d in derived],
        "change_submitted_at": [d.change_submitted_at for d in derived],
        "health_check_id": [d.health_check_id for d in derived],
        "change_count": [None if d.batch.changes is None else len(d.batch.changes) for d in derived],
        "change_comment": [d.batch.comment for d in derived],
        "addendum_reason": [a.reason for a in addenda],
        "addendum_original_event_id": [a.originalEventID for a in addenda],
        "request_parameters": [d.request_parameters for d in derived],
        "response_elements": [d.response_elements for d in derived],
        "additional_event_data": [d.additional_event_data for d in derived],
        "extra": [d.extra for d in derived],
        "parse_warnings": repeat(None, STRINGS, len(records)),  # a record with a value set aside is not canonical
        "delivery_date": repeat(delivery_date, pa.date32(), len(records)),
        "source_file": repeat(source_file, pa.string(), len(records)),
        "record_index": [index for index, _, _ in canonical],
    })
    return events, _changes_table(events, [d.batch.changes or () for d in derived], repeat, source_file, delivery_date)


def _changes_table(events: pa.Table, batches: list[Any], repeat: Repeated, source_file: str, delivery_date: date) -> pa.Table:
    """One row per change; the event's columns are copied by Arrow (take), not row by row."""
    changes = [change for batch in batches for change in batch]
    parents = pa.array([parent for parent, batch in enumerate(batches) for _ in batch], type=pa.int64())
    rrsets = [c.resourceRecordSet or _EMPTY[_RecordSet] for c in changes]
    aliases = [s.aliasTarget or _EMPTY[_Alias] for s in rrsets]
    geos = [s.geoLocation or _EMPTY[_Geo] for s in rrsets]
    copied = [name for name in _EVENT_COLUMNS_ON_CHANGES if name not in ("source_file", "delivery_date")]
    context = events.select([*copied, "change_count"]).take(parents)
    columns: dict[str, Any] = {name: context.column(name) for name in copied}
    columns["source_file"] = repeat(source_file, pa.string(), len(changes))
    columns["delivery_date"] = repeat(delivery_date, pa.date32(), len(changes))
    columns |= {
        "batch_size": context.column("change_count"),
        "change_index": [position for batch in batches for position in range(len(batch))],
        "action": [c.action.upper() if c.action else None for c in changes],
        "record_name": [s.name for s in rrsets],
        "record_name_normalized": [normalize_record_name(s.name) for s in rrsets],
        "record_type": [s.type for s in rrsets],
        "ttl": [s.ttl for s in rrsets],
        "resource_records": [_values(s.resourceRecords) for s in rrsets],
        "alias_hosted_zone_id": [strip_prefix(a.hostedZoneId, "/hostedzone/") for a in aliases],
        "alias_dns_name": [a.dNSName for a in aliases],
        "alias_evaluate_target_health": [a.evaluateTargetHealth for a in aliases],
        "set_identifier": [s.setIdentifier for s in rrsets],
        "weight": [s.weight for s in rrsets],
        "region": [s.region for s in rrsets],
        "failover": [s.failover for s in rrsets],
        "geo_continent_code": [g.continentCode for g in geos],
        "geo_country_code": [g.countryCode for g in geos],
        "geo_subdivision_code": [g.subdivisionCode for g in geos],
        "multi_value_answer": [s.multiValueAnswer for s in rrsets],
        "health_check_id": [s.healthCheckId for s in rrsets],
        "traffic_policy_instance_id": [s.trafficPolicyInstanceId for s in rrsets],
    }
    for name in ("cidr_collection_id", "cidr_location_name", "geoproximity_aws_region", "geoproximity_local_zone_group",
                 "geoproximity_latitude", "geoproximity_longitude", "geoproximity_bias", "extra", "parse_warnings"):
        columns[name] = repeat(None, RECORD_CHANGES.schema.field(name).type, len(changes))  # canonical records have none
    return _table(RECORD_CHANGES, columns)


def _table(table: Table, columns: dict[str, Any]) -> pa.Table:
    """Every column of the table, by name, in its schema's order and types."""
    assert columns.keys() == set(table.column_names), columns.keys() ^ set(table.column_names)
    return pa.Table.from_arrays(
        [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c, type=f.type) for c, f in ((columns[f.name], f) for f in table.schema)],
        schema=table.schema)


def _batch(raw: Raw, request: Any) -> _Batch:
    """requestParameters.changeBatch, typed (_Exact has checked how its key is spelt)."""
    if not isinstance(request, dict) or request.get("changeBatch") is None:
        return _EMPTY[_Batch]
    try:
        return _PARAMS.decode(raw).changeBatch
    except msgspec.ValidationError:
        raise _NotCanonical from None


class _Exact:
    """Obj's reading interface (str, obj, raw) for the join-key helpers flatten_event uses, over an
    object whose keys are spelt as CloudTrail spells them: a plain dict lookup, no case folding.
    Another spelling of a key those helpers read, or a value of another type, is not canonical."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        if value is None:
            value = {}
        elif type(value) is not dict or not _spelt_as_cloudtrail(value):
            raise _NotCanonical
        self._value = value

    def raw(self, key: str) -> Any:
        return self._value.get(key)

    def str(self, key: str) -> str | None:
        value = self._value.get(key)
        if value is None or type(value) is str:
            return value
        raise _NotCanonical

    def obj(self, key: str) -> _Exact:
        return _Exact(self._value.get(key))


_READ_KEYS = {key.lower(): key for key in (
    "hostedZoneId", "id", "name", "resourceType", "resourceId", "healthCheckId", "changeBatch",  # requestParameters
    "changeInfo", "hostedZone", "healthCheck", "status", "submittedAt",  # responseElements
)}
_SHAPES: dict[tuple[str, ...], bool] = {}  # an object's keys -> whether the keys read are spelt exactly


def _spelt_as_cloudtrail(value: dict[str, Any]) -> bool:
    keys = tuple(value)
    exact = _SHAPES.get(keys)
    if exact is None:
        if len(_SHAPES) >= 20_000:
            _SHAPES.clear()  # data with endless shapes: the cache only saves time
        exact = _SHAPES[keys] = all(_READ_KEYS.get(key.lower(), key) == key for key in keys)
    return exact


def _extra(*scopes: tuple[str, Struct]) -> str | None:
    """Keys present that flatten_event does not read, as its `extra` column spells them."""
    found = {prefix + name: value for prefix, struct in scopes for name in _UNREAD[type(struct)]
             if (value := getattr(struct, name)) is not UNSET}
    return to_json_text(dict(sorted(found.items()))) if found else None


_UNREAD = {cls: tuple(name for name, default in zip(cls.__struct_fields__, cls.__struct_defaults__, strict=True) if default is UNSET)
           for cls in (_Record, _Identity, _Session, _Issuer, _Addendum)}


def _values(items: list[_Value | str | None] | None) -> list[str | None] | None:
    if items is None:
        return None
    return [item.value if type(item) is _Value else item for item in items]
