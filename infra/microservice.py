"""One microservice: everything a validated manifest asks for, in its own stack `<env>-<service>`.

    log group       /ecs/<env>/<service>, KMS, retention from the environment
    image           ECR: `<repository url>:<tag>` with the tag read from the SSM parameter
                    /ecs-platform/<env>/<service>/image-tag; external: the URI as given
    task definition family <env>-<service>, one container named after the service
    secrets         an execution-role policy that reads exactly the service's secrets
    queue           worker: SQS queue + DLQ, and a task-role policy to consume it
    load balancing  web: target group + listener rule (priority from the manifest)
    discovery       Cloud Map: every service is <service>.<namespace> inside the VPC
    service         ECS service <env>-<service>: circuit breaker with rollback, private
                    subnets, the app security group, capacity-provider strategy
    alarms          CPU and memory; 5xx (web); queue age and DLQ (worker)
    scaling         `infra.autoscaling.ServiceScaling`
    pipeline        `infra.pipeline.ServicePipeline` (ECR images only)

The image tag: Terraform and the pipeline split the work
------------------------------------------------------
For ECR images the pipeline owns the tag. CodeBuild pushes `<repository>:<commit>` and
writes `<commit>` to the SSM parameter `/ecs-platform/<env>/<service>/image-tag`; the ECS
deploy action then registers a revision with that image and rolls it out. Terraform
creates the parameter with `image.tag` (default "bootstrap") and ignores later changes to
its value (`lifecycle.ignore_changes = ["value"]`), and builds the container image from
the parameter's *current* value. So a `terraform apply` after a pipeline run registers a
revision with the image that is running, never the old one: Terraform never reverts a
deployment, and a pipeline never has to edit Terraform code. The parameter is a
SecureString under the platform key only because every parameter of the platform is
encrypted; the tag itself is not secret.

Secrets never appear in the configuration, the plan or the task definition: the container
gets them through `secrets[].valueFrom` (ARNs), the database password as DB_SECRET from the
platform's RDS-managed secret.
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceCapacityProviderStrategy,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
    EcsServiceOrderedPlacementStrategy,
    EcsServiceServiceRegistries,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
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
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_redrive_allow_policy import SqsQueueRedriveAllowPolicy
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter

from infra.autoscaling import ServiceScaling
from infra.buildspec import image_tag_parameter_name
from infra.pipeline import ServicePipeline
from infra.platform import Platform
from infra.config.specs import CapacityProvider, EnvironmentSpec, ImageSource, SecretRef, ServiceKind, ServiceSpec

TMP_VOLUME = "tmp"
WORKER_STOP_TIMEOUT = 60  # seconds between SIGTERM and SIGKILL: a worker finishes its batch
DEREGISTRATION_DELAY = 30
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to inspect and redrive
DATA_KEY_REUSE_SECONDS = 300
ALARM_PERIOD = 300
# ECS container health check limits.
HEALTH_INTERVAL_RANGE = (5, 300)
HEALTH_TIMEOUT_RANGE = (2, 60)
HEALTH_START_PERIOD_MAX = 300
EXECUTION_POLICY_NAME = "service-secrets"  # the platform's own inline policy is "platform"
TASK_POLICY_NAME = "service-queue"


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


def health_check_command(port: int, path: str) -> list[str]:
    """The container's health check: the Dockerfile's HEALTHCHECK, which ECS ignores."""
    probe = (
        "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("
        f"'http://127.0.0.1:{port}{path}', timeout=3).status == 200 else 1)"
    )
    return ["CMD", "python", "-c", probe]


class Microservice(Construct):
    """One service of one environment.

    Typed outputs:
      name                  `<env>-<service>` (ECS service, task family, target group, queue)
      log_group             CloudwatchLogGroup
      image                 the container image (token: repository URL + current tag)
      image_tag_parameter   SsmParameter, None for external images
      task_definition       EcsTaskDefinition
      container_definitions the container definitions as a Python list (tokens inside)
      discovery             ServiceDiscoveryService (`<service>.<namespace>`)
      service               EcsService
      target_group, listener_rule  web only, else None
      queue, dead_letter_queue     worker only, else None
      alarms                dict purpose -> CloudwatchMetricAlarm
      scaling               ServiceScaling
      pipeline              ServicePipeline, None for external images
    """

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, spec: ServiceSpec, platform: Platform) -> None:
        super().__init__(scope, id_)
        self.env = env
        self.spec = spec
        self.platform = platform
        self.name = f"{env.name}-{spec.name}"
        self.roles = platform.iam.for_service(spec.name)
        self.target_group: LbTargetGroup | None = None
        self.listener_rule: LbListenerRule | None = None
        self.queue: SqsQueue | None = None
        self.dead_letter_queue: SqsQueue | None = None
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        # Permissions a task needs from its first start: the service waits for them.
        self._task_permissions: list[IamRolePolicy] = []

        self._account_context()
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"/ecs/{env.name}/{spec.name}",
            retention_in_days=env.observability.log_retention_days,
            kms_key_id=platform.key.arn,
        )
        self.image = self._image()
        if spec.kind is ServiceKind.WORKER:
            self._queues()
        self._secrets_policy()
        self.task_definition = self._task_definition()
        if spec.kind is ServiceKind.WEB:
            self._load_balancing()
        self.discovery = self._discovery()
        self.service = self._service()
        self._alarms()
        self.scaling = ServiceScaling(
            self,
            "scaling",
            env=env,
            spec=spec,
            cluster_name=platform.cluster.name,
            service_name=self.service.name,
            load_balancer_arn_suffix=platform.load_balancer.arn_suffix if self.target_group else None,
            target_group_arn_suffix=self.target_group.arn_suffix if self.target_group else None,
            queue_name=self.queue.name if self.queue else None,
        )
        self.pipeline = (
            ServicePipeline(self, "pipeline", env=env, spec=spec, platform=platform, service_name=self.service.name)
            if spec.image.source is ImageSource.ECR
            else None
        )

    # --- context -------------------------------------------------------------------
    def _account_context(self) -> None:
        self._account_id = DataAwsCallerIdentity(self, "account").account_id
        self._partition = DataAwsPartition(self, "partition").partition
        self._region = DataAwsRegion(self, "region").name

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self._partition}:{service}:{self._region}:{self._account_id}:{resource}"

    # --- image ---------------------------------------------------------------------
    def _image(self) -> str:
        if self.spec.image.source is ImageSource.EXTERNAL:
            self.image_tag_parameter = None
            assert self.spec.image.uri is not None  # the loader checked it
            return self.spec.image.uri
        self.image_tag_parameter = SsmParameter(
            self,
            "image-tag",
            name=image_tag_parameter_name(self.env, self.spec),
            description=f"{self.name}: image tag deployed by the pipeline (Terraform reads it, never reverts it)",
            type="SecureString",
            key_id=self.platform.key.arn,
            value=self.spec.image.tag,
            # The pipeline writes the tag; Terraform only creates the parameter.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["value"]),
        )
        repository = self.platform.registry.repository_url(self.spec.name)
        return f"{repository}:{self.image_tag_parameter.value}"

    # --- secrets -------------------------------------------------------------------
    def _secret_arn(self, ref: SecretRef) -> str:
        """The ARN ECS reads a secret from (`valueFrom`)."""
        if ref.arn is not None:
            return ref.arn
        if ref.kind == "ssm":
            return self._arn("ssm", f"parameter{ref.name}")
        # A secret's full ARN ends in a random suffix; ECS accepts the partial ARN.
        return self._arn("secretsmanager", f"secret:{ref.name}")

    def _secret_policy_resource(self, ref: SecretRef) -> str:
        """The ARN the execution role may read for a secret."""
        if ref.kind != "secretsmanager":
            return self._secret_arn(ref)
        if ref.arn is None:
            # Any of the random suffixes Secrets Manager appends to the name.
            return f"{self._secret_arn(ref)}-??????"
        # arn:...:secret:<name>[:<json key>:<stage>:<version>]: the policy names the secret.
        return ":".join(ref.arn.split(":")[:7])

    def _container_secrets(self) -> dict[str, str]:
        secrets = {var: self._secret_arn(ref) for var, ref in self.spec.secrets.items()}
        if self.spec.database:
            assert self.platform.database is not None  # the loader checked it
            secrets["DB_SECRET"] = self.platform.database.secret_arn
        return secrets

    def _secrets_policy(self) -> None:
        refs = sorted(self.spec.secrets.items())
        secretsmanager = sorted({self._secret_policy_resource(r) for _, r in refs if r.kind == "secretsmanager"})
        ssm = sorted({self._secret_policy_resource(r) for _, r in refs if r.kind == "ssm"})
        if self.spec.database:
            assert self.platform.database is not None
            secretsmanager.append(self.platform.database.secret_arn)
        if not secretsmanager and not ssm:
            return
        statements = []
        if secretsmanager:
            statements.append(
                DataAwsIamPolicyDocumentStatement(
                    sid="ReadOwnSecrets", actions=["secretsmanager:GetSecretValue"], resources=secretsmanager
                )
            )
        if ssm:
            statements.append(
                DataAwsIamPolicyDocumentStatement(sid="ReadOwnParameters", actions=["ssm:GetParameters"], resources=ssm)
            )
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="DecryptWithPlatformKey", actions=["kms:Decrypt"], resources=[self.platform.key.arn]
            )
        )
        document = DataAwsIamPolicyDocument(self, "secrets-policy-document", statement=statements)
        self._task_permissions.append(
            IamRolePolicy(
                self,
                "secrets-policy",
                name=EXECUTION_POLICY_NAME,
                role=self.roles.execution_role_name,
                policy=document.json,
            )
        )

    # --- queue (worker) ------------------------------------------------------------
    def _queues(self) -> None:
        queue_spec = self.spec.queue
        assert queue_spec is not None  # workers always have one
        key = self.platform.key.arn
        dlq = SqsQueue(
            self,
            "dlq",
            name=f"{self.name}-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=key,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS,
        )
        queue = SqsQueue(
            self,
            "queue",
            name=self.name,
            visibility_timeout_seconds=queue_spec.visibility_timeout,
            message_retention_seconds=queue_spec.retention_seconds,
            kms_master_key_id=key,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS,
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": queue_spec.max_receive_count}, sort_keys=True
            ),
        )
        # Separate resource: inline on the DLQ it would reference the queue, which
        # references the DLQ (a cycle).
        SqsQueueRedriveAllowPolicy(
            self,
            "dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}, sort_keys=True
            ),
        )
        consume = DataAwsIamPolicyDocument(
            self,
            "queue-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ConsumeOwnQueue",
                    actions=[
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage",
                    ],
                    resources=[queue.arn],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="QueueKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key]
                ),
            ],
        )
        self._task_permissions.append(
            IamRolePolicy(self, "queue-policy", name=TASK_POLICY_NAME, role=self.roles.task_role_name, policy=consume.json)
        )
        self.queue = queue
        self.dead_letter_queue = dlq

    # --- task definition -----------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        variables = dict(self.spec.environment)
        if self.spec.database:
            database = self.platform.database
            assert database is not None
            variables.update(DB_HOST=database.endpoint_address, DB_PORT=str(database.port), DB_NAME=database.db_name)
        if self.queue is not None:
            variables["QUEUE_URL"] = self.queue.url
        return variables

    def _container(self) -> dict[str, Any]:
        spec = self.spec
        health = spec.health_check
        container: dict[str, Any] = {
            "name": spec.name,
            "image": self.image,
            "essential": True,
            "portMappings": [{"containerPort": spec.port, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group.name,
                    "awslogs-region": self.env.region,
                    "awslogs-stream-prefix": spec.name,
                },
            },
            "readonlyRootFilesystem": spec.read_only_root_filesystem,
            "mountPoints": [{"sourceVolume": TMP_VOLUME, "containerPath": "/tmp", "readOnly": False}],
            "user": spec.user,
            "healthCheck": {
                "command": health_check_command(spec.port, health.path),
                "interval": _clamp(health.interval, HEALTH_INTERVAL_RANGE),
                "timeout": _clamp(health.timeout, HEALTH_TIMEOUT_RANGE),
                "retries": health.unhealthy_threshold,
                "startPeriod": min(health.grace_period, HEALTH_START_PERIOD_MAX),
            },
        }
        # Empty lists are left out: ECS does not store them, so they would show as a diff.
        environment = self._environment()
        if environment:
            container["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
        secrets = self._container_secrets()
        if secrets:
            container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
        if spec.enable_exec:
            # ECS Exec needs an init process to reap the session's processes.
            container["linuxParameters"] = {"initProcessEnabled": True}
        if spec.kind is ServiceKind.WORKER:
            container["stopTimeout"] = WORKER_STOP_TIMEOUT
        return container

    def _task_definition(self) -> EcsTaskDefinition:
        spec = self.spec
        self.container_definitions = [self._container()]
        return EcsTaskDefinition(
            self,
            "task",
            family=self.name,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE" if spec.uses_fargate else "EC2"],
            cpu=str(spec.cpu),
            memory=str(spec.memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=spec.architecture.value
            ),
            execution_role_arn=self.roles.execution_role_arn,
            task_role_arn=self.roles.task_role_arn,
            container_definitions=json.dumps(self.container_definitions, sort_keys=True),
            # Fargate: task ephemeral storage; EC2: a Docker-managed scratch volume.
            volume=[EcsTaskDefinitionVolume(name=TMP_VOLUME)],
        )

    # --- load balancing (web) ------------------------------------------------------
    def _load_balancing(self) -> None:
        spec = self.spec
        health = spec.health_check
        route = spec.route
        assert route is not None  # web services always have one
        self.target_group = LbTargetGroup(
            self,
            "target-group",
            name=self.name,
            port=spec.port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=self.platform.network.vpc_id,
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
        conditions = []
        if route.paths:
            conditions.append(
                LbListenerRuleCondition(path_pattern=LbListenerRuleConditionPathPattern(values=list(route.paths)))
            )
        if route.hosts:
            conditions.append(
                LbListenerRuleCondition(host_header=LbListenerRuleConditionHostHeader(values=list(route.hosts)))
            )
        self.listener_rule = LbListenerRule(
            self,
            "listener-rule",
            listener_arn=self.platform.load_balancer.listener_arn,
            priority=route.priority,
            action=[LbListenerRuleAction(type="forward", target_group_arn=self.target_group.arn)],
            condition=conditions,
            tags={"Name": self.name},
        )

    # --- discovery -----------------------------------------------------------------
    def _discovery(self) -> ServiceDiscoveryService:
        return ServiceDiscoveryService(
            self,
            "discovery",
            name=self.spec.name,
            description=f"{self.name}: {self.spec.name}.{self.platform.discovery.namespace_name}",
            dns_config=ServiceDiscoveryServiceDnsConfig(
                namespace_id=self.platform.discovery.namespace_id,
                routing_policy="MULTIVALUE",
                dns_records=[ServiceDiscoveryServiceDnsConfigDnsRecords(type="A", ttl=10)],
            ),
            health_check_custom_config=ServiceDiscoveryServiceHealthCheckCustomConfig(failure_threshold=1),
            # ECS deregisters its tasks, but a destroy must not wait for stale instances.
            force_destroy=True,
        )

    # --- service -------------------------------------------------------------------
    def _capacity_provider(self, provider: CapacityProvider) -> str:
        if provider is CapacityProvider.EC2:
            assert self.platform.cluster.ec2_capacity_provider_name is not None  # the loader checked it
            return self.platform.cluster.ec2_capacity_provider_name
        return provider.value

    def _service(self) -> EcsService:
        spec = self.spec
        web = self.target_group is not None
        on_ec2 = any(item.provider is CapacityProvider.EC2 for item in spec.capacity)
        return EcsService(
            self,
            "service",
            name=self.name,
            cluster=self.platform.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=spec.desired_count,
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_minimum_healthy_percent=spec.min_healthy_percent,
            deployment_maximum_percent=spec.max_percent,
            health_check_grace_period_seconds=spec.health_check.grace_period if web else None,
            enable_execute_command=spec.enable_exec,
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=self.platform.network.private_subnet_ids,
                security_groups=[self.platform.security.app_sg_id],
                assign_public_ip=False,
            ),
            service_registries=EcsServiceServiceRegistries(registry_arn=self.discovery.arn),
            capacity_provider_strategy=[
                EcsServiceCapacityProviderStrategy(
                    capacity_provider=self._capacity_provider(item.provider), weight=item.weight, base=item.base
                )
                for item in spec.capacity
            ],
            ordered_placement_strategy=(
                [EcsServiceOrderedPlacementStrategy(type="spread", field="attribute:ecs.availability-zone")]
                if on_ec2
                else None
            ),
            load_balancer=(
                [
                    EcsServiceLoadBalancer(
                        target_group_arn=self.target_group.arn, container_name=spec.name, container_port=spec.port
                    )
                ]
                if self.target_group is not None
                else None
            ),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            # Application Auto Scaling owns the running count once the service exists; without
            # this every apply would reset it to desired_count (undoing a scale-out under load).
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_count"]),
            # The target group must be attached to the listener before ECS registers targets,
            # and the first tasks must be able to read their secrets and queue.
            depends_on=[*([self.listener_rule] if self.listener_rule else []), *self._task_permissions] or None,
        )

    # --- alarms --------------------------------------------------------------------
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
        topic = self.platform.alarms.topic_arn
        self.alarms[purpose] = CloudwatchMetricAlarm(
            self,
            f"alarm-{purpose}",
            alarm_name=f"{self.name}-{purpose}",
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
            alarm_actions=[topic],
            ok_actions=[topic],
        )

    def _alarms(self) -> None:
        spec = self.spec
        alarms = spec.alarms
        ecs = {"ClusterName": self.platform.cluster.name, "ServiceName": self.service.name}
        for purpose, label, metric, threshold in (
            ("cpu-high", "CPU", "CPUUtilization", alarms.cpu_high),
            ("memory-high", "memory", "MemoryUtilization", alarms.memory_high),
        ):
            self._alarm(
                purpose,
                description=f"{self.name}: {label} above {threshold}% for 15 minutes",
                namespace="AWS/ECS",
                metric=metric,
                dimensions=ecs,
                statistic="Average",
                threshold=threshold,
                periods=3,
            )
        if self.target_group is not None:
            self._alarm(
                "http-5xx",
                description=f"{self.name}: more than {alarms.http_5xx} target 5xx responses in 5 minutes",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_Target_5XX_Count",
                dimensions={
                    "LoadBalancer": self.platform.load_balancer.arn_suffix,
                    "TargetGroup": self.target_group.arn_suffix,
                },
                statistic="Sum",
                threshold=alarms.http_5xx,
            )
        if self.queue is not None and self.dead_letter_queue is not None:
            self._alarm(
                "queue-age",
                description=f"{self.name}: oldest message older than {alarms.queue_age_seconds} s",
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": self.queue.name},
                statistic="Maximum",
                threshold=alarms.queue_age_seconds,
            )
            self._alarm(
                "dlq-not-empty",
                description=f"{self.name}: messages in the dead-letter queue",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": self.dead_letter_queue.name},
                statistic="Maximum",
                threshold=0,
            )
