"""One microservice: everything its validated manifest asks for, in its own stack.

    log group       /ecs/<env>/<service>, KMS, retention from the environment
    repository      ECR `<env>/<service>` (ECR images)                 infra.service.registry
    image           ECR: `<repository url>@<digest>` (or `:<tag>` before the first pipeline
                    run), read from the SSM parameter /ecs-platform/<env>/<service>/image-tag
                    unless the stack's `image_tag` variable pins one (infra.service.variables);
                    external: the URI as given
    queues          worker: SQS queue + DLQ                             infra.service.queue
    events          `publish`: its SNS topics (TOPIC_<NAME>_ARN);        infra.service.events
                    `subscribe` (worker): its queue's subscriptions and its queue's policy
    security group  its own, and the rules admitting it elsewhere      infra.service.security_group
    roles           exec / task (under the boundary) / build / record / pipeline  infra.service.roles
    task definition family <env>-<service>: the service's container, its sidecars, the log
                    router and trace collector when asked for  infra.service.container_definition
    volumes         EFS: own file system or a shared one, access point  infra.service.volumes
    route           web: target group(s) + listener rule(s); all: Cloud Map  infra.service.route
    domain          web with [routes] hosts: certificate, listener       infra.service.domain
                    certificate, alias records in the environment's zone
    connect         connect = true: Service Connect in the namespace     infra.service.connect
    alarms          before the service: the rollback alarms are some of them    infra.service.alarms
    service         ECS service <env>-<service>: private subnets, its own security group,
                    capacity-provider strategy; `[deployment]`: rolling (circuit breaker and
                    rollback alarms) or blue_green (the CODE_DEPLOY controller)
    blue/green      CodeDeploy application, deployment group, role          infra.service.blue_green
    scaling, pipeline                                                    infra.service.scaling / pipeline
                    (the pipeline lives in this stack unless another environment promotes
                    from this one: infra.service.delivery)
    job             kind = "job", in place of service, route, Cloud Map, alarms and scaling:
                    a schedule that runs the task definition, its role, DLQ and alarms;
                    a deadline container in the task; its pipeline registers a revision
                    (where the service's would deploy the service)  infra.service.job

The image tag: Terraform and the pipeline split the work
------------------------------------------------------
For ECR images the pipeline owns the image. CodeBuild pushes `<repository>:<commit>` and hands
the deploy action `<repository>@sha256:<digest>`; the deploy action registers a revision with
that image and rolls it out; only when that deployment succeeded does the pipeline's record
step write the digest (`sha256:...`) to the SSM parameter `/ecs-platform/<env>/<service>/image-tag`
(an image that was rejected at approval or rolled back is never recorded). Terraform creates
the parameter with `image.tag` (default "bootstrap") and ignores later changes to its value,
and builds the container image from the parameter's *current* value: `<repository>@<digest>`,
or `<repository>:<tag>` for a tag. So a `terraform apply` after a pipeline run registers a
revision with the image that is running, never the old one and never one that did not pass.
An operator may pin another tag or digest for one apply with the stack's `image_tag` variable
(`infra.service.variables`); the parameter keeps the pipeline's digest.

Secrets never appear in the configuration, the plan or the task definition: the container
gets them through `secrets[].valueFrom` (ARNs), the database password as DB_SECRET from the
platform's RDS-managed secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdktf import Fn, TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceAlarms,
    EcsServiceCapacityProviderStrategy,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceDeploymentController,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
    EcsServiceOrderedPlacementStrategy,
    EcsServiceServiceRegistries,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionEphemeralStorage,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.arns import Arns
from infra.config.specs import CapacityProvider, EnvironmentSpec, ImageSource, ServiceKind, ServiceSpec
from infra.expressions import jsonencode
from infra.service import secrets
from infra.service.alarms import ServiceAlarms
from infra.service import connect, sidecars
from infra.service.blue_green import BlueGreenDeployment
from infra.service.container_definition import ContainerRefs, container_definitions, scratch_volumes
from infra.service.delivery import deploy_targets, has_own_pipeline, image_tag_parameter_name
from infra.service.platform_ref import PlatformRef
from infra.service.queue import ServiceQueues
from infra.service.registry import Repository
from infra.service.roles import ServiceRoles
from infra.service.route import LoadBalancerRoute, discovery_service
from infra.service.scaling import ServiceScaling
from infra.service.security_group import ServiceSecurityGroup
from infra.service.variables import ServiceKnobs

if TYPE_CHECKING:
    from infra.service.domain import ServiceDomain
    from infra.service.job import ScheduledJob
    from infra.service.pipeline import ServicePipeline

# The optional parts (a domain, topics and subscriptions, volumes, a schedule, a pipeline) are
# imported by the service that has them. Their provider bindings (CodePipeline, CodeBuild,
# EventBridge, Scheduler, Route 53, ACM, EFS, SNS) are the largest Python modules a service
# stack would import without using: ~45 ms of CPU for a web service with none of them, spent
# while the kernel starts on the other core (issue #11, the edit loop).


class Microservice(Construct):
    """One service of one environment.

    Typed outputs: `name` (`<env>-<service>`), `log_group`, `repository` (None for external
    images), `image`, `image_tag_parameter` (None for external images), `queues` (worker),
    `topics` (None without `publish`), `subscriptions` (None without `subscribe`),
    `security_group`, `volumes` (None without [[volumes]]), `roles`, `container_definitions`,
    `task_definition`, `route` (web), `domain` (web with hosts), `discovery`, `service`,
    `alarms`, `blue_green` (None unless `[deployment] strategy = "blue_green"`), `scaling`,
    `targets` (the environments this stack's pipeline deploys: infra.service.delivery),
    `pipeline` (None for external images, and when another environment's pipeline deploys
    this one), `job` (kind = "job" only; a job has no route, domain, discovery, service,
    blue_green, alarms or scaling: None).

    `knobs`: the values operators may set at apply time (the stack's variables); without them,
    the spec's values.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        knobs: ServiceKnobs | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.knobs = knobs = knobs or ServiceKnobs.of(spec)
        self.job: ScheduledJob | None = None
        names = Names.of(self)
        # The ECS service, its task family, CodeBuild project, queue, scaling and alarm names.
        self.name = name = names.name(f"{{prefix}}-{spec.name}", naming.ECS_NAME)
        ecr = spec.image.source is ImageSource.ECR
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=names.name(f"/ecs/{{prefix}}/{spec.name}", naming.LOG_GROUP),
            retention_in_days=env.observability.log_retention_days,
            kms_key_id=platform.kms_key_arn,
        )
        named(self.log_group, spec.name)
        self.repository = Repository(self, "registry", env=env, spec=spec, kms_key_arn=platform.kms_key_arn) if ecr else None
        self.image, self.image_tag_parameter = self._image(env, spec, platform)
        self.subscriptions = None
        if spec.subscribe and spec.queue is not None:
            from infra.service.events import QueueSubscriptions

            self.subscriptions = QueueSubscriptions(self, "subscriptions", subscriptions=spec.subscribe, queue_name=name, arns=arns)
        self.queues = (
            ServiceQueues(
                self,
                "queues",
                name=name,
                spec=spec.queue,
                kms_key_arn=platform.kms_key_arn,
                arns=arns,
                policy=self.subscriptions.queue_policy if self.subscriptions is not None else None,
            )
            if spec.queue is not None
            else None
        )
        if self.subscriptions is not None and self.queues is not None:
            self.subscriptions.subscribe(self.queues.queue)
        self.topics = None
        if spec.publish:
            from infra.service.events import ServiceTopics

            self.topics = ServiceTopics(
                self,
                "topics",
                service=spec.name,
                topics=spec.publish,
                kms_key_arn=platform.kms_key_arn,
                alarm_topic_arn=platform.alarm_topic_arn,
            )
        self.security_group = ServiceSecurityGroup(
            self, "security", env_name=env.name, spec=spec, platform=platform, callers=spec.allow_from
        )

        container_secrets = {var: secrets.value_from(ref, arns) for var, ref in spec.secrets.items()}
        # A sidecar's [secrets] are read like the service's: by the execution role, each by name.
        sidecar_secrets = {
            sidecar.name: {var: secrets.value_from(ref, arns) for var, ref in sidecar.secrets.items()}
            for sidecar in spec.sidecars
        }
        own_resources: dict[str, str] = {}
        all_secret_refs = [*spec.secrets.values(), *(ref for sidecar in spec.sidecars for ref in sidecar.secrets.values())]
        secret_resources = sorted({secrets.policy_resource(ref, arns) for ref in all_secret_refs})
        environment: dict[str, str] = {}
        if spec.database:
            container_secrets["DB_SECRET"] = platform.database_secret_arn
            secret_resources.append(platform.database_secret_arn)
            environment.update(
                DB_HOST=platform.database_endpoint,
                # A number output: as a string, or jsonencode writes a JSON number (ECS refuses it).
                DB_PORT=Fn.tostring(platform.database_port),
                DB_NAME=platform.database_name,
                # The ARN, not the value: RDS rotates the master secret (every 7 days by
                # default), and the app re-reads it by ARN when MySQL refuses the password
                # ("Password management with Amazon RDS and AWS Secrets Manager").
                DB_SECRET_ARN=platform.database_secret_arn,
            )
        if self.queues is not None:
            environment["QUEUE_URL"] = self.queues.queue.url
            own_resources.update(queue=self.queues.queue.arn, dlq=self.queues.dead_letter_queue.arn)
        if self.topics is not None:
            environment.update({topic.variable: self.topics.arns[topic.name] for topic in spec.publish})

        self.volumes = None
        if spec.volumes:
            from infra.service.volumes import ServiceVolumes

            self.volumes = ServiceVolumes(self, "volumes", env=env, spec=spec, platform=platform, security_group_id=self.security_group.id)
        # The environments this stack's pipeline deploys (none: another stack's pipeline deploys
        # this service, or it has no image to build): infra.service.delivery. A job's pipeline
        # registers a revision of its family in each of them.
        self.targets = deploy_targets(self, env, spec) if has_own_pipeline(env, spec) else ()
        self.roles = ServiceRoles(
            self,
            "iam",
            env=env,
            spec=spec,
            platform=platform,
            arns=arns,
            repository_arn=self.repository.arn if self.repository else None,
            log_group_name=self.log_group.name,
            secret_resources=secret_resources,
            own_resources=own_resources,
            topic_arns=list(self.topics.arns.values()) if self.topics is not None else [],
            ecs_service_name=name,
            build_project_name=name,
            extra_task_statements=[
                *sidecars.task_statements(spec, arns, self.log_group.name),
                *(self.volumes.task_statements if self.volumes else []),
            ],
            targets=self.targets,
        )
        self.container_definitions = container_definitions(
            spec,
            ContainerRefs(
                image=self.image,
                log_group=self.log_group.name,
                region=env.region,
                environment=environment,
                secrets=container_secrets,
                sidecar_secrets=sidecar_secrets,
            ),
        )
        self.task_definition = EcsTaskDefinition(
            self,
            "task",
            family=name,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE" if spec.uses_fargate else "EC2"],
            cpu=str(spec.cpu),
            memory=str(spec.memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=spec.architecture.value
            ),
            execution_role_arn=self.roles.execution_role_arn,
            task_role_arn=self.roles.task_role_arn,
            container_definitions=jsonencode(self.container_definitions, scope=self),
            # Each container's /tmp (Fargate: task ephemeral storage; EC2: a Docker-managed
            # scratch volume), then the EFS volumes.
            volume=[
                *(EcsTaskDefinitionVolume(name=volume) for volume in scratch_volumes(spec)),
                *(self.volumes.task_volumes if self.volumes else []),
            ],
            # AWS docs, "Fargate task ephemeral storage for Amazon ECS": 20 GiB unless raised
            # (21-200 GiB, platform version 1.4.0 or later); the loader keeps it to Fargate.
            ephemeral_storage=(
                EcsTaskDefinitionEphemeralStorage(size_in_gib=spec.ephemeral_storage)
                if spec.ephemeral_storage is not None
                else None
            ),
        )
        named(self.task_definition, spec.name)
        if spec.job is not None:
            self._job(env, spec, platform, arns)
            return
        self.route = (
            LoadBalancerRoute(self, "route", name=name, spec=spec, route=spec.route, platform=platform)
            if spec.kind is ServiceKind.WEB and spec.route is not None
            else None
        )
        self.domain = self._domain(env, spec, platform)
        self.discovery = named(
            discovery_service(self, "discovery", name=name, spec=spec, namespace=env.namespace, platform=platform), spec.name
        )
        target_group = self.route.target_group if self.route else None
        # Before the service, which names some of them as its rollback alarms; they name the
        # service by its name (not a reference to it, which would make a cycle).
        self.alarms = ServiceAlarms(
            self,
            "alarms",
            name=name,
            spec=spec.alarms,
            topic_arn=platform.alarm_topic_arn,
            cluster_name=platform.cluster_name,
            service_name=name,
            load_balancer_arn_suffix=platform.alb_arn_suffix if target_group else None,
            target_group_arn_suffixes=[tg.arn_suffix for tg in self.route.target_groups] if self.route else (),
            queue_name=self.queues.queue.name if self.queues else None,
            dead_letter_queue_name=self.queues.dead_letter_queue.name if self.queues else None,
        )
        self.service = named(self._service(env, spec, platform, knobs), spec.name)
        self.blue_green = (
            BlueGreenDeployment(
                self,
                "blue-green",
                env=env,
                spec=spec,
                platform=platform,
                arns=arns,
                name=name,
                service_name=self.service.name,
                route=self.route,
                alarm_names=self.alarms.names(spec.deployment.rollback_alarms),
                alarm_arns=self.alarms.arns(spec.deployment.rollback_alarms),
                execution_role_arn=self.roles.execution_role_arn,
                task_role_arn=self.roles.task_role_arn,
            )
            if spec.deployment.blue_green and self.route is not None
            else None
        )
        self.scaling = ServiceScaling(
            self,
            "scaling",
            env=env,
            spec=spec,
            min_count=knobs.min_count,
            max_count=knobs.max_count,
            cluster_name=platform.cluster_name,
            service_name=self.service.name,
            load_balancer_arn_suffix=platform.alb_arn_suffix if target_group else None,
            target_group_arn_suffix=target_group.arn_suffix if target_group else None,
            queue_name=self.queues.queue.name if self.queues else None,
        )
        self.pipeline = self._pipeline(env, spec, platform, service_name=self.service.name)

    def _job(self, env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef, arns: Arns) -> None:
        """kind = "job": a schedule runs the task definition (infra.service.job); there is no ECS
        service, route, Cloud Map entry, scaling or service alarm. Its pipeline registers a
        revision instead of deploying a service."""
        from infra.service.job import ScheduledJob

        self.route = self.domain = self.discovery = self.service = self.alarms = self.scaling = self.blue_green = None
        self.job = ScheduledJob(
            self,
            "job",
            spec=spec,
            platform=platform,
            arns=arns,
            name=self.name,
            task_definition=self.task_definition,
            execution_role_arn=self.roles.execution_role_arn,
            task_role_arn=self.roles.task_role_arn,
            security_group_id=self.security_group.id,
        )
        self.pipeline = self._pipeline(env, spec, platform, service_name=None)

    def _pipeline(
        self, env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef, *, service_name: str | None
    ) -> ServicePipeline | None:
        """This stack's pipeline, where it builds an image (infra.service.delivery: `targets`)
        and has the roles for one; a job's (`service_name` None) registers a revision with its
        deploy role (`roles.deploy_role_arn`, None for a service) instead of deploying."""
        roles = self.roles
        if not (self.targets and self.repository is not None and roles.build_role_arn and roles.record_role_arn
                and roles.pipeline_role_arn):
            return None
        from infra.service.pipeline import ServicePipeline

        return ServicePipeline(
            self,
            "pipeline",
            env=env,
            spec=spec,
            platform=platform,
            service_name=service_name,
            repository_url=self.repository.url,
            build_role_arn=roles.build_role_arn,
            record_role_arn=roles.record_role_arn,
            pipeline_role_arn=roles.pipeline_role_arn,
            targets=self.targets,
            promote_role_arn=roles.promote_role_arn,
            deploy_role_arn=roles.deploy_role_arn,
        )

    def _image(self, env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef) -> tuple[str, SsmParameter | None]:
        if self.repository is None:
            if spec.image.uri is None:
                raise ValueError(f"{spec.file}: image.uri: required with image.source = external")
            return spec.image.uri, None
        parameter = SsmParameter(
            self,
            "image-tag",
            name=Names.of(self).name(image_tag_parameter_name(spec.name), naming.SSM_PARAMETER),
            description=f"{self.name}: image tag deployed by the pipeline (Terraform reads it, never reverts it)",
            # An image tag is not a secret: a plain String, read as `insecure_value`, so a plan
            # shows the image a task definition change deploys (a SecureString's value is
            # sensitive, and every container-definition diff would read "(sensitive value)").
            type="String",
            insecure_value=spec.image.tag,
            # The pipeline's record step writes the tag; Terraform only creates the parameter.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["insecure_value"]),
        )
        return self.knobs.image(self.repository.url, parameter.insecure_value), parameter

    def _domain(self, env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef) -> ServiceDomain | None:
        if self.route is None or spec.route is None or not spec.route.hosts:
            return None
        if env.hosted_zone_id is None:  # the loader refuses hosts without a zone
            raise ValueError(f"{spec.file}: routes.hosts: needs hosted_zone_id in {env.file}")
        from infra.service.domain import ServiceDomain

        return ServiceDomain(
            self,
            "domain",
            service=spec.name,
            file=spec.file,
            hosts=spec.route.hosts,
            hosted_zone_id=env.hosted_zone_id,
            listener_arn=platform.listener_arn,
            alb_dns_name=platform.alb_dns_name,
            alb_zone_id=platform.alb_zone_id,
            dualstack=env.load_balancer.dualstack,
        )

    @staticmethod
    def _capacity_provider(provider: CapacityProvider, platform: PlatformRef) -> str:
        if provider is CapacityProvider.EC2:
            return platform.ec2_capacity_provider_name
        return provider.value

    def _service(self, env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef, knobs: ServiceKnobs) -> EcsService:
        route = self.route
        on_ec2 = any(item.provider is CapacityProvider.EC2 for item in spec.capacity)
        deployment = spec.deployment
        blue_green = deployment.blue_green
        rollback_alarms = self.alarms.names(deployment.rollback_alarms)
        # Application Auto Scaling owns the running count once the service exists; without
        # this every apply would reset it to desired_count (undoing a scale-out under load).
        # Operators move the count through min_count/max_count (infra.service.variables).
        ignored = ["desired_count"]
        if blue_green:
            # With the CODE_DEPLOY controller only a CodeDeploy deployment changes the task
            # definition or the load balancer's target group of the service ("UpdateService",
            # ECS API Reference: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html),
            # and after one the service reports the other target group: both are CodeDeploy's.
            ignored += ["task_definition", "load_balancer"]
        return EcsService(
            self,
            "service",
            name=self.name,
            cluster=platform.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=knobs.desired_count,
            # AWS docs, "Amazon ECS deployment types": the circuit breaker and the deployment
            # alarms work with the rolling update (ECS) controller only; CodeDeploy has its own
            # rollback (infra.service.blue_green), on the same alarms:
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html
            deployment_controller=EcsServiceDeploymentController(type="CODE_DEPLOY") if blue_green else None,
            deployment_circuit_breaker=None if blue_green else EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            alarms=(
                EcsServiceAlarms(alarm_names=rollback_alarms, enable=True, rollback=True)
                if rollback_alarms and not blue_green
                else None
            ),
            deployment_minimum_healthy_percent=deployment.min_healthy_percent,
            deployment_maximum_percent=deployment.max_percent,
            health_check_grace_period_seconds=spec.health_check.grace_period if route else None,
            enable_execute_command=spec.enable_exec,
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=platform.private_subnet_ids,
                security_groups=[self.security_group.id],
                assign_public_ip=False,
            ),
            service_registries=EcsServiceServiceRegistries(registry_arn=self.discovery.arn),
            service_connect_configuration=connect.configuration(
                spec, namespace_arn=platform.namespace_arn, log_group=self.log_group.name, region=env.region
            ),
            capacity_provider_strategy=[
                EcsServiceCapacityProviderStrategy(
                    capacity_provider=self._capacity_provider(item.provider, platform),
                    weight=item.weight,
                    base=item.base,
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
                        target_group_arn=route.target_group.arn, container_name=spec.name, container_port=spec.port
                    )
                ]
                if route
                else None
            ),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            lifecycle=TerraformResourceLifecycle(ignore_changes=ignored),
            # The target group must be attached to the listener before ECS registers targets,
            # the first tasks must be able to read their secrets and queue,
            # and its EFS volumes must be mountable (mount targets, access points, NFS rules).
            depends_on=[
                *(route.listener_rules if route else []),
                *self.roles.task_policies,
                *(self.volumes.ready if self.volumes else []),
            ]
            or None,
        )
