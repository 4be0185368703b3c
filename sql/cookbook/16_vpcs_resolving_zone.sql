-- Which VPCs can resolve a private hosted zone's names, and since when: the VPCs associated with it
-- now (by AssociateVPCWithHostedZone, or named when the zone was created), with their account and
-- region and who associated them; and the VPCs of other accounts authorized to associate (kind
-- 'authorization'), which can resolve it as soon as their owner associates them. cross_account: the
-- VPC is not of the zone's account (null: the lake cannot tell). As the lake knows it: an association
-- older than the lake is not here (see zone_vpc_associations).
-- Parameters (--param NAME=VALUE): zone, a zone name (the trailing dot optional) or hosted zone id
-- (default: every zone).
with params as (
    select cast(null as varchar) as zone
)
select a.zone_name, a.hosted_zone_id, a.kind, a.vpc_id, a.vpc_region, a.vpc_account_id, a.zone_account_id, a.cross_account,
       a.valid_from as since, a.event_name, a.actor, a.actor_person, a.comment
from zone_vpc_associations a
cross join params p
where a.current
  and (p.zone is null or a.hosted_zone_id = p.zone
       or a.zone_name = lower(p.zone) || case when p.zone like '%.' then '' else '.' end)
order by a.zone_name nulls last, a.hosted_zone_id nulls last, a.kind nulls last, a.vpc_id nulls last, a.event_id nulls last
