-- events_dedup: one row per event_id across the whole lake. A day folder never holds two copies,
-- but CloudTrail can deliver a copy in two delivery days (e.g. an account trail and an organization
-- trail side by side); the copy kept is the first delivered (delivery_date, source_file, record_index).
create or replace view events_dedup as
select * exclude (copy_number)
from (
    select events.*,
           row_number() over (partition by event_id order by delivery_date, source_file, record_index) as copy_number
    from events
)
where copy_number = 1
