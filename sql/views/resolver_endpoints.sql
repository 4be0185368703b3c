-- resolver_endpoints: Route 53 Resolver endpoints over time: every call that creates, updates or
-- deletes an endpoint or adds an IP address to it or removes one, failed attempts included (applied
-- false). Grain: one call. Key: event_id. Regional, like every Resolver call.
--   change       CREATE, UPDATE, DELETE, ADD_IP or REMOVE_IP.
--   endpoint_name, direction (INBOUND, OUTBOUND), host_vpc_id, security_group_ids: as the call states
--                them (the response's resolverEndpoint is the whole endpoint after the call), else as the
--                last applied call left them.
--   ip_addresses, subnet_ids: the addresses and subnets the call sends (CREATE: the first 10; ADD_IP,
--                REMOVE_IP: the one); an address Resolver picks itself is not in CloudTrail.
--   ip_address_count: the endpoint's count after the call, as the response states it.
-- request_parameters and response_elements keep the call as CloudTrail wrote it (JSON text).
create or replace view resolver_endpoints as
with calls as (
    select e.*,
           case lower(e.event_name)
               when 'createresolverendpoint' then 'CREATE'
               when 'updateresolverendpoint' then 'UPDATE'
               when 'deleteresolverendpoint' then 'DELETE'
               when 'associateresolverendpointipaddress' then 'ADD_IP'
               when 'disassociateresolverendpointipaddress' then 'REMOVE_IP'
           end as change,
           coalesce(json_extract(e.request_parameters, '$.ipAddresses'),
                    json_extract(e.request_parameters, '$.ipAddress')) as addresses,
           coalesce(json_extract(e.response_elements, '$.resolverEndpoint.securityGroupIds'),
                    json_extract(e.request_parameters, '$.securityGroupIds')) as groups
    from callers e
    where e.event_source = 'route53resolver.amazonaws.com'
      and lower(e.event_name) in ('createresolverendpoint', 'updateresolverendpoint', 'deleteresolverendpoint',
                                  'associateresolverendpointipaddress', 'disassociateresolverendpointipaddress')
),
stated as (
    select c.*,
           coalesce(json_extract_string(c.response_elements, '$.resolverEndpoint.id'),
                    json_extract_string(c.request_parameters, '$.resolverEndpointId')) as endpoint_id,
           coalesce(json_extract_string(c.response_elements, '$.resolverEndpoint.name'),
                    json_extract_string(c.request_parameters, '$.name')) as stated_name,
           upper(coalesce(json_extract_string(c.response_elements, '$.resolverEndpoint.direction'),
                          json_extract_string(c.request_parameters, '$.direction'))) as stated_direction,
           json_extract_string(c.response_elements, '$.resolverEndpoint.hostVPCId') as stated_vpc,
           case when c.groups is not null then list_filter([
               json_extract_string(c.groups, '$[0]'), json_extract_string(c.groups, '$[1]'),
               json_extract_string(c.groups, '$[2]'), json_extract_string(c.groups, '$[3]'),
               json_extract_string(c.groups, '$[4]'), json_extract_string(c.groups, '$[5]'),
               json_extract_string(c.groups, '$[6]'), json_extract_string(c.groups, '$[7]'),
               json_extract_string(c.groups, '$[8]'), json_extract_string(c.groups, '$[9]')],
               lambda g: g is not null) end as stated_groups
    from calls c
),
known as (
    select s.*,
           last_value(case when s.error_code is null then s.stated_name end ignore nulls)
               over (partition by coalesce(s.endpoint_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_name,
           last_value(case when s.error_code is null then s.stated_direction end ignore nulls)
               over (partition by coalesce(s.endpoint_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_direction,
           last_value(case when s.error_code is null then s.stated_vpc end ignore nulls)
               over (partition by coalesce(s.endpoint_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_vpc,
           last_value(case when s.error_code is null then s.stated_groups end ignore nulls)
               over (partition by coalesce(s.endpoint_id, s.event_id) order by s.event_time, s.event_id
                     rows between unbounded preceding and 1 preceding) as known_groups
    from stated s
)
select k.event_time, k.event_date, k.event_id, k.event_name, k.change,
       k.error_code is null as applied, k.error_code,
       k.endpoint_id as resolver_endpoint_id,
       coalesce(k.stated_name, k.known_name) as endpoint_name,
       coalesce(k.stated_direction, k.known_direction) as direction,
       coalesce(k.stated_vpc, k.known_vpc) as host_vpc_id,
       coalesce(k.stated_groups, k.known_groups) as security_group_ids,
       case when k.addresses is not null then list_filter([
           coalesce(json_extract_string(k.addresses, '$.ip'), json_extract_string(k.addresses, '$.ipv6'),
                    json_extract_string(k.addresses, '$[0].ip'), json_extract_string(k.addresses, '$[0].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[1].ip'), json_extract_string(k.addresses, '$[1].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[2].ip'), json_extract_string(k.addresses, '$[2].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[3].ip'), json_extract_string(k.addresses, '$[3].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[4].ip'), json_extract_string(k.addresses, '$[4].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[5].ip'), json_extract_string(k.addresses, '$[5].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[6].ip'), json_extract_string(k.addresses, '$[6].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[7].ip'), json_extract_string(k.addresses, '$[7].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[8].ip'), json_extract_string(k.addresses, '$[8].ipv6')),
           coalesce(json_extract_string(k.addresses, '$[9].ip'), json_extract_string(k.addresses, '$[9].ipv6'))],
           lambda a: a is not null) end as ip_addresses,
       case when k.addresses is not null then list_filter([
           coalesce(json_extract_string(k.addresses, '$.subnetId'), json_extract_string(k.addresses, '$[0].subnetId')),
           json_extract_string(k.addresses, '$[1].subnetId'), json_extract_string(k.addresses, '$[2].subnetId'),
           json_extract_string(k.addresses, '$[3].subnetId'), json_extract_string(k.addresses, '$[4].subnetId'),
           json_extract_string(k.addresses, '$[5].subnetId'), json_extract_string(k.addresses, '$[6].subnetId'),
           json_extract_string(k.addresses, '$[7].subnetId'), json_extract_string(k.addresses, '$[8].subnetId'),
           json_extract_string(k.addresses, '$[9].subnetId')],
           lambda n: n is not null) end as subnet_ids,
       cast(json_extract_string(k.response_elements, '$.resolverEndpoint.ipAddressCount') as bigint) as ip_address_count,
       k.aws_region as region, k.recipient_account_id as account_id, k.actor, k.actor_person, k.source_ip_address, k.user_agent,
       k.event_source, k.request_parameters, k.response_elements
from known k
