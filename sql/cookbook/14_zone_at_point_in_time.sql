-- The record sets of a hosted zone as the lake knows them at an instant: for every record set, the
-- state after its last applied change at or before that instant, unless that change deleted it.
-- An audit aid, NOT a source to rebuild or restore a zone from: CloudTrail can miss requests
-- ("extremely rare", says Route 53), record sets created before the lake began and never changed since
-- are not here at all, and seen_from_creation is false where the first change the lake saw was not a
-- CREATE (values before it unknown). The name servers and SOA Route 53 creates itself are not logged.
-- A zone name can match two zones (one deleted and created again, or a name inferred): see hosted_zone_id.
-- Parameters (--param NAME=VALUE): zone, a zone name (the trailing dot optional) or hosted zone id
-- (default: every zone); as_of, an instant such as 2026-11-02T12:00:00Z (default: now).
with params as (
    select cast(null as varchar) as zone, cast(current_timestamp as timestamptz) as as_of
),
seen as (
    select h.*,
           row_number() over (partition by h.hosted_zone_id, h.record_name_normalized, h.record_type, coalesce(h.set_identifier, '')
                              order by h.event_time desc, h.event_id desc, h.change_index desc) as recency,
           max(case when h.change_number = 1 then h.action end)
               over (partition by h.hosted_zone_id, h.record_name_normalized, h.record_type, coalesce(h.set_identifier, '')) as first_action
    from record_history h
    cross join params p
    where (p.zone is null or h.hosted_zone_id = p.zone
           or h.zone_name = lower(p.zone) || case when p.zone like '%.' then '' else '.' end)
      and h.event_time <= p.as_of
)
select s.hosted_zone_id, s.record_name_normalized as record_name, s.record_type, s.set_identifier,
       s.after_ttl as ttl, s.after_values as record_values, s.after_alias_dns_name as alias_dns_name, s.after_weight as weight,
       s.event_time as last_changed_at, s.actor as last_changed_by, s.change_number as changes_seen,
       s.first_action = 'CREATE' as seen_from_creation
from seen s
cross join params p
left join hosted_zones z on z.hosted_zone_id = s.hosted_zone_id
where s.recency = 1
  and s.action <> 'DELETE'
  and not coalesce(z.deleted_at between s.event_time and p.as_of, false)  -- the zone itself deleted since
order by s.record_name_normalized nulls last, s.record_type nulls last, s.set_identifier nulls first,
         s.hosted_zone_id nulls last
