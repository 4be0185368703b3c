-- Which domains Route 53 Resolver forwards outside: every Resolver rule (per region) that, as its
-- last applied call left it, is a FORWARD rule to a public address or for a broad domain ('.', com,
-- amazonaws.com, ...: resolver_rules.forwards_outside says how it is decided), with each VPC it is
-- associated with now (since when, by whom; none: vpc_id null, the rule forwards for no VPC yet).
-- A rule created before the lake and never changed since is not here.
-- Parameters: none.
with latest as (
    select r.*,
           row_number() over (partition by r.region, r.resolver_rule_id order by r.event_time desc, r.event_id desc) as recency
    from resolver_rules r
    where r.applied and r.resolver_rule_id is not null and r.change in ('CREATE', 'UPDATE', 'DELETE')
),
links as (
    select a.*,
           row_number() over (partition by a.region, a.resolver_rule_id, a.vpc_id order by a.event_time desc, a.event_id desc) as recency
    from resolver_rules a
    where a.applied and a.change in ('ASSOCIATE', 'DISASSOCIATE')
)
select l.region, l.account_id, l.domain_name, l.resolver_rule_id, l.rule_name,
       array_to_string(l.target_ips, ', ') as target_ips, array_to_string(l.public_target_ips, ', ') as public_target_ips,
       a.vpc_id, a.event_time as associated_at, a.actor as associated_by,
       l.event_time as rule_changed_at, l.actor as rule_changed_by
from latest l
left join links a on a.region = l.region and a.resolver_rule_id = l.resolver_rule_id and a.recency = 1 and a.change = 'ASSOCIATE'
where l.recency = 1 and l.change <> 'DELETE' and l.forwards_outside
order by l.domain_name nulls last, l.region nulls last, l.resolver_rule_id nulls last, a.vpc_id nulls first
