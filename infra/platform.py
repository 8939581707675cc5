"""The shared platform of one environment, as one construct with typed parts.

Service stacks receive this object and read attributes such as
`platform.network.private_subnet_ids` or `platform.cluster.arn`; CDKTF turns each such
read into a cross-stack reference. Nothing is looked up by string.
"""

from __future__ import annotations

from cdktf import TerraformStack
from constructs import Construct

from infra.encryption import PlatformKey
from infra.network import Network
from infra.specs import EnvironmentSpec, ServiceSpec


class Platform(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, services: tuple[ServiceSpec, ...]
    ) -> None:
        super().__init__(scope, id_)
        self.env = env
        self.stack = TerraformStack.of(self)
        self.key = PlatformKey(self, "key", env=env)
        self.network = Network(self, "network", env=env, kms_key_arn=self.key.arn)
