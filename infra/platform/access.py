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
(the equivalent of AmazonSSMManagedInstanceCore's session part, `infra.iam.
session_manager_statements`) instead of attaching the AWS-managed policy; the ECS
container instances' role (`infra.platform.cluster`) carries the same.

The Ansible host installs Ansible at first boot (`ansible_user_data`): ansible-core,
boto3, the amazon.aws collection, and an AWS dynamic inventory
(`/etc/ansible/aws_ec2.yml`, the default inventory in `/etc/ansible/ansible.cfg`) of the
running instances of this environment's ECS capacity, selected by their Auto Scaling
group's tag. Its role may only describe instances. The operator's private key never
lands on a host: connect with agent forwarding (`ssh -A -J ec2-user@<bastion> ec2-user@<ansible>`),
then `ansible all -m ping` reaches the container instances, which carry the same
`[access] key_name` key pair and admit SSH from the Ansible group only.

The user data is deterministic text (no timestamps, so a plan is empty when nothing
changed), base64-encoded like the ECS hosts' (Terraform never reads it as a template).
A change of it replaces the Ansible host (`user_data_replace_on_change`): user data runs
at first boot only, so an in-place update would stop and start the host without running
it. The host keeps nothing that is not in its user data or the inventory.
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

from infra import naming
from infra.config import aws_tables
from infra.iam import session_manager_statements
from infra.naming import Names
from infra.platform.cluster import ECS_CAPACITY_GROUP
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

# The AL2023 AMIs' login user (the ECS-optimized one too).
LOGIN_USER = "ec2-user"
INVENTORY_FILE = "/etc/ansible/aws_ec2.yml"  # the aws_ec2 plugin wants a name ending aws_ec2.yml
# The Ansible host's only AWS calls: reading instances for the inventory. DescribeInstances
# has no resource-level permissions: AWS requires "*" ("Actions, resources, and condition
# keys for Amazon EC2"). Nothing that writes.
INVENTORY_ACTIONS = ["ec2:DescribeInstances"]


def ansible_user_data(*, prefix: str, region: str) -> str:
    """The Ansible host's first-boot script (plain text; deterministic, no "${" but the
    names' prefix, which Terraform fills in: `naming.base64_script`).

    - ansible-core and boto3/botocore from the AL2023 repositories (boto3 from pip when
      the distribution has no package); the amazon.aws collection from the distribution
      when packaged, else from Ansible Galaxy (through the NAT gateway, HTTPS).
    - The inventory: the amazon.aws.aws_ec2 plugin ("Amazon EC2 dynamic inventory" of the
      amazon.aws collection) in this Region only (no DescribeRegions), running instances
      tagged `aws:autoscaling:groupName = <env>-ecs` (EC2 Auto Scaling tags every instance
      it launches with its group's name: "Tag Auto Scaling groups and instances"), named by
      private IP, logged in as ec2-user.
    """
    group = ECS_CAPACITY_GROUP.format(prefix=prefix)
    return (
        "#!/bin/bash\n"
        f"# {prefix}-ansible: Ansible with an AWS dynamic inventory of the {group} container instances.\n"
        "set -u\n"
        "dnf install -y ansible-core python3-botocore python3-boto3 || {\n"
        "  dnf install -y ansible-core python3-pip && pip3 install boto3 botocore\n"
        "}\n"
        "# The amazon.aws collection: the distribution's package if it has one, else Ansible Galaxy.\n"
        "dnf install -y ansible-collection-amazon-aws \\\n"
        "  || ansible-galaxy collection install amazon.aws -p /usr/share/ansible/collections\n"
        "mkdir -p /etc/ansible\n"
        f"cat > {INVENTORY_FILE} <<'EOF'\n"
        "# The running container instances of this environment's ECS capacity.\n"
        "plugin: amazon.aws.aws_ec2\n"
        "regions:\n"
        f"  - {region}\n"
        "filters:\n"
        "  instance-state-name: running\n"
        f"  tag:aws:autoscaling:groupName: {group}\n"
        "hostnames:\n"
        "  - private-ip-address\n"
        "compose:\n"
        "  ansible_host: private_ip_address\n"
        f"  ansible_user: \"'{LOGIN_USER}'\"\n"
        "keyed_groups:\n"
        "  - key: placement.availability_zone\n"
        "    prefix: az\n"
        "groups:\n"
        "  ecs_hosts: \"true\"\n"
        "EOF\n"
        "cat > /etc/ansible/ansible.cfg <<'EOF'\n"
        "[defaults]\n"
        f"inventory = {INVENTORY_FILE}\n"
        f"remote_user = {LOGIN_USER}\n"
        "\n"
        "[inventory]\n"
        "enable_plugins = amazon.aws.aws_ec2\n"
        "EOF\n"
    )


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
        self._ami = DataAwsSsmParameter(self, "host-ami", name=AMI_PARAMETER_ARM64 if graviton else AMI_PARAMETER)
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
        bastion_ip = Eip(self, "bastion-ip", domain="vpc", instance=bastion.id, tags={"Name": Names.of(self).tag("{prefix}-bastion")})
        # The Ansible server discovers the EC2 capacity hosts (dynamic inventory): read only.
        inventory = DataAwsIamPolicyDocumentStatement(sid="Inventory", actions=INVENTORY_ACTIONS, resources=["*"])
        ansible = self._host(
            "ansible",
            subnet_id=network.private_subnet_ids[0],
            security_group_id=security.ansible_sg_id,
            extra=[inventory],
            user_data=ansible_user_data(prefix=naming.PREFIX, region=env.region),
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
        user_data: str | None = None,
    ) -> Instance:
        env = self._env
        names = Names.of(self)
        name = names.tag(f"{{prefix}}-{role}")
        iam_name = names.name(f"{{prefix}}-access-{role}", naming.IAM_ROLE)
        key = self._key
        policy = DataAwsIamPolicyDocument(
            self,
            f"{role}-policy",
            statement=[*session_manager_statements(key.arns.instances()), *(extra or [])],
        )
        iam_role = IamRole(
            self,
            f"{role}-role",
            name=iam_name,
            description=f"{name} host: SSM Session Manager",
            assume_role_policy=self._trust.json,
        )
        IamRolePolicy(self, f"{role}-ssm", name="ssm-session-manager", role=iam_role.id, policy=policy.json)
        profile_name = names.name(f"{{prefix}}-access-{role}", naming.IAM_INSTANCE_PROFILE)
        profile = IamInstanceProfile(self, f"{role}-profile", name=profile_name, role=iam_role.name)
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
            user_data_base64=naming.base64_script(user_data) if user_data else None,
            # User data runs at first boot only: a new script means a new host.
            user_data_replace_on_change=True if user_data else None,
            lifecycle=TerraformResourceLifecycle(ignore_changes=["ami"]),
            tags={"Name": name, "Role": role},
        )
