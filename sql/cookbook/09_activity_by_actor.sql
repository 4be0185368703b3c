-- Activity by actor per day: IAM users, assumed roles with their session issuer, services.
select e.event_date, e.user_identity_type, e.actor,
       e.session_issuer_user_name as role_name,
       count(*) as calls,
       count_if(not coalesce(e.read_only, false)) as writes,
       count_if(e.error_code is not null) as errors,
       count(distinct e.source_ip_address) as source_ips
from api_calls e
group by e.event_date, e.user_identity_type, e.actor, e.session_issuer_user_name
order by e.event_date nulls last, calls desc nulls last, e.actor nulls last, e.user_identity_type nulls last,
         role_name nulls last
