-- hosted_zones: one row per hosted zone id seen, with its name (zone_name_source says whether Route 53
-- stated it or the lake inferred it, see zone_names), and who created and deleted it.
create or replace view hosted_zones as
with lifecycle as (
    select hosted_zone_id,
           min(case when event_name = 'CreateHostedZone' then event_time end) as created_at,
           min_by(case when event_name = 'CreateHostedZone' then actor end,
                  case when event_name = 'CreateHostedZone' then event_time end) as created_by,
           max(case when event_name = 'DeleteHostedZone' then event_time end) as deleted_at,
           max_by(case when event_name = 'DeleteHostedZone' then actor end,
                  case when event_name = 'DeleteHostedZone' then event_time end) as deleted_by,
           min(event_time) as first_seen,
           max(event_time) as last_seen,
           max(recipient_account_id) as account_id
    from api_calls
    where hosted_zone_id is not null and error_code is null
    group by hosted_zone_id
)
select coalesce(l.hosted_zone_id, z.hosted_zone_id) as hosted_zone_id,
       z.zone_name,
       l.created_at, l.created_by, l.deleted_at, l.deleted_by, l.first_seen, l.last_seen,
       z.zone_name_source,
       l.account_id
from lifecycle l
full outer join zone_names z on z.hosted_zone_id = l.hosted_zone_id
