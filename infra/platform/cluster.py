"""The environment's ECS cluster (`<env>`) and its capacity.

Capacity providers: FARGATE and FARGATE_SPOT always; with `cluster.ec2.enabled` also an
EC2 provider (`ec2-<env>`; provider names may not start with "ecs", "aws" or "fargate",
which an environment name could) backed by an Auto Scaling group of ECS-optimized
Amazon Linux 2023 instances in the private subnets. ECS scales that group (managed
scaling) and protects instances running tasks from scale-in (managed termination
protection, which requires `protect_from_scale_in` on the group).

ECS Exec sessions are encrypted with the platform key and logged to a KMS-encrypted log
group (`/ecs-exec/<env>`); task roles of services with `enable_exec` may write there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdktf import Token
from constructs import Construct

from cdktf_cdktf_provider_aws.autoscaling_group import (
    AutoscalingGroup,
    AutoscalingGroupLaunchTemplate,
    AutoscalingGroupTag,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_ssm_parameter import DataAwsSsmParameter
from cdktf_cdktf_provider_aws.ecs_capacity_provider import (
    EcsCapacityProvider,
    EcsCapacityProviderAutoScalingGroupProvider,
    EcsCapacityProviderAutoScalingGroupProviderManagedScaling,
)
from cdktf_cdktf_provider_aws.ecs_cluster import (
    EcsCluster,
    EcsClusterConfiguration,
    EcsClusterConfigurationExecuteCommandConfiguration,
    EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration,
    EcsClusterSetting,
)
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateIamInstanceProfile,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplateTagSpecifications,
)

from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile

from infra import naming
from infra.arns import Arns
from infra.config import aws_tables
from infra.config.specs import CapacityProvider, EnvironmentSpec
from infra.naming import Names
from infra.iam import ECR_PULL, ecr_login, inline_policy, service_role, session_manager_statements, statement
from infra.platform.encryption import PlatformKey
from infra.platform.network import Network
from infra.platform.variables import PlatformKnobs

if TYPE_CHECKING:
    from infra.platform.security import SecurityGroups

AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
AMI_PARAMETER_ARM64 = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
ROOT_DEVICE = "/dev/xvda"  # the ECS-optimized AL2023 AMI's root device
ROOT_VOLUME_GIB = 30  # the AMI's snapshot size; the volume may not be smaller
EXEC_LOG_MIN_RETENTION_DAYS = 365
# What the ECS agent on a container instance does with its cluster and itself.
CONTAINER_INSTANCE_ACTIONS = [
    "ecs:DeregisterContainerInstance",
    "ecs:Poll",
    "ecs:RegisterContainerInstance",
    "ecs:StartTelemetrySession",
    "ecs:SubmitAttachmentStateChanges",  # awsvpc tasks: ENI attachments
    "ecs:SubmitContainerStateChange",
    "ecs:SubmitTaskStateChange",
    "ecs:UpdateContainerInstancesState",
]


# Templates of `infra.naming.Names.name` ({prefix}: the environment, with the workspace
# outside `default`).
# The log group of ECS Exec sessions (created here, written by task roles). Not under
# `/ecs/<env>/`, where a service named "exec" would collide with it.
EXEC_LOG_GROUP = "/ecs-exec/{prefix}"
EC2_CAPACITY_PROVIDER = "ec2-{prefix}"
# The Auto Scaling group of the container instances (EC2 tags each of its instances
# `aws:autoscaling:groupName` with it: the Ansible host's inventory selects by that tag).
ECS_CAPACITY_GROUP = "{prefix}-ecs"


def user_data(cluster_name: str) -> str:
    """Base64 user data joining the instance to the cluster, and starting the SSM agent.

    ECS_AWSVPC_BLOCK_IMDS keeps awsvpc tasks away from the instance metadata service (and
    so from the instance role's credentials); tasks get their own role's credentials from
    the ECS agent instead. The cluster is written first: the ECS agent starts after user
    data, and must find it even when the package install below fails.

    Session Manager needs the SSM agent running on the host. The ECS-optimized AL2023 AMI is
    built on the *minimal* AL2023 AMI (see its release notes, "Source AMI name"), and AWS
    docs, "Find AMIs with the SSM Agent preinstalled", promise the agent on the standard
    AL2023 AMI only: so it is installed and started here (a no-op where it is present).

    Base64, encoded by Terraform once it filled in the cluster's name (`naming.base64_script`),
    and deterministic text, no timestamps: the same configuration in the same workspace always
    gives the same launch template version.
    """
    script = (
        "#!/bin/bash\n"
        "cat >> /etc/ecs/ecs.config <<'EOF'\n"
        f"ECS_CLUSTER={cluster_name}\n"
        "ECS_AWSVPC_BLOCK_IMDS=true\n"
        "EOF\n"
        "# Session Manager needs the SSM agent (not promised on the minimal AL2023 base of this AMI).\n"
        "dnf install -y amazon-ssm-agent\n"
        "systemctl enable --now amazon-ssm-agent\n"
    )
    return naming.base64_script(script)


class Cluster(Construct):
    """Typed outputs: `name` (plain string, `<env>`), `cluster_name_ref` (the same, as a
    reference to the cluster), `arn`, `exec_log_group_name` (a reference),
    `ec2_capacity_provider_name` (plain string, None when EC2 capacity is off) and
    `ec2_capacity_provider_ref` (a reference), `capacity_provider_names` (all providers
    associated with the cluster)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        network: Network,
        security: SecurityGroups,
        key: PlatformKey,
        arns: Arns,
        knobs: PlatformKnobs | None = None,
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        self.name = names.name("{prefix}", naming.ECS_NAME)
        self._knobs = knobs or PlatformKnobs.of(env)
        exec_logs = CloudwatchLogGroup(
            self,
            "exec-logs",
            name=names.name(EXEC_LOG_GROUP, naming.LOG_GROUP),
            # Session logs are the audit trail of interactive access to containers: a year
            # at least, in every environment.
            retention_in_days=max(env.observability.log_retention_days, EXEC_LOG_MIN_RETENTION_DAYS),
            kms_key_id=key.arn,
        )
        cluster = EcsCluster(
            self,
            "cluster",
            name=self.name,
            setting=[
                EcsClusterSetting(name="containerInsights", value="enabled" if env.cluster.container_insights else "disabled")
            ],
            configuration=EcsClusterConfiguration(
                execute_command_configuration=EcsClusterConfigurationExecuteCommandConfiguration(
                    kms_key_id=key.arn,
                    logging="OVERRIDE",
                    log_configuration=EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration(
                        cloud_watch_log_group_name=exec_logs.name,
                        cloud_watch_encryption_enabled=True,
                    ),
                )
            ),
        )
        self.arn = cluster.arn
        self.cluster_name_ref = cluster.name
        self.exec_log_group_name = exec_logs.name

        providers = [CapacityProvider.FARGATE.value, CapacityProvider.FARGATE_SPOT.value]
        provider_refs = list(providers)
        self.ec2_capacity_provider_name: str | None = None
        self.ec2_capacity_provider_ref: str | None = None
        if env.cluster.ec2.enabled:
            ec2_provider = self._ec2_capacity(env, network, security, key, arns)
            self.ec2_capacity_provider_ref = ec2_provider.name
            self.ec2_capacity_provider_name = names.name(EC2_CAPACITY_PROVIDER, naming.ECS_NAME)
            providers.append(self.ec2_capacity_provider_name)
            provider_refs.append(ec2_provider.name)  # a reference, so Terraform creates it first
        self.capacity_provider_names = tuple(providers)

        def provider_name(provider: CapacityProvider) -> str:
            if provider is CapacityProvider.EC2:
                if self.ec2_capacity_provider_name is None:
                    raise ValueError(f"{env.file}: cluster.default_strategy uses EC2 but cluster.ec2 is off")
                return self.ec2_capacity_provider_name
            return provider.value

        EcsClusterCapacityProviders(
            self,
            "capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=provider_refs,
            default_capacity_provider_strategy=[
                EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider=provider_name(item.provider), weight=item.weight, base=item.base
                )
                for item in env.cluster.default_strategy
            ],
        )

    def _ec2_capacity(
        self, env: EnvironmentSpec, network: Network, security: SecurityGroups, key: PlatformKey, arns: Arns
    ) -> EcsCapacityProvider:
        spec = env.cluster.ec2
        profile = self._instance_profile(env, arns)
        graviton = aws_tables.is_graviton(spec.instance_type)
        ami = DataAwsSsmParameter(self, "instance-ami", name=AMI_PARAMETER_ARM64 if graviton else AMI_PARAMETER)
        names = Names.of(self)
        instance_name = names.tag("{prefix}-ecs-instance")
        tags = {**env.tags, "Environment": env.name, "Name": instance_name}
        template = LaunchTemplate(
            self,
            "launch-template",
            name=names.name("{prefix}-ecs", naming.LAUNCH_TEMPLATE),
            # insecure_value: a public AMI id, not a secret; `value` would hide it in every plan.
            image_id=ami.insecure_value,
            instance_type=spec.instance_type,
            iam_instance_profile=LaunchTemplateIamInstanceProfile(arn=profile.arn),
            vpc_security_group_ids=[security.app_sg_id],
            user_data=user_data(self.name),
            # The operators' key pair ([access] key_name): SSH from the Ansible host, which the
            # app group admits on port 22 (infra.platform.security). None: no key, SSM only.
            key_name=env.access.key_name,
            # IMDSv2 only. Hop limit 1: every task uses awsvpc networking (its own ENI, its
            # credentials from the ECS agent), so nothing beyond the host itself needs IMDS;
            # bridge-mode containers (an extra hop) would need 2, and we have none.
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=ROOT_VOLUME_GIB,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=LaunchTemplateMonitoring(enabled=True),
            ebs_optimized="true",
            update_default_version=True,
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags=tags) for kind in ("instance", "volume")
            ],
        )
        group = AutoscalingGroup(
            self,
            "asg",
            name=names.name(ECS_CAPACITY_GROUP, naming.AUTOSCALING_GROUP),
            # The environment's own service-linked role, the one the key policy names.
            service_linked_role_arn=key.autoscaling_role.arn if key.autoscaling_role else None,
            min_size=self._knobs.ec2_min_size,
            max_size=self._knobs.ec2_max_size,
            # desired_capacity is left to ECS managed scaling.
            vpc_zone_identifier=network.private_subnet_ids,
            launch_template=AutoscalingGroupLaunchTemplate(id=template.id, version=Token.as_string(template.latest_version)),
            health_check_type="EC2",
            # Managed termination protection: ECS lifts the protection of instances it drained.
            protect_from_scale_in=True,
            # A destroy must not wait for instances that are protected from scale-in.
            force_delete=True,
            tag=[
                AutoscalingGroupTag(key="AmazonECSManaged", value="true", propagate_at_launch=True),
                AutoscalingGroupTag(key="Name", value=instance_name, propagate_at_launch=True),
            ],
        )
        return EcsCapacityProvider(
            self,
            "ec2-capacity-provider",
            name=names.name(EC2_CAPACITY_PROVIDER, naming.ECS_NAME),
            auto_scaling_group_provider=EcsCapacityProviderAutoScalingGroupProvider(
                auto_scaling_group_arn=group.arn,
                managed_termination_protection="ENABLED",
                managed_scaling=EcsCapacityProviderAutoScalingGroupProviderManagedScaling(
                    status="ENABLED", target_capacity=spec.target_capacity
                ),
            ),
        )

    def _instance_profile(self, env: EnvironmentSpec, arns: Arns) -> IamInstanceProfile:
        """The container instances' role `<env>-ecs-instance`: the ECS agent's own calls, image
        pulls from this environment's repositories, task logs under `/ecs/<env>/`, and the
        SSM agent's Session Manager calls."""
        names = Names.of(self)
        name = names.name("{prefix}-ecs-instance", naming.IAM_ROLE)
        role = service_role(self, "instance-role", name=name, principal="ec2.amazonaws.com")
        inline_policy(
            self,
            "instance-policy",
            role=role,
            name="ecs-agent",
            statements=[
                # DiscoverPollEndpoint supports no resource-level permissions: AWS requires "*".
                statement("DiscoverPollEndpoint", ["ecs:DiscoverPollEndpoint"], ["*"]),
                statement(
                    "ContainerInstance",
                    CONTAINER_INSTANCE_ACTIONS,
                    [arns.cluster(self.name), arns.container_instances(self.name)],
                ),
                ecr_login(),
                statement("PullEnvironmentImages", ECR_PULL, [arns.repository(f"{naming.PREFIX}/*")]),
                statement(
                    "WriteTaskLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_group(f"/ecs/{naming.PREFIX}/*")]
                ),
            ],
        )
        # Session Manager on the container instances, as on the bastion and the Ansible host
        # (infra.platform.access): written out, no AWS-managed policy attached.
        inline_policy(
            self,
            "instance-ssm",
            role=role,
            name="ssm-session-manager",
            statements=session_manager_statements(arns.instances()),
        )
        profile_name = names.name("{prefix}-ecs-instance", naming.IAM_INSTANCE_PROFILE)
        return IamInstanceProfile(self, "instance-profile", name=profile_name, role=role.name)
