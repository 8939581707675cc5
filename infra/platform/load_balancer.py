"""The environment's internet-facing Application Load Balancer, its listeners, WAF and alarms.

Listeners: with a certificate (an existing `certificate_arn`, or one requested for
`domain` with DNS validation) port 80 only redirects to 443, and 443 terminates TLS with
the configured TLS 1.2+ policy. Without one (dev) there is only port 80. Either way the
default action is a fixed 404: the platform has no target of its own, each web service
adds a listener rule to `listener_arn` in its own stack. With `test_listener_port`, a test
listener on that port (same protocol, open to the admin network only) carries the test
traffic of blue/green deployments (`test_listener_arn`).

The WAF (when `load_balancer.waf`) runs AWS managed rule groups: the common rule set,
known bad inputs (Log4j and similar) and the anonymous IP list, and logs to a
KMS-encrypted log group (WAF requires the `aws-waf-logs-` name prefix).

Platform-level alarms go to the environment's alarm topic; per-service alarms (target
group 5xx, latency) belong to the service stacks.
"""

from __future__ import annotations

from typing import Any

from cdktf import TerraformOutput, TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate, AcmCertificateOptions
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
)
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionFixedResponse,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)

from infra import naming
from infra.naming import Names
from infra.platform.network import Network
from infra.platform.security import SecurityGroups
from infra.config.specs import EnvironmentSpec
from infra.expressions import format_
from infra.platform.storage import Storage
from infra.platform.variables import PlatformKnobs

# AWS managed rule groups in evaluation order (WAF priority = position * 10), each with
# the rules of the group that only count instead of blocking.
MANAGED_RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": (),
    # Log4j (CVE-2021-44228) and other known exploit payloads.
    "AWSManagedRulesKnownBadInputsRuleSet": (),
    # Anonymizers (Tor, anonymizing proxies) are blocked; cloud hosting providers only
    # counted, since server-to-server clients of the web services legitimately run there.
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}
# Headers that carry credentials never reach the WAF logs.
REDACTED_HEADERS = ("authorization", "cookie")

# Alarm thresholds. The load balancer's own 5xx (not the targets'): no healthy target,
# target connection errors, ALB capacity.
ELB_5XX_PER_5_MINUTES = 10
# p95 response time of all targets, in seconds.
TARGET_RESPONSE_P95_SECONDS = 2


