"""How a service is reached: a target group and listener rule on the platform's load balancer
(web), and a Cloud Map name `<service>.<namespace>` inside the VPC (every service).

A blue/green web service (`[deployment] strategy = "blue_green"`) has a second target group
`<env>-<service>-g` and a rule on the platform's test listener, with the same conditions,
forwarding to it. CodeDeploy starts each deployment's new tasks in the target group that has
none, sends the test listener's traffic to them, then moves the production rule there
("Deployments on an Amazon ECS compute platform":
https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html). So after a
deployment either rule may forward to either group: CodeDeploy owns both rules' `action`, and
Terraform ignores it (otherwise every apply would move the traffic back).
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
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
from infra.config import limits
from infra.config.specs import RouteSpec, ServiceSpec
from infra.service.platform_ref import PlatformRef

DEREGISTRATION_DELAY = 30


class LoadBalancerRoute(Construct):
    """Typed outputs: `target_group` (LbTargetGroup), `listener_rule` (LbListenerRule); for
    blue/green `second_target_group` and `test_listener_rule` (else None); `target_groups`,
    `listener_rules` (all of them)."""

    def __init__(
        self, scope: Construct, id_: str, *, name: str, spec: ServiceSpec, route: RouteSpec, platform: PlatformRef
    ) -> None:
        super().__init__(scope, id_)
        blue_green = spec.deployment.blue_green
        codedeploy_owns_action = TerraformResourceLifecycle(ignore_changes=["action"]) if blue_green else None
        self._vpc_id = platform.vpc_id
        self.target_group = self._target_group("target-group", name, spec)
        named(self.target_group, spec.name)
        conditions = _conditions(self, route)
        self.listener_rule = LbListenerRule(
            self,
            "listener-rule",
            listener_arn=platform.listener_arn,
            priority=route.priority,
            action=[LbListenerRuleAction(type="forward", target_group_arn=self.target_group.arn)],
            condition=conditions,
            tags={"Name": name},
            lifecycle=codedeploy_owns_action,
        )
        named(self.listener_rule, spec.name)
        self.second_target_group: LbTargetGroup | None = None
        self.test_listener_rule: LbListenerRule | None = None
        if blue_green:
            self.second_target_group = named(
                self._target_group("second-target-group", f"{name}{limits.SECOND_TARGET_GROUP_SUFFIX}", spec), f"{spec.name}_green"
            )
            # The same priority as the production rule: another listener, so no clash.
            self.test_listener_rule = named(
                LbListenerRule(
                    self,
                    "test-listener-rule",
                    listener_arn=platform.test_listener_arn,
                    priority=route.priority,
                    action=[LbListenerRuleAction(type="forward", target_group_arn=self.second_target_group.arn)],
                    condition=conditions,
                    tags={"Name": f"{name}-test"},
                    lifecycle=codedeploy_owns_action,
                ),
                f"{spec.name}_test",
            )
        self.target_groups = [tg for tg in (self.target_group, self.second_target_group) if tg is not None]
        self.listener_rules = [rule for rule in (self.listener_rule, self.test_listener_rule) if rule is not None]

    def _target_group(self, id_: str, name: str, spec: ServiceSpec) -> LbTargetGroup:
        health = spec.health_check
        return LbTargetGroup(
            self,
            id_,
            name=Names.of(self).name(name, naming.TARGET_GROUP),
            port=spec.port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=self._vpc_id,
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


def _conditions(scope: Construct, route: RouteSpec) -> list[LbListenerRuleCondition]:
    conditions = []
    if route.paths:
        conditions.append(LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=list(route.paths))))
    if route.hosts:
        # As this copy names them: `<workspace>.<host>` outside `default` (infra.naming).
        hosts = [Names.of(scope).host(host) for host in route.hosts]
        conditions.append(LbListenerRuleCondition(host_header=LbListenerRuleConditionHostHeader(values=hosts)))
    return conditions


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
