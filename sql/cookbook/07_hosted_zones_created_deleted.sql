-- Hosted zones created and deleted, with the actor (failed attempts included, flagged).
select e.event_time, e.event_name, e.hosted_zone_id, z.zone_name,
       coalesce(e.session_issuer_arn, e.user_identity_arn, e.user_identity_invoked_by) as actor,
       e.source_ip_address, e.error_code
from events_dedup e
left join hosted_zones z on z.hosted_zone_id = e.hosted_zone_id
where e.event_name in ('CreateHostedZone', 'DeleteHostedZone')
order by e.event_time
