"""One microservice: everything a validated manifest asks for, in its own stack."""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup

from infra.platform import Platform
from infra.specs import EnvironmentSpec, ServiceSpec


class Microservice(Construct):
    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, spec: ServiceSpec, platform: Platform) -> None:
        super().__init__(scope, id_)
        self.spec = spec
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"/ecs/{env.name}/{spec.name}",
            retention_in_days=env.observability.log_retention_days,
            kms_key_id=platform.key.arn,
        )
