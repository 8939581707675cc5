"""The environment's Cloud Map private DNS namespace (default `<env>.internal`).

Backend services register in it (their `aws_service_discovery_service` lives in the
service stack) and are reached as `<service>.<namespace>` from inside the VPC.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.service_discovery_private_dns_namespace import ServiceDiscoveryPrivateDnsNamespace

from infra.platform.network import Network
from infra.config.specs import EnvironmentSpec


class Discovery(Construct):
    """Typed outputs: `namespace_id`, `namespace_name`, `namespace_arn`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, network: Network) -> None:
        super().__init__(scope, id_)
        namespace = ServiceDiscoveryPrivateDnsNamespace(
            self,
            "namespace",
            name=env.namespace,
            vpc=network.vpc_id,
            description=f"{env.name}: service discovery for backend services",
        )
        self.namespace_id = namespace.id
        self.namespace_name = env.namespace
        self.namespace_ref = namespace.name
        self.namespace_arn = namespace.arn
