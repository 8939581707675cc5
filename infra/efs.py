"""An encrypted EFS file system with its mount targets, shared by the platform (`[[file_systems]]`
in an environment file) and the service stacks (a service's own `[[volumes]]`), so both carry
the same protections:

    file system     encrypted at rest with the platform's KMS key; `prevent_destroy` with
                    deletion protection; automatic backups (AWS Backup) in production
    security group  for the mount targets, with no rule of its own: each service that mounts it
                    adds NFS (2049) ingress from its own group (infra.service.volumes)
    mount targets   one per zone of the private subnets (`for_each` over the zone -> subnet map),
                    so a task in any zone mounts the file system in its own
    policy          refuses clients without TLS and mounts without an access point; and, being a
                    policy at all, it ends EFS's default one, which lets in any client that can
                    reach a mount target: from then on only IAM identities allowed
                    elasticfilesystem:ClientMount (a task role, for its access point) get in.

AWS docs: "Using IAM to control access to file systems" (Amazon EFS User Guide): the default
file system policy "grants full access to any anonymous client that can connect to the file
system using a mount target" whenever no policy of the user's is in effect; "an allow
permission on an action in either an IAM identity policy or a file system resource policy
allows access". "Managing mount targets": one mount target per Availability Zone.
"Amazon EFS backups" / "PutBackupPolicy": automatic backups through AWS Backup.
"""

from __future__ import annotations

from typing import Any

from cdktf import TerraformIterator, TerraformResourceLifecycle, Token
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.efs_backup_policy import EfsBackupPolicy, EfsBackupPolicyBackupPolicy
from cdktf_cdktf_provider_aws.efs_file_system import EfsFileSystem
from cdktf_cdktf_provider_aws.efs_file_system_policy import EfsFileSystemPolicy
from cdktf_cdktf_provider_aws.efs_mount_target import EfsMountTarget
from cdktf_cdktf_provider_aws.security_group import SecurityGroup

from infra import naming
from infra.addresses import named
from infra.naming import Names

# What a client may do on a file system (AWS docs, "Using IAM to control access to file
# systems", EFS actions for clients): read-only mount, write, root. Root is never granted.
CLIENT_MOUNT = "elasticfilesystem:ClientMount"
CLIENT_WRITE = "elasticfilesystem:ClientWrite"
CLIENT_ACTIONS = [CLIENT_MOUNT, "elasticfilesystem:ClientRootAccess", CLIENT_WRITE]
ACCESS_POINT_ARN = "elasticfilesystem:AccessPointArn"


def _deny(sid: str, test: str, variable: str, value: str, resource: str) -> DataAwsIamPolicyDocumentStatement:
    return DataAwsIamPolicyDocumentStatement(
        sid=sid,
        effect="Deny",
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=["*"])],
        # The client actions only: a policy that denied the API actions too would lock the
        # operators out ("PutFileSystemPolicy": the lockout safety check).
        actions=CLIENT_ACTIONS,
        resources=[resource],
        condition=[DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=[value])],
    )


class EncryptedFileSystem(Construct):
    """Typed outputs: `id`, `arn`, `security_group_id`, `mount_targets` (one resource, an
    instance per zone).

    `address`: the name part of every address (`aws_efs_file_system.<address>`,
    `aws_efs_mount_target.<address>["us-east-1a"]`, `aws_security_group.<address>_efs`);
    `name`: the AWS name template with `{prefix}` (the Name tag; the group is `<name>-efs`);
    `subnets_by_zone`: zone -> private subnet id (a Python dict or a Terraform map)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        address: str,
        name: str,
        description: str,
        vpc_id: str,
        subnets_by_zone: Any,
        kms_key_arn: str,
        protect: bool,
        backup: bool,
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        file_system = EfsFileSystem(
            self,
            "file-system",
            encrypted=True,
            kms_key_id=kms_key_arn,
            tags={"Name": names.tag(name)},
            # The data outlives any configuration change: with deletion protection, Terraform
            # refuses a plan that would destroy it.
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
        named(file_system, address)
        group_name = names.name(f"{name}-efs", naming.SECURITY_GROUP)
        group = SecurityGroup(
            self,
            "group",
            name=group_name,
            description=f"{description}: its mount targets (NFS from the groups of the tasks that mount it)",
            vpc_id=vpc_id,
            tags={"Name": group_name},
        )
        named(group, f"{address}_efs")
        zones = TerraformIterator.from_map(subnets_by_zone)
        self.mount_targets = EfsMountTarget(
            self,
            "mount-targets",
            for_each=zones,
            file_system_id=file_system.id,
            subnet_id=Token.as_string(zones.value),
            security_groups=[group.id],
        )
        named(self.mount_targets, address)
        document = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=[
                # The EFS console's "Enforce in-transit encryption for all clients".
                _deny("RefuseClientsWithoutTls", "Bool", "aws:SecureTransport", "false", file_system.arn),
                # Every task mounts through its own access point (its POSIX user and directory):
                # a mount of the whole file system is refused ("Using access points in IAM policies").
                _deny("RefuseMountsWithoutAccessPoint", "Null", ACCESS_POINT_ARN, "true", file_system.arn),
            ],
        )
        named(document, f"{address}_efs")
        named(EfsFileSystemPolicy(self, "policy", file_system_id=file_system.id, policy=document.json), address)
        if backup:
            named(
                EfsBackupPolicy(
                    self, "backup", file_system_id=file_system.id, backup_policy=EfsBackupPolicyBackupPolicy(status="ENABLED")
                ),
                address,
            )
        self.id = file_system.id
        self.arn = file_system.arn
        self.security_group_id = group.id
