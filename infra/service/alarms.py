"""The service's alarms, each notifying the platform's alarm topic (on alarm and on recovery).

    cpu-high, memory-high   ECS service average above `alarms.cpu_high`/`memory_high` for 15 minutes
    http-5xx                web: target 5xx responses above `alarms.http_5xx` in 5 minutes
    unhealthy-hosts         web: a target failing the load balancer's health check for 3 minutes
    queue-age, dlq-not-empty  worker: oldest message older than `alarms.queue_age_seconds`;
                            any message in the dead-letter queue

The same alarms fail and roll back a deployment (`[deployment] rollback_alarms`, by purpose:
`infra.config.specs.SERVICE_ALARMS` lists them per kind; `names()` gives the alarm names).
A blue/green service has two target groups that swap roles with every deployment, so its
load-balancer alarms watch both: the sum of their 5xx, the larger of their unhealthy counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)

from infra import naming
from infra.naming import Names
from infra.config.specs import AlarmSpec

ALARM_PERIOD = 300
# UnHealthyHostCount is published every minute ("CloudWatch metrics for your Application Load
# Balancer"); three bad minutes in a row, so one failed check of a starting task does not alarm.
UNHEALTHY_PERIOD = 60
UNHEALTHY_PERIODS = 3


class ServiceAlarms(Construct):
    """Typed outputs: `alarms` (purpose -> CloudwatchMetricAlarm), `names(purposes)`, `arns(purposes)`."""

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
        target_group_arn_suffixes: Sequence[str] = (),
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
        if load_balancer_arn_suffix is not None and target_group_arn_suffixes:
            self._target_group_alarms(spec, load_balancer_arn_suffix, list(target_group_arn_suffixes))
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

    def names(self, purposes: Sequence[str]) -> list[str]:
        """The alarm names of `purposes` (references: whatever names them waits for the alarms)."""
        return [self._get(purpose).alarm_name for purpose in purposes]

    def arns(self, purposes: Sequence[str]) -> list[str]:
        return [self._get(purpose).arn for purpose in purposes]

    def _get(self, purpose: str) -> CloudwatchMetricAlarm:
        alarm = self.alarms.get(purpose)
        if alarm is None:
            raise ValueError(f"{self._name} has no {purpose!r} alarm (its alarms: {', '.join(self.alarms)})")
        return alarm

    def _target_group_alarms(self, spec: AlarmSpec, load_balancer: str, target_groups: list[str]) -> None:
        if len(target_groups) == 1:
            dimensions = {"LoadBalancer": load_balancer, "TargetGroup": target_groups[0]}
            self._alarm(
                "http-5xx",
                description=f"{self._name}: more than {spec.http_5xx} target 5xx responses in 5 minutes",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_Target_5XX_Count",
                dimensions=dimensions,
                statistic="Sum",
                threshold=spec.http_5xx,
            )
            self._alarm(
                "unhealthy-hosts",
                description=f"{self._name}: a target fails the load balancer's health check for 3 minutes",
                namespace="AWS/ApplicationELB",
                metric="UnHealthyHostCount",
                dimensions=dimensions,
                statistic="Maximum",
                threshold=0,
                period=UNHEALTHY_PERIOD,
                periods=UNHEALTHY_PERIODS,
            )
            return
        # Metric math over both target groups ("Using math expressions with CloudWatch
        # metrics": SUM and MAX of an array of time series):
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
        self._math_alarm(
            "http-5xx",
            description=f"{self._name}: more than {spec.http_5xx} target 5xx responses in 5 minutes (both target groups)",
            metric="HTTPCode_Target_5XX_Count",
            statistic="Sum",
            function="SUM",
            load_balancer=load_balancer,
            target_groups=target_groups,
            period=ALARM_PERIOD,
            periods=1,
            threshold=spec.http_5xx,
        )
        self._math_alarm(
            "unhealthy-hosts",
            description=f"{self._name}: a target fails the load balancer's health check for 3 minutes (either target group)",
            metric="UnHealthyHostCount",
            statistic="Maximum",
            function="MAX",
            load_balancer=load_balancer,
            target_groups=target_groups,
            period=UNHEALTHY_PERIOD,
            periods=UNHEALTHY_PERIODS,
            threshold=0,
        )

    def _math_alarm(
        self,
        purpose: str,
        *,
        description: str,
        metric: str,
        statistic: str,
        function: str,
        load_balancer: str,
        target_groups: list[str],
        period: int,
        periods: int,
        threshold: int,
    ) -> None:
        ids = [f"tg{i + 1}" for i in range(len(target_groups))]
        queries = [
            CloudwatchMetricAlarmMetricQuery(
                id=query_id,
                return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace="AWS/ApplicationELB",
                    metric_name=metric,
                    dimensions={"LoadBalancer": load_balancer, "TargetGroup": target_group},
                    period=period,
                    stat=statistic,
                ),
            )
            for query_id, target_group in zip(ids, target_groups)
        ]
        queries.append(
            CloudwatchMetricAlarmMetricQuery(
                id="total", expression=f"{function}([{', '.join(ids)}])", label=f"{metric} ({function.lower()} of both)", return_data=True
            )
        )
        self.alarms[purpose] = CloudwatchMetricAlarm(
            self,
            purpose,
            alarm_name=Names.of(self).name(f"{self._name}-{purpose}", naming.ALARM),
            alarm_description=description,
            metric_query=queries,
            evaluation_periods=periods,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            treat_missing_data="notBreaching",
            alarm_actions=[self._topic_arn],
            ok_actions=[self._topic_arn],
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
        period: int = ALARM_PERIOD,
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
            period=period,
            evaluation_periods=periods,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            treat_missing_data="notBreaching",
            alarm_actions=[self._topic_arn],
            ok_actions=[self._topic_arn],
        )
