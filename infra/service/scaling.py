"""Application Auto Scaling of one ECS service: the service's desired count belongs to it.

    target       service/<cluster>/<env>-<service>, ecs:service:DesiredCount, min..max from the spec
    cpu          target tracking on ECSServiceAverageCPUUtilization     (scaling.cpu_target)
    memory       target tracking on ECSServiceAverageMemoryUtilization  (scaling.memory_target)
    requests     target tracking on ALBRequestCountPerTarget (web)       (scaling.requests_per_target)
    backlog-*    step scaling on the SQS backlog (worker)                (scaling.queue_backlog_per_task)
    schedule-*   scheduled min/max changes                               (scaling.schedules)

Each policy exists only when its setting is set. The worker's backlog scaling is step
scaling driven by two CloudWatch alarms: scale out while more than
`queue_backlog_per_task` messages are visible (bigger steps for a bigger backlog), scale
in one task at a time once the queue has been empty for 15 minutes. Construct ids are
the policy's purpose or the schedule's name, so adding or removing one never renames
another.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyStepScalingPolicyConfiguration,
    AppautoscalingPolicyStepScalingPolicyConfigurationStepAdjustment,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_scheduled_action import (
    AppautoscalingScheduledAction,
    AppautoscalingScheduledActionScalableTargetAction,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm

from infra.config.specs import EnvironmentSpec, ServiceKind, ServiceSpec

SCALABLE_DIMENSION = "ecs:service:DesiredCount"
# Scale-out steps on the backlog, as multiples of queue_backlog_per_task above the alarm
# threshold: (lower, upper, tasks to add). Visible messages in [b, 2b) add 1 task,
# [2b, 5b) add 2, 5b and more add 4.
BACKLOG_STEPS: tuple[tuple[int, int | None, int], ...] = ((0, 1, 1), (1, 4, 2), (4, None, 4))
BACKLOG_PERIOD = 60
BACKLOG_EVALUATION_PERIODS = 2
EMPTY_PERIOD = 300
EMPTY_EVALUATION_PERIODS = 3  # 15 minutes without a visible message


class ServiceScaling(Construct):
    """Typed outputs: `target` (AppautoscalingTarget), `policies` (purpose -> AppautoscalingPolicy:
    "cpu", "memory", "requests", "backlog-out", "backlog-in"), `alarms` (the backlog alarms by
    purpose), `schedules` (schedule name -> AppautoscalingScheduledAction)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        cluster_name: str,
        service_name: str,
        load_balancer_arn_suffix: str | None = None,
        target_group_arn_suffix: str | None = None,
        queue_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._prefix = f"{env.name}-{spec.name}"
        self._spec = spec
        self.policies: dict[str, AppautoscalingPolicy] = {}
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        self.schedules: dict[str, AppautoscalingScheduledAction] = {}
        self.target = AppautoscalingTarget(
            self,
            "target",
            service_namespace="ecs",
            resource_id=f"service/{cluster_name}/{service_name}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=spec.min_count,
            max_capacity=spec.max_count,
        )
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
            self._backlog_scaling(queue_name, scaling.queue_backlog_per_task)
        for schedule in scaling.schedules:
            self._schedule(schedule.name, schedule.expression, schedule.timezone, schedule.min_count, schedule.max_count)

    def _target_tracking(self, purpose: str, metric: str, target: int, *, resource_label: str | None = None) -> None:
        self.policies[purpose] = AppautoscalingPolicy(
            self,
            purpose,
            name=f"{self._prefix}-{purpose}",
            policy_type="TargetTrackingScaling",
            service_namespace=self.target.service_namespace,
            resource_id=self.target.resource_id,
            scalable_dimension=self.target.scalable_dimension,
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=target,
                scale_in_cooldown=self._spec.scaling.scale_in_cooldown,
                scale_out_cooldown=self._spec.scaling.scale_out_cooldown,
                predefined_metric_specification=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                        predefined_metric_type=metric, resource_label=resource_label
                    )
                ),
            ),
        )

    def _step_policy(
        self, purpose: str, cooldown: int, steps: list[AppautoscalingPolicyStepScalingPolicyConfigurationStepAdjustment]
    ) -> AppautoscalingPolicy:
        policy = AppautoscalingPolicy(
            self,
            purpose,
            name=f"{self._prefix}-{purpose}",
            policy_type="StepScaling",
            service_namespace=self.target.service_namespace,
            resource_id=self.target.resource_id,
            scalable_dimension=self.target.scalable_dimension,
            step_scaling_policy_configuration=AppautoscalingPolicyStepScalingPolicyConfiguration(
                adjustment_type="ChangeInCapacity",
                cooldown=cooldown,
                metric_aggregation_type="Maximum",
                step_adjustment=steps,
            ),
        )
        self.policies[purpose] = policy
        return policy

    def _backlog_scaling(self, queue_name: str, per_task: int) -> None:
        scale_out = self._step_policy(
            "backlog-out",
            self._spec.scaling.scale_out_cooldown,
            [
                AppautoscalingPolicyStepScalingPolicyConfigurationStepAdjustment(
                    metric_interval_lower_bound=str(lower * per_task),
                    metric_interval_upper_bound=None if upper is None else str(upper * per_task),
                    scaling_adjustment=add,
                )
                for lower, upper, add in BACKLOG_STEPS
            ],
        )
        scale_in = self._step_policy(
            "backlog-in",
            self._spec.scaling.scale_in_cooldown,
            [AppautoscalingPolicyStepScalingPolicyConfigurationStepAdjustment(metric_interval_upper_bound="0", scaling_adjustment=-1)],
        )
        self.alarms["backlog-out"] = self._queue_alarm(
            "backlog-high",
            queue_name,
            description=f"{self._prefix}: more than {per_task} messages waiting; add tasks",
            comparison="GreaterThanThreshold",
            threshold=per_task,
            period=BACKLOG_PERIOD,
            periods=BACKLOG_EVALUATION_PERIODS,
            action=scale_out.arn,
        )
        self.alarms["backlog-in"] = self._queue_alarm(
            "backlog-empty",
            queue_name,
            description=f"{self._prefix}: queue empty for 15 minutes; remove a task",
            comparison="LessThanOrEqualToThreshold",
            threshold=0,
            period=EMPTY_PERIOD,
            periods=EMPTY_EVALUATION_PERIODS,
            action=scale_in.arn,
        )

    def _queue_alarm(
        self,
        id_: str,
        queue_name: str,
        *,
        description: str,
        comparison: str,
        threshold: int,
        period: int,
        periods: int,
        action: str,
    ) -> CloudwatchMetricAlarm:
        return CloudwatchMetricAlarm(
            self,
            id_,
            alarm_name=f"{self._prefix}-{id_}",
            alarm_description=description,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            statistic="Maximum",
            period=period,
            evaluation_periods=periods,
            comparison_operator=comparison,
            threshold=threshold,
            # SQS stops reporting for a queue idle for hours: no data means no backlog.
            treat_missing_data="notBreaching",
            alarm_actions=[action],
        )

    def _schedule(self, name: str, expression: str, timezone: str, low: int, high: int) -> None:
        self.schedules[name] = AppautoscalingScheduledAction(
            self,
            f"schedule-{name}",
            name=f"{self._prefix}-{name}",
            service_namespace=self.target.service_namespace,
            resource_id=self.target.resource_id,
            scalable_dimension=self.target.scalable_dimension,
            schedule=expression,
            timezone=timezone,
            scalable_target_action=AppautoscalingScheduledActionScalableTargetAction(
                min_capacity=str(low), max_capacity=str(high)
            ),
        )
