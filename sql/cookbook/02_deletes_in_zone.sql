-- Every DELETE in a hosted zone (by zone name or id), with what was deleted and by whom.
-- A DELETE of a failed call (applied false) did not take effect; it is listed so attempts are visible.
-- zone_name_source says whether Route 53 stated the zone's name or the lake inferred it (see zone_names).
-- Parameters (--param NAME=VALUE): zone, a zone name (the trailing dot optional) or hosted zone id
-- (default: every zone).
with params as (
    select cast(null as varchar) as zone
)
select c.event_time, c.hosted_zone_id, c.zone_name, c.zone_name_source,
       c.record_name_normalized as record_name, c.record_type, c.set_identifier,
       c.ttl, c.resource_records, c.alias_dns_name,
       c.actor, c.actor_person, c.source_ip_address, c.applied, c.error_code
from changes c
cross join params p
where c.action = 'DELETE'
  and (p.zone is null or c.hosted_zone_id = p.zone
       or c.zone_name = lower(p.zone) || case when p.zone like '%.' then '' else '.' end)
order by c.event_time nulls last, c.event_id nulls last, c.change_index nulls last
