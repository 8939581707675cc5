"""The service's EFS volumes (`[[volumes]]`): what the task mounts, and what lets it.

    own file system  a volume without `file_system`: an `infra.efs.EncryptedFileSystem` of the
                     service's own, `<env>-<service>-<volume>` (encrypted with the platform key,
                     a mount target per zone, TLS and access points enforced by its policy)
    shared           `file_system = "<name>"`: the platform's `[[file_systems]]` entry, read from
                     the contract (`file_systems`)
    access point     one per volume, on its file system: the container's uid/gid as POSIX user,
                     root directory /<service>/<volume> created with that owner (mode 0750), so a
                     service sees only its own directory of a shared file system
    NFS rules        ingress 2049 on the file system's group from the service's group only, and
                     the service group's egress to it (one pair per file system), in this stack
                     like every rule that admits the service elsewhere
    task role        elasticfilesystem:ClientMount, and ClientWrite unless `read_only`, on the
                     file system, only through the volume's access point (a condition)
    task definition  an EFS volume per entry: transit encryption and IAM authorization on,
                     through its access point (`task_volumes`)

AWS docs: "Specify an Amazon EFS file system in an Amazon ECS task definition" (transit
encryption "must be turned on if Amazon EFS IAM authorization is used"; with an access point
the root directory is left out); "Use Amazon EFS volumes with Amazon ECS" (Fargate platform
version 1.4.0 or later, which LATEST is; on EC2 the ECS-optimized AMI 20200319 or later, agent
1.38.0, for access points and IAM authorization); "Using IAM to control access to file
systems" and "Using access points in IAM policies" (elasticfilesystem:AccessPointArn);
"Creating access points" (POSIX user, root directory creation info).
"""

from __future__ import annotations

from cdktf import Fn, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinitionVolume,
    EcsTaskDefinitionVolumeEfsVolumeConfiguration,
    EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig,
)
from cdktf_cdktf_provider_aws.efs_access_point import (
    EfsAccessPoint,
    EfsAccessPointPosixUser,
    EfsAccessPointRootDirectory,
    EfsAccessPointRootDirectoryCreationInfo,
)

from infra import rules
from infra.addresses import named
from infra.config.limits import NFS_PORT
from infra.config.specs import EnvironmentSpec, ServiceSpec, VolumeSpec
from infra.efs import ACCESS_POINT_ARN, CLIENT_MOUNT, CLIENT_WRITE, EncryptedFileSystem
from infra.iam import condition, statement
from infra.naming import PREFIX, Names
from infra.service.platform_ref import PlatformRef

# The directory's mode when EFS creates it: its owner reads and writes, its group reads.
ROOT_DIRECTORY_PERMISSIONS = "0750"


class _FileSystemRef:
    def __init__(self, *, id_: str, arn: str, security_group_id: str) -> None:
        self.id = id_
        self.arn = arn
        self.security_group_id = security_group_id


def _sid(volume: VolumeSpec) -> str:
    return "MountVolume" + "".join(part.capitalize() for part in volume.name.split("-"))


class ServiceVolumes(Construct):
    """Typed outputs: `task_volumes` (the task definition's EFS volumes), `task_statements` (the
    task role's), `ready` (what the ECS service waits for: mount targets, access points, rules)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        spec: ServiceSpec,
        platform: PlatformRef,
        security_group_id: str,
    ) -> None:
        super().__init__(scope, id_)
        posix_user = spec.posix_user
        if posix_user is None:  # the loader refuses it; a construct raises, never asserts
            raise ValueError(f"{spec.file}: user: {spec.user!r} is not a numeric uid[:gid], which an EFS access point needs")
        uid, gid = posix_user
        names = Names.of(self)
        self.task_volumes: list[EcsTaskDefinitionVolume] = []
        self.task_statements: list[DataAwsIamPolicyDocumentStatement] = []
        self.ready: list[object] = []
        admitted: dict[str, _FileSystemRef] = {}  # rule name -> file system: one NFS rule pair each
        for volume in spec.volumes:
            address = volume.name.replace("-", "_")
            if volume.file_system is None:
                own = EncryptedFileSystem(
                    self,
                    volume.name,
                    address=address,
                    name=f"{PREFIX}-{spec.name}-{volume.name}",
                    description=f"{env.name}-{spec.name} volume {volume.name}",
                    vpc_id=platform.vpc_id,
                    subnets_by_zone=platform.private_subnets_by_zone,
                    kms_key_arn=platform.kms_key_arn,
                    protect=env.deletion_protection,
                    backup=env.production,
                )
                file_system = _FileSystemRef(id_=own.id, arn=own.arn, security_group_id=own.security_group_id)
                self.ready.append(own.mount_targets)
                admitted[address] = file_system
            else:
                shared = platform.file_systems

                def read(attribute: str, name: str = volume.file_system) -> str:
                    return Token.as_string(Fn.lookup_nested(shared, [name, attribute]))

                file_system = _FileSystemRef(id_=read("id"), arn=read("arn"), security_group_id=read("security_group_id"))
                admitted.setdefault(volume.file_system.replace("-", "_"), file_system)
            access_point = EfsAccessPoint(
                self,
                f"{volume.name}-access-point",
                file_system_id=file_system.id,
                posix_user=EfsAccessPointPosixUser(uid=uid, gid=gid),
                root_directory=EfsAccessPointRootDirectory(
                    path=f"/{spec.name}/{volume.name}",
                    creation_info=EfsAccessPointRootDirectoryCreationInfo(
                        owner_uid=uid, owner_gid=gid, permissions=ROOT_DIRECTORY_PERMISSIONS
                    ),
                ),
                tags={"Name": names.tag(f"{PREFIX}-{spec.name}-{volume.name}")},
            )
            named(access_point, address)
            self.ready.append(access_point)
            actions = [CLIENT_MOUNT] if volume.read_only else [CLIENT_MOUNT, CLIENT_WRITE]
            self.task_statements.append(
                statement(
                    _sid(volume),
                    actions,
                    [file_system.arn],
                    [condition("StringEquals", ACCESS_POINT_ARN, [access_point.arn])],
                )
            )
            self.task_volumes.append(
                EcsTaskDefinitionVolume(
                    name=volume.name,
                    efs_volume_configuration=EcsTaskDefinitionVolumeEfsVolumeConfiguration(
                        file_system_id=file_system.id,
                        transit_encryption="ENABLED",
                        authorization_config=EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                            access_point_id=access_point.id, iam="ENABLED"
                        ),
                    ),
                )
            )
        for address, file_system in admitted.items():
            self.ready.append(
                rules.ingress(
                    self, f"{address}-nfs-in", group_id=file_system.security_group_id, port=NFS_PORT,
                    from_group_id=security_group_id, description=f"NFS from {env.name}-{spec.name}",
                )
            )
            self.ready.append(
                rules.egress(
                    self, f"{address}-nfs-out", group_id=security_group_id, port=NFS_PORT,
                    to_group_id=file_system.security_group_id, description=f"NFS to the file system {address}",
                )
            )
