"""The environment's shared EFS file systems (`[[file_systems]]` in environments/<env>.toml).

Each is an `infra.efs.EncryptedFileSystem` named `<env>-platform-<name>` (the word `platform`,
which no service may be called, keeps it apart from a service's own file systems
`<env>-<service>-<volume>`), with its mount targets in the private subnets' zones. The
platform knows no service: it publishes each file system's id, ARN and mount-target security
group in the contract (`file_systems`), and a service that mounts one adds its own access
point, its NFS rule on that group and its task role's permission (infra.service.volumes).
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from infra.config.specs import EnvironmentSpec
from infra.efs import EncryptedFileSystem
from infra.naming import PREFIX
from infra.platform.network import Network


class SharedFileSystems(Construct):
    """Typed outputs: `by_name` (name -> EncryptedFileSystem), `contract_value` (name -> { id,
    arn, security_group_id }, the contract's `file_systems`)."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, network: Network, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        self.by_name: dict[str, EncryptedFileSystem] = {}
        for spec in env.file_systems:
            self.by_name[spec.name] = EncryptedFileSystem(
                self,
                spec.name,
                address=spec.name.replace("-", "_"),
                name=f"{PREFIX}-platform-{spec.name}",
                description=f"{env.name} shared file system {spec.name}",
                vpc_id=network.vpc_id,
                subnets_by_zone=network.private_subnets_by_zone,
                kms_key_arn=kms_key_arn,
                protect=env.deletion_protection,
                backup=env.production,
            )

    @property
    def contract_value(self) -> dict[str, Any]:
        return {
            name: {"id": fs.id, "arn": fs.arn, "security_group_id": fs.security_group_id}
            for name, fs in sorted(self.by_name.items())
        }
