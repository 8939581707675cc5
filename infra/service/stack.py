"""A service stack `<env>-<service>`: one microservice, deployed on its own.

It reads the platform only through `PlatformRef` (the contract, by output name), so it
synthesizes alone (`make synth SERVICES=web`) and adding, changing or removing a service
plans changes in this stack only. Its variables (`infra.service.variables`) are what an
operator sets at apply time: the image tag and the task counts.
"""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from infra.arns import Arns
from infra.config import service_url
from infra.config.specs import EnvironmentSpec, LocalEndpoint, ServiceKind, ServiceSpec
from infra.imports import apply_imports
from infra.naming import Names
from infra.service.composer import Microservice
from infra.service.platform_ref import PlatformRef
from infra.service.variables import ServiceKnobs
from infra.stacks import EnvironmentStack


class ServiceStack(EnvironmentStack):
    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, service: ServiceSpec, local: LocalEndpoint | None
    ) -> None:
        super().__init__(scope, id_, env=env, local=local, component=service.name)
        self.platform = PlatformRef(self, "platform", env=env)
        arns = Arns.of(self, region=env.region)
        # Variables first: an operator reads them at the top of the stack's JSON.
        self.knobs = ServiceKnobs.declare(self, service)
        self.service = Microservice(
            self, "service", env=env, spec=service, platform=self.platform, arns=arns, knobs=self.knobs
        )
        if self.service.job is not None:  # a job has no URL: where it is scheduled
            TerraformOutput(self, "schedule", value=self.service.job.schedule.arn)
        else:
            TerraformOutput(self, "url", value=_service_url(env, service, self.platform, self.service))
        # Last: it checks `[[imports]]` against the stack's final resource addresses.
        apply_imports(self, service.imports, stack_name=id_)


def _service_url(env: EnvironmentSpec, spec: ServiceSpec, platform: PlatformRef, service: Microservice) -> str:
    """Where the service is reached: through the ALB, by Cloud Map name, or its queue."""
    if spec.kind is ServiceKind.WEB and spec.route is not None:
        scheme = "https" if env.load_balancer.https else "http"
        host = Names.of(service).host(spec.route.hosts[0]) if spec.route.hosts else platform.alb_dns_name
        path = spec.route.paths[0].rstrip("*") if spec.route.paths else "/"
        return f"{scheme}://{host}{path}"
    if spec.kind is ServiceKind.WORKER and service.queues is not None:
        return service.queues.queue.url
    return service_url(env, spec)
