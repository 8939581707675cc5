"""Operator access: a bastion in a public subnet and the Ansible server in a private one.

Neither instance gets an automatic public IP (no subnet maps one on launch); the bastion
is reached through an Elastic IP attached to it (`bastion_public_ip`).
`associate_public_ip_address` is deliberately left unset: the provider reads it back as
"the primary interface has a public address", so `false` next to an Elastic IP re-plans
`true -> false # forces replacement` forever (hashicorp/terraform-provider-aws#37318).

SSH runs admin CIDR -> bastion -> Ansible server -> EC2 capacity hosts (see
`infra.platform.security`); SSM Session Manager reaches both hosts without SSH. Both run the
latest Amazon Linux 2023 at creation time; `ignore_changes = [ami]` keeps a newer AMI
from replacing them on the next plan (patching is Ansible's job, not Terraform's).

Instance roles carry only what the SSM agent needs for Session Manager, written out
(the equivalent of AmazonSSMManagedInstanceCore's session part) instead of attaching
the AWS-managed policy.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_ssm_parameter import DataAwsSsmParameter
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.instance import Instance, InstanceMetadataOptions, InstanceRootBlockDevice

from infra.config import aws_tables
from infra.platform.encryption import PlatformKey
from infra.platform.network import Network
from infra.platform.security import SecurityGroups
from infra.config.specs import EnvironmentSpec

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
# AWS docs, "Find the latest Amazon Linux AMI IDs using Systems Manager" (Amazon Linux 2023
# User Guide): the arm64 image of a Graviton instance type (an x86_64 AMI never boots there).
AMI_PARAMETER_ARM64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
# Explicit (the AMI's snapshot is 8 GiB): room for packages, logs and Ansible's checkouts.
ROOT_VOLUME_GIB = 16

SESSION_MANAGER_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
# Older SSM agents and Run Command poll through ec2messages.
EC2_MESSAGES_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]


class AccessHosts(Construct):
    """Typed outputs: `bastion_public_ip`, `bastion_instance_id`, `ansible_private_ip`,
    `ansible_instance_id`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        network: Network,
        security: SecurityGroups,
        key: PlatformKey,
    ) -> None:
        super().__init__(scope, id_)
        self._env = env
        self._key = key
        graviton = aws_tables.is_graviton(env.access.instance_type)
        self._ami = DataAwsSsmParameter(self, "ami", name=AMI_PARAMETER_ARM64 if graviton else AMI_PARAMETER)
        self._trust = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["ec2.amazonaws.com"])],
                )
            ],
        )
        bastion = self._host("bastion", subnet_id=network.public_subnet_ids[0], security_group_id=security.bastion_sg_id)
        # A stable address the admin CIDR's firewall can name; the instance itself gets no
        # automatic public IP (an Elastic IP survives stop/start and replacement).
        bastion_ip = Eip(self, "bastion-ip", domain="vpc", instance=bastion.id, tags={"Name": f"{env.name}-bastion"})
        # The Ansible server discovers the EC2 capacity hosts (dynamic inventory).
        # DescribeInstances has no resource-level permissions: AWS requires "*".
        inventory = DataAwsIamPolicyDocumentStatement(
            sid="Inventory", actions=["ec2:DescribeInstances"], resources=["*"]
        )
        ansible = self._host(
            "ansible",
            subnet_id=network.private_subnet_ids[0],
            security_group_id=security.ansible_sg_id,
            extra=[inventory],
        )
        self.bastion_public_ip = bastion_ip.public_ip
        self.bastion_instance_id = bastion.id
        self.ansible_private_ip = ansible.private_ip
        self.ansible_instance_id = ansible.id

    def _host(
        self,
        role: str,
        *,
        subnet_id: str,
        security_group_id: str,
        extra: list[DataAwsIamPolicyDocumentStatement] | None = None,
    ) -> Instance:
        env = self._env
        name = f"{env.name}-{role}"
        iam_name = f"{env.name}-access-{role}"
        key = self._key
        # The agent registers the instance it runs on (an EC2 instance ARN). Session
        # Manager's channel and message actions have no resource-level permissions: AWS
        # requires "*" for them (as in AmazonSSMManagedInstanceCore).
        policy = DataAwsIamPolicyDocument(
            self,
            f"{role}-policy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="RegisterWithSsm",
                    actions=["ssm:UpdateInstanceInformation"],
                    resources=[key.arns.instances()],
                ),
                DataAwsIamPolicyDocumentStatement(sid="SessionChannels", actions=SESSION_MANAGER_ACTIONS, resources=["*"]),
                DataAwsIamPolicyDocumentStatement(sid="AgentMessages", actions=EC2_MESSAGES_ACTIONS, resources=["*"]),
                *(extra or []),
            ],
        )
        iam_role = IamRole(
            self,
            f"{role}-role",
            name=iam_name,
            description=f"{name} host: SSM Session Manager",
            assume_role_policy=self._trust.json,
        )
        IamRolePolicy(self, f"{role}-ssm", name="ssm-session-manager", role=iam_role.id, policy=policy.json)
        profile = IamInstanceProfile(self, f"{role}-profile", name=iam_name, role=iam_role.name)
        return Instance(
            self,
            role,
            ami=self._ami.insecure_value,
            instance_type=env.access.instance_type,
            subnet_id=subnet_id,
            vpc_security_group_ids=[security_group_id],
            iam_instance_profile=profile.name,
            key_name=env.access.key_name,
            monitoring=True,
            ebs_optimized=True,
            metadata_options=InstanceMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            root_block_device=InstanceRootBlockDevice(
                encrypted=True,
                kms_key_id=self._key.arn,
                volume_type="gp3",
                volume_size=ROOT_VOLUME_GIB,
                delete_on_termination=True,
            ),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["ami"]),
            tags={"Name": name, "Role": role},
        )
