-- Activity by actor per day: IAM users, assumed roles with their session issuer, services.
select e.event_date, e.user_identity_type,
       coalesce(e.session_issuer_arn, e.user_identity_arn, e.user_identity_invoked_by) as actor,
       e.session_issuer_user_name as role_name,
       count(*) as calls,
       count_if(not coalesce(e.read_only, false)) as writes,
       count_if(e.error_code is not null) as errors,
       count(distinct e.source_ip_address) as source_ips
from events_dedup e
group by e.event_date, e.user_identity_type, 3, e.session_issuer_user_name
order by e.event_date, calls desc, actor
