"""The DNS summary of one event date, read from the published lake (never from what a run happened
to read): a recheck that read nothing new rebuilds the same complete page, and a late file adds to
it. The queries use the analysts' views (sql/views: changes, record_history, dns_risk, zone names),
so the summary flags exactly what `dns_risk` flags; report.dns_markdown renders the result.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flows.results import SUMMARY_LISTS
from flows.storage.store import source_identity
from schemas.tables import ROUTING_COLUMNS

LIMIT = 20  # rows per list; the rest is counted ("and N more")

# person: the session name behind an assumed role or SSO session (or the IAM user); role: the
# role's (or user's, or AWS service's) own name, the last part of its ARN. "who" lists the account
# beside them: the same role name in two accounts is two roles.
_WHO = "coalesce(actor_person, '') as person, coalesce(regexp_extract(actor, '[^:/]+$'), '(unknown)') as role"
_ZONE = "coalesce(zone_name, hosted_zone_id, '(no zone)') as zone"
_VALUE = "coalesce(array_to_string({0}values, ', '), 'ALIAS ' || {0}alias_dns_name)"
# What a write call of the family that is not a record change acts on: the first of these request
# parameters it has (CloudTrail writes the API's names with a lower-case first letter), after the zone
# and the health check the lake derives; and the VPC it attaches or detaches, if any.
_RESOURCE_KEYS = ("domainName", "resolverRuleId", "resolverEndpointId", "resolverQueryLogConfigId",
                  "firewallRuleGroupId", "firewallDomainListId", "firewallRuleGroupAssociationId",
                  "resolverRuleAssociationId", "profileId", "profileAssociationId", "controlPanelArn",
                  "routingControlArn", "safetyRuleArn", "clusterArn", "recoveryGroupName", "cellName",
                  "resourceSetName", "readinessCheckName", "resourceArn", "resourceId", "name", "id")
_VPC_KEYS = ("vPC.vPCId", "vPCId", "vpcId", "VPCId")
_RESOURCE = ("concat_ws(' VPC ', coalesce(zone_name, hosted_zone_id, health_check_id, "
             + ", ".join(f"json_extract_string(request_parameters, '$.{k}')" for k in _RESOURCE_KEYS) + "), "
             + "coalesce(" + ", ".join(f"json_extract_string(request_parameters, '$.{k}')" for k in _VPC_KEYS) + "))")
_RISKY_COLUMNS = (f"severity, rule, {_ZONE}, coalesce(record_name, domain_name, event_name || coalesce(' in ' || coalesce(zone_name, hosted_zone_id), '')) as record, "
                  f"detail, {_WHO}, applied")
_RISKY_ORDER = "case severity when 'high' then 0 when 'medium' then 1 else 2 end, event_time, rule, record, detail"
QUERIES = {
    "totals": """
        select count(*) filter (where applied) as changes,
               count(*) filter (where applied and action = 'DELETE') as deletions
        from changes where event_date = $day""",
    "failed_attempts": """
        select count(*) from api_calls
        where event_date = $day and error_code is not null and not coalesce(read_only, false)""",
    "by_zone": f"""
        select {_ZONE},
               count(*) filter (where action = 'CREATE') as created,
               count(*) filter (where action = 'UPSERT') as upserted,
               count(*) filter (where action = 'DELETE') as deleted
        from changes where event_date = $day and applied
        group by all order by created + upserted + deleted desc, zone""",
    "who": f"""
        select {_WHO}, coalesce(account_id, '') as account, count(*) as changes
        from changes where event_date = $day and applied
        group by all order by changes desc, person, role, account""",
    "risky": f"""
        select {_RISKY_COLUMNS}
        from dns_risk where event_date = $day
        order by {_RISKY_ORDER}""",
    "changed": f"""
        select strftime(event_time, '%H:%M:%S') as time, {_ZONE}, record_name_normalized as record,
               record_type as type, action,
               case when action = 'UPSERT' and not before_known then '(not seen)'
                    else {_VALUE.format('before_')} end as before,
               {_VALUE.format('after_')} as after, before_ttl, after_ttl, {_WHO},
               set_identifier, before_known, {ROUTING_COLUMNS}
        from record_history where event_date = $day
        order by event_time, event_id, change_index""",
    "failed": f"""
        select strftime(event_time, '%H:%M:%S') as time, event_name as call, error_code as error, {_ZONE}, {_WHO}
        from api_calls
        where event_date = $day and error_code is not null and not coalesce(read_only, false)
        order by event_time, event_id""",
    # The family's other writes: private zones' VPCs, Resolver rules and endpoints, DNS Firewall,
    # health checks, domains, zones, tags, Profiles, ARC. Failed ones too (also in `failed`).
    "others": f"""
        select strftime(event_time, '%H:%M:%S') as time, coalesce(account_id, '') as account, aws_region as region,
               event_source as source, event_name as call, nullif({_RESOURCE}, '') as resource, {_WHO},
               case when error_code is null then 'applied' else 'failed: ' || error_code end as outcome
        from api_calls
        where event_date = $day and not coalesce(read_only, false) and event_name <> 'ChangeResourceRecordSets'
        order by event_time, event_id""",
}
LISTS = SUMMARY_LISTS
# dns_risk's windows look at the whole history, so a date's filter cannot go below them: computed
# per date, it cost the whole view each time, and a night summarizes several dates (the day, its
# late events' dates, the recheck days). So the flagged rows of every date summarized are kept once,
# in RISKY_ROWS, and each date's `risky` list is read from them (the same rows as QUERIES["risky"]).
RISKY_ROWS = "summary_risky"
_RISKY_OF_DAY = f"select * exclude (event_date, event_time) from {RISKY_ROWS} where event_date = $day order by {_RISKY_ORDER}"


def _first_rows(con, query: str, params: dict[str, Any], limit: int) -> dict[str, Any]:
    """A list of the summary: its first `limit` rows as dicts, and how many rows it has. Counted in
    DuckDB and only the rows shown fetched: a dense day's `changed` is 150,000 rows, which as Python
    dicts were a gigabyte."""
    total = con.execute(f"select count(*) from ({query})", params).fetchone()[0]
    relation = con.execute(f"{query} limit $limit", {**params, "limit": limit})
    columns = [d[0] for d in relation.description]
    return {"rows": [dict(zip(columns, row, strict=True)) for row in relation.fetchall()], "total": total}


def lake_tag(lake: str) -> str:
    """Six hex digits naming a lake (its identity, however it is spelled): artifact keys carry it,
    so two lakes reported to one Prefect server never overwrite each other's pages."""
    return hashlib.sha256(source_identity(lake).encode()).hexdigest()[:6]


