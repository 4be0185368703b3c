-- api_calls: every Route 53 API call once (events_dedup), with the names analysts use:
--   actor         who acted: the role behind an assumed-role session, else the caller's ARN, else the
--                 AWS service that called (coalesce(session_issuer_arn, user_identity_arn, user_identity_invoked_by)).
--   actor_person  the person (or session) behind it: the session name of an assumed-role or SSO session,
--                 the user name of an IAM user or federated user (the last segment of user_identity_arn).
--   zone_name, zone_name_source   the hosted zone's name and how it is known (see zone_names).
--   account_id    the account that owns the resource (recipient_account_id, kept): the name every view uses.
-- actor and actor_person are declared in callers (api_calls without the zone names).
create or replace view api_calls as
select e.*,
       z.zone_name,
       z.zone_name_source,
       e.recipient_account_id as account_id
from callers e
left join zone_names z on z.hosted_zone_id = e.hosted_zone_id
