"""CI/CD of one service: a CodeBuild project and a CodePipeline (V2), both `<env>-<service>`.

    Source   CodeStar connection to the monorepo, started by a V2 trigger on pushes to
             `pipeline.branch` that touch `services/<name>/**` (so a change to one service
             runs only that service's pipeline; polling is off: DetectChanges "false");
             or, with `pipeline.source = "s3"`, the zip `sources/<env>/<name>.zip` in the
             artifacts bucket (no polling: whoever uploads it starts the pipeline, e.g.
             `aws codepipeline start-pipeline-execution --name <env>-<name>`)
    Build    CodeBuild with the buildspec of `infra.service.buildspec`: tests, image, push, and
             the image by digest for the deploy action
    Approval manual, when `pipeline.manual_approval` (production by default)
    Deploy   rolling: the ECS deploy action (a new task definition revision with the new
             image, rolled out by the service: circuit breaker and alarms with rollback);
             blue_green: the CodeDeployToECS action (infra.service.blue_green), from the
             taskdef.json and appspec.yaml the build wrote;
             a job (no service): a CodeBuild step of its own registers a revision of the
             family with the new image (infra.service.buildspec), which the schedule's next
             run takes (it runs the latest ACTIVE revision, infra.service.job); with
             promote_from, the same project in both Deploy stages, each action naming its
             environment's family and repository
    Record   only after a successful deployment: a second CodeBuild project with its own
             role writes the deployed digest to the parameter Terraform reads (infra.service.buildspec)

With `[pipeline] promote_from = "dev"` (build once, promote: infra.service.delivery) the one
pipeline of the service lives in this environment's stack and runs

    Source -> Build (into dev's repository) -> Deploy-dev -> Record-dev -> Approval
           -> Promote (the same digest into this environment's repository) -> Deploy-<env> -> Record-<env>

for services and jobs alike (a job's Deploy-dev and Deploy-<env> register a revision of dev's
and this environment's family).

The build and pipeline roles are the service's own (`infra.service.roles`). Build logs go
to a KMS-encrypted log group `/codebuild/<env>-<service>`; artifacts are encrypted with
the platform key; the artifacts bucket is the platform's (from its contract).
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf import Fn, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.codebuild_project import (
    CodebuildProject,
    CodebuildProjectArtifacts,
    CodebuildProjectEnvironment,
    CodebuildProjectEnvironmentEnvironmentVariable,
    CodebuildProjectLogsConfig,
    CodebuildProjectLogsConfigCloudwatchLogs,
    CodebuildProjectLogsConfigS3Logs,
    CodebuildProjectSource,
)
from cdktf_cdktf_provider_aws.codepipeline import (
    Codepipeline,
    CodepipelineArtifactStore,
    CodepipelineArtifactStoreEncryptionKey,
    CodepipelineStage,
    CodepipelineStageAction,
    CodepipelineTrigger,
    CodepipelineTriggerGitConfiguration,
    CodepipelineTriggerGitConfigurationPush,
    CodepipelineTriggerGitConfigurationPushBranches,
    CodepipelineTriggerGitConfigurationPushFilePaths,
)

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.expressions import jsonencode
from infra.service.buildspec import (
    APPSPEC,
    IMAGE_DEFINITIONS,
    TASK_DEFINITION_TEMPLATE,
    render_buildspec,
    render_job_deploy_buildspec,
    render_promote_buildspec,
    render_record_buildspec,
    service_dir,
)
from infra.service.delivery import DeployTarget
from infra.config.specs import Architecture, EnvironmentSpec, PipelineSource, ServiceSpec
from infra.service.platform_ref import PlatformRef

# CodeBuild's standard Amazon Linux 2023 images (Python 3.11 runtime, Docker).
BUILD_IMAGES: dict[Architecture, tuple[str, str]] = {
    Architecture.X86_64: ("LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0"),
    Architecture.ARM64: ("ARM_CONTAINER", "aws/codebuild/amazonlinux-aarch64-standard:3.0"),
}
BUILD_TIMEOUT_MINUTES = 30
RECORD_TIMEOUT_MINUTES = 5
PROMOTE_TIMEOUT_MINUTES = 20
SOURCE_ARTIFACT = "source"
BUILD_ARTIFACT = "build"
PROMOTED_ARTIFACT = "promoted"
SOURCE_ACTION = "Source"
JOB_DEPLOY_ACTION = "RegisterRevision"


def source_object_key(env: EnvironmentSpec, spec: ServiceSpec) -> str:
    """Where an S3-sourced pipeline expects the repository zip."""
    return f"sources/{env.name}/{spec.name}.zip"


def trigger_file_paths(spec: ServiceSpec) -> list[str]:
    return [f"{service_dir(spec)}/**"]


class ServicePipeline(Construct):
    """Typed outputs: `project_name`, `project_arn`, `record_project_name`, `promote_project_name`
    (None without promote_from), `deploy_project_name` (a job's only), `pipeline_name`, `pipeline_arn`,
    `log_group_name`, `stage_names` (in order)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        service_name: str | None,
        repository_url: str,
        build_role_arn: str,
        record_role_arn: str,
        pipeline_role_arn: str,
        targets: Sequence[DeployTarget],
        promote_role_arn: str | None = None,
        deploy_role_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._env = env
        self._spec = spec
        self._platform = platform
        self._names = names = Names.of(self)
        self._name = f"{naming.PREFIX}-{spec.name}"
        self._repository_url = repository_url
        self._build_role_arn = build_role_arn
        self._service_name = service_name
        first, home = targets[0], targets[-1]
        log_group = CloudwatchLogGroup(
            self,
            "build-logs",
            name=names.name(f"/codebuild/{self._name}", naming.LOG_GROUP),
            retention_in_days=self._env.observability.log_retention_days,
            kms_key_id=self._platform.kms_key_arn,
        )
        self.log_group_name = log_group.name
        project = self._build_project(log_group.name, first)
        record = self._record_project(log_group.name, record_role_arn)
        self.project_name = project.name
        self.project_arn = project.arn
        self.record_project_name = record.name
        self.promote_project_name: str | None = None
        self.deploy_project_name: str | None = None
        stages = {"Source": self._source_stage(), "Build": self._codebuild_stage("Build", "TestBuildPush", project.name, [SOURCE_ARTIFACT], [BUILD_ARTIFACT])}
        if first.home:
            if env.pipeline.manual_approval:
                stages["Approval"] = self._approval_stage()
            if spec.job is not None:
                # A job has no ECS service: its deploy project registers a revision of its family.
                deploy = self._job_deploy_project(log_group.name, deploy_role_arn, targets)
                stages["Deploy"] = self._codebuild_stage("Deploy", JOB_DEPLOY_ACTION, deploy.name, [BUILD_ARTIFACT])
            elif service_name is None:
                raise ValueError(f"{spec.file}: a service's pipeline deploys its ECS service: service_name is required")
            else:
                stages["Deploy"] = self._deploy_stage("Deploy", home, BUILD_ARTIFACT)
            stages["Record"] = self._record_stage("Record", record.name, home, BUILD_ARTIFACT)
        else:
            if promote_role_arn is None:
                raise ValueError(f"{spec.file}: a pipeline that promotes from {first.env_name} needs the promote role")
            promote = self._promote_project(log_group.name, promote_role_arn, home)
            self.promote_project_name = promote.name
            upstream, own = f"-{first.env_name}", f"-{env.name}"
            if spec.job is not None:
                # A job: one deploy project, run once per environment with that environment's
                # family and repository as the action's variables.
                deploy = self._job_deploy_project(log_group.name, deploy_role_arn, targets)
                stages["Deploy" + upstream] = self._job_deploy_stage("Deploy" + upstream, deploy.name, first, BUILD_ARTIFACT)
            else:
                stages["Deploy" + upstream] = self._deploy_stage("Deploy" + upstream, first, BUILD_ARTIFACT)
            stages["Record" + upstream] = self._record_stage("Record" + upstream, record.name, first, BUILD_ARTIFACT)
            if env.pipeline.manual_approval:
                stages["Approval"] = self._approval_stage()
            stages["Promote"] = self._codebuild_stage("Promote", "PromoteByDigest", promote.name, [BUILD_ARTIFACT], [PROMOTED_ARTIFACT])
            if spec.job is not None:
                stages["Deploy" + own] = self._job_deploy_stage("Deploy" + own, deploy.name, home, PROMOTED_ARTIFACT)
            else:
                stages["Deploy" + own] = self._deploy_stage("Deploy" + own, home, PROMOTED_ARTIFACT)
            stages["Record" + own] = self._record_stage("Record" + own, record.name, home, PROMOTED_ARTIFACT)
        self.stage_names = tuple(stages)
        pipeline = Codepipeline(
            self,
            "pipeline",
            name=names.name(self._name, naming.CODEPIPELINE),
            pipeline_type="V2",
            execution_mode="QUEUED",
            role_arn=pipeline_role_arn,
            artifact_store=[
                CodepipelineArtifactStore(
                    location=platform.artifacts_bucket_name,
                    type="S3",
                    encryption_key=CodepipelineArtifactStoreEncryptionKey(id=platform.kms_key_arn, type="KMS"),
                )
            ],
            stage=list(stages.values()),
            trigger=self._triggers(),
        )
        named(pipeline, self._spec.name)
        self.pipeline_name = pipeline.name
        self.pipeline_arn = pipeline.arn

    def _target_variables(self, repository_url: str, target: DeployTarget) -> list[CodebuildProjectEnvironmentEnvironmentVariable]:
        variables = [CodebuildProjectEnvironmentEnvironmentVariable(name="REPOSITORY_URI", value=repository_url)]
        if target.blue_green:
            # The task family is named like the service (infra.service.composer).
            variables.append(CodebuildProjectEnvironmentEnvironmentVariable(name="TASK_FAMILY", value=target.name))
        return variables

    def _repository_url_of(self, target: DeployTarget) -> str:
        """This stack's repository, or another environment's in the same registry (one account
        and Region): `<registry>/<its repository name>`."""
        if target.home:
            return self._repository_url
        registry = Token.as_string(Fn.element(Fn.split("/", self._repository_url), 0))
        return f"{registry}/{target.repository}"

    def _project(
        self,
        id_: str,
        *,
        name: str,
        description: str,
        role_arn: str,
        timeout: int,
        buildspec: str,
        log_group_name: str,
        privileged: bool = False,
        variables: list[CodebuildProjectEnvironmentEnvironmentVariable] | None = None,
    ) -> CodebuildProject:
        """One CodeBuild project of the pipeline: the source and artifacts are CodePipeline's,
        the key the platform's, the image the service's architecture's; its log stream is `id_`."""
        compute, image = BUILD_IMAGES[self._spec.architecture]
        return CodebuildProject(
            self,
            id_,
            name=self._names.name(name, naming.CODEBUILD_PROJECT),
            description=description,
            service_role=role_arn,
            encryption_key=self._platform.kms_key_arn,
            build_timeout=timeout,
            source=CodebuildProjectSource(type="CODEPIPELINE", buildspec=buildspec),
            artifacts=CodebuildProjectArtifacts(type="CODEPIPELINE"),
            environment=CodebuildProjectEnvironment(
                type=compute,
                image=image,
                compute_type="BUILD_GENERAL1_SMALL",
                image_pull_credentials_type="CODEBUILD",
                privileged_mode=privileged or None,
                environment_variable=variables,
            ),
            logs_config=_logs(log_group_name, id_),
        )

    def _build_project(self, log_group_name: str, target: DeployTarget) -> CodebuildProject:
        return self._project(
            "build",
            name=self._name,
            description=f"{self._env.name}: test, build and push {self._spec.name}",
            role_arn=self._build_role_arn,
            timeout=BUILD_TIMEOUT_MINUTES,
            buildspec=render_buildspec(self._spec, self._env, scope=self),
            log_group_name=log_group_name,
            # Docker builds need the Docker daemon inside the build container, which
            # CodeBuild only starts in privileged mode.
            privileged=True,
            variables=self._target_variables(self._repository_url_of(target), target),
        )

    def _promote_project(self, log_group_name: str, role_arn: str, target: DeployTarget) -> CodebuildProject:
        return self._project(
            "promote",
            name=f"{self._name}-promote",
            description=f"{self._env.name}: copy the approved {self._spec.name} image by digest into {self._env.name}'s repository",
            role_arn=role_arn,
            timeout=PROMOTE_TIMEOUT_MINUTES,
            buildspec=render_promote_buildspec(self._spec, self._env, scope=self),
            log_group_name=log_group_name,
            # docker pull / push need the Docker daemon (privileged mode), as the build does.
            privileged=True,
            variables=self._target_variables(self._repository_url, target),
        )

    def _record_project(self, log_group_name: str, role_arn: str) -> CodebuildProject:
        return self._project(
            "record",
            name=f"{self._name}-record",
            description=f"{self._env.name}: record the deployed image tag of {self._spec.name}",
            role_arn=role_arn,
            timeout=RECORD_TIMEOUT_MINUTES,
            buildspec=render_record_buildspec(self._spec, self._env, scope=self),
            log_group_name=log_group_name,
        )

    def _source_stage(self) -> CodepipelineStage:
        pipeline = self._env.pipeline
        if pipeline.source is PipelineSource.CODESTAR:
            if pipeline.connection_arn is None:
                raise ValueError(f"{self._env.file}: pipeline.connection_arn: required with source = codestar")
            action = CodepipelineStageAction(
                name=SOURCE_ACTION,
                category="Source",
                owner="AWS",
                provider="CodeStarSourceConnection",
                version="1",
                output_artifacts=[SOURCE_ARTIFACT],
                configuration={
                    "ConnectionArn": pipeline.connection_arn,
                    "FullRepositoryId": pipeline.repository,
                    "BranchName": pipeline.branch,
                    # The V2 trigger below starts the pipeline, filtered by path.
                    "DetectChanges": "false",
                    "OutputArtifactFormat": "CODE_ZIP",
                },
            )
        else:
            action = CodepipelineStageAction(
                name=SOURCE_ACTION,
                category="Source",
                owner="AWS",
                provider="S3",
                version="1",
                output_artifacts=[SOURCE_ARTIFACT],
                configuration={
                    "S3Bucket": self._platform.artifacts_bucket_name,
                    "S3ObjectKey": source_object_key(self._env, self._spec),
                    "PollForSourceChanges": "false",
                },
            )
        return CodepipelineStage(name="Source", action=[action])

    def _triggers(self) -> list[CodepipelineTrigger] | None:
        pipeline = self._env.pipeline
        if pipeline.source is not PipelineSource.CODESTAR:
            return None
        return [
            CodepipelineTrigger(
                provider_type="CodeStarSourceConnection",
                git_configuration=CodepipelineTriggerGitConfiguration(
                    source_action_name=SOURCE_ACTION,
                    push=[
                        CodepipelineTriggerGitConfigurationPush(
                            branches=CodepipelineTriggerGitConfigurationPushBranches(includes=[pipeline.branch]),
                            file_paths=CodepipelineTriggerGitConfigurationPushFilePaths(
                                includes=trigger_file_paths(self._spec)
                            ),
                        )
                    ],
                ),
            )
        ]

    def _codebuild_stage(
        self,
        stage: str,
        action: str,
        project_name: str,
        inputs: list[str],
        outputs: list[str] | None = None,
        variables: dict[str, str] | None = None,
    ) -> CodepipelineStage:
        """A stage of one CodeBuild action. `variables` become the action's EnvironmentVariables,
        which CodePipeline hands to that build (AWS CodePipeline User Guide, "AWS CodeBuild build
        and test action reference", EnvironmentVariables:
        https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html):
        one project then serves several environments, each action naming its own."""
        configuration = {"ProjectName": project_name}
        if variables:
            configuration["EnvironmentVariables"] = jsonencode(
                [{"name": name, "value": value, "type": "PLAINTEXT"} for name, value in variables.items()], scope=self
            )
        return CodepipelineStage(
            name=stage,
            action=[
                CodepipelineStageAction(
                    name=action,
                    category="Build",
                    owner="AWS",
                    provider="CodeBuild",
                    version="1",
                    input_artifacts=inputs,
                    output_artifacts=outputs,
                    configuration=configuration,
                )
            ],
        )

    def _approval_question(self) -> str:
        upstream = self._env.pipeline.promote_from
        if upstream is None:
            return f"Deploy the new {self._spec.name} image to {self._env.name}?"
        return f"Promote the {self._spec.name} image running in {upstream.name} to {self._env.name}?"

    def _approval_stage(self) -> CodepipelineStage:
        return CodepipelineStage(
            name="Approval",
            action=[
                CodepipelineStageAction(
                    name="Approve",
                    category="Approval",
                    owner="AWS",
                    provider="Manual",
                    version="1",
                    configuration={"CustomData": self._approval_question()},
                )
            ],
        )

    def _job_deploy_project(
        self, log_group_name: str, role_arn: str | None, targets: Sequence[DeployTarget]
    ) -> CodebuildProject:
        """A job's deploy: its own CodeBuild project registers the revision (no ECS service to
        hand the image to; infra.service.buildspec.job_deploy_buildspec_document).

        FAMILY and REPOSITORY_URI name the environment it registers in. With one target they are
        the project's own; with promote_from the project has none, and each Deploy action passes
        its environment's (`_job_deploy_stage`): a build started without them stops at its first
        command instead of registering in some default environment."""
        if role_arn is None:
            raise ValueError(f"{self._spec.file}: a job's pipeline needs its deploy role (infra.service.roles)")
        promotes = len(targets) > 1
        where = " then ".join(t.env_name for t in targets)
        project = self._project(
            "deploy",
            name=f"{self._name}-deploy",
            description=(
                f"{self._env.name}: register the new revision of the job {self._spec.name} in {where}"
                if promotes
                else f"{self._env.name}: register the new revision of the job {self._spec.name}"
            ),
            role_arn=role_arn,
            timeout=RECORD_TIMEOUT_MINUTES,
            buildspec=render_job_deploy_buildspec(self._spec, self._env, scope=self),
            log_group_name=log_group_name,
            variables=None
            if promotes
            else [
                CodebuildProjectEnvironmentEnvironmentVariable(name="FAMILY", value=self._name),
                CodebuildProjectEnvironmentEnvironmentVariable(name="REPOSITORY_URI", value=self._repository_url),
            ],
        )
        self.deploy_project_name = project.name
        return project

    def _job_deploy_stage(self, stage: str, project_name: str, target: DeployTarget, artifact: str) -> CodepipelineStage:
        """A promoting job pipeline's deploy in one environment: the deploy project with that
        environment's family (`<prefix>-<job>`, named like the service's: infra.service.delivery)
        and repository as the action's variables, as the record step gets its parameter. The
        image is the one in `artifact`'s imagedefinitions.json, by digest: the build's (dev's
        repository) or the promotion's (this environment's)."""
        variables = {"FAMILY": target.name, "REPOSITORY_URI": self._repository_url_of(target)}
        return self._codebuild_stage(stage, JOB_DEPLOY_ACTION, project_name, [artifact], variables=variables)

    def _record_stage(self, stage: str, project_name: str, target: DeployTarget, artifact: str) -> CodepipelineStage:
        """The record step of one environment: the project's IMAGE_TAG_PARAMETER set to that
        environment's parameter for this action."""
        return self._codebuild_stage(stage, "RecordDeployedTag", project_name, [artifact], variables={"IMAGE_TAG_PARAMETER": target.parameter})

    def _deploy_stage(self, stage: str, target: DeployTarget, artifact: str) -> CodepipelineStage:
        if target.blue_green:
            application, group = target.codedeploy
            # AWS CodePipeline User Guide, "Amazon Elastic Container Service and CodeDeploy
            # blue-green deploy action reference": the task definition and AppSpec templates and
            # the image (imageDetail.json) the build wrote into its artifact:
            # https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECSbluegreen.html
            action = CodepipelineStageAction(
                name="Deploy",
                category="Deploy",
                owner="AWS",
                provider="CodeDeployToECS",
                version="1",
                input_artifacts=[artifact],
                configuration={
                    "ApplicationName": application,
                    "DeploymentGroupName": group,
                    "TaskDefinitionTemplateArtifact": artifact,
                    "TaskDefinitionTemplatePath": TASK_DEFINITION_TEMPLATE,
                    "AppSpecTemplateArtifact": artifact,
                    "AppSpecTemplatePath": APPSPEC,
                    "Image1ArtifactName": artifact,
                    "Image1ContainerName": "IMAGE1_NAME",
                },
            )
        else:
            action = CodepipelineStageAction(
                name="Deploy",
                category="Deploy",
                owner="AWS",
                provider="ECS",
                version="1",
                input_artifacts=[artifact],
                configuration={
                    "ClusterName": self._platform.cluster_name if target.home else target.cluster,
                    "ServiceName": self._service_name if target.home else target.name,
                    "FileName": IMAGE_DEFINITIONS,
                },
            )
        return CodepipelineStage(name=stage, action=[action])


def _logs(group_name: str, stream: str) -> CodebuildProjectLogsConfig:
    return CodebuildProjectLogsConfig(
        cloudwatch_logs=CodebuildProjectLogsConfigCloudwatchLogs(status="ENABLED", group_name=group_name, stream_name=stream),
        s3_logs=CodebuildProjectLogsConfigS3Logs(status="DISABLED"),
    )
