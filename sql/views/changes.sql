-- changes: every record change once (record_changes_dedup), failed attempts included, with the
-- call's actor, actor_person, zone_name, zone_name_source (see api_calls), event_source, event_name and applied (false when
-- the call failed: Route 53 applies a batch all or nothing, so none of its changes took effect).
-- account_id is recipient_account_id (kept), the name every view uses. record_name is the name exactly
-- as sent, also as record_name_as_sent (the name it has in every view); compare names with
-- record_name_normalized (in DuckDB, `record_name_normalized = dns_name('app.example.com')`).
create or replace view changes as
select c.*,
       e.actor,
       e.actor_person,
       e.zone_name,
       e.zone_name_source,
       e.event_source,
       e.event_name,
       c.error_code is null as applied,
       c.recipient_account_id as account_id,
       c.record_name as record_name_as_sent
from record_changes_dedup c
join api_calls e on e.event_id = c.event_id
