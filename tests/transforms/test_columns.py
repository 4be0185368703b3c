"""One declaration per field: every Route 53 column is read as schemas/tables.py says, by both readers.

A column is read from its CloudTrail path, derived by the function of its name, copied from its
event (record_changes), or made by the pipeline; the strict reader's msgspec Structs are made from
the same paths, so a path declared is a key the strict reader accepts, and nothing else is.
"""

from __future__ import annotations

import json
from datetime import date

import msgspec
import pytest

from schemas.tables import DERIVED, EVENTS, RECORD_CHANGES
from transforms.route53 import canonical, derived, strict
from transforms.route53.columns import CHANGE_FIELDS, EVENT_FIELDS, FROM_EVENT, Field
from transforms.route53.fast import flatten_file
from transforms.route53.reference import read_value
from transforms.values import Notes, Obj

MADE = {"events": {"extra", "parse_warnings", "delivery_date", "source_file", "record_index"},
        "record_changes": {"change_index", "batch_size", "extra", "parse_warnings", "delivery_date", "source_file", "record_index"}}


@pytest.mark.parametrize("table", [EVENTS, RECORD_CHANGES], ids=lambda t: t.name)
def test_every_column_is_read_derived_copied_or_made(table):
    fields = EVENT_FIELDS if table is EVENTS else CHANGE_FIELDS
    read = {f.column for f in fields}
    copied = set(FROM_EVENT) - MADE[table.name] if table is RECORD_CHANGES else set()
    assert read | copied | MADE[table.name] == set(table.column_names)
    assert not read & MADE[table.name] and not read & copied


def test_record_changes_copy_exactly_these_event_columns():
    assert FROM_EVENT == (
        "event_id", "event_time", "recipient_account_id", "hosted_zone_id", "change_id", "change_comment", "user_identity_type",
        "user_identity_arn", "user_identity_invoked_by", "session_issuer_arn", "source_ip_address", "user_agent", "error_code",
        "delivery_date", "source_file", "record_index")


def test_every_derived_column_has_its_function_and_no_other():
    assert {f.column for f in EVENT_FIELDS if f.read == DERIVED} == set(derived.EVENT_DERIVED)
    assert {f.column for f in CHANGE_FIELDS if f.read == DERIVED} == set(derived.CHANGE_DERIVED)


def _struct_keys(cls: type, prefix: str = "") -> set[str]:
    """Every dotted key a Struct (and the Structs inside it) accepts."""
    keys = set()
    for field in msgspec.structs.fields(cls):
        name = field.encode_name
        keys.add(prefix + name)
        for inner in getattr(field.type, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, msgspec.Struct) and inner.__name__ != "_Value":
                keys |= _struct_keys(inner, f"{prefix}{name}.")
    return keys


def _with_parents(paths: set[str]) -> set[str]:
    return {".".join(p.split(".")[:i]) for p in paths for i in range(1, p.count(".") + 2)}


def test_the_strict_structs_accept_the_declared_paths_and_cloudtrails_unread_keys_only():
    declared = {f"{f.scope}.{f.key}".lstrip(".") for f in EVENT_FIELDS if f.key and not f.in_json}
    assert _struct_keys(strict.Record) == _with_parents(declared | set(strict.KEPT_IN_EXTRA))
    assert _struct_keys(strict.Change) == _with_parents({f"{f.scope}.{f.key}".lstrip(".") for f in CHANGE_FIELDS if f.key})


def test_a_new_field_is_read_by_both_readers_from_its_declaration_alone():
    """What one line in schemas/tables.py gives: a Struct member for the strict reader, a lookup for the lenient one."""
    new = Field("tls_key_exchange", "tlsDetails", "keyExchange", "text", "", in_json=False)
    structs = strict.make_structs("Record", (*EVENT_FIELDS, new), strict.KEPT_IN_EXTRA)
    decoded = msgspec.json.decode(b'{"tlsDetails": {"tlsVersion": "TLSv1.3", "keyExchange": "x25519"}}', type=structs[""])
    assert decoded.tlsDetails.keyExchange == "x25519"
    lenient = Obj({"KeyExchange": "x25519"}, "tlsDetails", Notes())
    assert read_value(new, lenient, None) == "x25519"


def test_derive_is_written_out_from_the_declarations():
    for column in canonical.CONVERTED_COLUMNS[:-1]:  # extra last
        assert column in {f.column for f in EVENT_FIELDS}
    assert "to_timestamp(view_2.raw('submittedAt'), '', window, epoch=True)" in canonical.DERIVE_SOURCE


def test_a_canonical_record_with_cidr_routing_is_read_by_the_strict_reader():
    change = {"action": "CREATE", "resourceRecordSet": {"name": "c.example.com.", "type": "A", "setIdentifier": "office", "tTL": 60,
                                                        "cidrRoutingConfig": {"collectionId": "c-1", "locationName": "office"},
                                                        "resourceRecords": [{"value": "192.0.2.1"}]}}
    record = {"eventID": "e1", "eventTime": "2026-11-01T10:00:00Z", "eventSource": "route53.amazonaws.com",
              "eventName": "ChangeResourceRecordSets", "requestParameters": {"hostedZoneId": "Z1", "changeBatch": {"changes": [change]}}}
    decoded = strict.decode_one(json.dumps(record).encode())
    assert decoded is not None and canonical.derive(decoded) is not None
    flat = flatten_file(json.dumps({"Records": [record]}).encode(), source_file="f", delivery_date=date(2026, 11, 1))
    row = flat.record_changes.to_pylist()[0]
    assert (row["cidr_collection_id"], row["cidr_location_name"], row["ttl"]) == ("c-1", "office", 60)
