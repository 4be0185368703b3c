-- callers: every Route 53 API call once (events_dedup), with who made it (actor, actor_person: see
-- api_calls, which reads this view and adds the zone names). The views of calls that name no hosted
-- zone (Resolver, DNS Firewall) read this one: they need not work out zone_names.
create or replace view callers as
select e.*,
       coalesce(e.session_issuer_arn, e.user_identity_arn, e.user_identity_invoked_by) as actor,
       case when e.user_identity_type in ('AssumedRole', 'IAMUser', 'FederatedUser')
            then nullif(regexp_extract(e.user_identity_arn, '[^/]+$'), '') end as actor_person
from events_dedup e
