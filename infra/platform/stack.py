"""The platform stack `<env>-platform`: the shared layer of one environment and its contract.

Its variables (`infra.platform.variables`) are the per-environment values an operator may
change at apply time: EC2 capacity bounds, ALB idle timeout, database backups and storage
ceiling, flow-log retention.
"""

from __future__ import annotations

from constructs import Construct

from infra.config.specs import EnvironmentSpec, LocalEndpoint
from infra.imports import apply_imports
from infra.platform import contract
from infra.platform.composition import Platform
from infra.platform.variables import PlatformKnobs
from infra.stacks import EnvironmentStack


class PlatformStack(EnvironmentStack):
    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, local: LocalEndpoint | None) -> None:
        super().__init__(scope, id_, env=env, local=local, component="platform")
        # Variables first: an operator reads them at the top of the stack's JSON.
        self.knobs = PlatformKnobs.declare(self, env)
        self.platform = Platform(self, "platform", env=env, knobs=self.knobs)
        contract.publish(
            self,
            self.platform.contract_values(),
            database=self.platform.database is not None,
            ec2=self.platform.cluster.ec2_capacity_provider_name is not None,
            test_listener=self.platform.load_balancer.test_listener_arn is not None,
        )
        # Last: it checks `[[imports]]` against the stack's final resource addresses.
        apply_imports(self, env.imports, stack_name=id_)
