-- Who changed a record (any type) in a time window: the action, the values before and after where
-- known, the actor, source IP and user agent. Record names are compared normalized: lower case,
-- with the trailing dot, octal escapes decoded ('\052.example.com' is '*.example.com.').
with params as (
    select 'www.example.com.' as record_name, date '2026-11-01' as first_day, date '2026-11-03' as last_day
)
select h.event_time, h.action, h.record_type, h.set_identifier,
       h.before_known, h.before_ttl, h.before_values, h.before_alias_dns_name,
       h.after_ttl, h.after_values, h.after_alias_dns_name,
       h.actor, h.actor_person, h.source_ip_address, h.user_agent
from record_history h
cross join params p
where h.record_name_normalized = p.record_name
  and h.event_date between p.first_day and p.last_day
order by h.event_time nulls last, h.event_id nulls last, h.change_index nulls last
