"""How a service is reached: a target group and listener rule on the platform's load balancer
(web), and a Cloud Map name `<service>.<namespace>` inside the VPC (every service)."""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.lb_listener_rule import (
    LbListenerRule,
    LbListenerRuleAction,
    LbListenerRuleCondition,
    LbListenerRuleConditionHostHeader,
    LbListenerRuleConditionPathPattern,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.service_discovery_service import (
    ServiceDiscoveryService,
    ServiceDiscoveryServiceDnsConfig,
    ServiceDiscoveryServiceDnsConfigDnsRecords,
    ServiceDiscoveryServiceHealthCheckCustomConfig,
)

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.config.specs import RouteSpec, ServiceSpec
from infra.service.platform_ref import PlatformRef

DEREGISTRATION_DELAY = 30


class LoadBalancerRoute(Construct):
    """Typed outputs: `target_group` (LbTargetGroup), `listener_rule` (LbListenerRule)."""

    def __init__(
        self, scope: Construct, id_: str, *, name: str, spec: ServiceSpec, route: RouteSpec, platform: PlatformRef
    ) -> None:
        super().__init__(scope, id_)
        health = spec.health_check
        self.target_group = LbTargetGroup(
            self,
            "target-group",
            name=Names.of(self).name(name, naming.TARGET_GROUP),
            port=spec.port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=platform.vpc_id,
            deregistration_delay=str(DEREGISTRATION_DELAY),
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=health.path,
                interval=health.interval,
                timeout=health.timeout,
                healthy_threshold=health.healthy_threshold,
                unhealthy_threshold=health.unhealthy_threshold,
                matcher=health.matcher,
            ),
        )
        named(self.target_group, spec.name)
        conditions = []
        if route.paths:
            conditions.append(
                LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=list(route.paths)))
            )
        if route.hosts:
            # As this copy names them: `<workspace>.<host>` outside `default` (infra.naming).
            hosts = [Names.of(self).host(host) for host in route.hosts]
            conditions.append(LbListenerRuleCondition(host_header=LbListenerRuleConditionHostHeader(values=hosts)))
        self.listener_rule = LbListenerRule(
            self,
            "listener-rule",
            listener_arn=platform.listener_arn,
            priority=route.priority,
            action=[LbListenerRuleAction(type="forward", target_group_arn=self.target_group.arn)],
            condition=conditions,
            tags={"Name": name},
        )
        named(self.listener_rule, spec.name)


def discovery_service(
    scope: Construct, id_: str, *, name: str, spec: ServiceSpec, namespace: str, platform: PlatformRef
) -> ServiceDiscoveryService:
    return ServiceDiscoveryService(
        scope,
        id_,
        name=spec.name,
        description=f"{name}: {spec.name}.{namespace}",
        dns_config=ServiceDiscoveryServiceDnsConfig(
            namespace_id=platform.namespace_id,
            routing_policy="MULTIVALUE",
            dns_records=[ServiceDiscoveryServiceDnsConfigDnsRecords(type="A", ttl=10)],
        ),
        health_check_custom_config=ServiceDiscoveryServiceHealthCheckCustomConfig(failure_threshold=1),
        # ECS deregisters its tasks, but a destroy must not wait for stale instances.
        force_destroy=True,
    )
