"""A web service's custom domains (`[routes] hosts`), owned by its own stack.

    data.aws_route53_zone.<svc>                 the environment's `hosted_zone_id`, checked at plan:
                                                public, and every host inside it
    aws_acm_certificate.<svc>                   the hosts (first: the domain name, others: SANs), DNS validation
    aws_route53_record.<svc>_validation[host]   ACM's validation CNAME per host, in the zone
    aws_acm_certificate_validation.<svc>        waits until ACM issued it
    aws_lb_listener_certificate.<svc>           the certificate in the HTTPS listener's list (SNI)
    aws_route53_record.<svc>[host]              alias A per host to the load balancer
    aws_route53_record.<svc>_ipv6[host]         alias AAAA per host, only for a dualstack load balancer

The listener rule's host condition is the route's (infra.service.route). The load balancer,
its HTTPS listener, DNS name and zone come from the platform's contract.

Why each piece:
- ACM issues a DNS-validated certificate once the CNAME record it names for each domain is
  found in DNS, and renews it while the record stays (AWS docs, "AWS Certificate Manager DNS
  validation", https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html). The
  records stay in the zone for that reason; `aws_acm_certificate_validation` makes the
  listener certificate wait for the issued certificate.
- The HTTPS listener keeps its default certificate (the environment's); each service adds its
  own to the listener's certificate list, and the load balancer picks it by SNI (AWS docs,
  "SSL certificates for your Application Load Balancer",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html).
- An alias record answers with the load balancer's addresses and follows them as they change;
  A for IPv4, AAAA only when the load balancer has IPv6 addresses (AWS docs, Route 53,
  "Routing traffic to an ELB load balancer",
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html).
  The alias waits for the listener certificate, so a host never answers with another name's
  certificate.

The validation records are keyed by host, a set known at synthesis (`for_each =
toset(hosts)`), and each takes its name, type and value from the certificate's
`domain_validation_options` looked up by `each.key`. Iterating those options themselves, as
CDKTF's `TerraformIterator.from_complex_list` does, fails on a first plan: CDKTF wraps the set
in `tolist()`, whose order, and so the keys, are unknown until the certificate exists
("Invalid for_each argument"; tests/test_domains_moto.py applies it). Validation records may
overwrite a record of the same name (ACM's, left by an earlier certificate for the same name);
alias records may not, so a host that already answers elsewhere stops the apply instead of
being taken over.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import Postcondition, TerraformIterator, TerraformResourceLifecycle, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate, AcmCertificateOptions
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.lb_listener_certificate import LbListenerCertificate
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias

from infra import naming
from infra.addresses import address_name, named
from infra.naming import Names

# Seconds resolvers keep the validation CNAME: short, so a re-created certificate's record is
# seen soon (ACM checks the record until the certificate is issued).
VALIDATION_RECORD_TTL = 60


class ServiceDomain(Construct):
    """Typed outputs: `zone` (data source), `certificate`, `validation_records`, `validation`,
    `listener_certificate`, `aliases` (A), `ipv6_aliases` (AAAA, None unless dualstack)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        service: str,
        file: str,
        hosts: Sequence[str],
        hosted_zone_id: str,
        listener_arn: str,
        alb_dns_name: str,
        alb_zone_id: str,
        dualstack: bool,
    ) -> None:
        super().__init__(scope, id_)
        if not hosts:
            raise ValueError(f"{file}: routes.hosts: a custom domain needs at least one host")
        address = address_name(service)
        names = Names.of(self)
        # The DNS names of this copy: the hosts in `default`, `<workspace>.<host>` elsewhere
        # (infra.naming); the first one is the certificate's name (at most 64 characters, also
        # in a workspace: the stack's workspace check counts it).
        self.names = [names.host(host, naming.CERTIFICATE_NAME if i == 0 else None) for i, host in enumerate(hosts)]
        self.zone = named(
            DataAwsRoute53Zone(
                self,
                "zone",
                zone_id=hosted_zone_id,
                lifecycle=TerraformResourceLifecycle(postcondition=_zone_checks(hosts, hosted_zone_id, file)),
            ),
            address,
        )
        self.certificate = named(
            AcmCertificate(
                self,
                "certificate",
                domain_name=self.names[0],
                subject_alternative_names=self.names[1:] or None,
                validation_method="DNS",
                options=AcmCertificateOptions(certificate_transparency_logging_preference="ENABLED"),
                # A change of hosts replaces the certificate: the new one is issued and swapped
                # into the listener before the old one is deleted (ACM refuses to delete a
                # certificate in use).
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
                tags={"Name": names.tag(f"{{prefix}}-{service}")},
            ),
            address,
        )
        each = TerraformIterator.from_list(list(hosts))
        self.validation_records = named(
            Route53Record(
                self,
                "validation-record",
                for_each=each,
                zone_id=self.zone.zone_id,
                name=self._validation("resource_record_name"),
                type=self._validation("resource_record_type"),
                records=[self._validation("resource_record_value")],
                ttl=VALIDATION_RECORD_TTL,
                allow_overwrite=True,
            ),
            f"{address}_validation",
        )
        self.validation = named(
            AcmCertificateValidation(
                self,
                "validation",
                certificate_arn=self.certificate.arn,
                validation_record_fqdns=Token.as_list(
                    TerraformIterator.from_resources(self.validation_records).pluck_property("fqdn")
                ),
            ),
            address,
        )
        self.listener_certificate = named(
            LbListenerCertificate(
                self, "listener-certificate", listener_arn=listener_arn, certificate_arn=self.validation.certificate_arn
            ),
            address,
        )
        self.aliases = named(self._aliases("alias", "A", hosts, alb_dns_name, alb_zone_id), address)
        self.ipv6_aliases = (
            named(self._aliases("alias-ipv6", "AAAA", hosts, alb_dns_name, alb_zone_id), f"{address}_ipv6")
            if dualstack
            else None
        )

    def _validation(self, attribute: str) -> str:
        """One attribute of ACM's validation record for this record's host (`each.key`, as this
        copy names it), from the certificate's set of domain validation options."""
        key = Names.of(self).host("${each.key}")
        return (
            f'${{{{ for o in {self.certificate.fqn}.domain_validation_options : o.domain_name => o.{attribute} }}["{key}"]}}'
        )

    def _aliases(self, id_: str, type_: str, hosts: Sequence[str], alb_dns_name: str, alb_zone_id: str) -> Route53Record:
        each = TerraformIterator.from_list(list(hosts))
        return Route53Record(
            self,
            id_,
            for_each=each,
            zone_id=self.zone.zone_id,
            name=Names.of(self).host(Token.as_string(each.value)),
            type=type_,
            # Route 53 answers an alias to a load balancer with its current addresses, and with
            # evaluate_target_health it answers only while the load balancer has healthy
            # targets (AWS docs, Route 53, "Values specific for simple alias records").
            alias=Route53RecordAlias(name=alb_dns_name, zone_id=alb_zone_id, evaluate_target_health=True),
            depends_on=[self.listener_certificate],
        )


def _zone_checks(hosts: Sequence[str], zone_id: str, file: str) -> list[Postcondition]:
    """Plan-time checks of the zone the environment names (its name is only known to AWS):
    ACM validates through public DNS, and a record must be inside its zone."""
    listed = ", ".join(f'"{h}"' for h in hosts)
    zone = 'trimsuffix(self.name, ".")'
    return [
        Postcondition(
            condition="${!self.private_zone}",
            error_message=(
                f"{zone_id} (hosted_zone_id, for [routes] hosts in {file}) is a private hosted zone: ACM validates"
                " certificates and clients resolve the hosts through public DNS; use a public zone."
            ),
        ),
        Postcondition(
            condition=f'${{alltrue([for h in [{listed}] : h == {zone} || endswith(h, ".${{{zone}}}")])}}',
            error_message=(
                f"Every host of [routes] hosts in {file} must be inside the zone ${{self.name}} ({zone_id},"
                f" hosted_zone_id): {', '.join(hosts)}."
            ),
        ),
    ]
