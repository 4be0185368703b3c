-- Every DELETE in a hosted zone (by zone name or id), with what was deleted and by whom.
-- A DELETE of a failed call (error_code set) did not take effect; it is listed so attempts are visible.
with params as (
    select 'example.com.' as zone
)
select c.event_time, c.record_name_normalized as record_name, c.record_type, c.set_identifier,
       c.ttl, c.resource_records, c.alias_dns_name,
       coalesce(c.session_issuer_arn, c.user_identity_arn, c.user_identity_invoked_by) as actor,
       c.source_ip_address, c.error_code
from record_changes_dedup c
left join hosted_zones z on z.hosted_zone_id = c.hosted_zone_id
cross join params p
where c.action = 'DELETE'
  and (z.zone_name = p.zone or c.hosted_zone_id = p.zone)
order by c.event_time, c.change_index
