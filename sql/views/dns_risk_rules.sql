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
    ('cross_account_vpc_association', 'high', 'A private hosted zone associated with a VPC of another account, or authorized for one, answers its internal names in that account''s network; a VPC of this account associated with a zone the lake does not know gets its answers from that zone, whoever owns it.'),
    ('domain_contact_changed', 'high', 'The contacts of a registered domain, the registrant''s e-mail above all, are its account recovery path: transfer approvals and registrar notices go there, so changing them is a step of taking the domain.'),
    ('query_logging_disabled', 'medium', 'Deleting or detaching DNS query logging removes the record of which names were resolved: a known step to hide data exfiltration or command and control over DNS.'),
    ('mx_change', 'medium', 'MX records decide where the domain''s mail is delivered: a changed MX can divert mail, password-reset mail included.'),
    ('email_auth_txt', 'medium', 'SPF, DMARC and DKIM records decide who may send mail as the domain and what receivers do with forgeries: a change can open the domain to phishing or get its real mail rejected.'),
    ('wildcard', 'medium', 'A wildcard answers for every name under it that has no record of its own, names nobody meant to publish included; a wildcard to a claimable host exposes every subdomain.'),
    ('new_actor_in_zone', 'medium', 'The first change by this actor in a zone that others have been changing: a new person, role or tool touching DNS is worth a look (a zone''s first actor is not flagged).'),
    ('failed_by_unknown_principal', 'medium', 'A write call that failed, by a principal with no successful write before it: probing with stolen or misconfigured credentials looks like this.'),
    ('traffic_shift', 'medium', 'A weight changed on an existing weighted record set, a failover record switched between PRIMARY and SECONDARY, or a health check taken off a record: traffic moves between endpoints while every value stays the same, and an endpoint without its health check keeps getting traffic when it fails.'),
    ('health_check_removed_in_use', 'medium', 'A health check deleted, disabled or inverted while a record set still names it: a disabled check counts as healthy, an inverted one reports the opposite, a deleted one has no predictable status, so failover stops working or traffic goes to an endpoint that is down.'),
    ('domain_auto_renew_disabled', 'medium', 'A registered domain without auto-renew expires unless someone renews it by hand; once it is released anyone can register it, and with it every name, mail route and certificate check under it.'),
    ('ttl_drop', 'low', 'A TTL lowered: done before a switch so that it takes effect fast and the old answer does not linger, by an operator planning a migration or by someone planning a hijack.'),
    ('domain_privacy_disabled', 'low', 'Turning privacy protection off publishes the domain''s contacts in WHOIS: names, addresses and e-mail addresses to phish, and to impersonate the owner to the registrar.'),
    ('record_deleted', 'low', 'A record set deleted: an outage if something still uses the name, and the first half of a dangling record when the target it pointed at is released elsewhere.')
) as rules(rule, severity, reason)
