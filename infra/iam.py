"""Least-privilege IAM roles: four per service, plus the ECS container-instance role.

Per service (construct id = the service name, so adding a service never renames another's
roles), named `<env>-<service>-<kind>`:

  exec      ECS task execution role: pull the service's image, write its log group,
            decrypt with the platform key. The service stack adds read access to its
            own secrets.
  task      the application's role. Only ECS Exec's channel permissions live here (for
            services with `enable_exec`); the service stack attaches its queue policy.
  build     CodeBuild: its own log group, push/pull on its own repository, the pipeline
            artifacts, and the SSM parameter holding the deployed image tag.
  pipeline  CodePipeline: artifacts, start its own build project, deploy its own ECS
            service, pass only its own exec/task roles to ECS.

Every ARN is built from names that other constructs derive the same way (repository
`<env>/<service>`, log group `/ecs/<env>/<service>`, cluster `<env>`, service
`<env>-<service>`, project `<env>-<service>`), not from their resources: the roles are
created first and nothing here depends on the order of the other constructs.

The inline policies are named "platform"; whoever adds another inline policy to one of these
roles must use a different name. AWS-managed policies are never attached (they are broader
than needed, and the moto emulator only knows them behind a special flag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy

from infra.encryption import PlatformKey
from infra.config.specs import EnvironmentSpec, ServiceSpec
from infra.storage import Storage

POLICY_NAME = "platform"

ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
ECR_PUSH = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
ARTIFACT_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
# ECS Exec's SSM channel: these actions have no resource-level permissions (AWS requires "*").
EXEC_CHANNEL_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
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

ECS_TASKS = "ecs-tasks.amazonaws.com"


def exec_log_group_name(env_name: str) -> str:
    """The log group of ECS Exec sessions (created by the cluster, written by task roles).

    Not under `/ecs/<env>/`, where a service named "exec" would collide with it.
    """
    return f"/ecs-exec/{env_name}"


def image_tag_parameter_name(env_name: str, service: str) -> str:
    """The SSM parameter the service's build writes the deployed image tag to."""
    return f"/ecs-platform/{env_name}/{service}/image-tag"


@dataclass(frozen=True, kw_only=True)
class RoleSet:
    """The roles of one service (all values are Terraform tokens)."""

    execution_role_arn: str
    execution_role_name: str
    task_role_arn: str
    task_role_name: str
    build_role_arn: str
    build_role_name: str
    pipeline_role_arn: str
    pipeline_role_name: str


class _Arns:
    """ARNs of this environment's resources, built from the names their constructs use."""

    def __init__(self, env: EnvironmentSpec, key: PlatformKey) -> None:
        self.env = env.name
        self._prefix = f"arn:{key.partition}"
        self._region = env.region
        self._account = key.account_id

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self._region if regional else ""
        return f"{self._prefix}:{service}:{region}:{self._account}:{resource}"

    def repository(self, name: str) -> str:
        return self._arn("ecr", f"repository/{name}")

    def log_group(self, name: str) -> str:
        # ":*" covers the group's streams, which is where CreateLogStream/PutLogEvents act.
        return self._arn("logs", f"log-group:{name}:*")

    def cluster(self) -> str:
        return self._arn("ecs", f"cluster/{self.env}")

    def container_instances(self) -> str:
        return self._arn("ecs", f"container-instance/{self.env}/*")

    def ecs_service(self, service: str) -> str:
        return self._arn("ecs", f"service/{self.env}/{self.env}-{service}")

    def build_project(self, service: str) -> str:
        return self._arn("codebuild", f"project/{self.env}-{service}")

    def parameter(self, name: str) -> str:
        return self._arn("ssm", f"parameter{name}")


def _statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition] = (),
) -> DataAwsIamPolicyDocumentStatement:
    return DataAwsIamPolicyDocumentStatement(
        sid=sid, actions=sorted(actions), resources=list(resources), condition=list(conditions) or None
    )


def _ecr_auth() -> DataAwsIamPolicyDocumentStatement:
    # GetAuthorizationToken is account-wide: AWS supports no resource but "*" for it.
    return _statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"])


def _role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    principal: str,
    source_account: str | None,
    statements: Sequence[DataAwsIamPolicyDocumentStatement],
) -> IamRole:
    """A role trusted by one AWS service principal, with one inline policy (if any statements)."""
    trust = DataAwsIamPolicyDocument(
        scope,
        f"{id_}-trust",
        statement=[
            DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                # One identifier renders as a plain string principal (moto requires that for
                # CodePipeline; it is what AWS stores anyway).
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[principal])],
                # Confused-deputy guard: only this account's ECS may assume the role.
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="aws:SourceAccount", values=[source_account]
                    )
                ]
                if source_account
                else None,
            )
        ],
    )
    role = IamRole(scope, id_, name=name, assume_role_policy=trust.json)
    if statements:
        document = DataAwsIamPolicyDocument(scope, f"{id_}-policy-document", statement=list(statements))
        IamRolePolicy(scope, f"{id_}-policy", name=POLICY_NAME, role=role.id, policy=document.json)
    return role


