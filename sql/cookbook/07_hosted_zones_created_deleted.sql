-- Hosted zones created and deleted, with the actor (failed attempts included, flagged).
select e.event_time, e.event_name, e.hosted_zone_id, e.zone_name, e.zone_name_source,
       e.actor, e.actor_person, e.source_ip_address, e.error_code
from api_calls e
where e.event_name in ('CreateHostedZone', 'DeleteHostedZone')
order by e.event_time nulls last, e.event_id nulls last