class LoadBalancer(Construct):
    """Typed outputs: `arn`, `arn_suffix` (for CloudWatch dimensions), `dns_name`, `zone_id`,
    `http_listener_arn`, `https_listener_arn` (None without a certificate), `listener_arn`
    (where services attach their listener rules: HTTPS with a certificate, else HTTP),
    `test_listener_arn` (None without `test_listener_port`), `https` (bool), `web_acl_arn` (None without WAF)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        network: Network,
        security: SecurityGroups,
        storage: Storage,
        alarm_topic_arn: str,
        kms_key_arn: str,
        knobs: PlatformKnobs | None = None,
    ) -> None:
        super().__init__(scope, id_)
        spec = env.load_balancer
        knobs = knobs or PlatformKnobs.of(env)
        names = Names.of(self)
        name = names.name("{prefix}-alb", naming.LOAD_BALANCER)
        self.https = spec.https

        # ALB access-log delivery is checked when the attribute is set: the bucket policy
        # that lets the ELB account write must exist first.
        lb = Lb(
            self,
            "alb",
            name=name,
            internal=False,
            load_balancer_type="application",
            # IPv4 (the spec says why); services add AAAA aliases only for a dualstack one.
            ip_address_type=spec.ip_address_type,
            subnets=network.public_subnet_ids,
            security_groups=[security.alb_sg_id],
            idle_timeout=knobs.alb_idle_timeout,
            drop_invalid_header_fields=True,
            enable_deletion_protection=env.deletion_protection,
            access_logs=LbAccessLogs(bucket=storage.logs_bucket_name, prefix=storage.alb_log_prefix, enabled=True),
            depends_on=[storage.logs.policy],
            # An existing network's public subnets: in two zones, one per zone (infra/platform/network.py).
            lifecycle=network.load_balancer_checks,
            tags={"Name": name},
        )
        self.arn = lb.arn
        self.arn_suffix = lb.arn_suffix
        self.dns_name = lb.dns_name
        self.zone_id = lb.zone_id

        certificate_arn = self._certificate(env)
        if certificate_arn is None:
            http_action = _not_found()
        else:
            http_action = LbListenerDefaultAction(
                type="redirect",
                redirect=LbListenerDefaultActionRedirect(port="443", protocol="HTTPS", status_code="HTTP_301"),
            )
        http = LbListener(self, "http", load_balancer_arn=lb.arn, port=80, protocol="HTTP", default_action=[http_action])
        self.http_listener_arn = http.arn
        self.https_listener_arn: str | None = None
        if certificate_arn is not None:
            https = LbListener(
                self,
                "https",
                load_balancer_arn=lb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=spec.ssl_policy,
                certificate_arn=certificate_arn,
                default_action=[_not_found()],
            )
            self.https_listener_arn = https.arn
        self.listener_arn = self.https_listener_arn or self.http_listener_arn
        self.test_listener_arn = self._test_listener(env, lb, certificate_arn)

        self.web_acl_arn: str | None = None
        if spec.waf:
            self.web_acl_arn = self._waf(env, lb, kms_key_arn)
        self._alarms(names, alarm_topic_arn)

    def _test_listener(self, env: EnvironmentSpec, lb: Lb, certificate_arn: str | None) -> str | None:
        """The shared test listener of blue/green deployments: CodeDeploy sends test traffic
        to a deployment's new task set through it before it moves production traffic
        ("Deployments on an Amazon ECS compute platform", AllowTestTraffic:
        https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html).
        The platform knows no service: each blue/green service adds its own rule here, with
        its production rule's conditions, forwarding to its second target group. Like the
        production listener: TLS with the certificate, a 404 for anything no rule matches."""
        port = env.load_balancer.test_listener_port
        if port is None:
            return None
        tls = certificate_arn is not None
        listener = LbListener(
            self,
            "test",
            load_balancer_arn=lb.arn,
            port=port,
            protocol="HTTPS" if tls else "HTTP",
            ssl_policy=env.load_balancer.ssl_policy if tls else None,
            certificate_arn=certificate_arn,
            default_action=[_not_found()],
        )
        return listener.arn

    def _certificate(self, env: EnvironmentSpec) -> str | None:
        spec = env.load_balancer
        if spec.certificate_arn is not None:
            return spec.certificate_arn
        if spec.domain is None:
            return None
        cert = AcmCertificate(
            self,
            "certificate",
            domain_name=spec.domain,
            validation_method="DNS",
            options=AcmCertificateOptions(certificate_transparency_logging_preference="ENABLED"),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            tags={"Name": spec.domain},
        )
        # The DNS zone is not ours: the validation records are an output for whoever owns
        # it, and the validation resource makes the HTTPS listener wait until they exist.
        TerraformOutput(
            self,
            "certificate-validation-records",
            value=cert.domain_validation_options,
            description=f"DNS records to create so ACM can issue the certificate for {spec.domain}",
        )
        validation = AcmCertificateValidation(self, "certificate-validation", certificate_arn=cert.arn)
        return validation.certificate_arn

    def _waf(self, env: EnvironmentSpec, lb: Lb, kms_key_arn: str) -> str:
        names = Names.of(self)
        name = names.name("{prefix}-alb", naming.WAF_NAME)
        rules = [
            Wafv2WebAclRule(
                name=group,
                priority=(i + 1) * 10,
                override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                # `statement` is untyped in the bindings (its nesting is too deep for
                # them): Terraform's own block structure.
                statement={
                    "managed_rule_group_statement": {
                        "name": group,
                        "vendor_name": "AWS",
                        **_count_only(counted),
                    }
                },
                visibility_config=Wafv2WebAclRuleVisibilityConfig(
                    cloudwatch_metrics_enabled=True, metric_name=names.name(f"{{prefix}}-alb-{group}", naming.WAF_NAME), sampled_requests_enabled=True
                ),
            )
            for i, (group, counted) in enumerate(MANAGED_RULE_GROUPS.items())
        ]
        acl = Wafv2WebAcl(
            self,
            "waf",
            name=name,
            description=f"{env.name}: AWS managed rules in front of the public load balancer",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
            tags={"Name": name},
        )
        Wafv2WebAclAssociation(self, "waf-association", resource_arn=lb.arn, web_acl_arn=acl.arn)
        logs = CloudwatchLogGroup(
            self,
            "waf-logs",
            # AWS docs, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group":
            # the group's name must start with aws-waf-logs-.
            name=names.name("aws-waf-logs-{prefix}", naming.LOG_GROUP),
            retention_in_days=env.observability.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "waf-logging",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header)
                )
                for header in REDACTED_HEADERS
            ],
        )
        return acl.arn

    def _alarms(self, names: Names, topic_arn: str) -> None:
        common: dict[str, Any] = {
            "alarm_actions": [topic_arn],
            "ok_actions": [topic_arn],
            "treat_missing_data": "notBreaching",
            "comparison_operator": "GreaterThanThreshold",
        }
        CloudwatchMetricAlarm(
            self,
            "alarm-5xx",
            alarm_name=names.name("{prefix}-alb-5xx", naming.ALARM),
            alarm_description="The load balancer itself answers 5xx (no healthy target, target connection errors)",
            namespace="AWS/ApplicationELB",
            metric_name="HTTPCode_ELB_5XX_Count",
            dimensions={"LoadBalancer": self.arn_suffix},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=ELB_5XX_PER_5_MINUTES,
            **common,
        )
        # UnHealthyHostCount is published per target group only; a Metrics Insights query
        # folds every target group of this load balancer into one alarm.
        CloudwatchMetricAlarm(
            self,
            "alarm-unhealthy-hosts",
            alarm_name=names.name("{prefix}-alb-unhealthy-hosts", naming.ALARM),
            alarm_description="A target group of the load balancer has unhealthy targets",
            metric_query=[
                CloudwatchMetricAlarmMetricQuery(
                    id="unhealthy",
                    # format(): the quoted namespace beside a reference (infra.expressions)
                    expression=format_(
                        'SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer, TargetGroup)'
                        " WHERE LoadBalancer = '%s'",
                        self.arn_suffix,
                    ),
                    period=60,
                    return_data=True,
                    label="Unhealthy hosts (max over target groups)",
                )
            ],
            evaluation_periods=3,
            threshold=0,
            **common,
        )
        CloudwatchMetricAlarm(
            self,
            "alarm-latency",
            alarm_name=names.name("{prefix}-alb-target-response-p95", naming.ALARM),
            alarm_description=f"p95 target response time above {TARGET_RESPONSE_P95_SECONDS} s",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions={"LoadBalancer": self.arn_suffix},
            extended_statistic="p95",
            period=300,
            evaluation_periods=3,
            threshold=TARGET_RESPONSE_P95_SECONDS,
            **common,
        )


def _count_only(rules: tuple[str, ...]) -> dict[str, Any]:
    if not rules:
        return {}
    return {"rule_action_override": [{"name": rule, "action_to_use": {"count": {}}} for rule in rules]}


def _not_found() -> LbListenerDefaultAction:
    return LbListenerDefaultAction(
        type="fixed-response",
        fixed_response=LbListenerDefaultActionFixedResponse(
            content_type="text/plain", message_body="Not Found", status_code="404"
        ),
    )
