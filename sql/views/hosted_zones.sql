-- hosted_zones: one row per hosted zone id seen, with its name where any event tells it
-- (CreateHostedZone requests, hostedZone objects in GetHostedZone/CreateHostedZone responses,
-- ListHostedZones responses when CloudTrail logged them), and who created and deleted it.
create or replace view hosted_zones as
with named as (
    select hosted_zone_id, hosted_zone_name as zone_name, event_time
    from events_dedup
    where hosted_zone_name is not null and error_code is null
    union all
    select replace(json_extract_string(z, '$.id'), '/hostedzone/', ''),
           lower(json_extract_string(z, '$.name')), event_time
    from (select event_time, unnest(json_extract(response_elements, '$.hostedZones[*]')) as z
          from events_dedup where response_elements like '%hostedZones%')
    union all
    select replace(json_extract_string(response_elements, '$.hostedZone.id'), '/hostedzone/', ''),
           lower(json_extract_string(response_elements, '$.hostedZone.name')), event_time
    from events_dedup
    where response_elements like '%"hostedZone"%'
),
lifecycle as (
    select hosted_zone_id,
           min(case when event_name = 'CreateHostedZone' then event_time end) as created_at,
           min_by(case when event_name = 'CreateHostedZone' then coalesce(session_issuer_arn, user_identity_arn, user_identity_invoked_by) end,
                  case when event_name = 'CreateHostedZone' then event_time end) as created_by,
           max(case when event_name = 'DeleteHostedZone' then event_time end) as deleted_at,
           max_by(case when event_name = 'DeleteHostedZone' then coalesce(session_issuer_arn, user_identity_arn, user_identity_invoked_by) end,
                  case when event_name = 'DeleteHostedZone' then event_time end) as deleted_by,
           min(event_time) as first_seen,
           max(event_time) as last_seen
    from events_dedup
    where hosted_zone_id is not null and error_code is null
    group by hosted_zone_id
)
select l.hosted_zone_id,
       (select max_by(n.zone_name || case when n.zone_name like '%.' then '' else '.' end, n.event_time)
        from named n where n.hosted_zone_id = l.hosted_zone_id and n.zone_name is not null) as zone_name,
       l.created_at, l.created_by, l.deleted_at, l.deleted_by, l.first_seen, l.last_seen
from lifecycle l
