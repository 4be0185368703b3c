-- record_history: for each record set (hosted zone, name, type, set identifier), its successful
-- changes in order, with the values before and after each change where the data lets us know them.
--   CREATE: nothing before.  DELETE: carries the full old record, nothing after.
--   UPSERT: before = the state after the previous change we saw; before_known = false when we
--           have not seen one (the record predates the lake, or a CloudTrail record is missing).
-- The routing fields (weight, failover, region, geolocation, geoproximity, health check,
-- multivalue, evaluate-target-health, CIDR) have before_ and after_ columns too, so a weighted
-- record moved from weight 10 to 100 shows as that, not as the same values before and after.
-- Failed calls (error_code set) never alter the history. CloudTrail can miss requests: this is an
-- audit aid, not a source to rebuild a zone from.
-- record_name here is the normalized name (also as record_name_normalized, the name every view
-- compares by); record_name_as_sent is the name exactly as the caller wrote it.
create or replace view record_history as
with applied as (
    select *, coalesce(set_identifier, '') as set_key
    from changes
    where error_code is null
),
sequenced as (
    select
        applied.*,
        lag(action) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                          order by event_time, event_id, change_index) as previous_action,
        lag(ttl) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                       order by event_time, event_id, change_index) as previous_ttl,
        lag(resource_records) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                    order by event_time, event_id, change_index) as previous_values,
        lag(alias_dns_name) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                  order by event_time, event_id, change_index) as previous_alias_dns_name,
        lag(alias_hosted_zone_id) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                        order by event_time, event_id, change_index) as previous_alias_hosted_zone_id,
        lag(weight) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                          order by event_time, event_id, change_index) as previous_weight,
        lag(failover) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                            order by event_time, event_id, change_index) as previous_failover,
        lag(region) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                          order by event_time, event_id, change_index) as previous_region,
        lag(geo_continent_code) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                      order by event_time, event_id, change_index) as previous_geo_continent_code,
        lag(geo_country_code) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                    order by event_time, event_id, change_index) as previous_geo_country_code,
        lag(geo_subdivision_code) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                        order by event_time, event_id, change_index) as previous_geo_subdivision_code,
        lag(geoproximity_aws_region) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                           order by event_time, event_id, change_index) as previous_geoproximity_aws_region,
        lag(geoproximity_local_zone_group) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                                 order by event_time, event_id, change_index) as previous_geoproximity_local_zone_group,
        lag(geoproximity_latitude) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                         order by event_time, event_id, change_index) as previous_geoproximity_latitude,
        lag(geoproximity_longitude) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                          order by event_time, event_id, change_index) as previous_geoproximity_longitude,
        lag(geoproximity_bias) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                     order by event_time, event_id, change_index) as previous_geoproximity_bias,
        lag(health_check_id) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                   order by event_time, event_id, change_index) as previous_health_check_id,
        lag(multi_value_answer) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                      order by event_time, event_id, change_index) as previous_multi_value_answer,
        lag(alias_evaluate_target_health) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                                order by event_time, event_id, change_index) as previous_alias_evaluate_target_health,
        lag(cidr_collection_id) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                      order by event_time, event_id, change_index) as previous_cidr_collection_id,
        lag(cidr_location_name) over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                                      order by event_time, event_id, change_index) as previous_cidr_location_name,
        row_number() over (partition by hosted_zone_id, record_name_normalized, record_type, set_key
                           order by event_time, event_id, change_index) as change_number
    from applied
)
select
    s.hosted_zone_id,
    s.zone_name,
    s.record_name_normalized as record_name,
    s.record_type,
    s.set_identifier,
    s.change_number,
    s.event_date,
    s.event_time,
    s.event_id,
    s.change_index,
    s.action,
    s.actor,
    s.user_identity_arn,
    s.source_ip_address,
    s.user_agent,
    case when s.action = 'UPSERT' and s.previous_action is null then false else true end as before_known,
    case when s.action = 'DELETE' then s.ttl
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_ttl end as before_ttl,
    case when s.action = 'DELETE' then s.resource_records
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_values end as before_values,
    case when s.action = 'DELETE' then s.alias_dns_name
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_alias_dns_name end as before_alias_dns_name,
    case when s.action = 'DELETE' then s.weight
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_weight end as before_weight,
    case when s.action <> 'DELETE' then s.ttl end as after_ttl,
    case when s.action <> 'DELETE' then s.resource_records end as after_values,
    case when s.action <> 'DELETE' then s.alias_dns_name end as after_alias_dns_name,
    case when s.action <> 'DELETE' then s.weight end as after_weight,
    s.record_name_normalized,
    s.record_name as record_name_as_sent,
    s.actor_person,
    s.zone_name_source,
    s.recipient_account_id as account_id,
    case when s.action = 'DELETE' then s.alias_hosted_zone_id
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_alias_hosted_zone_id end as before_alias_hosted_zone_id,
    case when s.action <> 'DELETE' then s.alias_hosted_zone_id end as after_alias_hosted_zone_id,
    s.event_source,
    s.event_name,
    case when s.action = 'DELETE' then s.failover
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_failover end as before_failover,
    case when s.action <> 'DELETE' then s.failover end as after_failover,
    case when s.action = 'DELETE' then s.region
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_region end as before_region,
    case when s.action <> 'DELETE' then s.region end as after_region,
    case when s.action = 'DELETE' then s.geo_continent_code
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geo_continent_code end as before_geo_continent_code,
    case when s.action <> 'DELETE' then s.geo_continent_code end as after_geo_continent_code,
    case when s.action = 'DELETE' then s.geo_country_code
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geo_country_code end as before_geo_country_code,
    case when s.action <> 'DELETE' then s.geo_country_code end as after_geo_country_code,
    case when s.action = 'DELETE' then s.geo_subdivision_code
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geo_subdivision_code end as before_geo_subdivision_code,
    case when s.action <> 'DELETE' then s.geo_subdivision_code end as after_geo_subdivision_code,
    case when s.action = 'DELETE' then s.geoproximity_aws_region
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geoproximity_aws_region end as before_geoproximity_aws_region,
    case when s.action <> 'DELETE' then s.geoproximity_aws_region end as after_geoproximity_aws_region,
    case when s.action = 'DELETE' then s.geoproximity_local_zone_group
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geoproximity_local_zone_group end as before_geoproximity_local_zone_group,
    case when s.action <> 'DELETE' then s.geoproximity_local_zone_group end as after_geoproximity_local_zone_group,
    case when s.action = 'DELETE' then s.geoproximity_latitude
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geoproximity_latitude end as before_geoproximity_latitude,
    case when s.action <> 'DELETE' then s.geoproximity_latitude end as after_geoproximity_latitude,
    case when s.action = 'DELETE' then s.geoproximity_longitude
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geoproximity_longitude end as before_geoproximity_longitude,
    case when s.action <> 'DELETE' then s.geoproximity_longitude end as after_geoproximity_longitude,
    case when s.action = 'DELETE' then s.geoproximity_bias
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_geoproximity_bias end as before_geoproximity_bias,
    case when s.action <> 'DELETE' then s.geoproximity_bias end as after_geoproximity_bias,
    case when s.action = 'DELETE' then s.health_check_id
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_health_check_id end as before_health_check_id,
    case when s.action <> 'DELETE' then s.health_check_id end as after_health_check_id,
    case when s.action = 'DELETE' then s.multi_value_answer
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_multi_value_answer end as before_multi_value_answer,
    case when s.action <> 'DELETE' then s.multi_value_answer end as after_multi_value_answer,
    case when s.action = 'DELETE' then s.alias_evaluate_target_health
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_alias_evaluate_target_health end as before_alias_evaluate_target_health,
    case when s.action <> 'DELETE' then s.alias_evaluate_target_health end as after_alias_evaluate_target_health,
    case when s.action = 'DELETE' then s.cidr_collection_id
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_cidr_collection_id end as before_cidr_collection_id,
    case when s.action <> 'DELETE' then s.cidr_collection_id end as after_cidr_collection_id,
    case when s.action = 'DELETE' then s.cidr_location_name
         when s.action = 'UPSERT' and s.previous_action <> 'DELETE' then s.previous_cidr_location_name end as before_cidr_location_name,
    case when s.action <> 'DELETE' then s.cidr_location_name end as after_cidr_location_name
from sequenced s
