"""The DuckDB SQL peer: the same two tables as the pipeline (events, record_changes), in SQL.

    python -m benchmarks.duckdb_peer --source ROOT --day 2026-11-05 --out LAKE --threads 2

Fastest formulation found (see benchmarks/RESULTS.md): read_json_objects(format='unstructured',
compression='gzip') reads each log file as one JSON value; contains() on its raw text drops files
without 'route53.amazonaws.com' before any JSON is parsed; json_extract($.Records[*]) + unnest
gives one row per record; records are kept by eventSource; the change batches are unnested
again. Every scalar column of a record is fetched with one json_extract_string(rec, [paths]) call
(one parse per record). Output: Hive-partitioned (event_date=...) zstd Parquet, like ours.

Not done (ours does them): strict error classification and quarantine, dedup by event_id,
normalization of record names/zone ids, the 'extra' columns, manifests, atomic replacement.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

EVENT_FIELDS = {  # column -> JSON path in the record
    "event_id": "$.eventID",
    "event_time": "$.eventTime",
    "event_name": "$.eventName",
    "event_source": "$.eventSource",
    "event_type": "$.eventType",
    "event_version": "$.eventVersion",
    "api_version": "$.apiVersion",
    "event_category": "$.eventCategory",
    "read_only": "$.readOnly",
    "management_event": "$.managementEvent",
    "aws_region": "$.awsRegion",
    "source_ip": "$.sourceIPAddress",
    "user_agent": "$.userAgent",
    "request_id": "$.requestID",
    "recipient_account_id": "$.recipientAccountId",
    "shared_event_id": "$.sharedEventID",
    "vpc_endpoint_id": "$.vpcEndpointId",
    "error_code": "$.errorCode",
    "error_message": "$.errorMessage",
    "tls_version": "$.tlsDetails.tlsVersion",
    "tls_cipher_suite": "$.tlsDetails.cipherSuite",
    "tls_client_provided_host_header": "$.tlsDetails.clientProvidedHostHeader",
    "user_identity_type": "$.userIdentity.type",
    "user_identity_principal_id": "$.userIdentity.principalId",
    "user_identity_arn": "$.userIdentity.arn",
    "user_identity_account_id": "$.userIdentity.accountId",
    "user_identity_access_key_id": "$.userIdentity.accessKeyId",
    "user_identity_user_name": "$.userIdentity.userName",
    "user_identity_invoked_by": "$.userIdentity.invokedBy",
    "session_issuer_type": "$.userIdentity.sessionContext.sessionIssuer.type",
    "session_issuer_arn": "$.userIdentity.sessionContext.sessionIssuer.arn",
    "session_issuer_user_name": "$.userIdentity.sessionContext.sessionIssuer.userName",
    "session_mfa_authenticated": "$.userIdentity.sessionContext.attributes.mfaAuthenticated",
    "session_creation_date": "$.userIdentity.sessionContext.attributes.creationDate",
    "hosted_zone_id": "$.requestParameters.hostedZoneId",
    "hosted_zone_name": "$.requestParameters.name",
    "change_id": "$.responseElements.changeInfo.id",
    "change_status": "$.responseElements.changeInfo.status",
    "change_submitted_at": "$.responseElements.changeInfo.submittedAt",
    "health_check_id": "$.requestParameters.healthCheckId",
    "change_comment": "$.requestParameters.changeBatch.comment",
    "addendum_reason": "$.addendum.reason",
    "addendum_original_event_id": "$.addendum.originalEventID",
}
TYPED = {
    "event_time": "CAST({} AS TIMESTAMPTZ)",
    "session_creation_date": "CAST({} AS TIMESTAMPTZ)",
    "read_only": "CAST({} AS BOOLEAN)",
    "management_event": "CAST({} AS BOOLEAN)",
    "session_mfa_authenticated": "CAST({} AS BOOLEAN)",
    "change_submitted_at": "try_strptime({}, '%b %-d, %Y %-I:%M:%S %p')",
}
CHANGE_FIELDS = {
    "action": "$.action",
    "record_name": "$.resourceRecordSet.name",
    "record_type": "$.resourceRecordSet.type",
    "ttl": "$.resourceRecordSet.tTL",
    "alias_hosted_zone_id": "$.resourceRecordSet.aliasTarget.hostedZoneId",
    "alias_dns_name": "$.resourceRecordSet.aliasTarget.dNSName",
    "alias_evaluate_target_health": "$.resourceRecordSet.aliasTarget.evaluateTargetHealth",
    "set_identifier": "$.resourceRecordSet.setIdentifier",
    "weight": "$.resourceRecordSet.weight",
    "region": "$.resourceRecordSet.region",
    "failover": "$.resourceRecordSet.failover",
    "geo_continent_code": "$.resourceRecordSet.geoLocation.continentCode",
    "geo_country_code": "$.resourceRecordSet.geoLocation.countryCode",
    "geo_subdivision_code": "$.resourceRecordSet.geoLocation.subdivisionCode",
    "multi_value_answer": "$.resourceRecordSet.multiValueAnswer",
    "health_check_id": "$.resourceRecordSet.healthCheckId",
    "traffic_policy_instance_id": "$.resourceRecordSet.trafficPolicyInstanceId",
}
CHANGE_TYPED = {
    "ttl": "CAST({} AS BIGINT)",
    "weight": "CAST({} AS BIGINT)",
    "alias_evaluate_target_health": "CAST({} AS BOOLEAN)",
    "multi_value_answer": "CAST({} AS BOOLEAN)",
}
EVENT_SOURCES = ("route53.amazonaws.com",)


def _columns(fields: dict[str, str], typed: dict[str, str], var: str) -> str:
    out = []
    for i, name in enumerate(fields, start=1):
        expr = f"{var}[{i}]"
        out.append(f"{typed.get(name, '{}').format(expr)} AS {name}")
    return ",\n       ".join(out)


def _paths(fields: dict[str, str]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in fields.values()) + "]"


def sql(glob: str, out: Path, day: str) -> list[str]:
    sources = ", ".join(f"'{s}'" for s in EVENT_SOURCES)
    needle = EVENT_SOURCES[0]
    return [
        f"""
