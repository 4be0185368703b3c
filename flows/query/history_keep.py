"""Which rows of the past the views look back at (flows/query/history.py): DuckDB SQL over the views
of the rows at hand (events, record_changes and the views on them), leaving the kept rows in
_next_events and _next_record_changes.

Each kept row is the first or last of a group, in the order the view that looks back uses; a
summary of later dates then sees the same values from the kept rows as from all of them:

- record_history: lag() over a record set gives the latest earlier change: the last applied change
  of each record set (hosted zone, name, type, set identifier; ordered as the view orders).
- dns_risk: new_actor_in_zone compares a change with its actor's first change in the zone and the
  zone's first (the least of those); alias_target_moved with the first use of an alias target in
  the account; failed_by_unknown_principal with the actor's first successful write.
- zone_vpc_associations and health_checks carry state over every applied call of a zone's VPCs or of
  a health check (lead, last_value): those calls are few, and every applied one of the two views is
  kept, with every applied DeleteHostedZone (it ends a zone's associations); and per zone, of its
  applied calls not in zone_vpc_associations, one of the least account (the view's zone owner).
- zone_names: the latest statement of each (zone, name); per zone the least and greatest name
  (reversed, as the view compares them: every name of a zone lies under an NS set exactly when
  those two do, and their common suffix is everyone's), the latest change, the least SOA name and
  the latest SOA, and the latest change of each NS set.
- resolver_rules, resolver_endpoints, firewall_rules, firewall_rule_group_associations: a call that
  does not state a field of its resource shows it as the last applied call that did (and
  firewall_rules compares the action with it): every applied call that can state one is kept. They
  are configuration calls, few beside record changes, so the kept rows grow with them, not with DNS
  records.

Ties keep any one row: only the value compared (a time, a name) matters. min() and max() skip
nulls, so the orders put nulls last; lag() orders nulls last, so its last row is first in
`desc nulls first`.
"""

KEEP_SQL = """
create or replace temp table _kept_changes as
with record_sets as (
    select event_id, change_index from record_history
    qualify row_number() over (partition by hosted_zone_id, record_name, record_type, coalesce(set_identifier, '')
                               order by event_time desc nulls first, event_id desc nulls first, change_index desc nulls first) = 1
),
actors_in_zones as (
    select event_id, change_index from changes
    qualify row_number() over (partition by hosted_zone_id, coalesce(actor, '(unknown)') order by event_time nulls last) = 1
),
alias_targets as (
    select event_id, change_index from record_history
    qualify row_number() over (partition by account_id, lower(after_alias_dns_name) order by event_time nulls last) = 1
),
named as (
    select * from record_changes
    where error_code is null and hosted_zone_id is not null and record_name_normalized is not null
),
zone_spread as (
    select event_id, change_index from named
    qualify row_number() over (partition by hosted_zone_id order by reverse('.' || record_name_normalized)) = 1
         or row_number() over (partition by hosted_zone_id order by reverse('.' || record_name_normalized) desc) = 1
         or row_number() over (partition by hosted_zone_id order by event_time desc nulls last) = 1
),
soa as (
    select event_id, change_index from record_changes
    where error_code is null and record_type = 'SOA' and hosted_zone_id is not null
    qualify row_number() over (partition by hosted_zone_id order by record_name_normalized nulls last) = 1
         or row_number() over (partition by hosted_zone_id order by event_time desc nulls last) = 1
),
ns_sets as (
    select event_id, change_index from record_changes
    where error_code is null and record_type = 'NS' and hosted_zone_id is not null
    qualify row_number() over (partition by hosted_zone_id, record_name_normalized order by event_time desc nulls last) = 1
)
select * from record_sets union select * from actors_in_zones union select * from alias_targets
union select * from zone_spread union select * from soa union select * from ns_sets;

create or replace temp table _kept_events as
with statements as (
    select event_id from zone_statements
    where hosted_zone_id is not null and zone_name is not null and zone_name <> ''
    qualify row_number() over (partition by hosted_zone_id, zone_name order by event_time desc nulls last) = 1
),
first_writes as (
    select event_id from api_calls
    where error_code is null and not coalesce(read_only, false)
    qualify row_number() over (partition by coalesce(actor, '(unknown)') order by event_time nulls last) = 1
),
family_calls as (
    select event_id from zone_vpc_associations where applied
    union select event_id from health_checks where applied
    union select event_id from api_calls where error_code is null and event_name = 'DeleteHostedZone'
),
zone_owners as (
    select e.event_id from api_calls e
    anti join zone_vpc_associations a on a.event_id = e.event_id
    where e.error_code is null and e.hosted_zone_id is not null
    qualify row_number() over (partition by e.hosted_zone_id order by e.recipient_account_id nulls last) = 1
),
resolver_state as (
    select event_id from resolver_rules where applied and change in ('CREATE', 'UPDATE', 'DELETE')
    union select event_id from resolver_endpoints where applied
    union select event_id from firewall_rules where applied
    union select event_id from firewall_rule_group_associations where applied
)
select event_id from statements union select event_id from first_writes union select event_id from _kept_changes
union select event_id from family_calls union select event_id from zone_owners union select event_id from resolver_state;

create or replace temp table _next_record_changes as
select c.* from record_changes c
semi join _kept_changes k on k.event_id = c.event_id and k.change_index is not distinct from c.change_index;

create or replace temp table _next_events as
select e.* from events e semi join _kept_events k on k.event_id = e.event_id;
"""