class _ServiceRoleSet(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        service: ServiceSpec,
        arns: _Arns,
        key: PlatformKey,
        storage: Storage,
    ) -> None:
        super().__init__(scope, id_)
        name = service.name
        prefix = f"{env.name}-{name}"
        repository = arns.repository(f"{env.name}/{name}")
        artifacts = storage.artifacts_bucket_arn
        artifact_objects = _statement("Artifacts", ARTIFACT_OBJECT_ACTIONS, [f"{artifacts}/*"])

        execution = _role(
            self,
            "exec",
            name=f"{prefix}-exec",
            principal=ECS_TASKS,
            source_account=key.account_id,
            statements=[
                _ecr_auth(),
                _statement("PullOwnImage", ECR_PULL, [repository]),
                _statement(
                    "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_group(f"/ecs/{env.name}/{name}")]
                ),
                _statement("DecryptWithPlatformKey", ["kms:Decrypt"], [key.arn]),
            ],
        )

        task_statements = []
        if service.enable_exec:
            task_statements = [
                _statement("ExecChannels", EXEC_CHANNEL_ACTIONS, ["*"]),
                # Sessions are encrypted with the platform key and logged to the exec log group.
                _statement("ExecSessionKey", ["kms:Decrypt"], [key.arn]),
                # DescribeLogGroups has no resource-level permissions: AWS requires "*".
                _statement("ExecFindLogGroup", ["logs:DescribeLogGroups"], ["*"]),
                _statement(
                    "ExecSessionLogs",
                    ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    [arns.log_group(exec_log_group_name(env.name))],
                ),
            ]
        task = _role(
            self, "task", name=f"{prefix}-task", principal=ECS_TASKS, source_account=key.account_id, statements=task_statements
        )

        build_log_group = f"/codebuild/{prefix}"
        build = _role(
            self,
            "build",
            name=f"{prefix}-build",
            principal="codebuild.amazonaws.com",
            source_account=None,
            statements=[
                _statement(
                    "WriteBuildLogs",
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [arns.log_group(build_log_group)],
                ),
                _ecr_auth(),
                _statement("PushPullOwnImage", ECR_PULL + ECR_PUSH, [repository]),
                artifact_objects,
                _statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [artifacts]),
                _statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.arn]),
                _statement(
                    "ImageTagParameter",
                    ["ssm:GetParameter", "ssm:PutParameter"],
                    [arns.parameter(image_tag_parameter_name(env.name, name))],
                ),
            ],
        )

        pipeline_statements = [
            artifact_objects,
            _statement("ArtifactsBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning"], [artifacts]),
            _statement("RunOwnBuild", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], [arns.build_project(name)]),
            _statement("DeployOwnService", ["ecs:DescribeServices", "ecs:UpdateService"], [arns.ecs_service(name)]),
            # Task definition registration and lookup support no resource-level
            # permissions: AWS requires "*".
            _statement("TaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"]),
            _statement(
                "PassOwnTaskRoles",
                ["iam:PassRole"],
                [execution.arn, task.arn],
                [DataAwsIamPolicyDocumentStatementCondition(test="StringEquals", variable="iam:PassedToService", values=[ECS_TASKS])],
            ),
            _statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.arn]),
        ]
        connection = env.pipeline.connection_arn
        if connection:
            # The connection's ARN names its service: codestar-connections or codeconnections.
            service_prefix = connection.split(":")[2]
            pipeline_statements.append(_statement("UseSourceConnection", [f"{service_prefix}:UseConnection"], [connection]))
        pipeline = _role(
            self,
            "pipeline",
            name=f"{prefix}-pipeline",
            principal="codepipeline.amazonaws.com",
            source_account=None,
            statements=pipeline_statements,
        )

        self.roles = RoleSet(
            execution_role_arn=execution.arn,
            execution_role_name=execution.name,
            task_role_arn=task.arn,
            task_role_name=task.name,
            build_role_arn=build.arn,
            build_role_name=build.name,
            pipeline_role_arn=pipeline.arn,
            pipeline_role_name=pipeline.name,
        )


class ServiceRoles(Construct):
    """The environment's IAM roles.

    Typed outputs:
      for_service(name) -> RoleSet   the four roles of one service
      instance_role_arn, instance_role_name, instance_profile_arn, instance_profile_name
                                     the ECS container-instance role and its instance
                                     profile (`<env>-ecs-instance`); None when the cluster
                                     has no EC2 capacity
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        services: Sequence[ServiceSpec],
        key: PlatformKey,
        storage: Storage,
    ) -> None:
        super().__init__(scope, id_)
        arns = _Arns(env, key)
        self._roles: dict[str, RoleSet] = {}
        for service in services:
            role_set = _ServiceRoleSet(self, service.name, env=env, service=service, arns=arns, key=key, storage=storage)
            self._roles[service.name] = role_set.roles

        self.instance_role_arn: str | None = None
        self.instance_role_name: str | None = None
        self.instance_profile_arn: str | None = None
        self.instance_profile_name: str | None = None
        if env.cluster.ec2.enabled:
            self._container_instance_role(env, arns)

    def for_service(self, name: str) -> RoleSet:
        try:
            return self._roles[name]
        except KeyError:
            raise KeyError(f"no roles for service {name!r} (known: {', '.join(sorted(self._roles))})") from None

    def _container_instance_role(self, env: EnvironmentSpec, arns: _Arns) -> None:
        name = f"{env.name}-ecs-instance"
        role = _role(
            self,
            "ecs-instance",
            name=name,
            principal="ec2.amazonaws.com",
            source_account=None,
            statements=[
                # DiscoverPollEndpoint supports no resource-level permissions: AWS requires "*".
                _statement("DiscoverPollEndpoint", ["ecs:DiscoverPollEndpoint"], ["*"]),
                _statement("ContainerInstance", CONTAINER_INSTANCE_ACTIONS, [arns.cluster(), arns.container_instances()]),
                _ecr_auth(),
                _statement("PullEnvironmentImages", ECR_PULL, [arns.repository(f"{env.name}/*")]),
                _statement(
                    "WriteTaskLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_group(f"/ecs/{env.name}/*")]
                ),
            ],
        )
        profile = IamInstanceProfile(self, "ecs-instance-profile", name=name, role=role.name)
        self.instance_role_arn = role.arn
        self.instance_role_name = role.name
        self.instance_profile_arn = profile.arn
        self.instance_profile_name = profile.name
