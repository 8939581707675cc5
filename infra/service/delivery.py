"""Where a service's pipeline lives and which environments it deploys (build once, promote).

Without `[pipeline] promote_from`, each environment's stack holds the service's pipeline, which
builds the image and deploys it to that environment alone (as before).

With `promote_from = "dev"` in `environments/prod.toml`, the service has one pipeline, in its
prod stack (the *home*: the environment the approval guards, whose stack already holds the
strongest roles). It builds the image once and pushes it to dev's repository, deploys dev,
records dev's deployed digest, waits for the approval, then copies the image *by digest* into
prod's repository (the same manifest: the copy is checked against the digest, or the pipeline
stops) and deploys and records prod. The dev stacks have no pipeline, build or record roles of
their own. Each environment keeps its own repository: what runs in prod never depends on dev's
repository, its lifecycle policy or its existence.

A job (`kind = "job"`) is built once and promoted the same way: it has no ECS service, so each
Deploy registers a revision of that environment's task family (`<prefix>-<job>`) with the
digest, through the job's one deploy project (infra.service.pipeline, infra.service.roles).

Nothing here reads another stack: dev's resources are named by the naming scheme
(`infra.naming.Names.peer_prefix`: `dev` in `default`, `dev-<workspace>` elsewhere), in this
stack's account and Region (checked at load: one account, one Region, one hop).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from infra import naming
from infra.config.specs import DeploymentStrategy, EnvironmentSpec, ImageSource, ServiceSpec
from infra.naming import Names
from infra.service.blue_green import codedeploy_names
from infra.service.registry import repository_name


def image_tag_parameter_name(service: str) -> str:
    """The SSM parameter the service's build writes the deployed image tag to (a template of
    `infra.naming.Names.name`)."""
    return f"/ecs-platform/{{prefix}}/{service}/image-tag"


@dataclass(frozen=True)
class DeployTarget:
    """One environment a service's pipeline deploys, in order, with the names of its parts."""

    env_name: str
    prefix: str  # the prefix of that environment's names, as a Terraform expression
    service: str  # the service's name (`spec.name`)
    strategy: DeploymentStrategy
    home: bool  # the environment of the stack the pipeline lives in

    @property
    def name(self) -> str:
        """The ECS service, task family and CodeBuild/CodePipeline name: `<prefix>-<service>`."""
        return f"{self.prefix}-{self.service}"

    @property
    def cluster(self) -> str:
        # The platform's cluster is named by the prefix alone (infra.platform.cluster).
        return self.prefix

    @property
    def repository(self) -> str:
        return repository_name(self.service).format(prefix=self.prefix)

    @property
    def parameter(self) -> str:
        return image_tag_parameter_name(self.service).format(prefix=self.prefix)

    @property
    def roles(self) -> tuple[str, str]:
        """Its execution and task role names (infra.service.roles)."""
        return f"{self.name}-exec", f"{self.name}-task"

    @property
    def codedeploy(self) -> tuple[str, str]:
        """Its CodeDeploy application and deployment group (blue/green)."""
        return codedeploy_names(self.prefix, self.service)

    @property
    def blue_green(self) -> bool:
        return self.strategy is DeploymentStrategy.BLUE_GREEN


def has_own_pipeline(env: EnvironmentSpec, spec: ServiceSpec) -> bool:
    """A pipeline in this environment's stack: for images it builds (ECR), unless another
    environment's pipeline deploys this one (`promote_from` there). Services and jobs alike:
    a job's Deploy registers a revision of its family in each environment the pipeline deploys."""
    if spec.image.source is not ImageSource.ECR:
        return False
    return env.pipeline.promoted_to is None


def deploy_targets(scope: Construct, env: EnvironmentSpec, spec: ServiceSpec) -> tuple[DeployTarget, ...]:
    """The environments the pipeline in this stack deploys, in order: the upstream one first
    with `promote_from`, then this one."""
    home = DeployTarget(env_name=env.name, prefix=naming.PREFIX, service=spec.name, strategy=spec.deployment.strategy, home=True)
    upstream = env.pipeline.promote_from
    if upstream is None:
        return (home,)
    if spec.upstream_strategy is None:
        raise ValueError(f"{spec.file}: the loader left the upstream deployment strategy of {upstream.name} unset")
    prefix = Names.of(scope).peer_prefix(upstream.name, workspaces=upstream.workspaces)
    first = DeployTarget(env_name=upstream.name, prefix=prefix, service=spec.name, strategy=spec.upstream_strategy, home=False)
    return first, home
