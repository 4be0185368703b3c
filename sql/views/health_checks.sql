-- health_checks: every health check's configuration over time.
-- Grain: one row per CreateHealthCheck, UpdateHealthCheck or DeleteHealthCheck call, applied or attempted.
-- Key: event_id. health_check_id is the id the call names (null for a failed create: Route 53 gave none).
--   type ... routing_control_arn   what the call says: CreateHealthCheck's healthCheckConfig, UpdateHealthCheck's
--                 flat fields (only those it changes), else the config the response returns (Route 53 fills
--                 in its defaults there). regions is the regions listed, comma-separated; the child checks'
--                 ids and everything else stay in request_parameters / response_elements (JSON).
--   before_*, after_*   the state before and after the call, for applied calls: a field the call does not
--                 state keeps its value from the check's earlier applied calls (a create states Route 53's
--                 defaults: not disabled, not inverted, failure threshold 3). before_known is false when
--                 the lake saw no earlier applied call for the check; a delete has no after_ state.
--                 resetElements (Regions, ResourcePath, ...) are not applied to the carried state unless
--                 the response says the config.
--   target        type, address or name, port and path as one text: 'HTTPS api.example.com:443/health'.
create or replace view health_checks as
with calls as (
    select e.*,
           coalesce(json_extract(e.request_parameters, '$.healthCheckConfig'), json_extract(e.request_parameters, '$')) as sent,
           json_extract(e.response_elements, '$.healthCheck.healthCheckConfig') as returned
    from api_calls e
    where e.event_name in ('CreateHealthCheck', 'UpdateHealthCheck', 'DeleteHealthCheck')
),
stated as (
    select c.*,
           coalesce(json_extract_string(c.sent, '$.type'), json_extract_string(c.returned, '$.type')) as type,
           coalesce(json_extract_string(c.sent, '$.iPAddress'), json_extract_string(c.sent, '$.IPAddress'),
                    json_extract_string(c.returned, '$.iPAddress'), json_extract_string(c.returned, '$.IPAddress')) as ip_address,
           try_cast(coalesce(json_extract_string(c.sent, '$.port'), json_extract_string(c.returned, '$.port')) as bigint) as port,
           coalesce(json_extract_string(c.sent, '$.resourcePath'), json_extract_string(c.returned, '$.resourcePath')) as resource_path,
           coalesce(json_extract_string(c.sent, '$.fullyQualifiedDomainName'),
                    json_extract_string(c.returned, '$.fullyQualifiedDomainName')) as fqdn,
           coalesce(json_extract_string(c.sent, '$.searchString'), json_extract_string(c.returned, '$.searchString')) as search_string,
           try_cast(coalesce(json_extract_string(c.sent, '$.requestInterval'),
                             json_extract_string(c.returned, '$.requestInterval')) as bigint) as request_interval,
           try_cast(coalesce(json_extract_string(c.sent, '$.failureThreshold'),
                             json_extract_string(c.returned, '$.failureThreshold')) as bigint) as failure_threshold,
           case coalesce(json_extract_string(c.sent, '$.measureLatency'), json_extract_string(c.returned, '$.measureLatency'))
                when 'true' then true when 'false' then false end as measure_latency,
           case coalesce(json_extract_string(c.sent, '$.inverted'), json_extract_string(c.returned, '$.inverted'))
                when 'true' then true when 'false' then false end as inverted,
           case coalesce(json_extract_string(c.sent, '$.disabled'), json_extract_string(c.returned, '$.disabled'))
                when 'true' then true when 'false' then false end as disabled,
           try_cast(coalesce(json_extract_string(c.sent, '$.healthThreshold'),
                             json_extract_string(c.returned, '$.healthThreshold')) as bigint) as health_threshold,
           coalesce(json_array_length(json_extract(c.sent, '$.childHealthChecks')),
                    json_array_length(json_extract(c.returned, '$.childHealthChecks'))) as child_health_check_count,
           case coalesce(json_extract_string(c.sent, '$.enableSNI'), json_extract_string(c.returned, '$.enableSNI'))
                when 'true' then true when 'false' then false end as enable_sni,
           nullif(coalesce(nullif(concat_ws(',', json_extract_string(c.sent, '$.regions[0]'), json_extract_string(c.sent, '$.regions[1]'),
                                            json_extract_string(c.sent, '$.regions[2]'), json_extract_string(c.sent, '$.regions[3]'),
                                            json_extract_string(c.sent, '$.regions[4]'), json_extract_string(c.sent, '$.regions[5]'),
                                            json_extract_string(c.sent, '$.regions[6]'), json_extract_string(c.sent, '$.regions[7]')), ''),
                           concat_ws(',', json_extract_string(c.returned, '$.regions[0]'), json_extract_string(c.returned, '$.regions[1]'),
                                     json_extract_string(c.returned, '$.regions[2]'), json_extract_string(c.returned, '$.regions[3]'),
                                     json_extract_string(c.returned, '$.regions[4]'), json_extract_string(c.returned, '$.regions[5]'),
                                     json_extract_string(c.returned, '$.regions[6]'), json_extract_string(c.returned, '$.regions[7]'))),
                  '') as regions,
           coalesce(json_extract_string(c.sent, '$.alarmIdentifier.name'), json_extract_string(c.returned, '$.alarmIdentifier.name')) as alarm_name,
           coalesce(json_extract_string(c.sent, '$.alarmIdentifier.region'),
                    json_extract_string(c.returned, '$.alarmIdentifier.region')) as alarm_region,
           coalesce(json_extract_string(c.sent, '$.insufficientDataHealthStatus'),
                    json_extract_string(c.returned, '$.insufficientDataHealthStatus')) as insufficient_data_health_status,
           coalesce(json_extract_string(c.sent, '$.routingControlArn'),
                    json_extract_string(c.returned, '$.routingControlArn')) as routing_control_arn,
           try_cast(coalesce(json_extract_string(c.response_elements, '$.healthCheck.healthCheckVersion'),
                             json_extract_string(c.request_parameters, '$.healthCheckVersion')) as bigint) as health_check_version,
           coalesce(json_extract_string(c.request_parameters, '$.callerReference'),
                    json_extract_string(c.response_elements, '$.healthCheck.callerReference')) as caller_reference,
           c.error_code is null and c.health_check_id is not null as in_history
    from calls c
),
carried as (
    -- the state after each applied call: what it states, else the last value an earlier applied call stated
    select s.*,
           last_value(case when s.event_name = 'CreateHealthCheck' then coalesce(s.disabled, false) else s.disabled end ignore nulls) over so_far as state_disabled,
           last_value(case when s.event_name = 'CreateHealthCheck' then coalesce(s.inverted, false) else s.inverted end ignore nulls) over so_far as state_inverted,
           last_value(case when s.event_name = 'CreateHealthCheck' then coalesce(s.failure_threshold, 3) else s.failure_threshold end ignore nulls) over so_far as state_failure_threshold,
           last_value(s.regions ignore nulls) over so_far as state_regions,
           last_value(s.type ignore nulls) over so_far as state_type,
           last_value(s.ip_address ignore nulls) over so_far as state_ip_address,
           last_value(s.fqdn ignore nulls) over so_far as state_fqdn,
           last_value(s.port ignore nulls) over so_far as state_port,
           last_value(s.resource_path ignore nulls) over so_far as state_resource_path,
           row_number() over (partition by s.health_check_id, s.in_history order by s.event_time, s.event_id) as call_number
    from stated s
    window so_far as (partition by s.health_check_id, s.in_history order by s.event_time, s.event_id
                      rows between unbounded preceding and current row)
),
targeted as (
    select c.*,
           concat_ws(' ', c.state_type, coalesce(c.state_fqdn, c.state_ip_address) || coalesce(':' || cast(c.state_port as varchar), '')
                                        || coalesce(c.state_resource_path, '')) as state_target
    from carried c
),
sequenced as (
    select t.*,
           lag(t.state_disabled) over before_it as previous_disabled,
           lag(t.state_inverted) over before_it as previous_inverted,
           lag(t.state_failure_threshold) over before_it as previous_failure_threshold,
           lag(t.state_regions) over before_it as previous_regions,
           lag(t.state_target) over before_it as previous_target
    from targeted t
    window before_it as (partition by t.health_check_id, t.in_history order by t.event_time, t.event_id)
)
select s.event_time, s.event_date, s.event_id, s.event_name, s.health_check_id,
       s.error_code is null as applied, s.error_code,
       s.type, s.ip_address, s.port, s.resource_path, s.fqdn, s.search_string, s.request_interval, s.failure_threshold,
       s.measure_latency, s.inverted, s.disabled, s.health_threshold, s.child_health_check_count, s.enable_sni, s.regions,
       s.alarm_name, s.alarm_region, s.insufficient_data_health_status, s.routing_control_arn,
       s.health_check_version, s.caller_reference,
       s.in_history and s.call_number > 1 as before_known,
       case when s.in_history then s.previous_target end as before_target,
       case when s.in_history and s.event_name <> 'DeleteHealthCheck' then s.state_target end as after_target,
       case when s.in_history then s.previous_disabled end as before_disabled,
       case when s.in_history and s.event_name <> 'DeleteHealthCheck' then s.state_disabled end as after_disabled,
       case when s.in_history then s.previous_inverted end as before_inverted,
       case when s.in_history and s.event_name <> 'DeleteHealthCheck' then s.state_inverted end as after_inverted,
       case when s.in_history then s.previous_failure_threshold end as before_failure_threshold,
       case when s.in_history and s.event_name <> 'DeleteHealthCheck' then s.state_failure_threshold end as after_failure_threshold,
       case when s.in_history then s.previous_regions end as before_regions,
       case when s.in_history and s.event_name <> 'DeleteHealthCheck' then s.state_regions end as after_regions,
       s.actor, s.actor_person, s.account_id, s.source_ip_address, s.user_agent, s.event_source,
       s.request_parameters, s.response_elements
from sequenced s