def summary_key(lake: str, event_date: str) -> str:
    return f"route53-dns-changes-{event_date}-{lake_tag(lake)}"


def keep_risky_rows(con, event_dates: list[str]) -> None:
    """The dns_risk rows of every date in event_dates, computed once into RISKY_ROWS (kept in DuckDB, which spills)."""
    con.execute(f"create or replace temp table {RISKY_ROWS} as select event_date, event_time, {_RISKY_COLUMNS} "
                "from dns_risk where event_date in (select unnest($days::date[]))", {"days": list(event_dates)})


def dns_summary(con, event_date: str, limit: int = LIMIT, risky_kept: bool = False) -> dict[str, Any]:
    """What the lake holds for one event date: totals, then bounded lists (each with its full count).
    `con` is a DuckDB connection with the lake's views (flows.query.duckdb_lake.connect).
    risky_kept: keep_risky_rows ran for this date already (a night's dates share it)."""
    params = {"day": event_date}
    if not risky_kept:
        keep_risky_rows(con, [event_date])
    changes, deletions = con.execute(QUERIES["totals"], params).fetchone()
    summary: dict[str, Any] = {"event_date": event_date, "changes": changes, "deletions": deletions,
                               "failed_attempts": con.execute(QUERIES["failed_attempts"], params).fetchone()[0]}
    for name in LISTS:
        if name == "risky":  # the alert's counts per severity cover every flagged row, not the listed ones
            summary["risky_by_severity"] = dict(con.execute(
                f"select severity, count(*) from {RISKY_ROWS} where event_date = $day group by 1 order by 1", params).fetchall())
        summary[name] = _first_rows(con, _RISKY_OF_DAY if name == "risky" else QUERIES[name], params, limit)
    if not risky_kept:
        con.execute(f"drop table {RISKY_ROWS}")
    return summary
