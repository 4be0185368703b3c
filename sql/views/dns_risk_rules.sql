-- dns_risk_rules: the rules of dns_risk, one row each, with the severity and the reason an on-call
-- engineer or a security team should look. docs/dns-risk.md shows the same table (a test keeps them equal).
create or replace view dns_risk_rules as
select rule, severity, reason
from (values
    ('apex_ns_soa', 'high', 'The NS and SOA records at the zone apex decide which name servers answer for the whole zone: a wrong NS set hands the domain to someone else''s servers or takes it offline.'),
    ('domain_transfer', 'high', 'Unlocking a registered domain, reading its transfer code or transferring it are the steps of moving the domain out of the account; a stolen domain is the worst DNS incident there is.'),
    ('domain_nameservers', 'high', 'Changing the name servers of a registered domain at the registrar moves the whole domain to other servers, whatever the hosted zone says.'),
    ('dnssec_disabled', 'high', 'Disabling DNSSEC signing, or deactivating or deleting a key-signing key, removes the proof that answers are genuine; done out of order it makes the zone fail validation.'),
    ('zone_deleted', 'high', 'Deleting a hosted zone removes every answer it gave; if the domain still delegates to its name servers, someone else can create a zone on them.'),
    ('takeover_prone_target', 'high', 'A CNAME to a host a third party can claim (S3 website, CloudFront, Elastic Beanstalk, Heroku, Azure, GitHub Pages and the like), or an alias to an S3 website endpoint: when the target is released and the record stays, anyone can claim it and serve content as this name.'),
    ('alias_target_moved', 'high', 'An alias moved to an endpoint this account never used before, or to another kind of endpoint: distributions, buckets and load balancers carry no owner in their names, so the new target may belong to another account.'),
    ('target_left_aws', 'high', 'A record that pointed at AWS (an alias, or a CNAME to an AWS host) now points at a host outside AWS and outside every zone the lake knows, or at literal addresses: traffic leaves the account''s control.'),
    ('query_logging_disabled', 'medium', 'Deleting or detaching DNS query logging removes the record of which names were resolved: a known step to hide data exfiltration or command and control over DNS.'),
    ('resolver_forward_outside', 'high', 'A Resolver rule that forwards a domain to addresses on the internet (outside private address space), or forwards every name or a whole top-level domain: the VPC''s lookups of those names, and the names themselves, go to servers outside the organisation, which can answer anything (a hijack) or read them (an exfiltration channel).'),
    ('firewall_rule_group_detached', 'high', 'A DNS Firewall rule group taken off a VPC: every block, allow and alert of the group stops for that VPC at once, the quietest way to switch DNS filtering off.'),
    ('firewall_block_to_allow', 'high', 'A DNS Firewall rule that blocked its domain list now allows it, or was deleted: names the firewall refused (malware, exfiltration, unapproved services) resolve again.'),
    ('firewall_fail_open', 'medium', 'DNS Firewall set to fail open for a VPC: when the firewall cannot evaluate a query it lets it through instead of blocking it, so an outage or an overload switches filtering off.'),
    ('firewall_domain_removed', 'medium', 'Domains removed from a DNS Firewall domain list, or the list replaced (by UpdateFirewallDomains or an import): whatever rule uses the list stops matching those names; from a block list, they resolve again.'),
    ('mx_change', 'medium', 'MX records decide where the domain''s mail is delivered: a changed MX can divert mail, password-reset mail included.'),
    ('email_auth_txt', 'medium', 'SPF, DMARC and DKIM records decide who may send mail as the domain and what receivers do with forgeries: a change can open the domain to phishing or get its real mail rejected.'),
    ('wildcard', 'medium', 'A wildcard answers for every name under it that has no record of its own, names nobody meant to publish included; a wildcard to a claimable host exposes every subdomain.'),
    ('new_actor_in_zone', 'medium', 'The first change by this actor in a zone that others have been changing: a new person, role or tool touching DNS is worth a look (a zone''s first actor is not flagged).'),
    ('failed_by_unknown_principal', 'medium', 'A write call that failed, by a principal with no successful write before it: probing with stolen or misconfigured credentials looks like this.'),
    ('traffic_shift', 'medium', 'A weight changed on an existing weighted record set, a failover record switched between PRIMARY and SECONDARY, or a health check taken off a record: traffic moves between endpoints while every value stays the same, and an endpoint without its health check keeps getting traffic when it fails.'),
    ('ttl_drop', 'low', 'A TTL lowered: done before a switch so that it takes effect fast and the old answer does not linger, by an operator planning a migration or by someone planning a hijack.'),
    ('record_deleted', 'low', 'A record set deleted: an outage if something still uses the name, and the first half of a dangling record when the target it pointed at is released elsewhere.')
) as rules(rule, severity, reason)
