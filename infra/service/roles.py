"""The service's IAM roles, all in its own stack, named `<env>-<service>-<purpose>`:

  exec      ECS task execution role: pull its own image, write its own log group, decrypt
            with the platform key, read exactly its own secrets (and the database secret
            with `database = true`).
  task      the application's role, under the platform's permissions boundary
            (`task_role_boundary_arn`): its queue (worker), publishing to its own topics
            (`publish`), ECS Exec's channels (`enable_exec`), the manifest's `[[permissions]]`,
            and what its log router, trace collector and EFS volumes need (`extra_task_statements`).
  build     CodeBuild: its own log group, push/pull on the repository it builds into, the
            pipeline artifacts. Not the image-tag parameter: the build runs the repository's code.
  record    after each successful deployment: write the deployed digest to the image-tag
            parameter of that environment, read the build's artifact.
  promote   with `[pipeline] promote_from` only: pull the image by digest from the upstream
            environment's repository, push it to this environment's.
  pipeline  CodePipeline: artifacts, start its own builds, deploy the service in each
            environment it deploys (ECS or CodeDeploy), pass only those task roles to ECS.
  deploy    a job's (no ECS service to deploy): register a revision of its task definition
            family with the new image in each environment the pipeline deploys, pass only those
            families' exec/task roles to ECS.

The CI roles exist in the stack that holds the service's pipeline (infra.service.delivery):
its own environment's, or with `promote_from` the home environment's, whose roles then also
reach the upstream environment's service (a job's: its task family), repository and
parameter, named by the naming scheme in the same account.

Each role has one inline policy per purpose (named after it), so a role's permissions live
in one state: this stack's.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy

from infra import naming
from infra.naming import Names
from infra.arns import Arns
from infra.config.specs import EnvironmentSpec, ServiceSpec
from infra.iam import (
    ECR_PULL,
    ECR_PUSH,
    ECS_TASKS,
    SSM_CHANNEL_ACTIONS,
    condition,
    ecr_login,
    inline_policy,
    service_role,
    statement,
)
from infra.service.blue_green import DEPLOYMENT_CONFIG
from infra.service.delivery import DeployTarget
from infra.service.platform_ref import PlatformRef


ARTIFACT_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
QUEUE_CONSUMER_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
]

# The platform's cluster is named by the prefix alone (infra.platform.cluster).
CLUSTER = naming.PREFIX
# The pipeline role's statements for the ECS deploy action, which a job (no service) has no use for.
ECS_DEPLOY_ACTION_SIDS = frozenset(
    {"DeployOwnService", "TagRegisteredRevisions", "WatchOwnTasks", "ListClusterTasks", "TaskDefinitions", "PassOwnTaskRoles"}
)


class ServiceRoles(Construct):
    """Typed outputs: `execution_role_arn`, `task_role_arn`, `task_role_name`, `build_role_arn`,
    `record_role_arn`, `pipeline_role_arn` (None without a pipeline in this stack), `promote_role_arn`
    (None without promote_from), `deploy_role_arn` (a job's pipeline only), `task_policies`
    (the inline policies a task needs from its first start: the service waits for them)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        repository_arn: str | None,
        log_group_name: str,
        secret_resources: Sequence[str],
        own_resources: dict[str, str],
        ecs_service_name: str,
        build_project_name: str,
        topic_arns: Sequence[str] = (),
        extra_task_statements: Sequence[DataAwsIamPolicyDocumentStatement] = (),
        targets: Sequence[DeployTarget] = (),
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        prefix = f"{{prefix}}-{spec.name}"
        key = platform.kms_key_arn
        self.task_policies: list[IamRolePolicy] = []

        execution = service_role(self, "exec", name=names.name(f"{prefix}-exec", naming.IAM_ROLE), principal=ECS_TASKS, source_account=arns.account_id)
        exec_statements = [
            statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_group(log_group_name)]),
            statement("DecryptWithPlatformKey", ["kms:Decrypt"], [key]),
        ]
        if repository_arn is not None:
            exec_statements[:0] = [ecr_login(), statement("PullOwnImage", ECR_PULL, [repository_arn])]
        # A token (the database secret from the platform) is a Secrets Manager ARN.
        parameters = [r for r in secret_resources if ":ssm:" in r]
        secrets = [r for r in secret_resources if ":ssm:" not in r]
        if secrets:
            exec_statements.append(statement("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], secrets))
        if parameters:
            exec_statements.append(statement("ReadOwnParameters", ["ssm:GetParameters"], parameters))
        self.task_policies.append(
            inline_policy(self, "exec-policy", role=execution, name="task-execution", statements=exec_statements)
        )

        task = service_role(
            self,
            "task",
            name=names.name(f"{prefix}-task", naming.IAM_ROLE),
            principal=ECS_TASKS,
            source_account=arns.account_id,
            permissions_boundary=platform.task_role_boundary_arn,
        )
        # What the task's other parts need (its log router, trace collector, EFS volumes:
        # infra.service.sidecars, infra.service.volumes), after the service's own.
        task_statements = self._task_statements(spec, platform, arns, own_resources, topic_arns) + list(extra_task_statements)
        if task_statements:
            self.task_policies.append(
                inline_policy(self, "task-policy", role=task, name="application", statements=task_statements)
            )

        self.execution_role_arn = execution.arn
        self.task_role_arn = task.arn
        self.task_role_name = task.name
        self.build_role_arn: str | None = None
        self.record_role_arn: str | None = None
        self.pipeline_role_arn: str | None = None
        self.promote_role_arn: str | None = None
        self.deploy_role_arn: str | None = None  # jobs only
        if repository_arn is not None and targets:
            self._ci_roles(env, spec, platform, arns, prefix, repository_arn, execution.arn, task.arn,
                           ecs_service_name, build_project_name, targets)

    @staticmethod
    def _task_statements(
        spec: ServiceSpec, platform: PlatformRef, arns: Arns, own: dict[str, str], topic_arns: Sequence[str] = ()
    ) -> list[DataAwsIamPolicyDocumentStatement]:
        key = platform.kms_key_arn
        statements = []
        if topic_arns:
            statements += [
                statement("PublishOwnTopics", ["sns:Publish"], list(topic_arns)),
                # AWS docs, "Key management" (Amazon SNS Developer Guide): a publisher to a topic
                # encrypted with a customer managed key needs kms:GenerateDataKey* and kms:Decrypt
                # on it (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
                statement("TopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
            ]
        if "queue" in own:
            statements += [
                statement("ConsumeOwnQueue", QUEUE_CONSUMER_ACTIONS, [own["queue"]]),
                statement("QueueKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
            ]
        if spec.database:
            # The app re-reads the rotated master secret itself (DB_SECRET_ARN).
            statements += [
                statement("ReadRotatedDatabaseSecret", ["secretsmanager:GetSecretValue"], [platform.database_secret_arn]),
                statement("DatabaseSecretKey", ["kms:Decrypt"], [key]),
            ]
        if spec.enable_exec:
            statements += [
                statement("ExecChannels", SSM_CHANNEL_ACTIONS, ["*"]),
                # Sessions are encrypted with the platform key and logged to the exec log group.
                statement("ExecSessionKey", ["kms:Decrypt"], [key]),
                # DescribeLogGroups has no resource-level permissions: AWS requires "*".
                statement("ExecFindLogGroup", ["logs:DescribeLogGroups"], ["*"]),
                statement(
                    "ExecSessionLogs",
                    ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    [arns.log_group(platform.exec_log_group_name)],
                ),
            ]
        for i, permission in enumerate(spec.permissions):
            statements.append(
                statement(
                    f"Manifest{i}",
                    permission.actions,
                    [own.get(resource, resource) for resource in permission.resources],
                    [condition(c.test, c.variable, c.values) for c in permission.conditions],
                )
            )
        return statements

    def _ci_roles(
        self,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        arns: Arns,
        prefix: str,
        repository_arn: str,
        execution_role_arn: str,
        task_role_arn: str,
        ecs_service_name: str,
        build_project_name: str,
        targets: Sequence[DeployTarget],
    ) -> None:
        names = Names.of(self)
        key = platform.kms_key_arn
        artifacts = platform.artifacts_bucket_arn
        artifact_objects = statement("Artifacts", ARTIFACT_OBJECT_ACTIONS, [f"{artifacts}/*"])
        build_logs = arns.log_group(f"/codebuild/{prefix.format(prefix=naming.PREFIX)}")
        first, home = targets[0], targets[-1]
        promotes = len(targets) > 1
        # The build pushes to the first environment it deploys: its own, or with promote_from
        # the upstream one's repository (named by the naming scheme, same account).
        build_repository = repository_arn if first.home else arns.repository(first.repository)

        build = service_role(self, "build", name=names.name(f"{prefix}-build", naming.IAM_ROLE), principal="codebuild.amazonaws.com")
        build_statements = [
            statement("WriteBuildLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [build_logs]),
            ecr_login(),
            # DescribeImages: the buildspec skips the push of a tag that already exists, and
            # reads the digest it deploys.
            statement("PushPullOwnImage", ECR_PULL + ECR_PUSH + ["ecr:DescribeImages"], [build_repository]),
            artifact_objects,
            statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [artifacts]),
            statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
        ]
        if first.blue_green:
            build_statements.append(_read_task_definitions())
        inline_policy(self, "build-policy", role=build, name="build", statements=build_statements)

        record = service_role(self, "record", name=names.name(f"{prefix}-record", naming.IAM_ROLE), principal="codebuild.amazonaws.com")
        inline_policy(
            self,
            "record-policy",
            role=record,
            name="record",
            statements=[
                statement("WriteRecordLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [build_logs]),
                statement("ReadBuildArtifact", ["s3:GetObject", "s3:GetObjectVersion"], [f"{artifacts}/*"]),
                statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [artifacts]),
                statement("PlatformKey", ["kms:Decrypt"], [key]),
                # The deployed digest of each environment the pipeline deploys, nothing else.
                statement("RecordDeployedTag", ["ssm:PutParameter"], [arns.parameter(t.parameter) for t in targets]),
            ],
        )

        self.promote_role_arn: str | None = None
        if promotes:
            promote = service_role(
                self, "promote", name=names.name(f"{prefix}-promote", naming.IAM_ROLE), principal="codebuild.amazonaws.com"
            )
            promote_statements = [
                statement("WritePromoteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [build_logs]),
                ecr_login(),
                statement("PullUpstreamImage", ECR_PULL + ["ecr:DescribeImages"], [arns.repository(first.repository)]),
                statement("PushOwnImage", ECR_PULL + ECR_PUSH + ["ecr:DescribeImages"], [repository_arn]),
                artifact_objects,
                statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [artifacts]),
                statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
            ]
            if home.blue_green:
                promote_statements.append(_read_task_definitions())
            inline_policy(self, "promote-policy", role=promote, name="promote", statements=promote_statements)
            self.promote_role_arn = promote.arn

        projects = [arns.build_project(build_project_name), arns.build_project(f"{build_project_name}-record")]
        if promotes:
            projects.append(arns.build_project(f"{build_project_name}-promote"))
        pipeline_statements = [
            artifact_objects,
            statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"], [artifacts]),
            statement("RunOwnBuilds", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], projects),
            *_deploy_statements(targets, arns, ecs_service_name),
            _pass_task_roles(targets, arns, execution_role_arn, task_role_arn),
            statement("PlatformKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key]),
        ]
        connection = env.pipeline.connection_arn
        if connection:
            # The connection's ARN names its service: codestar-connections or codeconnections.
            service_prefix = connection.split(":")[2]
            pipeline_statements.append(statement("UseSourceConnection", [f"{service_prefix}:UseConnection"], [connection]))
        if spec.job is not None:
            # A job has no ECS service: the pipeline runs the job's deploy project
            # (infra.service.pipeline) instead of the ECS deploy action and its permissions.
            pipeline_statements = [s for s in pipeline_statements if s.sid not in ECS_DEPLOY_ACTION_SIDS]
            pipeline_statements.append(
                statement("RunOwnDeployBuild", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], [arns.build_project(f"{build_project_name}-deploy")])
            )
            self.deploy_role_arn = self._job_deploy_role(
                platform, arns, prefix, execution_role_arn, task_role_arn, ecs_service_name, targets
            )
        pipeline = service_role(self, "pipeline", name=names.name(f"{prefix}-pipeline", naming.IAM_ROLE), principal="codepipeline.amazonaws.com")
        inline_policy(self, "pipeline-policy", role=pipeline, name="pipeline", statements=pipeline_statements)
        self.build_role_arn = build.arn
        self.record_role_arn = record.arn
        self.pipeline_role_arn = pipeline.arn

    def _job_deploy_role(
        self,
        platform: PlatformRef,
        arns: Arns,
        prefix: str,
        execution_role_arn: str,
        task_role_arn: str,
        family: str,
        targets: Sequence[DeployTarget],
    ) -> str:
        """A job's deploy step: a revision of its family with the image just built
        (infra.service.buildspec.job_deploy_buildspec_document), copying the latest one, in each
        environment the pipeline deploys: its own, and with promote_from first the upstream one,
        whose family and roles are named by the naming scheme (infra.service.delivery)."""
        names = Names.of(self)
        deploy = service_role(self, "deploy", name=names.name(f"{prefix}-deploy", naming.IAM_ROLE), principal="codebuild.amazonaws.com")
        artifacts = platform.artifacts_bucket_arn
        inline_policy(
            self,
            "deploy-policy",
            role=deploy,
            name="deploy",
            statements=[
                statement("WriteDeployLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_group(f"/codebuild/{prefix.format(prefix=naming.PREFIX)}")]),
                statement("ReadBuildArtifact", ["s3:GetObject", "s3:GetObjectVersion"], [f"{artifacts}/*"]),
                statement("ArtifactsBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [artifacts]),
                statement("PlatformKey", ["kms:Decrypt"], [platform.kms_key_arn]),
                # Task definition registration and lookup support no resource-level
                # permissions: AWS requires "*" (as for the ECS deploy action above).
                statement("TaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"]),
                # The revision carries the family's tags.
                _tag_registered_revisions(targets, arns, family),
                _pass_task_roles(targets, arns, execution_role_arn, task_role_arn),
            ],
        )
        return deploy.arn


def _tag_registered_revisions(targets: Sequence[DeployTarget], arns: Arns, home_family: str) -> DataAwsIamPolicyDocumentStatement:
    """Tagging on creation needs ecs:TagResource ("Grant permission to tag resources on
    creation", Amazon ECS Developer Guide), only for the revisions registered: the family of
    each environment deployed (the home one's `home_family`, the others' by the naming scheme).
    The pipeline's ECS deploy action and a job's deploy project register them alike."""
    return statement(
        "TagRegisteredRevisions",
        ["ecs:TagResource"],
        [arns.task_definitions(home_family if t.home else t.name) for t in targets],
        [condition("StringEquals", "ecs:CreateAction", ["RegisterTaskDefinition"])],
    )


def _pass_task_roles(
    targets: Sequence[DeployTarget], arns: Arns, execution_role_arn: str, task_role_arn: str
) -> DataAwsIamPolicyDocumentStatement:
    """A revision names its execution and task roles: registering it passes them (IAM User
    Guide, "Grant a user permissions to pass a role to an AWS service":
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html), only to ECS
    tasks, and only the roles of the environments deployed (the home one's own, the others' by
    the naming scheme)."""
    return statement(
        "PassOwnTaskRoles",
        ["iam:PassRole"],
        [
            role_arn
            for target in targets
            for role_arn in ((execution_role_arn, task_role_arn) if target.home else tuple(arns.role(r) for r in target.roles))
        ],
        [condition("StringEquals", "iam:PassedToService", [ECS_TASKS])],
    )


def _read_task_definitions() -> DataAwsIamPolicyDocumentStatement:
    # The blue/green deploy action registers its revision from a taskdef.json the build writes
    # from the family's latest revision; DescribeTaskDefinition supports no resource-level
    # permissions: AWS requires "*".
    return statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], ["*"])


def _deploy_statements(
    targets: Sequence[DeployTarget], arns: Arns, home_service_name: str
) -> list[DataAwsIamPolicyDocumentStatement]:
    """What the pipeline's deploy actions do, per environment they deploy."""
    rolling = [t for t in targets if not t.blue_green]
    blue_green = [t for t in targets if t.blue_green]
    services = [arns.ecs_service(t.cluster, home_service_name if t.home else t.name) for t in rolling]
    tag_revisions = _tag_registered_revisions(targets, arns, home_service_name)
    statements: list[DataAwsIamPolicyDocumentStatement] = []
    if rolling:
        statements += [
            # AWS CodePipeline User Guide, "Amazon ECS deploy action reference" (service role
            # permissions): the action updates the service, registers a revision (copying the
            # current one's tags), and watches the service's tasks until the deployment settles.
            statement("DeployOwnService", ["ecs:DescribeServices", "ecs:UpdateService"], services),
            tag_revisions,
            statement("WatchOwnTasks", ["ecs:DescribeTasks"], [arns.ecs_tasks(t.cluster) for t in rolling]),
            # ListTasks without a container instance has no resource ARN; the cluster condition
            # keeps it to the environments' clusters.
            statement(
                "ListClusterTasks",
                ["ecs:ListTasks"],
                ["*"],
                [condition("ArnEquals", "ecs:cluster", [arns.cluster(t.cluster) for t in rolling])],
            ),
            statement("TaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], ["*"]),
        ]
    if blue_green:
        # AWS CodePipeline User Guide, "Manage the CodePipeline service role" (permissions of the
        # CodeDeployToECS action: CreateDeployment, GetDeployment, GetApplication,
        # GetApplicationRevision, RegisterApplicationRevision, GetDeploymentConfig and
        # ecs:RegisterTaskDefinition), each on its resource type:
        # https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role
        statements += [
            statement(
                "DeployThroughCodeDeploy",
                ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
                [arns.codedeploy_deployment_group(*t.codedeploy) for t in blue_green],
            ),
            statement(
                "RegisterRevisions",
                ["codedeploy:GetApplication", "codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"],
                [arns.codedeploy_application(t.codedeploy[0]) for t in blue_green],
            ),
            statement("ReadDeploymentConfig", ["codedeploy:GetDeploymentConfig"], [arns.codedeploy_config(DEPLOYMENT_CONFIG)]),
        ]
        if not rolling:
            statements += [statement("TaskDefinitions", ["ecs:RegisterTaskDefinition"], ["*"]), tag_revisions]
    return statements
