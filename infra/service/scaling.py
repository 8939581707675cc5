"""Application Auto Scaling of one ECS service: the service's desired count belongs to it.

    target       service/<cluster>/<env>-<service>, ecs:service:DesiredCount, min..max from the
                 stack's variables min_count / max_count (defaults: the spec's)
    cpu          target tracking on ECSServiceAverageCPUUtilization     (scaling.cpu_target)
    memory       target tracking on ECSServiceAverageMemoryUtilization  (scaling.memory_target)
    requests     target tracking on ALBRequestCountPerTarget (web)       (scaling.requests_per_target)
    backlog      target tracking on visible messages per running task    (scaling.queue_backlog_per_task
                 (worker; metric math over SQS and Container Insights)    or scaling.queue_delay)
    schedule-*   scheduled min/max changes                               (scaling.schedules)

Each policy exists only when its setting is set. The worker's backlog scaling keeps the
visible messages per running task near `queue_backlog_per_task`, adding and removing tasks
in proportion (a total-queue alarm would ratchet up: the same backlog means less per task
as tasks are added, and scale-in would wait for an empty queue). With `queue_delay` the
target is acceptable_latency / time per message, as AWS Copilot's workers do. Construct ids
are the policy's purpose or the schedule's name, so adding or removing one never renames
another.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetrics,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStat,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetric,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetricDimensions,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_scheduled_action import (
    AppautoscalingScheduledAction,
    AppautoscalingScheduledActionScalableTargetAction,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.config.specs import EnvironmentSpec, ServiceKind, ServiceSpec

SCALABLE_DIMENSION = "ecs:service:DesiredCount"


class ServiceScaling(Construct):
    """Typed outputs: `target` (AppautoscalingTarget), `policies` (purpose -> AppautoscalingPolicy:
    "cpu", "memory", "requests", "backlog"), `schedules` (schedule name -> AppautoscalingScheduledAction)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        min_count: float,
        max_count: float,
        cluster_name: str,
        service_name: str,
        load_balancer_arn_suffix: str | None = None,
        target_group_arn_suffix: str | None = None,
        queue_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._names = Names.of(self)
        self._prefix = f"{{prefix}}-{spec.name}"
        self._spec = spec
        self.policies: dict[str, AppautoscalingPolicy] = {}
        self.schedules: dict[str, AppautoscalingScheduledAction] = {}
        self.target = AppautoscalingTarget(
            self,
            "target",
            service_namespace="ecs",
            resource_id=f"service/{cluster_name}/{service_name}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=min_count,
            max_capacity=max_count,
        )
        named(self.target, spec.name)
        scaling = spec.scaling
        if scaling.cpu_target is not None:
            self._target_tracking("cpu", "ECSServiceAverageCPUUtilization", scaling.cpu_target)
        if scaling.memory_target is not None:
            self._target_tracking("memory", "ECSServiceAverageMemoryUtilization", scaling.memory_target)
        if scaling.requests_per_target is not None and spec.kind is ServiceKind.WEB:
            if load_balancer_arn_suffix is None or target_group_arn_suffix is None:
                raise ValueError(f"{spec.file}: scaling.requests_per_target needs the service's target group")
            self._target_tracking(
                "requests",
                "ALBRequestCountPerTarget",
                scaling.requests_per_target,
                resource_label=f"{load_balancer_arn_suffix}/{target_group_arn_suffix}",
            )
        if scaling.queue_backlog_per_task is not None and spec.kind is ServiceKind.WORKER:
            if queue_name is None:
                raise ValueError(f"{spec.file}: scaling.queue_backlog_per_task needs the service's queue")
            self._backlog_scaling(queue_name, cluster_name, service_name, scaling.queue_backlog_per_task)
        for schedule in scaling.schedules:
            self._schedule(schedule.name, schedule.expression, schedule.timezone, schedule.min_count, schedule.max_count)

    def _target_tracking(self, purpose: str, metric: str, target: int, *, resource_label: str | None = None) -> None:
        self._policy(
            purpose,
            target,
            predefined=AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                predefined_metric_type=metric, resource_label=resource_label
            ),
        )

    def _policy(
        self,
        purpose: str,
        target: int,
        *,
        predefined: AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification | None = None,
        customized: AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification | None = None,
    ) -> None:
        """A target-tracking policy `<env>-<service>-<purpose>` on a predefined or a customized metric."""
        self.policies[purpose] = AppautoscalingPolicy(
            self,
            purpose,
            name=self._names.name(f"{self._prefix}-{purpose}", naming.SCALING_POLICY),
            policy_type="TargetTrackingScaling",
            service_namespace=self.target.service_namespace,
            resource_id=self.target.resource_id,
            scalable_dimension=self.target.scalable_dimension,
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=target,
                scale_in_cooldown=self._spec.scaling.scale_in_cooldown,
                scale_out_cooldown=self._spec.scaling.scale_out_cooldown,
                predefined_metric_specification=predefined,
                customized_metric_specification=customized,
            ),
        )

    def _backlog_scaling(self, queue_name: str, cluster_name: str, service_name: str, per_task: int) -> None:
        """Target tracking on the backlog per running task, both ways: AWS's "Create a target
        tracking scaling policy for Application Auto Scaling using metric math" (Example: Amazon
        SQS queue backlog per task). With no task running, the whole backlog counts (so a worker
        at zero tasks starts one)."""
        custom = AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification
        metrics = AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetrics
        stat = AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStat
        metric = AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetric
        dimension = AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetricDimensions

        def series(id_: str, namespace: str, name: str, dimensions: dict[str, str], statistic: str) -> object:
            return metrics(
                id=id_,
                metric_stat=stat(
                    metric=metric(
                        namespace=namespace,
                        metric_name=name,
                        dimensions=[dimension(name=k, value=v) for k, v in dimensions.items()],
                    ),
                    stat=statistic,
                ),
                return_data=False,
            )

        self._policy(
            "backlog",
            per_task,
            customized=custom(
                metrics=[
                    series("visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Sum"),
                    series(
                        "tasks",
                        "ECS/ContainerInsights",
                        "RunningTaskCount",
                        {"ClusterName": cluster_name, "ServiceName": service_name},
                        "Average",
                    ),
                    metrics(
                        id="backlog_per_task",
                        expression="IF(tasks > 0, visible / tasks, visible)",
                        label="Visible messages per running task",
                        return_data=True,
                    ),
                ]
            ),
        )

    def _schedule(self, name: str, expression: str, timezone: str, low: int, high: int) -> None:
        self.schedules[name] = AppautoscalingScheduledAction(
            self,
            f"schedule-{name}",
            name=self._names.name(f"{self._prefix}-{name}", naming.SCALING_POLICY),
            service_namespace=self.target.service_namespace,
            resource_id=self.target.resource_id,
            scalable_dimension=self.target.scalable_dimension,
            schedule=expression,
            timezone=timezone,
            scalable_target_action=AppautoscalingScheduledActionScalableTargetAction(
                min_capacity=str(low), max_capacity=str(high)
            ),
        )
