-- Who changed a record (any type) in a time window: the action, the values before and after where
-- known, the actor, source IP and user agent. Record names are compared normalized: lower case,
-- with the trailing dot, octal escapes decoded ('\052.example.com' is '*.example.com.'); the name
-- given may leave out the trailing dot and use capitals.
-- Parameters (--param NAME=VALUE): record_name (default: every record), first_day and last_day
-- (event dates, UTC; default: the last 7 days and today).
with params as (
    select cast(null as varchar) as record_name,
           cast(current_date - interval '7' day as date) as first_day,
           cast(current_date as date) as last_day
)
select h.event_time, h.action, h.record_type, h.set_identifier,
       h.before_known, h.before_ttl, h.before_values, h.before_alias_dns_name,
       h.after_ttl, h.after_values, h.after_alias_dns_name,
       h.actor, h.actor_person, h.source_ip_address, h.user_agent
from record_history h
cross join params p
where (p.record_name is null
       or h.record_name_normalized = lower(p.record_name) || case when p.record_name like '%.' then '' else '.' end)
  and h.event_date between p.first_day and p.last_day
order by h.event_time nulls last, h.event_id nulls last, h.change_index nulls last
