"""The service's alarms, each notifying the platform's alarm topic (on alarm and on recovery).

    cpu-high, memory-high   ECS service average above `alarms.cpu_high`/`memory_high` for 15 minutes
    http-5xx                web: target 5xx responses above `alarms.http_5xx` in 5 minutes
    queue-age, dlq-not-empty  worker: oldest message older than `alarms.queue_age_seconds`;
                            any message in the dead-letter queue
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm

from infra import naming
from infra.naming import Names
from infra.config.specs import AlarmSpec

ALARM_PERIOD = 300


class ServiceAlarms(Construct):
    """Typed outputs: `alarms` (purpose -> CloudwatchMetricAlarm)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        spec: AlarmSpec,
        topic_arn: str,
        cluster_name: str,
        service_name: str,
        load_balancer_arn_suffix: str | None = None,
        target_group_arn_suffix: str | None = None,
        queue_name: str | None = None,
        dead_letter_queue_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._name = name
        self._topic_arn = topic_arn
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        ecs = {"ClusterName": cluster_name, "ServiceName": service_name}
        for purpose, label, metric, threshold in (
            ("cpu-high", "CPU", "CPUUtilization", spec.cpu_high),
            ("memory-high", "memory", "MemoryUtilization", spec.memory_high),
        ):
            self._alarm(
                purpose,
                description=f"{name}: {label} above {threshold}% for 15 minutes",
                namespace="AWS/ECS",
                metric=metric,
                dimensions=ecs,
                statistic="Average",
                threshold=threshold,
                periods=3,
            )
        if load_balancer_arn_suffix is not None and target_group_arn_suffix is not None:
            self._alarm(
                "http-5xx",
                description=f"{name}: more than {spec.http_5xx} target 5xx responses in 5 minutes",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_Target_5XX_Count",
                dimensions={"LoadBalancer": load_balancer_arn_suffix, "TargetGroup": target_group_arn_suffix},
                statistic="Sum",
                threshold=spec.http_5xx,
            )
        if queue_name is not None and dead_letter_queue_name is not None:
            self._alarm(
                "queue-age",
                description=f"{name}: oldest message older than {spec.queue_age_seconds} s",
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue_name},
                statistic="Maximum",
                threshold=spec.queue_age_seconds,
            )
            self._alarm(
                "dlq-not-empty",
                description=f"{name}: messages in the dead-letter queue",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dead_letter_queue_name},
                statistic="Maximum",
                threshold=0,
            )

    def _alarm(
        self,
        purpose: str,
        *,
        description: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        statistic: str,
        threshold: int,
        periods: int = 1,
    ) -> None:
        self.alarms[purpose] = CloudwatchMetricAlarm(
            self,
            purpose,
            alarm_name=Names.of(self).name(f"{self._name}-{purpose}", naming.ALARM),
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=ALARM_PERIOD,
            evaluation_periods=periods,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            treat_missing_data="notBreaching",
            alarm_actions=[self._topic_arn],
            ok_actions=[self._topic_arn],
        )
