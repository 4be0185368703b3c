-- Health checks deleted, disabled or inverted while a record set still named them (the dns_risk rule
-- health_check_removed_in_use): Route 53 then counts a disabled check as healthy, reports an inverted
-- one the other way round, and gives a deleted one no predictable status, so failover stops working.
-- With the check's target and state before the call, the first record set naming it (zone, name,
-- type) and how many do (detail), applied or attempted, and who did it.
-- Parameters (--param NAME=VALUE): first_day and last_day (event dates, UTC; default: the last 7
-- days and today).
with params as (
    select cast(current_date - interval '7' day as date) as first_day,
           cast(current_date as date) as last_day
)
select r.event_time, r.event_name, h.health_check_id, h.before_target as target, h.before_disabled, h.before_inverted,
       h.disabled, h.inverted, r.zone_name, r.record_name, r.record_type, r.detail, r.applied, r.error_code,
       r.actor, r.actor_person, r.source_ip_address
from dns_risk r
join health_checks h on h.event_id = r.event_id
cross join params p
where r.rule = 'health_check_removed_in_use'
  and r.event_date between p.first_day and p.last_day
order by r.event_time nulls last, r.event_id nulls last
