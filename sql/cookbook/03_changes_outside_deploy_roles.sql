-- Every applied record change made by anyone other than the usual deploy roles and services.
-- Parameters (--param NAME=VALUE): usual_actors, the names of the roles, IAM users and AWS services
-- that deploy, comma separated: a role name counts in every account (default:
-- terraform-deploy,external-dns,cert-manager,cloudformation.amazonaws.com).
with params as (
    select cast('terraform-deploy,external-dns,cert-manager,cloudformation.amazonaws.com' as varchar) as usual_actors
)
select h.event_time, h.actor, h.actor_person, h.user_identity_arn, h.source_ip_address, h.user_agent,
       h.action, h.zone_name, h.record_name_normalized as record_name, h.record_type, h.set_identifier,
       h.before_values, h.after_values, h.before_weight, h.after_weight
from record_history h
cross join params p
where strpos(',' || replace(p.usual_actors, ' ', '') || ',', ',' || coalesce(regexp_extract(h.actor, '[^:/]+$'), '') || ',') = 0
order by h.event_time nulls last, h.event_id nulls last, h.change_index nulls last
