-- Every failed attempt to change Route 53 (any write call with an error), with its error and,
-- for change batches, each change it tried to make.
select e.event_time, e.event_name, e.error_code, e.error_message, e.hosted_zone_id, e.zone_name,
       e.actor, e.actor_person, e.source_ip_address,
       c.change_index, c.action, c.record_name_normalized as record_name, c.record_type
from api_calls e
left join changes c on c.event_id = e.event_id
where e.error_code is not null
  and coalesce(e.read_only, false) = false
order by e.event_time nulls last, e.event_id nulls last, c.change_index nulls first
