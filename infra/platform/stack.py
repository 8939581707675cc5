"""The platform stack `<env>-platform`: the shared layer of one environment and its contract."""

from __future__ import annotations

from constructs import Construct

from infra.config.specs import EnvironmentSpec, LocalEndpoint
from infra.platform import contract
from infra.platform.composition import Platform
from infra.stacks import EnvironmentStack


class PlatformStack(EnvironmentStack):
    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, local: LocalEndpoint | None) -> None:
        super().__init__(scope, id_, env=env, local=local, component="platform")
        self.platform = Platform(self, "platform", env=env)
        contract.publish(
            self,
            self.platform.contract_values(),
            database=self.platform.database is not None,
            ec2=self.platform.cluster.ec2_capacity_provider_name is not None,
        )
        self.declare_names()
