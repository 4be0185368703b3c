-- Which zones changed today, and by whom: per hosted zone and person (or role, in its account), the
-- applied record changes of one event date (UTC), how many of each action, and the first and last.
-- who is the person behind an SSO or assumed-role session when known, else the role, user or service.
-- Parameters (--param NAME=VALUE): day (an event date, UTC; default: today).
with params as (
    select cast(current_date as date) as day
)
select coalesce(c.zone_name, c.hosted_zone_id, '(no zone)') as zone, c.hosted_zone_id,
       coalesce(c.actor_person, regexp_extract(c.actor, '[^:/]+$'), '(unknown)') as who, c.account_id,
       count(*) as changes,
       count_if(c.action = 'CREATE') as created,
       count_if(c.action = 'UPSERT') as upserted,
       count_if(c.action = 'DELETE') as deleted,
       min(c.event_time) as first_change, max(c.event_time) as last_change,
       c.actor
from changes c
cross join params p
where c.event_date = p.day
  and c.applied
group by coalesce(c.zone_name, c.hosted_zone_id, '(no zone)'), c.hosted_zone_id,
         coalesce(c.actor_person, regexp_extract(c.actor, '[^:/]+$'), '(unknown)'), c.account_id, c.actor
order by zone nulls last, changes desc nulls last, who nulls last, c.account_id nulls last,
         c.hosted_zone_id nulls last, c.actor nulls last
