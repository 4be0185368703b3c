-- Risky changes per hosted zone and rule: how many, how many applied, by how many actors, and when
-- last; the zone column says "(no zone)" for calls that name none (domain and logging rules).
select coalesce(d.zone_name, d.hosted_zone_id, '(no zone)') as zone, d.hosted_zone_id, d.rule, d.severity,
       count(*) as flagged,
       count_if(d.applied) as applied,
       count(distinct d.actor) as actors,
       max(d.event_time) as last_seen
from dns_risk d
group by coalesce(d.zone_name, d.hosted_zone_id, '(no zone)'), d.hosted_zone_id, d.rule, d.severity
order by case d.severity when 'high' then 1 when 'medium' then 2 else 3 end nulls last,
         flagged desc nulls last, zone nulls last, d.hosted_zone_id nulls last, d.rule nulls last
