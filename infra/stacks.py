"""The stacks: `<env>-platform` and one `<env>-<service>` per microservice.

Each stack has its own Terraform state, so a change to one service plans only that
service. Service stacks receive the platform construct itself and read its typed
attributes; CDKTF turns those cross-stack references into outputs of the platform stack
and `terraform_remote_state` reads in the service stack.
"""

from __future__ import annotations

from cdktf import CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformOutput, TerraformStack
from constructs import Construct

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints

from infra.local_endpoints import ENDPOINT_SERVICES
from infra.microservice import Microservice
from infra.platform import Platform
from infra.config.specs import BackendKind, EnvironmentSpec, LocalEndpoint, ServiceKind, ServiceSpec

PROVIDER_VERSION = "5.100.0"
# No `required_version` in the terraform block: Checkov's terraform_json parser fails on
# any scalar there and then scans nothing. S3-native locking needs Terraform >= 1.10.


def stack_name(env: EnvironmentSpec, part: str) -> str:
    return f"{env.name}-{part}"


class EnvironmentStack(TerraformStack):
    """A stack of one environment: provider, pinned versions, backend and tags."""

    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, local: LocalEndpoint | None, component: str
    ) -> None:
        super().__init__(scope, id_)
        self.env = env
        tags = {
            "Project": "ecs-platform",
            "Environment": env.name,
            "ManagedBy": "cdktf",
            "Component": component,
            **env.tags,
        }
        self.provider = AwsProvider(
            self,
            "aws",
            region=env.region,
            default_tags=[AwsProviderDefaultTags(tags=tags)],
            **(_local_provider_options(local) if local else {}),
        )
        # The bindings are generated for exactly this provider version; pin it.
        self.add_override("terraform.required_providers.aws.version", PROVIDER_VERSION)
        _configure_backend(self, env, id_)


def _local_provider_options(local: LocalEndpoint) -> dict[str, object]:
    return {
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        # The account id is requested (moto answers 123456789012): without it the provider
        # reads security-group rule references back as "<account>/sg-..." and drifts.
        "s3_use_path_style": True,
        "endpoints": [AwsProviderEndpoints(**{service: local.url for service in ENDPOINT_SERVICES})],
    }


def _configure_backend(stack: TerraformStack, env: EnvironmentSpec, name: str) -> None:
    backend = env.backend
    if backend.kind is BackendKind.S3:
        assert backend.s3 is not None
        s3 = backend.s3
        S3Backend(
            stack,
            bucket=s3.bucket,
            key=f"{s3.key_prefix}/{name}.tfstate",
            region=s3.region,
            encrypt=True,
            dynamodb_table=s3.dynamodb_table,
            kms_key_id=s3.kms_key_id,
            workspace_key_prefix=s3.workspace_key_prefix,
        )
        if s3.use_lockfile:
            # S3-native locking (Terraform >= 1.10) is newer than CDKTF's S3Backend props.
            stack.add_override("terraform.backend.s3.use_lockfile", True)
    elif backend.kind is BackendKind.CLOUD:
        assert backend.cloud is not None
        CloudBackend(
            stack,
            organization=backend.cloud.organization,
            hostname=backend.cloud.hostname,
            workspaces=NamedCloudWorkspace(f"{backend.cloud.workspace_prefix}{name}"),
        )
    else:
        # Relative to the stack's working directory (cdktf.out/stacks/<stack>): the state
        # lives at the project root, outside cdktf.out, and survives re-synthesis.
        LocalBackend(
            stack,
            path=f"../../../terraform.{name}.tfstate",
            workspace_dir=f"../../../terraform.tfstate.d/{name}",
        )


class PlatformStack(EnvironmentStack):
    """The shared layer of one environment."""

    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, services: tuple[ServiceSpec, ...], local: LocalEndpoint | None
    ) -> None:
        super().__init__(scope, id_, env=env, local=local, component="platform")
        self.platform = Platform(self, "platform", env=env, services=services)
        TerraformOutput(self, "alb_dns_name", value=self.platform.load_balancer.dns_name)
        TerraformOutput(self, "cluster_name", value=self.platform.cluster.name)
        TerraformOutput(self, "vpc_id", value=self.platform.network.vpc_id)


class ServiceStack(EnvironmentStack):
    """One microservice of one environment, deployed independently of the others."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        service: ServiceSpec,
        platform: Platform,
        local: LocalEndpoint | None,
    ) -> None:
        super().__init__(scope, id_, env=env, local=local, component=service.name)
        self.add_dependency(platform.stack)
        self.service = Microservice(self, "service", env=env, spec=service, platform=platform)
        TerraformOutput(self, "url", value=_service_url(service, platform, self.service))


def _service_url(spec: ServiceSpec, platform: Platform, service: Microservice) -> str:
    """Where the service is reached: through the ALB, by Cloud Map name, or its queue."""
    if spec.kind is ServiceKind.WEB and spec.route is not None:
        scheme = "https" if platform.load_balancer.https else "http"
        host = spec.route.hosts[0] if spec.route.hosts else platform.load_balancer.dns_name
        path = spec.route.paths[0].rstrip("*") if spec.route.paths else "/"
        return f"{scheme}://{host}{path}"
    if spec.kind is ServiceKind.WORKER and service.queue is not None:
        return service.queue.url
    return f"http://{spec.name}.{platform.discovery.namespace_name}:{spec.port}"

