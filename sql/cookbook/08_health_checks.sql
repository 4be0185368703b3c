-- Health checks created, updated and deleted, with the actor and the checked endpoint.
select e.event_time, e.event_name, e.health_check_id,
       coalesce(json_extract_string(e.request_parameters, '$.healthCheckConfig.fullyQualifiedDomainName'),
                json_extract_string(e.request_parameters, '$.fullyQualifiedDomainName'),
                json_extract_string(e.request_parameters, '$.healthCheckConfig.iPAddress')) as endpoint,
       coalesce(json_extract_string(e.request_parameters, '$.healthCheckConfig.type'),
                json_extract_string(e.response_elements, '$.healthCheck.healthCheckConfig.type')) as check_type,
       e.actor, e.actor_person, e.error_code
from api_calls e
where e.event_name in ('CreateHealthCheck', 'UpdateHealthCheck', 'DeleteHealthCheck')
order by e.event_time nulls last, e.event_id nulls last
