-- firewall_rule_group_associations: which VPCs a DNS Firewall rule group filters, over time: every call
-- that associates a rule group with a VPC, updates the association (priority, mutation protection,
-- name) or disassociates it, failed attempts included (applied false). Grain: one call. Key: event_id.
-- An association is association_id (rslvr-frgassoc-...); a call that does not state the group or the
-- VPC (a disassociation that failed, whose response is null) shows them as the association's last
-- applied call left them. Regional, like every Resolver call.
--   change   ASSOCIATE, UPDATE or DISASSOCIATE.
-- request_parameters and response_elements keep the call as CloudTrail wrote it (JSON text).
create or replace view firewall_rule_group_associations as
with stated as (
    select e.*,
           case lower(e.event_name)
               when 'associatefirewallrulegroup' then 'ASSOCIATE'
               when 'updatefirewallrulegroupassociation' then 'UPDATE'
               when 'disassociatefirewallrulegroup' then 'DISASSOCIATE'
           end as change,
           coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.id'),
                    json_extract_string(e.request_parameters, '$.firewallRuleGroupAssociationId')) as association_id,
           coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.firewallRuleGroupId'),
                    json_extract_string(e.request_parameters, '$.firewallRuleGroupId')) as stated_group,
           coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.vpcId'),
                    json_extract_string(e.request_parameters, '$.vpcId')) as stated_vpc,
           cast(coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.priority'),
                         json_extract_string(e.request_parameters, '$.priority')) as bigint) as stated_priority,
           upper(coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.mutationProtection'),
                          json_extract_string(e.request_parameters, '$.mutationProtection'))) as stated_protection,
           coalesce(json_extract_string(e.response_elements, '$.firewallRuleGroupAssociation.name'),
                    json_extract_string(e.request_parameters, '$.name')) as stated_name
    from callers e
    where e.event_source = 'route53resolver.amazonaws.com'
      and lower(e.event_name) in ('associatefirewallrulegroup', 'updatefirewallrulegroupassociation', 'disassociatefirewallrulegroup')
),
known as (
    select s.*,
           last_value(case when s.error_code is null then s.stated_group end ignore nulls)
               over (partition by coalesce(s.association_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_group,
           last_value(case when s.error_code is null then s.stated_vpc end ignore nulls)
               over (partition by coalesce(s.association_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_vpc,
           last_value(case when s.error_code is null then s.stated_priority end ignore nulls)
               over (partition by coalesce(s.association_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_priority,
           last_value(case when s.error_code is null then s.stated_protection end ignore nulls)
               over (partition by coalesce(s.association_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_protection,
           last_value(case when s.error_code is null then s.stated_name end ignore nulls)
               over (partition by coalesce(s.association_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_name
    from stated s
)
select k.event_time, k.event_date, k.event_id, k.event_name, k.change,
       k.error_code is null as applied, k.error_code,
       k.association_id,
       coalesce(k.stated_group, k.known_group) as firewall_rule_group_id,
       coalesce(k.stated_vpc, k.known_vpc) as vpc_id,
       coalesce(k.stated_priority, k.known_priority) as priority,
       coalesce(k.stated_protection, k.known_protection) as mutation_protection,
       coalesce(k.stated_name, k.known_name) as association_name,
       k.aws_region as region, k.recipient_account_id as account_id, k.actor, k.actor_person, k.source_ip_address, k.user_agent,
       k.event_source, k.request_parameters, k.response_elements
from known k
