-- firewall_changes: the other DNS Firewall changes, failed attempts included (applied false): a VPC's
-- firewall configuration (UpdateFirewallConfig: fail-open) and the domain lists (Create-,
-- DeleteFirewallDomainList; UpdateFirewallDomains; ImportFirewallDomains, which replaces the list
-- with a file's). Grain: one call. Key: event_id. Regional, like every Resolver call.
--   kind               'config' or 'domain_list'.
--   operation          of a domain list: ADD, REMOVE, REPLACE (as sent; an import always replaces),
--                      CREATE or DELETE; null for a config.
--   resource_id, firewall_fail_open: of a config: the VPC, and ENABLED or DISABLED as sent.
--   domains            the domains sent, the first 10 (domain_count says how many; request_parameters
--                      keeps them all); domain_file_url: an import's file.
-- request_parameters and response_elements keep the call as CloudTrail wrote it (JSON text).
create or replace view firewall_changes as
with calls as (
    select e.*, lower(e.event_name) as name_lower, json_extract(e.request_parameters, '$.domains') as sent_domains
    from callers e
    where e.event_source = 'route53resolver.amazonaws.com'
      and lower(e.event_name) in ('updatefirewallconfig', 'updatefirewalldomains', 'importfirewalldomains',
                                  'createfirewalldomainlist', 'deletefirewalldomainlist')
)
select c.event_time, c.event_date, c.event_id, c.event_name,
       case when c.name_lower = 'updatefirewallconfig' then 'config' else 'domain_list' end as kind,
       c.error_code is null as applied, c.error_code,
       case c.name_lower
           when 'createfirewalldomainlist' then 'CREATE'
           when 'deletefirewalldomainlist' then 'DELETE'
           when 'importfirewalldomains' then coalesce(upper(json_extract_string(c.request_parameters, '$.operation')), 'REPLACE')
           when 'updatefirewalldomains' then upper(json_extract_string(c.request_parameters, '$.operation'))
       end as operation,
       coalesce(json_extract_string(c.request_parameters, '$.resourceId'),
                json_extract_string(c.response_elements, '$.firewallConfig.resourceId')) as resource_id,
       upper(coalesce(json_extract_string(c.request_parameters, '$.firewallFailOpen'),
                      json_extract_string(c.response_elements, '$.firewallConfig.firewallFailOpen'))) as firewall_fail_open,
       coalesce(json_extract_string(c.request_parameters, '$.firewallDomainListId'),
                json_extract_string(c.response_elements, '$.firewallDomainList.id'),
                json_extract_string(c.response_elements, '$.id')) as firewall_domain_list_id,
       coalesce(json_extract_string(c.response_elements, '$.firewallDomainList.name'),
                json_extract_string(c.request_parameters, '$.name'),
                json_extract_string(c.response_elements, '$.name')) as domain_list_name,
       case when c.sent_domains is not null then list_filter([
           json_extract_string(c.sent_domains, '$[0]'), json_extract_string(c.sent_domains, '$[1]'),
           json_extract_string(c.sent_domains, '$[2]'), json_extract_string(c.sent_domains, '$[3]'),
           json_extract_string(c.sent_domains, '$[4]'), json_extract_string(c.sent_domains, '$[5]'),
           json_extract_string(c.sent_domains, '$[6]'), json_extract_string(c.sent_domains, '$[7]'),
           json_extract_string(c.sent_domains, '$[8]'), json_extract_string(c.sent_domains, '$[9]')],
           lambda d: d is not null) end as domains,
       cast(json_array_length(c.sent_domains) as bigint) as domain_count,
       json_extract_string(c.request_parameters, '$.domainFileUrl') as domain_file_url,
       c.aws_region as region, c.recipient_account_id as account_id, c.actor, c.actor_person, c.source_ip_address, c.user_agent,
       c.event_source, c.request_parameters, c.response_elements
from calls c
