-- record_changes_dedup: the change rows of exactly the event copies events_dedup keeps.
create or replace view record_changes_dedup as
select c.*
from record_changes c
join events_dedup e
  on e.event_id = c.event_id and e.source_file = c.source_file and e.record_index = c.record_index
