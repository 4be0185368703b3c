-- TTL changes and alias-target changes: UPSERTs whose TTL or alias target differs from the state before.
select h.event_time, h.zone_name, h.record_name_normalized as record_name, h.record_type, h.set_identifier,
       h.before_ttl, h.after_ttl, h.before_alias_dns_name, h.after_alias_dns_name, h.actor, h.actor_person,
       case when h.before_ttl is distinct from h.after_ttl then 'ttl' else 'alias' end as what_changed
from record_history h
where h.action = 'UPSERT'
  and h.before_known
  and (h.before_ttl is distinct from h.after_ttl or h.before_alias_dns_name is distinct from h.after_alias_dns_name)
order by h.event_time nulls last, h.event_id nulls last, h.change_index nulls last
