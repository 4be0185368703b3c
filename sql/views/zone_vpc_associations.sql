-- zone_vpc_associations: which VPCs a private hosted zone answers in (kind 'association'), and which
-- VPCs of other accounts may be associated with it (kind 'authorization'), over time.
-- Grain: one row per call, applied or attempted: AssociateVPCWithHostedZone, DisassociateVPCFromHostedZone,
-- CreateHostedZone of a private zone (its first VPC), CreateVPCAssociationAuthorization and
-- DeleteVPCAssociationAuthorization. Key: event_id. Each call names one zone and one VPC.
--   grants           true for a call that associates or authorizes, false for one that takes it back.
--   valid_from, valid_until   for an applied grant: from its time until the next applied call on the same
--                    (kind, zone, VPC), or the zone's deletion; null until then. current: still in force.
--   zone_account_id  the zone's owner: the account of the zone's applied calls other than associations
--                    (only the owner creates, changes or authorizes); null when the lake saw none.
--   vpc_account_id   the VPC's owner: the caller's account for an association or a private CreateHostedZone
--                    (Route 53 lets only the VPC's owner associate it); for a disassociation or an
--                    authorization (the request names no account) the account that associated that VPC
--                    anywhere in the lake; null when unknown.
--   cross_account    the VPC's account is not the zone's; null when either is unknown. An authorization
--                    exists only for another account's VPC: see dns_risk's cross_account_vpc_association.
-- Request keys are read as CloudTrail writes them (vPC.vPCId) and as some tools do (VPC.VPCId);
-- an authorization's response repeats the VPC, read when the request is null.
create or replace view zone_vpc_associations as
with seen as (
    select e.*,
           coalesce(json_extract_string(e.request_parameters, '$.vPC.vPCId'), json_extract_string(e.request_parameters, '$.VPC.VPCId'),
                    json_extract_string(e.request_parameters, '$.vPC.VPCId'), json_extract_string(e.response_elements, '$.vPC.vPCId'),
                    json_extract_string(e.response_elements, '$.VPC.VPCId')) as vpc_id,
           coalesce(json_extract_string(e.request_parameters, '$.vPC.vPCRegion'), json_extract_string(e.request_parameters, '$.VPC.VPCRegion'),
                    json_extract_string(e.request_parameters, '$.vPC.VPCRegion'), json_extract_string(e.response_elements, '$.vPC.vPCRegion'),
                    json_extract_string(e.response_elements, '$.VPC.VPCRegion')) as vpc_region
    from api_calls e
    where e.hosted_zone_id is not null
       or e.event_name in ('AssociateVPCWithHostedZone', 'DisassociateVPCFromHostedZone',
                           'CreateVPCAssociationAuthorization', 'DeleteVPCAssociationAuthorization')
),
calls as (
    select s.*,
           case when s.event_name in ('CreateVPCAssociationAuthorization', 'DeleteVPCAssociationAuthorization')
                then 'authorization' else 'association' end as kind,
           s.event_name in ('AssociateVPCWithHostedZone', 'CreateHostedZone', 'CreateVPCAssociationAuthorization') as grants,
           s.event_name in ('AssociateVPCWithHostedZone', 'CreateHostedZone') as by_vpc_owner
    from seen s
    where s.event_name in ('AssociateVPCWithHostedZone', 'DisassociateVPCFromHostedZone',
                           'CreateVPCAssociationAuthorization', 'DeleteVPCAssociationAuthorization')
       or (s.event_name = 'CreateHostedZone' and s.vpc_id is not null)
),
zones as (
    select hosted_zone_id,
           min(case when event_name not in ('AssociateVPCWithHostedZone', 'DisassociateVPCFromHostedZone')
                    then recipient_account_id end) as zone_account_id,
           max(case when event_name = 'DeleteHostedZone' then event_time end) as deleted_at
    from seen
    where error_code is null and hosted_zone_id is not null
    group by hosted_zone_id
),
vpcs as (
    select vpc_id, min(coalesce(user_identity_account_id, recipient_account_id)) as vpc_account_id
    from calls
    where by_vpc_owner and error_code is null and vpc_id is not null
    group by vpc_id
),
placed as (
    select c.*, z.zone_account_id, z.deleted_at as zone_deleted_at,
           case when c.vpc_id is null then null
                when c.by_vpc_owner then coalesce(c.user_identity_account_id, c.recipient_account_id)
                else v.vpc_account_id end as vpc_account_id,
           lead(c.event_time) over (partition by c.kind, c.hosted_zone_id, c.vpc_id, c.error_code is null
                                    order by c.event_time, c.event_id) as next_applied_at
    from calls c
    left join zones z on z.hosted_zone_id = c.hosted_zone_id
    left join vpcs v on v.vpc_id = c.vpc_id
)
select p.kind, p.event_time, p.event_date, p.event_id, p.event_name, p.grants,
       p.error_code is null as applied, p.error_code,
       p.hosted_zone_id, p.zone_name, p.zone_name_source, p.zone_account_id,
       p.vpc_id, p.vpc_region, p.vpc_account_id,
       p.vpc_account_id <> p.zone_account_id as cross_account,
       case when p.error_code is null and p.grants then p.event_time end as valid_from,
       case when p.error_code is not null or not p.grants then null
            when p.next_applied_at is not null
                 and (p.zone_deleted_at is null or p.next_applied_at <= p.zone_deleted_at) then p.next_applied_at
            else p.zone_deleted_at end as valid_until,
       p.error_code is null and p.grants and p.next_applied_at is null and p.zone_deleted_at is null as current,
       coalesce(json_extract_string(p.request_parameters, '$.comment'),
                json_extract_string(p.request_parameters, '$.hostedZoneConfig.comment')) as comment,
       p.actor, p.actor_person, p.account_id, p.source_ip_address, p.user_agent, p.event_source,
       p.request_parameters, p.response_elements
from placed p
