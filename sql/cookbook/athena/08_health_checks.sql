-- Athena spelling of 08_health_checks.sql: json_extract_scalar instead of DuckDB's json_extract_string.
select e.event_time, e.event_name, e.health_check_id,
       coalesce(json_extract_scalar(e.request_parameters, '$.healthCheckConfig.fullyQualifiedDomainName'),
                json_extract_scalar(e.request_parameters, '$.fullyQualifiedDomainName'),
                json_extract_scalar(e.request_parameters, '$.healthCheckConfig.iPAddress')) as endpoint,
       coalesce(json_extract_scalar(e.request_parameters, '$.healthCheckConfig.type'),
                json_extract_scalar(e.response_elements, '$.healthCheck.healthCheckConfig.type')) as check_type,
       coalesce(e.session_issuer_arn, e.user_identity_arn, e.user_identity_invoked_by) as actor,
       e.error_code
from events_dedup e
where e.event_name in ('CreateHealthCheck', 'UpdateHealthCheck', 'DeleteHealthCheck')
order by e.event_time
