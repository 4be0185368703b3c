"""schemas/ is the one source of truth: contract names, docs for every column, generated docs current,
and the pure layers stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pyarrow as pa
import pytest

from schemas.docs import DICTIONARY_PATH, render_dictionary
from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES, TABLES
from tests.conftest import ROOT

CONTRACT = {
    "events": """event_id event_time event_name event_source event_type event_version event_category read_only
        management_event aws_region source_ip_address user_agent request_id recipient_account_id shared_event_id
        vpc_endpoint_id error_code error_message tls_version tls_cipher_suite user_identity_type
        user_identity_principal_id user_identity_arn user_identity_account_id user_identity_access_key_id
        user_identity_user_name user_identity_invoked_by session_issuer_type session_issuer_arn
        session_issuer_user_name session_mfa_authenticated session_creation_date hosted_zone_id change_id
        change_status change_submitted_at health_check_id change_count change_comment request_parameters
        response_elements additional_event_data source_file""",
    "record_changes": """event_id change_index event_time hosted_zone_id change_id change_comment user_identity_type
        user_identity_arn session_issuer_arn source_ip_address user_agent error_code action record_name
        record_name_normalized record_type ttl resource_records alias_hosted_zone_id alias_dns_name
        alias_evaluate_target_health set_identifier weight region failover geo_continent_code geo_country_code
        geo_subdivision_code multi_value_answer health_check_id traffic_policy_instance_id cidr_collection_id
        cidr_location_name extra source_file""",
    "quarantine": "source_file record_index error_kind error_message raw",
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_columns_exist(name):
    missing = set(CONTRACT[name].split()) - set(TABLES[name].column_names)
    assert not missing


@pytest.mark.parametrize("table", TABLES.values(), ids=lambda t: t.name)
def test_every_column_is_documented_and_named_for_athena(table):
    for column in (*table.columns, table.partition):
        assert len(column.description) > 10, column.name
        assert column.name == column.name.lower() and column.name.isidentifier()
    assert len(set(table.column_names)) == len(table.column_names)
    assert table.partition.name not in table.column_names  # Hive partitions live in the path only
    assert set(table.key) <= set(table.column_names) and set(table.sort_by) <= set(table.column_names)


def test_timestamps_are_microseconds_utc_never_nanoseconds():
    for table in TABLES.values():
        for field in table.schema:
            if pa.types.is_timestamp(field.type):
                assert (field.type.unit, field.type.tz) == ("us", "UTC"), field.name


def test_key_columns_are_not_nullable():
    for table in (EVENTS, RECORD_CHANGES):
        assert not any(table.schema.field(k).nullable for k in table.key)
    assert not QUARANTINE.schema.field("error_kind").nullable


def test_data_dictionary_is_current():
    assert (ROOT / DICTIONARY_PATH).read_text() == render_dictionary(), "run: python -m schemas.docs"


ALLOWED_IN_PURE = {"__future__", "msgspec", "isal", "collections", "dataclasses", "datetime", "enum", "hashlib", "json", "math", "re",
                   "typing", "pyarrow", "polars", "orjson", "gzip", "zlib", "schemas", "transforms", "pathlib", "contextlib", "functools",
                   "base64", "binascii", "cryptography"}  # cryptography: signature checks, computation only


@pytest.mark.parametrize("path", sorted((ROOT / "transforms").glob("*.py")) + sorted((ROOT / "schemas").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_layers_import_no_io_clock_or_orchestration(path: Path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_IN_PURE, imported - ALLOWED_IN_PURE


CLOCKS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


@pytest.mark.parametrize("path", sorted((ROOT / "transforms").glob("*.py")), ids=lambda p: p.name)
def test_transforms_never_read_the_clock(path: Path):
    """'Now' (the plausible-time window) is a parameter the pipeline passes, never read here."""
    calls = {node.func.attr for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert not calls & CLOCKS, calls & CLOCKS
