"""The DNS summary of one event date, read from the published lake (never from what a run happened
to read): a recheck that read nothing new rebuilds the same complete page, and a late file adds to
it. The queries use the analysts' views (sql/views: changes, record_history, dns_risk, zone names),
so the summary flags exactly what `dns_risk` flags; report.dns_markdown renders the result.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flows.storage.store import source_identity

LIMIT = 20  # rows per list; the rest is counted ("and N more")

# person: the session name behind an assumed role or SSO session (or the IAM user); role: the
# role's (or user's, or AWS service's) own name, the last part of its ARN. "who" lists the account
# beside them: the same role name in two accounts is two roles.
_WHO = "coalesce(actor_person, '') as person, coalesce(regexp_extract(actor, '[^:/]+$'), '(unknown)') as role"
_ZONE = "coalesce(zone_name, hosted_zone_id, '(no zone)') as zone"
_VALUE = "coalesce(array_to_string({0}values, ', '), 'ALIAS ' || {0}alias_dns_name)"
# The routing fields of a record set as a person names them, each with its record_history columns
# (before_<column>, after_<column>): what moves traffic without changing a value.
ROUTING = {
    "weight": ("weight",),
    "failover": ("failover",),
    "region": ("region",),
    "geo": ("geo_continent_code", "geo_country_code", "geo_subdivision_code"),
    "geoproximity": ("geoproximity_aws_region", "geoproximity_local_zone_group", "geoproximity_latitude",
                     "geoproximity_longitude", "geoproximity_bias"),
    "health check": ("health_check_id",),
    "multivalue": ("multi_value_answer",),
    "alias zone": ("alias_hosted_zone_id",),
    "evaluate target health": ("alias_evaluate_target_health",),
    "CIDR": ("cidr_collection_id", "cidr_location_name"),
}
ROUTING_COLUMNS = ", ".join(f"{side}_{c}" for columns in ROUTING.values() for c in columns for side in ("before", "after"))

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
        select severity, rule, {_ZONE}, coalesce(record_name, domain_name, event_name || coalesce(' in ' || coalesce(zone_name, hosted_zone_id), '')) as record, detail,
               {_WHO}, applied
        from dns_risk where event_date = $day
        order by case severity when 'high' then 0 when 'medium' then 1 else 2 end, event_time, rule, record, detail""",
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
}


def lake_tag(lake: str) -> str:
    """Six hex digits naming a lake (its identity, however it is spelled): artifact keys carry it,
    so two lakes reported to one Prefect server never overwrite each other's pages."""
    return hashlib.sha256(source_identity(lake).encode()).hexdigest()[:6]


def summary_key(lake: str, event_date: str) -> str:
    return f"route53-dns-changes-{event_date}-{lake_tag(lake)}"


def dns_summary(con, event_date: str, limit: int = LIMIT) -> dict[str, Any]:
    """What the lake holds for one event date: totals, then bounded lists (each with its full count).
    `con` is a DuckDB connection with the lake's views (flows.query.duckdb_lake.connect)."""
    params = {"day": event_date}
    changes, deletions = con.execute(QUERIES["totals"], params).fetchone()
    summary: dict[str, Any] = {"event_date": event_date, "changes": changes, "deletions": deletions,
                               "failed_attempts": con.execute(QUERIES["failed_attempts"], params).fetchone()[0]}
    for name in ("by_zone", "who", "risky", "changed", "failed"):
        # Kept in DuckDB (which spills), counted there, and only the first rows fetched: a dense
        # day's `changed` is 150,000 rows, and as Python dicts they were a gigabyte.
        con.execute(f"create or replace temp table summary_rows as {QUERIES[name]}", params)
        total = con.execute("select count(*) from summary_rows").fetchone()[0]
        relation = con.execute("select * from summary_rows limit $limit", {"limit": limit})
        columns = [d[0] for d in relation.description]
        summary[name] = {"rows": [dict(zip(columns, row, strict=True)) for row in relation.fetchall()], "total": total}
    con.execute("drop table if exists summary_rows")
    return summary


def lake_summaries(lake: str, event_dates: list[str]) -> dict[str, dict[str, Any]]:
    """The summary of each event date, from one connection that reads those dates' partitions and
    what the views look back at (flows/query/history.py), not the whole lake: a night costs the
    same on a lake of a week and of years."""
    if not event_dates:
        return {}
    from flows.query.history import summary_connection

    con = summary_connection(lake, event_dates)
    try:
        return {d: dns_summary(con, d) for d in sorted(event_dates)}
    finally:
        con.close()


def delivered_event_dates(lake: str, first, last) -> list[str]:
    """The event dates of the events delivered from `first` to `last` (delivery days, inclusive)."""
    from flows.query.duckdb_lake import connect

    con = connect(lake)
    try:
        rows = con.execute("select distinct event_date::varchar from events where delivery_date between $first and $last",
                           {"first": str(first), "last": str(last)}).fetchall()
    finally:
        con.close()
    return sorted(r[0] for r in rows)
