"""A scheduled job (`kind = "job"`): no ECS service; EventBridge Scheduler runs its task.

    schedule group  `<env>-<job>`, holding the job's one schedule (Scheduler's metrics are per
                    group, so the job's alarm sees only its own runs)
    schedule        `<env>-<job>`: `schedule` in `timezone`, target ECS RunTask of the job's task
                    definition family on the platform's cluster (the capacity-provider strategy
                    of the manifest, private subnets, the job's own security group, no public IP)
    scheduler role  `<env>-<job>-scheduler`, trusted by scheduler.amazonaws.com of this account:
                    ecs:RunTask of this family only, on this cluster only; iam:PassRole of the
                    job's execution and task roles, to ECS tasks only; tags on the tasks it
                    starts; send to its dead-letter queue
    dead-letter     `<env>-<job>-dlq` (platform key): a run Scheduler could not start after its
    queue           retries; its policy lets only the scheduler role send
    failed runs     `<env>-<job>-failed-runs` (platform key): an EventBridge rule puts there the
                    stop event of every task of the family that exited nonzero or never started
    alarms          not-started (Scheduler's dead-letter and dropped invocations of the group),
                    run-failed (a message in the failed-runs queue); both notify the alarm topic

What a run's limits mean
------------------------
`retries` is Scheduler's RetryPolicy.MaximumRetryAttempts: how often Scheduler calls RunTask
again when the call fails (throttled, refused, an ECS error), with exponential back-off,
before the run goes to the dead-letter queue. It does not re-run a task that started and
then failed: Scheduler only sees the RunTask call (AWS docs, EventBridge Scheduler API
Reference, "RetryPolicy", https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html).
Such a run is reported, not repeated: the failed-runs rule catches its stop event (a nonzero
exit code, or a task that failed to start) and the run-failed alarm fires. Re-running a
half-done job automatically is only safe when the job is idempotent, which the platform
cannot know; the next scheduled run, or `aws ecs run-task` by hand, runs it again.

`timeout` bounds a run in two places. ECS runs a task until its essential containers exit
and RunTask takes no time limit, so the task definition carries a second essential
container (infra.service.container_definition.deadline_container) that exits after
`timeout` seconds and so stops the task: the job's container gets SIGTERM, then SIGKILL
after its stop timeout (30 s by default). The app gets the same number as
JOB_TIMEOUT_SECONDS, to stop cleanly before. And `timeout` is the RetryPolicy's
MaximumEventAgeInSeconds: Scheduler does not retry a start later than `timeout` seconds
after the scheduled time (a run that could not start within the time it may take is given
up, and the next one is due). Why not Step Functions as AWS Copilot does (runTask.sync with a
Retry and a TimeoutSeconds): a state machine, its role and its logs per job for two numbers,
and a retry of a failed task is still only safe for an idempotent job; the deadline container
gives the same hard stop with nothing but ECS.

How a new image reaches the next run
------------------------------------
The schedule names the family without a revision (`task-definition/<family>`): RunTask then runs
the family's latest ACTIVE revision (AWS docs, Amazon ECS API Reference, "RunTask",
taskDefinition: "If a revision isn't specified, the latest ACTIVE revision is used",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). The job's
pipeline registers a revision with the new image (infra.service.pipeline, a CodeBuild deploy
step in place of the ECS deploy action, which needs a service), then records the tag in SSM
as for a service; a later `terraform apply` registers the revision Terraform describes with
that tag, which is again the latest. With `[pipeline] promote_from` one pipeline, in the home
environment's stack, registers the revision in the upstream environment first and, after the
approval, with the same digest in the home environment (infra.service.delivery), as it
deploys a service. IAM evaluates RunTask against the ARN the caller gives,
so the scheduler role may run `<family>` and `<family>:*`, nothing else.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm, CloudwatchMetricAlarmMetricQuery, CloudwatchMetricAlarmMetricQueryMetric
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition
from cdktf_cdktf_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetDeadLetterConfig,
    SchedulerScheduleTargetEcsParameters,
    SchedulerScheduleTargetEcsParametersCapacityProviderStrategy,
    SchedulerScheduleTargetEcsParametersNetworkConfiguration,
    SchedulerScheduleTargetEcsParametersPlacementStrategy,
    SchedulerScheduleTargetRetryPolicy,
)
from cdktf_cdktf_provider_aws.scheduler_schedule_group import SchedulerScheduleGroup
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy

from infra import naming
from infra.addresses import named
from infra.arns import Arns
from infra.config.specs import CapacityProvider, ServiceSpec
from infra.expressions import jsonencode
from infra.iam import ECS_TASKS, condition, inline_policy, service_role, statement
from infra.naming import Names
from infra.service.platform_ref import PlatformRef
from infra.service.roles import CLUSTER

SCHEDULER = "scheduler.amazonaws.com"
# Kept as long as SQS allows, to read what failed ("SetQueueAttributes": MessageRetentionPeriod).
RETENTION_SECONDS = 14 * 24 * 3600
DATA_KEY_REUSE_SECONDS = 300
ALARM_PERIOD = 300
# AWS docs, "Monitoring Amazon EventBridge Scheduler with Amazon CloudWatch" (namespace
# AWS/Scheduler, dimension ScheduleGroup) and "Troubleshooting Amazon EventBridge Scheduler"
# (InvocationsSentToDeadLetterCount "to track failed invocations"):
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/monitoring-cloudwatch.html
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/troubleshooting.html
# A run that never started: sent to the DLQ once the retries were spent, or not even that
# (the DLQ refused it; dropped). TargetErrorCount is left out: it counts every failed attempt,
# also those a retry then started.
NOT_STARTED_METRICS = (
    "InvocationsSentToDeadLetterCount",
    "InvocationsFailedToBeSentToDeadLetterCount",
    "InvocationDroppedCount",
)


def run_group(family: str) -> str:
    """The task group of the job's tasks: RunTask's default (`family:<family>`, AWS docs "RunTask",
    group), set explicitly so the failed-runs rule matches scheduled runs and runs by hand alike."""
    return f"family:{family}"


class ScheduledJob(Construct):
    """Typed outputs: `schedule` (SchedulerSchedule), `group_name`, `role_arn`,
    `dead_letter_queue`, `failed_runs_queue` (SqsQueue), `alarms` (purpose -> alarm)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        name: str,
        task_definition: EcsTaskDefinition,
        execution_role_arn: str,
        task_role_arn: str,
        security_group_id: str,
    ) -> None:
        super().__init__(scope, id_)
        if spec.job is None:
            raise ValueError(f"{spec.file}: kind: a ScheduledJob needs kind = \"job\"")
        job = spec.job
        names = Names.of(self)
        key = platform.kms_key_arn

        group = named(SchedulerScheduleGroup(self, "group", name=names.name(name, naming.SCHEDULE)), spec.name)
        self.group_name = group.name
        self.dead_letter_queue = self._queue("dlq", names.name(f"{name}-dlq", naming.SQS_QUEUE), key)

        role = service_role(
            self, "scheduler", name=names.name(f"{name}-scheduler", naming.IAM_ROLE), principal=SCHEDULER, source_account=arns.account_id
        )
        self.role_arn = role.arn
        # The family by name, not by the task definition's attributes: a new revision (a new
        # image) replaces that resource, and a reference would re-plan the schedule and the
        # rule with "known after apply" each time, for the same value.
        family = name
        policy = inline_policy(
            self,
            "scheduler-policy",
            role=role,
            name="run-job",
            statements=[
                # AWS docs, "Set up the execution role" (EventBridge Scheduler User Guide) and
                # "Amazon ECS EventBridge IAM Role": RunTask, PassRole of the task's roles to ECS
                # tasks, TagResource on creation (the schedule propagates the family's tags).
                # https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html
                # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/CWE_IAM_role.html
                # RunTask takes the condition key ecs:cluster (Service Authorization Reference,
                # "Actions, resources, and condition keys for Amazon Elastic Container Service",
                # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
                statement(
                    "RunOwnFamily",
                    ["ecs:RunTask"],
                    [arns.arn("ecs", f"task-definition/{name}"), arns.task_definitions(name)],
                    [condition("ArnEquals", "ecs:cluster", [platform.cluster_arn])],
                ),
                statement(
                    "TagStartedTasks",
                    ["ecs:TagResource"],
                    [arns.ecs_tasks(CLUSTER)],
                    [condition("StringEquals", "ecs:CreateAction", ["RunTask"])],
                ),
                statement(
                    "PassOwnTaskRoles",
                    ["iam:PassRole"],
                    [execution_role_arn, task_role_arn],
                    [condition("StringEquals", "iam:PassedToService", [ECS_TASKS])],
                ),
                # AWS docs, "Configuring a dead-letter queue for EventBridge Scheduler": the
                # execution role sends the dead-letter event.
                # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
                statement("SendToOwnDeadLetterQueue", ["sqs:SendMessage"], [self.dead_letter_queue.arn]),
                # The DLQ is encrypted with the platform key (a producer needs GenerateDataKey
                # and Decrypt, "Key management", Amazon SQS Developer Guide), and so is the
                # schedule ("Encryption at rest in EventBridge Scheduler",
                # https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html).
                statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
            ],
        )
        self._only_the_role_sends(role.arn)

        schedule = SchedulerSchedule(
            self,
            "schedule",
            name=names.name(name, naming.SCHEDULE),
            group_name=group.name,
            description=f"{name}: runs the latest revision of its task definition",
            schedule_expression=job.schedule,
            schedule_expression_timezone=job.timezone,
            # At the scheduled minute, not spread over a window.
            flexible_time_window=SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
            kms_key_arn=key,
            state="ENABLED",
            target=SchedulerScheduleTarget(
                arn=platform.cluster_arn,
                role_arn=role.arn,
                ecs_parameters=SchedulerScheduleTargetEcsParameters(
                    task_definition_arn=arns.arn("ecs", f"task-definition/{family}"),
                    task_count=1,
                    capacity_provider_strategy=[
                        SchedulerScheduleTargetEcsParametersCapacityProviderStrategy(
                            capacity_provider=_capacity_provider(item.provider, platform), weight=item.weight, base=item.base
                        )
                        for item in spec.capacity
                    ],
                    placement_strategy=(
                        [SchedulerScheduleTargetEcsParametersPlacementStrategy(type="spread", field="attribute:ecs.availability-zone")]
                        if any(item.provider is CapacityProvider.EC2 for item in spec.capacity)
                        else None
                    ),
                    network_configuration=SchedulerScheduleTargetEcsParametersNetworkConfiguration(
                        subnets=platform.private_subnet_ids, security_groups=[security_group_id], assign_public_ip=False
                    ),
                    group=run_group(family),
                    enable_ecs_managed_tags=True,
                    propagate_tags="TASK_DEFINITION",
                    enable_execute_command=spec.enable_exec,
                ),
                retry_policy=SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=job.retries, maximum_event_age_in_seconds=job.timeout
                ),
                dead_letter_config=SchedulerScheduleTargetDeadLetterConfig(arn=self.dead_letter_queue.arn),
            ),
            # The role must be able to run the task, and the family must exist, from the first
            # invocation on.
            depends_on=[policy, task_definition],
        )
        self.schedule = named(schedule, spec.name)
        self.failed_runs_queue = self._failed_runs(name, family, platform, key)
        self.alarms = self._alarms(name, group.name, platform.alarm_topic_arn)

    def _queue(self, id_: str, queue_name: str, key: str) -> SqsQueue:
        return SqsQueue(
            self,
            id_,
            name=queue_name,
            message_retention_seconds=RETENTION_SECONDS,
            kms_master_key_id=key,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS,
        )

    def _only_the_role_sends(self, role_arn: str) -> None:
        """The DLQ's policy: the scheduler role may send, and no other principal (a Deny, since
        an Allow alone would leave every principal of the account its own IAM permissions)."""
        queue = self.dead_letter_queue
        document = DataAwsIamPolicyDocument(
            self,
            "dlq-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="SchedulerRoleSends",
                    actions=["sqs:SendMessage"],
                    resources=[queue.arn],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[role_arn])],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="NobodyElseSends",
                    effect="Deny",
                    actions=["sqs:SendMessage"],
                    resources=[queue.arn],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=["*"])],
                    condition=[condition("ArnNotEquals", "aws:PrincipalArn", [role_arn])],
                ),
            ],
        )
        SqsQueuePolicy(self, "dlq-policy", queue_url=queue.url, policy=document.json)

    def _failed_runs(self, name: str, family: str, platform: PlatformRef, key: str) -> SqsQueue:
        """Every task of the family that stopped with a nonzero exit code in any container, or
        never started: its whole stop event, in a queue of its own (AWS docs, "Amazon ECS task
        state change events": detail.clusterArn, group, lastStatus, stopCode, containers[].exitCode,
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html)."""
        names = Names.of(self)
        queue = self._queue("failed-runs", names.name(f"{name}-failed-runs", naming.SQS_QUEUE), key)
        pattern = {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [platform.cluster_arn],
                "group": [run_group(family)],
                "lastStatus": ["STOPPED"],
                # EventBridge matches an array field if any element matches ("Event patterns in
                # Amazon EventBridge", arrays; numeric anything-but; $or).
                "$or": [
                    {"containers": {"exitCode": [{"anything-but": 0}]}},
                    {"stopCode": ["TaskFailedToStart"]},
                ],
            },
        }
        rule = CloudwatchEventRule(
            self,
            "failed-runs-rule",
            name=names.name(f"{name}-failed-runs", naming.EVENT_RULE),
            description=f"{name}: a run that exited nonzero (or hit its timeout) or never started",
            event_pattern=jsonencode(pattern, scope=self),
        )
        # The platform key lets events.amazonaws.com encrypt (infra.platform.encryption); the
        # queue lets only this rule send. AWS docs, "Amazon SQS permissions" (EventBridge User
        # Guide, resource-based policies: events.amazonaws.com with aws:SourceArn of the rule).
        document = DataAwsIamPolicyDocument(
            self,
            "failed-runs-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="FailedRunsRuleSends",
                    actions=["sqs:SendMessage"],
                    resources=[queue.arn],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["events.amazonaws.com"])],
                    condition=[condition("ArnEquals", "aws:SourceArn", [rule.arn])],
                )
            ],
        )
        SqsQueuePolicy(self, "failed-runs-policy", queue_url=queue.url, policy=document.json)
        CloudwatchEventTarget(self, "failed-runs-target", rule=rule.name, arn=queue.arn, target_id="failed-runs")
        return queue

    def _alarms(self, name: str, group_name: str, topic_arn: str) -> dict[str, CloudwatchMetricAlarm]:
        names = Names.of(self)
        common = dict(
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
        )
        queries = [
            CloudwatchMetricAlarmMetricQuery(
                id=f"m{i}",
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace="AWS/Scheduler",
                    metric_name=metric,
                    dimensions={"ScheduleGroup": group_name},
                    period=ALARM_PERIOD,
                    stat="Sum",
                ),
                return_data=False,
            )
            for i, metric in enumerate(NOT_STARTED_METRICS, start=1)
        ]
        queries.append(
            CloudwatchMetricAlarmMetricQuery(
                id="failures", expression="SUM(METRICS())", label="runs not started", return_data=True
            )
        )
        not_started = CloudwatchMetricAlarm(
            self,
            "not-started",
            alarm_name=names.name(f"{name}-not-started", naming.ALARM),
            alarm_description=f"{name}: a scheduled run did not start (RunTask failed after its retries)",
            metric_query=queries,
            **common,
        )
        run_failed = CloudwatchMetricAlarm(
            self,
            "run-failed",
            alarm_name=names.name(f"{name}-run-failed", naming.ALARM),
            alarm_description=f"{name}: a run exited nonzero, hit its timeout or failed to start (see its failed-runs queue)",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.failed_runs_queue.name},
            statistic="Maximum",
            period=ALARM_PERIOD,
            **common,
        )
        return {"not-started": not_started, "run-failed": run_failed}


def _capacity_provider(provider: CapacityProvider, platform: PlatformRef) -> str:
    """The strategy's provider as ECS names it (the EC2 one is the platform's)."""
    return platform.ec2_capacity_provider_name if provider is CapacityProvider.EC2 else provider.value

