-- dns_risk: every applied or attempted change (and every risky API call) an on-call engineer or a
-- security team should see, one row per rule that flagged it, with the rule, its severity and reason
-- (dns_risk_rules, documented in docs/dns-risk.md) and a detail of what changed. applied is false for
-- a call that failed. Key: (rule, event_id, change_index); change_index is null for rules on a whole call.
-- Rules on one change (apex_ns_soa, mx_change, email_auth_txt, wildcard, record_deleted,
-- takeover_prone_target, new_actor_in_zone) see failed attempts too; rules comparing with the state
-- before (alias_target_moved, target_left_aws, ttl_drop, traffic_shift) see applied UPSERTs only, from record_history.
-- Domain, query-logging, Resolver and DNS Firewall rules need those event sources in the lake, which the
-- default reads (the Route 53 family, in every region). Names compare lower case. record_name is the normalized
-- name (also as record_name_normalized, as in every view); record_name_as_sent is the name as written.
-- Each source view is read once (engines plan every reference of a view anew).
-- cross_account_vpc_association (from zone_vpc_associations), health_check_removed_in_use (health_checks
-- against the record sets' states in record_history) and the domain settings rules (domain_auto_renew_disabled,
-- domain_contact_changed, domain_privacy_disabled) are whole calls, failed attempts included: family_flags.
create or replace view dns_risk as
with change_facts as (
    select c.*,
           lower(coalesce(array_to_string(c.resource_records, ' '), '')) as value_text,
           coalesce(array_to_string(c.resource_records, ', '), 'ALIAS ' || c.alias_dns_name, '') as value_shown,
           min(c.event_time) over (partition by c.hosted_zone_id, coalesce(c.actor, '(unknown)')) as actor_first_change,
           min(c.event_time) over (partition by c.hosted_zone_id) as zone_first_change
    from changes c
),
change_flags as (
    select r.rule, f.event_time, f.event_date, f.event_id, f.change_index, f.error_code, f.event_source, f.event_name,
           f.recipient_account_id as account_id, f.hosted_zone_id, f.zone_name, f.zone_name_source,
           f.record_name_normalized as record_name, f.record_type, f.action, cast(null as varchar) as domain_name,
           case r.rule
               when 'email_auth_txt' then f.action || ' '
                   || case when substr(f.record_name_normalized, 1, 7) = '_dmarc.' or f.value_text like '%v=dmarc1%' then 'DMARC'
                           when strpos(f.record_name_normalized, '._domainkey.') > 0 or f.value_text like '%v=dkim1%' then 'DKIM'
                           else 'SPF' end
                   || ' ' || f.value_shown
               when 'takeover_prone_target' then f.action || ' ' || f.record_type || ' -> ' || f.value_shown
               when 'new_actor_in_zone' then 'first change by ' || coalesce(f.actor, '(unknown)') || ' in the zone'
               else f.action || ' ' || f.record_type || ' ' || f.value_shown
           end as detail,
           f.actor, f.actor_person, f.source_ip_address, f.user_agent, f.record_name as record_name_as_sent
    from change_facts f
    cross join dns_risk_rules r
    where (r.rule = 'apex_ns_soa'
           and (f.record_type = 'SOA' or (f.record_type = 'NS' and (f.zone_name is null or f.record_name_normalized = f.zone_name))))
       or (r.rule = 'mx_change' and f.record_type = 'MX')
       or (r.rule = 'email_auth_txt' and f.record_type in ('TXT', 'SPF')
           and (f.record_type = 'SPF'
                or substr(f.record_name_normalized, 1, 7) = '_dmarc.'
                or strpos(f.record_name_normalized, '._domainkey.') > 0
                or f.value_text like '%v=spf1%' or f.value_text like '%v=dmarc1%' or f.value_text like '%v=dkim1%'))
       or (r.rule = 'wildcard' and substr(f.record_name_normalized, 1, 2) = '*.')
       or (r.rule = 'record_deleted' and f.action = 'DELETE')
       or (r.rule = 'takeover_prone_target' and f.action <> 'DELETE'
           and ((f.record_type = 'CNAME'
                 and regexp_matches(f.value_text,
                     '([.]|^)(s3-website[.-][a-z0-9.-]*amazonaws[.]com|s3[.]amazonaws[.]com|s3[.][a-z0-9-]+[.]amazonaws[.]com|cloudfront[.]net|elasticbeanstalk[.]com|herokuapp[.]com|herokudns[.]com|azurewebsites[.]net|cloudapp[.]net|cloudapp[.]azure[.]com|trafficmanager[.]net|blob[.]core[.]windows[.]net|azureedge[.]net|azurefd[.]net|github[.]io|gitlab[.]io|bitbucket[.]io|netlify[.]app|netlify[.]com|vercel[.]app|pages[.]dev|fly[.]dev|onrender[.]com|firebaseapp[.]com|web[.]app|appspot[.]com|storage[.]googleapis[.]com|pantheonsite[.]io|myshopify[.]com|zendesk[.]com|readthedocs[.]io|ghost[.]io|surge[.]sh|wordpress[.]com|unbouncepages[.]com|helpscoutdocs[.]com|statuspage[.]io)[.]?$'))
                or regexp_matches(lower(coalesce(f.alias_dns_name, '')), '(^|[.])s3-website[.-]')))
       or (r.rule = 'new_actor_in_zone' and f.hosted_zone_id is not null
           and f.event_time = f.actor_first_change and f.actor_first_change > f.zone_first_change)
),
history_facts as (
    -- target_known: a CNAME into a zone the lake knows is not outside, wherever that zone is hosted
    -- (a left join finds such zones; one row per change is kept)
    select h.*,
           lower(coalesce(array_to_string(h.before_values, ' '), '')) as before_text,
           lower(coalesce(array_to_string(h.after_values, ' '), '')) as after_text,
           min(h.event_time) over (partition by h.account_id, lower(h.after_alias_dns_name)) as target_first_used,
           max(case when z.zone_name is null then 0 else 1 end) over (partition by h.event_id, h.change_index) as target_known,
           row_number() over (partition by h.event_id, h.change_index order by z.zone_name) as zone_match
    from record_history h
    left join zone_names z
           on h.record_type = 'CNAME'
          and (lower(coalesce(array_to_string(h.after_values, ' '), '')) = z.zone_name
               or (length(lower(coalesce(array_to_string(h.after_values, ' '), ''))) > length(z.zone_name)
                   and right(lower(coalesce(array_to_string(h.after_values, ' '), '')), length(z.zone_name) + 1) = '.' || z.zone_name))
),
history_flags as (
    select r.rule, f.event_time, f.event_date, f.event_id, f.change_index, cast(null as varchar) as error_code,
           f.event_source, f.event_name, f.account_id, f.hosted_zone_id, f.zone_name, f.zone_name_source,
           f.record_name_normalized as record_name, f.record_type, f.action, cast(null as varchar) as domain_name,
           case r.rule
               when 'alias_target_moved' then 'ALIAS ' || f.before_alias_dns_name || ' -> ' || f.after_alias_dns_name
                   || case when f.before_alias_hosted_zone_id is distinct from f.after_alias_hosted_zone_id
                           then ' (endpoint zone ' || coalesce(f.before_alias_hosted_zone_id, '?') || ' -> '
                                || coalesce(f.after_alias_hosted_zone_id, '?') || ')'
                           else ' (first use of this target in the account)' end
               when 'target_left_aws' then coalesce('ALIAS ' || f.before_alias_dns_name, f.before_text) || ' -> ' || f.after_text
               when 'traffic_shift' then concat_ws('; ',
                   case when f.before_weight <> f.after_weight
                        then 'weight ' || cast(f.before_weight as varchar) || ' -> ' || cast(f.after_weight as varchar) end,
                   case when f.before_failover <> f.after_failover then 'failover ' || f.before_failover || ' -> ' || f.after_failover end,
                   case when f.before_health_check_id is not null and f.after_health_check_id is null
                        then 'health check ' || f.before_health_check_id || ' removed' end)
                   || coalesce(' (set ' || f.set_identifier || ')', '')
               else 'TTL ' || cast(f.before_ttl as varchar) || ' -> ' || cast(f.after_ttl as varchar)
           end as detail,
           f.actor, f.actor_person, f.source_ip_address, f.user_agent, f.record_name_as_sent
    from history_facts f
    cross join dns_risk_rules r
    where f.action = 'UPSERT' and f.zone_match = 1
      and ((r.rule = 'alias_target_moved'
            and f.before_alias_dns_name is not null and f.after_alias_dns_name is not null
            and lower(f.before_alias_dns_name) <> lower(f.after_alias_dns_name)
            and (f.before_alias_hosted_zone_id is distinct from f.after_alias_hosted_zone_id
                 or f.target_first_used = f.event_time))
        or (r.rule = 'ttl_drop' and f.before_known and f.after_ttl < f.before_ttl)
        or (r.rule = 'traffic_shift' and f.before_known
            and (f.before_weight <> f.after_weight
                 or f.before_failover <> f.after_failover
                 or (f.before_health_check_id is not null and f.after_health_check_id is null)))
        or (r.rule = 'target_left_aws'
            and (f.before_alias_dns_name is not null
                 or (f.record_type = 'CNAME' and regexp_matches(f.before_text,
                     '[.](amazonaws[.]com|amazonaws[.]com[.]cn|cloudfront[.]net|awsglobalaccelerator[.]com|elasticbeanstalk[.]com|on[.]aws|api[.]aws|awsapprunner[.]com|amplifyapp[.]com)[.]?$')))
            and f.after_alias_dns_name is null and f.after_values is not null
            and (f.record_type <> 'CNAME'
                 or (f.target_known = 0 and not regexp_matches(f.after_text,
                     '[.](amazonaws[.]com|amazonaws[.]com[.]cn|cloudfront[.]net|awsglobalaccelerator[.]com|elasticbeanstalk[.]com|on[.]aws|api[.]aws|awsapprunner[.]com|amplifyapp[.]com)[.]?$')))))
),
call_facts as (
    select e.*,
           min(case when e.error_code is null and not coalesce(e.read_only, false) then e.event_time end)
               over (partition by coalesce(e.actor, '(unknown)')) as actor_first_write
    from api_calls e
),
call_level as (
    select r.rule, f.event_id,
           case r.rule
               when 'failed_by_unknown_principal' then f.event_name || ' failed with ' || f.error_code
                   || '; no earlier successful write by ' || coalesce(f.actor, '(unknown)')
               when 'zone_deleted' then 'DeleteHostedZone ' || coalesce(f.zone_name, f.hosted_zone_id, '?')
               when 'dnssec_disabled' then f.event_name || ' ' || coalesce(f.zone_name, f.hosted_zone_id, '?')
               else f.event_name
           end as detail,
           f.event_time, f.event_date, f.error_code, f.event_source, f.event_name, f.recipient_account_id, f.hosted_zone_id,
           f.zone_name, f.zone_name_source, f.request_parameters, f.actor, f.actor_person, f.source_ip_address, f.user_agent
    from call_facts f
    cross join dns_risk_rules r
    where (r.rule = 'failed_by_unknown_principal' and f.error_code is not null and not coalesce(f.read_only, false)
           and (f.actor_first_write is null or f.actor_first_write > f.event_time))
       or (r.rule = 'zone_deleted' and f.event_name = 'DeleteHostedZone')
       or (r.rule = 'dnssec_disabled'
           and lower(f.event_name) in ('disablehostedzonednssec', 'deactivatekeysigningkey', 'deletekeysigningkey'))
       or (r.rule = 'domain_transfer'
           and lower(f.event_name) in ('disabledomaintransferlock', 'transferdomain', 'transferdomaintoanotherawsaccount',
                                       'retrievedomainauthcode'))
       or (r.rule = 'domain_nameservers' and lower(f.event_name) = 'updatedomainnameservers')
       or (r.rule = 'query_logging_disabled'
           and lower(f.event_name) in ('deletequeryloggingconfig', 'deleteresolverquerylogconfig', 'disassociateresolverquerylogconfig'))
),
vpc_flags as (
    -- cross_account_vpc_association: a grant (association or authorization) whose VPC is not of the
    -- zone's account, or where the lake cannot say (see zone_vpc_associations)
    select 'cross_account_vpc_association' as rule, a.event_time, a.event_date, a.event_id, cast(null as bigint) as change_index,
           a.error_code, a.event_source, a.event_name, a.account_id, a.hosted_zone_id, a.zone_name, a.zone_name_source,
           cast(null as varchar) as record_name, cast(null as varchar) as record_type, cast(null as varchar) as action,
           cast(null as varchar) as domain_name,
           a.event_name || ' ' || a.vpc_id || ' (' || coalesce(a.vpc_region, '?') || ', account '
               || coalesce(a.vpc_account_id, 'unknown') || ') '
               || case when a.kind = 'authorization' then 'authorized for' else 'with' end
               || ' zone ' || coalesce(a.zone_name, a.hosted_zone_id) || ' (account '
               || coalesce(a.zone_account_id, 'unknown to the lake') || ')' as detail,
           a.actor, a.actor_person, a.source_ip_address, a.user_agent, cast(null as varchar) as record_name_as_sent
    from zone_vpc_associations a
    where a.grants and a.vpc_id is not null and a.hosted_zone_id is not null and coalesce(a.cross_account, true)
),
check_calls as (
    -- health_check_removed_in_use: a delete, or an update that disables or inverts the check
    select c.*
    from health_checks c
    where c.health_check_id is not null
      and (c.event_name = 'DeleteHealthCheck'
           or (c.event_name = 'UpdateHealthCheck'
               and ((coalesce(c.disabled, false) and c.before_disabled is distinct from true)
                    or (coalesce(c.inverted, false) and c.before_inverted is distinct from true))))
),
record_states as (
    -- each applied state of a record set, and when the next change replaced it
    select h.hosted_zone_id, h.zone_name, h.zone_name_source, h.record_name_normalized, h.record_name_as_sent, h.record_type,
           h.set_identifier, h.after_health_check_id, h.event_time,
           lead(h.event_time) over (partition by h.hosted_zone_id, h.record_name_normalized, h.record_type, coalesce(h.set_identifier, '')
                                    order by h.event_time, h.event_id, h.change_index) as replaced_at
    from history_facts h
    where h.zone_match = 1
),
check_uses as (
    select c.*, s.hosted_zone_id as record_zone_id, s.zone_name as record_zone_name, s.zone_name_source as record_zone_name_source,
           s.record_name_normalized, s.record_name_as_sent, s.record_type, s.set_identifier,
           count(*) over (partition by c.event_id) as record_sets,
           row_number() over (partition by c.event_id
                              order by s.record_name_normalized, s.record_type, s.set_identifier, s.hosted_zone_id) as record_pick
    from check_calls c
    join record_states s
      on s.after_health_check_id = c.health_check_id and s.event_time <= c.event_time
     and (s.replaced_at is null or s.replaced_at > c.event_time)
),
check_flags as (
    select 'health_check_removed_in_use' as rule, u.event_time, u.event_date, u.event_id, cast(null as bigint) as change_index,
           u.error_code, u.event_source, u.event_name, u.account_id, u.record_zone_id, u.record_zone_name, u.record_zone_name_source,
           u.record_name_normalized, u.record_type, cast(null as varchar) as action, cast(null as varchar) as domain_name,
           u.event_name || ' ' || u.health_check_id
               || case when u.event_name = 'UpdateHealthCheck'
                       then ' (' || concat_ws(', ', case when u.disabled then 'disabled' end, case when u.inverted then 'inverted' end) || ')'
                       else '' end
               || ' while ' || cast(u.record_sets as varchar) || ' record set(s) name it: ' || u.record_name_normalized || ' '
               || u.record_type || coalesce(' (set ' || u.set_identifier || ')', '') as detail,
           u.actor, u.actor_person, u.source_ip_address, u.user_agent, u.record_name_as_sent
    from check_uses u
    where u.record_pick = 1
),
domain_flags as (
    -- domain_auto_renew_disabled, domain_contact_changed, domain_privacy_disabled: route53domains calls
    select r.rule, f.event_time, f.event_date, f.event_id, cast(null as bigint) as change_index, f.error_code, f.event_source,
           f.event_name, f.recipient_account_id, f.hosted_zone_id, f.zone_name, f.zone_name_source,
           cast(null as varchar) as record_name, cast(null as varchar) as record_type, cast(null as varchar) as action,
           coalesce(json_extract_string(f.request_parameters, '$.domainName.name'),
                    json_extract_string(f.request_parameters, '$.domainName')) as domain_name,
           f.event_name || ' ' || coalesce(json_extract_string(f.request_parameters, '$.domainName.name'),
                                           json_extract_string(f.request_parameters, '$.domainName'), '(domain not logged)')
               || case r.rule
                      when 'domain_contact_changed' then ': CloudTrail does not log the new contacts; check the registrant and admin e-mail'
                      when 'domain_privacy_disabled' then ': privacy off for ' || concat_ws(', ',
                          case when json_extract_string(f.request_parameters, '$.registrantPrivacy') = 'false' then 'registrant' end,
                          case when json_extract_string(f.request_parameters, '$.adminPrivacy') = 'false' then 'admin' end,
                          case when json_extract_string(f.request_parameters, '$.techPrivacy') = 'false' then 'tech' end,
                          case when json_extract_string(f.request_parameters, '$.billingPrivacy') = 'false' then 'billing' end)
                      else '' end as detail,
           f.actor, f.actor_person, f.source_ip_address, f.user_agent, cast(null as varchar) as record_name_as_sent
    from call_facts f
    cross join dns_risk_rules r
    where (r.rule = 'domain_auto_renew_disabled' and lower(f.event_name) = 'disabledomainautorenew')
       or (r.rule = 'domain_contact_changed' and lower(f.event_name) = 'updatedomaincontact')
       or (r.rule = 'domain_privacy_disabled' and lower(f.event_name) = 'updatedomaincontactprivacy'
           and 'false' in (json_extract_string(f.request_parameters, '$.registrantPrivacy'),
                           json_extract_string(f.request_parameters, '$.adminPrivacy'),
                           json_extract_string(f.request_parameters, '$.techPrivacy'),
                           json_extract_string(f.request_parameters, '$.billingPrivacy')))
),
family_flags as (
    select * from vpc_flags
    union all
    select * from check_flags
    union all
    select * from domain_flags
),
resolver_flags as (
    -- Route 53 Resolver and DNS Firewall rules, on the views of their calls (failed attempts too).
    select r.rule, f.event_time, f.event_date, f.event_id, f.error_code, f.event_source, f.event_name, f.account_id,
           f.domain_name, f.actor, f.actor_person, f.source_ip_address, f.user_agent,
           f.rule_type || ' ' || coalesce(f.domain_name, '?') || ' -> ' || coalesce(array_to_string(f.target_ips, ', '), '?')
               || case when array_length(f.public_target_ips) > 0 then ' (public: ' || array_to_string(f.public_target_ips, ', ') || ')'
                       else ' (a broad domain)' end
               || case when f.change = 'ASSOCIATE' then ' associated with ' || coalesce(f.vpc_id, '?') else '' end
               || ' in ' || coalesce(f.region, '?') as detail
    from resolver_rules f
    cross join dns_risk_rules r
    where r.rule = 'resolver_forward_outside' and f.change in ('CREATE', 'UPDATE', 'ASSOCIATE') and f.forwards_outside
    union all
    select r.rule, f.event_time, f.event_date, f.event_id, f.error_code, f.event_source, f.event_name, f.account_id,
           cast(null as varchar), f.actor, f.actor_person, f.source_ip_address, f.user_agent,
           case when f.change = 'DELETE' then 'BLOCK rule deleted: '
                else 'BLOCK -> ' || f.after_action || ': ' end
               || coalesce(f.rule_name, '?') || ' (group ' || coalesce(f.firewall_rule_group_id, '?') || ', domain list '
               || coalesce(f.firewall_domain_list_id, f.firewall_threat_protection_id, '?') || ') in ' || coalesce(f.region, '?')
    from firewall_rules f
    cross join dns_risk_rules r
    where r.rule = 'firewall_block_to_allow' and f.before_action = 'BLOCK'
      and (f.change = 'DELETE' or (f.change = 'UPDATE' and f.after_action = 'ALLOW'))
    union all
    select r.rule, f.event_time, f.event_date, f.event_id, f.error_code, f.event_source, f.event_name, f.account_id,
           cast(null as varchar), f.actor, f.actor_person, f.source_ip_address, f.user_agent,
           'rule group ' || coalesce(f.firewall_rule_group_id, '?') || ' detached from ' || coalesce(f.vpc_id, '?')
               || ' (association ' || coalesce(f.association_id, '?') || ') in ' || coalesce(f.region, '?')
    from firewall_rule_group_associations f
    cross join dns_risk_rules r
    where r.rule = 'firewall_rule_group_detached' and f.change = 'DISASSOCIATE'
    union all
    select r.rule, f.event_time, f.event_date, f.event_id, f.error_code, f.event_source, f.event_name, f.account_id,
           cast(null as varchar), f.actor, f.actor_person, f.source_ip_address, f.user_agent,
           case r.rule
               when 'firewall_fail_open' then 'fail open ENABLED for ' || coalesce(f.resource_id, '?')
               else f.operation || ' ' || coalesce(f.firewall_domain_list_id, '?')
                    || coalesce(': ' || cast(f.domain_count as varchar) || ' domain(s): ' || array_to_string(f.domains, ', '),
                                ' with the file ' || f.domain_file_url, '')
           end || ' in ' || coalesce(f.region, '?')
    from firewall_changes f
    cross join dns_risk_rules r
    where (r.rule = 'firewall_fail_open' and f.kind = 'config' and f.firewall_fail_open = 'ENABLED')
       or (r.rule = 'firewall_domain_removed' and f.kind = 'domain_list' and f.operation in ('REMOVE', 'REPLACE'))
),
flagged as (
    select * from change_flags
    union all
    select * from history_flags
    union all
    select rule, event_time, event_date, event_id, cast(null as bigint), error_code, event_source, event_name,
           recipient_account_id, hosted_zone_id, zone_name, zone_name_source,
           cast(null as varchar), cast(null as varchar), cast(null as varchar),
           coalesce(json_extract_string(request_parameters, '$.domainName.name'),
                    json_extract_string(request_parameters, '$.domainName')),
           detail, actor, actor_person, source_ip_address, user_agent, cast(null as varchar)
    from call_level
    union all
    select * from family_flags
    union all
    select rule, event_time, event_date, event_id, cast(null as bigint), error_code, event_source, event_name,
           account_id, cast(null as varchar), cast(null as varchar), cast(null as varchar),
           cast(null as varchar), cast(null as varchar), cast(null as varchar),
           domain_name, detail, actor, actor_person, source_ip_address, user_agent, cast(null as varchar)
    from resolver_flags
)
select f.rule, r.severity, r.reason, f.event_time, f.event_date, f.event_id, f.change_index,
       f.error_code is null as applied, f.error_code, f.event_source, f.event_name, f.account_id,
       f.hosted_zone_id, f.zone_name, f.zone_name_source, f.record_name, f.record_type, f.action, f.domain_name,
       f.detail, f.actor, f.actor_person, f.source_ip_address, f.user_agent,
       f.record_name as record_name_normalized, f.record_name_as_sent
from flagged f
join dns_risk_rules r on r.rule = f.rule
