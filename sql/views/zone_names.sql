-- zone_names: the name of each hosted zone the lake can name, and how it knows (zone_name_source):
--   'response'      stated by Route 53: a successful CreateHostedZone, or the hostedZone / hostedZones of
--                   a CreateHostedZone, GetHostedZone, UpdateHostedZoneComment, ListHostedZones or
--                   ListHostedZonesByName response (CloudTrail rarely logs the responses of reads).
--   'apex_record'   inferred: the name of an SOA record the zone's changes touched (SOA lives only at the
--                   apex), else the shortest NS set name that every record name of the zone is at or under.
--   'common_suffix' inferred: the longest common suffix, in whole labels and of at least two labels, of
--                   two or more distinct record names of the zone. The zone is that name or a parent of it.
-- One row per hosted_zone_id; zone_name lower case with a trailing dot. A zone nothing names has no row.
-- Reads the base tables: a duplicate delivery of an event names nothing new, and the plan stays small.
create or replace view zone_names as
with stated as (
    select hosted_zone_id, zone_name, event_time from zone_statements
),
record_names as (
    select hosted_zone_id, record_name_normalized as name, max(event_time) as seen_at
    from record_changes
    where error_code is null and hosted_zone_id is not null and record_name_normalized is not null
    group by hosted_zone_id, record_name_normalized
),
soa as (
    select hosted_zone_id, min(record_name_normalized) as zone_name, max(event_time) as seen_at
    from record_changes
    where error_code is null and record_type = 'SOA' and hosted_zone_id is not null
    group by hosted_zone_id
),
ns_sets as (
    select hosted_zone_id, record_name_normalized as name, max(event_time) as seen_at
    from record_changes
    where error_code is null and record_type = 'NS' and hosted_zone_id is not null
    group by hosted_zone_id, record_name_normalized
),
apex_ns as (
    -- an NS set also delegates subdomains: it is the apex only if no name of the zone lies outside it
    select ns.hosted_zone_id, ns.name, ns.seen_at
    from ns_sets ns
    join record_names r on r.hosted_zone_id = ns.hosted_zone_id
    group by ns.hosted_zone_id, ns.name, ns.seen_at
    having count_if(not (r.name = ns.name
                         or (length(r.name) > length(ns.name) and right(r.name, length(ns.name) + 1) = '.' || ns.name))) = 0
),
spread as (
    -- the longest common prefix of a set of strings is that of its least and its greatest member:
    -- reversed names give the common suffix; the leading '.' keeps whole labels
    select hosted_zone_id, min(reverse('.' || name)) as lo, max(reverse('.' || name)) as hi, max(seen_at) as seen_at
    from record_names
    group by hosted_zone_id
    having count(*) >= 2
),
shared as (
    select s.hosted_zone_id, reverse(substr(s.lo, 1, min(p.k) - 1)) as tail, s.seen_at
    from spread s
    cross join unnest(generate_series(1, 256)) as p(k)
    where p.k > length(s.lo) or p.k > length(s.hi) or substr(s.lo, p.k, 1) <> substr(s.hi, p.k, 1)
    group by s.hosted_zone_id, s.lo, s.seen_at
),
candidates as (
    select hosted_zone_id, case when zone_name like '%.' then zone_name else zone_name || '.' end as zone_name,
           'response' as zone_name_source, 1 as preference, event_time as seen_at
    from stated
    where hosted_zone_id is not null and zone_name is not null and zone_name <> ''
    union all
    select hosted_zone_id, zone_name, 'apex_record', 2, seen_at from soa
    union all
    select hosted_zone_id, name, 'apex_record', 3, seen_at from apex_ns
    union all
    select hosted_zone_id, substr(tail, strpos(tail, '.') + 1), 'common_suffix', 4, seen_at
    from shared
    where substr(tail, strpos(tail, '.') + 1) like '%_.%_.'
),
ranked as (
    select hosted_zone_id, zone_name, zone_name_source,
           row_number() over (partition by hosted_zone_id
                              order by preference, seen_at desc nulls last, length(zone_name), zone_name) as pick
    from candidates
)
select hosted_zone_id, zone_name, zone_name_source
from ranked
where pick = 1
