-- Records whose values changed most often (applied changes that altered values, TTL or alias target).
-- Ties are broken by zone, name, type and set identifier, so every engine returns the same 20 rows.
select h.hosted_zone_id, h.zone_name, h.record_name_normalized as record_name, h.record_type, h.set_identifier,
       count(*) as changes,
       count_if(h.action = 'UPSERT') as upserts,
       count_if(h.action = 'DELETE') as deletes,
       min(h.event_time) as first_change, max(h.event_time) as last_change
from record_history h
where h.action <> 'UPSERT'
   or not h.before_known
   or h.before_values is distinct from h.after_values
   or h.before_ttl is distinct from h.after_ttl
   or h.before_alias_dns_name is distinct from h.after_alias_dns_name
   or h.before_weight is distinct from h.after_weight
group by h.hosted_zone_id, h.zone_name, h.record_name_normalized, h.record_type, h.set_identifier
order by changes desc nulls last, h.record_name_normalized nulls last, h.record_type nulls last,
         h.set_identifier nulls first, h.hosted_zone_id nulls last
limit 20
