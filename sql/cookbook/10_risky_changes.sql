-- Risky DNS changes in a time window, most severe first: every change or call a rule of dns_risk
-- flagged (docs/dns-risk.md explains each rule), applied or attempted, with who did it and from where.
-- Parameters (--param NAME=VALUE): first_day and last_day (event dates, UTC; default: the last 7
-- days and today).
with params as (
    select cast(current_date - interval '7' day as date) as first_day,
           cast(current_date as date) as last_day
)
select d.severity, d.rule, d.event_time, d.zone_name, d.record_name, d.record_type, d.action, d.domain_name,
       d.detail, d.applied, d.error_code, d.actor, d.actor_person, d.source_ip_address, d.reason
from dns_risk d
cross join params p
where d.event_date between p.first_day and p.last_day
order by case d.severity when 'high' then 1 when 'medium' then 2 else 3 end nulls last,
         d.event_time nulls last, d.event_id nulls last, d.change_index nulls first, d.rule nulls last
