-- Records whose values changed most often (applied changes that altered values, TTL or alias target).
select h.zone_name, h.record_name, h.record_type, h.set_identifier,
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
group by h.zone_name, h.record_name, h.record_type, h.set_identifier
order by changes desc, h.record_name, h.record_type
limit 20