CREATE TEMP TABLE r53 AS
SELECT source_file, record_index, rec, json_extract_string(rec, {_paths(EVENT_FIELDS)}) AS v
FROM (
    SELECT filename AS source_file,
           unnest(json_extract(json, '$.Records[*]')) AS rec,
           unnest(range(CAST(json_array_length(json, '$.Records') AS BIGINT))) AS record_index
    FROM read_json_objects('{glob}', format = 'unstructured', compression = 'gzip', filename = true,
                           maximum_object_size = 1073741824)
    WHERE contains(CAST(json AS VARCHAR), '{needle}')
)
WHERE lower(json_extract_string(rec, '$.eventSource')) IN ({sources})""",
        f"""
CREATE TEMP TABLE events AS
SELECT {_columns(EVENT_FIELDS, TYPED, 'v')},
       CAST(json_array_length(rec, '$.requestParameters.changeBatch.changes') AS BIGINT) AS change_count,
       CAST(json_extract(rec, '$.requestParameters') AS VARCHAR) AS request_parameters,
       CAST(json_extract(rec, '$.responseElements') AS VARCHAR) AS response_elements,
       CAST(json_extract(rec, '$.additionalEventData') AS VARCHAR) AS additional_event_data,
       DATE '{day}' AS delivery_date, source_file, record_index,
       CAST(CAST(v[2] AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) AS event_date,
       json_extract(rec, '$.requestParameters.changeBatch.changes[*]') AS changes
FROM r53""",
        f"""
COPY (SELECT * EXCLUDE (changes) FROM events ORDER BY event_time, event_id)
TO '{out}/events' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE)""",
        f"""
COPY (
    SELECT event_id, change_index, event_time, recipient_account_id, hosted_zone_id, change_id, change_comment,
           user_identity_type, user_identity_arn, user_identity_invoked_by, session_issuer_arn, source_ip, user_agent,
           error_code,
           {_columns(CHANGE_FIELDS, CHANGE_TYPED, 'c')},
           CAST(json_extract_string(ch, '$.resourceRecordSet.resourceRecords[*].value') AS VARCHAR[]) AS resource_records,
           change_count AS batch_size, delivery_date, source_file, record_index, event_date
    FROM (
        SELECT *, json_extract_string(ch, {_paths(CHANGE_FIELDS)}) AS c
        FROM (
            SELECT *, unnest(changes) AS ch, unnest(range(len(changes))) AS change_index
            FROM events WHERE changes IS NOT NULL
        )
    )
    ORDER BY event_time, event_id, change_index
) TO '{out}/record_changes' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE)""",
    ]


def run(source: Path, day: str, out: Path, threads: int) -> dict:
    y, m, d = day.split("-")
    glob = f"{source}/AWSLogs/*/CloudTrail/*/{y}/{m}/{d}/*.json.gz"
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    started = time.perf_counter()
    for statement in sql(glob, out, day):
        con.execute(statement)
    counts = {
        "events": con.sql("SELECT count(*) FROM events").fetchall()[0][0],
        "record_changes": con.sql("SELECT coalesce(sum(change_count), 0) FROM events").fetchall()[0][0],
        "seconds": round(time.perf_counter() - started, 3),
    }
    con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.duckdb_peer", description=__doc__.split("\n")[0])
    p.add_argument("--source", type=Path, required=True, help="folder holding AWSLogs/")
    p.add_argument("--day", required=True, help="delivery day, YYYY-MM-DD")
    p.add_argument("--out", type=Path, required=True, help="output folder (events/, record_changes/)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    counts = run(args.source, args.day, args.out, args.threads)
    print(f"duckdb peer: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
