-- Every applied record change made by anyone other than the usual deploy roles and services.
with deploy_actors (actor) as (
    values ('arn:aws:iam::123456789012:role/terraform-deploy'),
           ('arn:aws:iam::210987654321:role/terraform-deploy'),
           ('arn:aws:iam::123456789012:role/external-dns'),
           ('arn:aws:iam::123456789012:role/cert-manager'),
           ('cloudformation.amazonaws.com')
)
select h.event_time, h.actor, h.actor_person, h.user_identity_arn, h.source_ip_address, h.user_agent,
       h.action, h.zone_name, h.record_name_normalized as record_name, h.record_type, h.set_identifier,
       h.before_values, h.after_values, h.before_weight, h.after_weight
from record_history h
where h.actor not in (select actor from deploy_actors)
order by h.event_time nulls last, h.event_id nulls last, h.change_index nulls last
