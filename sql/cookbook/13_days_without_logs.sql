-- Delivery days with no log file at all, per trail folder (account x region) that delivered at least
-- once in the window: a gap in CloudTrail delivery, a trail switched off, or a day the pipeline never read.
-- Parameters (--param NAME=VALUE): first_day and last_day (delivery days, UTC; default: the last 7
-- days and today).
with params as (
    select cast(current_date - interval '7' day as date) as first_day,
           cast(current_date as date) as last_day
),
days as (
    select cast(g.d as date) as day
    from params p
    cross join unnest(generate_series(p.first_day, p.last_day, interval 1 day)) as g(d)
),
folders as (
    select distinct f.account_id, f.region
    from source_files f
    cross join params p
    where f.delivery_date between p.first_day and p.last_day
),
delivered as (
    select distinct f.account_id, f.region, f.delivery_date
    from source_files f
    where f.was_read
)
select d.day, r.account_id, r.region
from days d
cross join folders r
left join delivered x on x.account_id = r.account_id and x.region = r.region and x.delivery_date = d.day
where x.delivery_date is null
order by d.day nulls last, r.account_id nulls last, r.region nulls last
