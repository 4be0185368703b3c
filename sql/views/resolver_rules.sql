-- resolver_rules: Route 53 Resolver rules over time: every call that creates, updates or deletes a
-- Resolver rule or associates it with a VPC or disassociates it, failed attempts included (applied
-- false). Grain: one call. Key: event_id. Resolver is regional (eventSource
-- route53resolver.amazonaws.com): its calls are in the region folders the run reads (--region).
--   change        CREATE, UPDATE, DELETE, ASSOCIATE (with vpc_id) or DISASSOCIATE (from vpc_id).
--   rule_name, domain_name, rule_type (FORWARD, SYSTEM, RECURSIVE), target_ips, resolver_endpoint_id:
--                 the rule as the call states it (the response's resolverRule is the whole rule after
--                 the call; a failed call states what it asked for), else as the last applied call
--                 before it left it (an association, an update of the targets only); null when no
--                 call in the lake says. domain_name as written (a response adds the trailing dot).
--   target_ips    the targets' addresses (ip, or ipv6), in order: the first 10 (the rest stay in the JSON).
--   public_target_ips  those of target_ips outside private address space: not RFC 1918, CGNAT
--                 (100.64.0.0/10), loopback, link-local (169.254.0.0/16, fe80::/10) or IPv6 ULA
--                 (fc00::/7). The one place this test is written (dns_risk reads this column).
--   forwards_outside  a FORWARD rule with public_target_ips, or forwarding '.' (every name), com, net, org,
--                 io or amazonaws.com (every AWS endpoint name) whatever its targets: the one place
--                 this is decided (dns_risk's resolver_forward_outside and the cookbook read it).
--   vpc_id, association_id, association_name: of ASSOCIATE and DISASSOCIATE.
-- request_parameters and response_elements keep the call as CloudTrail wrote it (JSON text).
create or replace view resolver_rules as
with calls as (
    select e.*,
           case lower(e.event_name)
               when 'createresolverrule' then 'CREATE'
               when 'updateresolverrule' then 'UPDATE'
               when 'deleteresolverrule' then 'DELETE'
               when 'associateresolverrule' then 'ASSOCIATE'
               when 'disassociateresolverrule' then 'DISASSOCIATE'
           end as change,
           coalesce(json_extract(e.response_elements, '$.resolverRule.targetIps'),
                    json_extract(e.request_parameters, '$.targetIps'),
                    json_extract(e.request_parameters, '$.config.targetIps')) as targets
    from callers e
    where e.event_source = 'route53resolver.amazonaws.com'
      and lower(e.event_name) in ('createresolverrule', 'updateresolverrule', 'deleteresolverrule',
                                  'associateresolverrule', 'disassociateresolverrule')
),
stated as (
    select c.*,
           coalesce(json_extract_string(c.response_elements, '$.resolverRule.id'),
                    json_extract_string(c.response_elements, '$.resolverRuleAssociation.resolverRuleId'),
                    json_extract_string(c.request_parameters, '$.resolverRuleId')) as rule_id,
           coalesce(json_extract_string(c.response_elements, '$.resolverRule.name'),
                    case when c.change = 'CREATE' then json_extract_string(c.request_parameters, '$.name') end,
                    json_extract_string(c.request_parameters, '$.config.name')) as stated_name,
           coalesce(json_extract_string(c.response_elements, '$.resolverRule.domainName'),
                    json_extract_string(c.request_parameters, '$.domainName')) as stated_domain,
           upper(coalesce(json_extract_string(c.response_elements, '$.resolverRule.ruleType'),
                          json_extract_string(c.request_parameters, '$.ruleType'))) as stated_type,
           case when c.targets is not null then list_filter([
               coalesce(json_extract_string(c.targets, '$[0].ip'), json_extract_string(c.targets, '$[0].ipv6')),
               coalesce(json_extract_string(c.targets, '$[1].ip'), json_extract_string(c.targets, '$[1].ipv6')),
               coalesce(json_extract_string(c.targets, '$[2].ip'), json_extract_string(c.targets, '$[2].ipv6')),
               coalesce(json_extract_string(c.targets, '$[3].ip'), json_extract_string(c.targets, '$[3].ipv6')),
               coalesce(json_extract_string(c.targets, '$[4].ip'), json_extract_string(c.targets, '$[4].ipv6')),
               coalesce(json_extract_string(c.targets, '$[5].ip'), json_extract_string(c.targets, '$[5].ipv6')),
               coalesce(json_extract_string(c.targets, '$[6].ip'), json_extract_string(c.targets, '$[6].ipv6')),
               coalesce(json_extract_string(c.targets, '$[7].ip'), json_extract_string(c.targets, '$[7].ipv6')),
               coalesce(json_extract_string(c.targets, '$[8].ip'), json_extract_string(c.targets, '$[8].ipv6')),
               coalesce(json_extract_string(c.targets, '$[9].ip'), json_extract_string(c.targets, '$[9].ipv6'))],
               lambda ip: ip is not null) end as stated_targets,
           coalesce(json_extract_string(c.response_elements, '$.resolverRule.resolverEndpointId'),
                    json_extract_string(c.request_parameters, '$.resolverEndpointId'),
                    json_extract_string(c.request_parameters, '$.config.resolverEndpointId')) as stated_endpoint
    from calls c
),
known as (
    -- the rule as the applied calls before this one left it
    select s.*,
           last_value(case when s.error_code is null then s.stated_name end ignore nulls)
               over (partition by coalesce(s.rule_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_name,
           last_value(case when s.error_code is null then s.stated_domain end ignore nulls)
               over (partition by coalesce(s.rule_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_domain,
           last_value(case when s.error_code is null then s.stated_type end ignore nulls)
               over (partition by coalesce(s.rule_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_type,
           last_value(case when s.error_code is null then s.stated_targets end ignore nulls)
               over (partition by coalesce(s.rule_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_targets,
           last_value(case when s.error_code is null then s.stated_endpoint end ignore nulls)
               over (partition by coalesce(s.rule_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_endpoint
    from stated s
),
resolved as (
    select k.*, coalesce(k.stated_targets, k.known_targets) as target_ips,
           coalesce(k.stated_domain, k.known_domain) as domain_name,
           coalesce(k.stated_type, k.known_type) as rule_type
    from known k
),
judged as (
    select r.*,
           list_filter(r.target_ips, lambda ip: not regexp_matches(lower(ip),
               '^(10[.]|192[.]168[.]|172[.](1[6-9]|2[0-9]|3[01])[.]|100[.](6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])[.]|169[.]254[.]|127[.]|f[cd][0-9a-f]{0,2}:|fe[89ab][0-9a-f]?:|::1$)'))
               as public_target_ips
    from resolved r
)
select r.event_time, r.event_date, r.event_id, r.event_name, r.change,
       r.error_code is null as applied, r.error_code,
       r.rule_id as resolver_rule_id,
       coalesce(r.stated_name, r.known_name) as rule_name,
       r.domain_name,
       r.rule_type,
       r.target_ips,
       r.public_target_ips,
       coalesce(r.rule_type = 'FORWARD'
                and (array_length(r.public_target_ips) > 0
                     or lower(r.domain_name) in ('.', 'com', 'com.', 'net', 'net.', 'org', 'org.', 'io', 'io.',
                                                 'amazonaws.com', 'amazonaws.com.')), false) as forwards_outside,
       coalesce(r.stated_endpoint, r.known_endpoint) as resolver_endpoint_id,
       case when r.change in ('ASSOCIATE', 'DISASSOCIATE')
            then coalesce(json_extract_string(r.response_elements, '$.resolverRuleAssociation.vPCId'),
                          json_extract_string(r.response_elements, '$.resolverRuleAssociation.vpcId'),
                          json_extract_string(r.request_parameters, '$.vPCId'),
                          json_extract_string(r.request_parameters, '$.vpcId')) end as vpc_id,
       json_extract_string(r.response_elements, '$.resolverRuleAssociation.id') as association_id,
       case when r.change = 'ASSOCIATE'
            then coalesce(json_extract_string(r.response_elements, '$.resolverRuleAssociation.name'),
                          json_extract_string(r.request_parameters, '$.name')) end as association_name,
       r.aws_region as region, r.recipient_account_id as account_id, r.actor, r.actor_person, r.source_ip_address, r.user_agent,
       r.event_source, r.request_parameters, r.response_elements
from judged r
