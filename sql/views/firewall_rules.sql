-- firewall_rules: Route 53 Resolver DNS Firewall rules over time: every call that creates, updates or
-- deletes a rule, failed attempts included (applied false). Grain: one call. Key: event_id. A rule is
-- the pair (firewall_rule_group_id, firewall_domain_list_id), or (group, firewall_threat_protection_id)
-- for a DNS Firewall Advanced rule; its history is in event_time order per pair. Regional, like every
-- Resolver call. The group's VPC associations are in firewall_rule_group_associations.
--   change         CREATE, UPDATE or DELETE.
--   before_action  the rule's action (ALLOW, BLOCK, ALERT) before the call, as the last applied call
--                  left it (null when no earlier call in the lake says); for a DELETE, the action of
--                  the rule deleted (the response states it).
--   after_action   the action after the call (a failed call: the one it asked for); null after a DELETE.
--   rule_name, priority, block_response: as the call states them (the response's firewallRule is
--                  the whole rule after the call), else as the last applied call left them.
-- request_parameters and response_elements keep the call as CloudTrail wrote it (JSON text).
create or replace view firewall_rules as
with stated as (
    select e.*,
           case lower(e.event_name)
               when 'createfirewallrule' then 'CREATE'
               when 'updatefirewallrule' then 'UPDATE'
               when 'deletefirewallrule' then 'DELETE'
           end as change,
           coalesce(json_extract_string(e.response_elements, '$.firewallRule.firewallRuleGroupId'),
                    json_extract_string(e.request_parameters, '$.firewallRuleGroupId')) as group_id,
           coalesce(json_extract_string(e.response_elements, '$.firewallRule.firewallDomainListId'),
                    json_extract_string(e.request_parameters, '$.firewallDomainListId')) as domain_list_id,
           coalesce(json_extract_string(e.response_elements, '$.firewallRule.firewallThreatProtectionId'),
                    json_extract_string(e.request_parameters, '$.firewallThreatProtectionId')) as threat_protection_id,
           upper(coalesce(json_extract_string(e.response_elements, '$.firewallRule.action'),
                          json_extract_string(e.request_parameters, '$.action'))) as stated_action,
           coalesce(json_extract_string(e.response_elements, '$.firewallRule.name'),
                    json_extract_string(e.request_parameters, '$.name')) as stated_name,
           cast(coalesce(json_extract_string(e.response_elements, '$.firewallRule.priority'),
                         json_extract_string(e.request_parameters, '$.priority')) as bigint) as stated_priority,
           upper(coalesce(json_extract_string(e.response_elements, '$.firewallRule.blockResponse'),
                          json_extract_string(e.request_parameters, '$.blockResponse'))) as stated_block_response
    from callers e
    where e.event_source = 'route53resolver.amazonaws.com'
      and lower(e.event_name) in ('createfirewallrule', 'updatefirewallrule', 'deletefirewallrule')
),
known as (
    -- the rule as the applied calls before this one left it
    select s.*,
           last_value(case when s.error_code is null and s.change <> 'DELETE' then s.stated_action end ignore nulls)
               over (partition by s.group_id, coalesce(s.domain_list_id, s.threat_protection_id, s.event_id)
                     order by s.event_time, s.event_id rows between unbounded preceding and 1 preceding) as known_action,
           last_value(case when s.error_code is null then s.stated_name end ignore nulls)
               over (partition by s.group_id, coalesce(s.domain_list_id, s.threat_protection_id, s.event_id)
                     order by s.event_time, s.event_id rows between unbounded preceding and 1 preceding) as known_name,
           last_value(case when s.error_code is null then s.stated_priority end ignore nulls)
               over (partition by s.group_id, coalesce(s.domain_list_id, s.threat_protection_id, s.event_id)
                     order by s.event_time, s.event_id rows between unbounded preceding and 1 preceding) as known_priority,
           last_value(case when s.error_code is null then s.stated_block_response end ignore nulls)
               over (partition by s.group_id, coalesce(s.domain_list_id, s.threat_protection_id, s.event_id)
                     order by s.event_time, s.event_id rows between unbounded preceding and 1 preceding) as known_block_response
    from stated s
)
select k.event_time, k.event_date, k.event_id, k.event_name, k.change,
       k.error_code is null as applied, k.error_code,
       k.group_id as firewall_rule_group_id, k.domain_list_id as firewall_domain_list_id,
       k.threat_protection_id as firewall_threat_protection_id,
       coalesce(k.stated_name, k.known_name) as rule_name,
       case when k.change = 'DELETE' then coalesce(k.stated_action, k.known_action) else k.known_action end as before_action,
       case when k.change <> 'DELETE' then coalesce(k.stated_action, k.known_action) end as after_action,
       coalesce(k.stated_priority, k.known_priority) as priority,
       coalesce(k.stated_block_response, k.known_block_response) as block_response,
       k.aws_region as region, k.recipient_account_id as account_id, k.actor, k.actor_person, k.source_ip_address, k.user_agent,
       k.event_source, k.request_parameters, k.response_elements
from known k
