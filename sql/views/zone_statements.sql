-- zone_statements: every statement of a hosted zone's name by Route 53, one row each: the zone a
-- successful call names (hosted_zone_name), and the hostedZone / hostedZones of its response
-- (CreateHostedZone, GetHostedZone, UpdateHostedZoneComment, ListHostedZones, ListHostedZonesByName).
-- zone_names reads it; a night's history keeps the latest statement of each (zone, name)
-- (flows/query/history_keep.py). Reads the base tables, as zone_names does.
create or replace view zone_statements as
    select event_id, hosted_zone_id, hosted_zone_name as zone_name, event_time
    from events
    where error_code is null and hosted_zone_name is not null
    union all
    select event_id, replace(json_extract_string(response_elements, '$.hostedZone.id'), '/hostedzone/', ''),
           lower(json_extract_string(response_elements, '$.hostedZone.name')), event_time
    from events
    where error_code is null and response_elements like '%"hostedZone"%'
    union all
    -- one path per list position: a page lists at most 100 zones (MaxItems), and a JSON path can be
    -- spelled in every engine where casting JSON to an array cannot
    select e.event_id, replace(json_extract_string(e.response_elements, '$.hostedZones[' || cast(i.n as varchar) || '].id'), '/hostedzone/', ''),
           lower(json_extract_string(e.response_elements, '$.hostedZones[' || cast(i.n as varchar) || '].name')),
           e.event_time
    from events e
    cross join unnest(generate_series(0, 99)) as i(n)
    where e.error_code is null and e.response_elements like '%"hostedZones"%'
