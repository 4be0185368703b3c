-- What DNS Firewall blocked in a window (by default the last 7 days, today excluded) that it lets
-- through now: the rules (rule group and domain list, per region) whose action was BLOCK at some time
-- in the window and is now ALLOW or ALERT (ALERT answers and only logs), or that were deleted; and
-- the domains removed since the window began from a domain list such a BLOCK rule used (REMOVE; a
-- REPLACE or an import shows what was sent, since CloudTrail does not say what the list lost).
-- From firewall_rules and firewall_changes, applied calls only: a BLOCK older than the lake is not known.
-- Parameters (--param NAME=VALUE): first_day and last_day (event dates, UTC).
with params as (
    select cast(current_date - interval '7' day as date) as first_day,
           cast(current_date - interval '1' day as date) as last_day
),
states as (
    select f.*,
           row_number() over (partition by f.region, f.firewall_rule_group_id, f.firewall_domain_list_id
                              order by f.event_time desc, f.event_id desc) as recency,
           lead(f.event_date) over (partition by f.region, f.firewall_rule_group_id, f.firewall_domain_list_id
                                    order by f.event_time, f.event_id) as until_date
    from firewall_rules f
    where f.applied and f.firewall_rule_group_id is not null and f.firewall_domain_list_id is not null
),
blocked as (
    select distinct s.region, s.firewall_rule_group_id, s.firewall_domain_list_id
    from states s
    cross join params p
    where s.after_action = 'BLOCK' and s.event_date <= p.last_day and (s.until_date is null or s.until_date >= p.first_day)
)
select 'rule' as what, s.region, s.firewall_rule_group_id, s.firewall_domain_list_id, s.rule_name,
       coalesce(s.after_action, 'deleted') as now, cast(null as varchar) as domains,
       s.event_time as changed_at, s.actor as changed_by, s.actor_person
from states s
join blocked b on b.region = s.region and b.firewall_rule_group_id = s.firewall_rule_group_id
              and b.firewall_domain_list_id = s.firewall_domain_list_id
where s.recency = 1 and (s.change = 'DELETE' or s.after_action in ('ALLOW', 'ALERT'))
union all
select 'domains', c.region, b.firewall_rule_group_id, c.firewall_domain_list_id, cast(null as varchar),
       c.operation, coalesce(array_to_string(c.domains, ', '), c.domain_file_url),
       c.event_time, c.actor, c.actor_person
from firewall_changes c
join blocked b on b.region = c.region and b.firewall_domain_list_id = c.firewall_domain_list_id
cross join params p
where c.applied and c.operation in ('REMOVE', 'REPLACE') and c.event_date >= p.first_day
order by changed_at nulls last, what nulls last, region nulls last, firewall_rule_group_id nulls last,
         firewall_domain_list_id nulls last
