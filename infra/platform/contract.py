"""The platform's contract: the Terraform outputs a service stack may read, by name.

The platform stack publishes exactly these outputs (`publish`); a service stack reads them
through `infra.service.platform_ref.PlatformRef` (`terraform_remote_state`, by name). The
names are hand-chosen and stable: renaming or removing one, or changing its meaning, is a
new major `CONTRACT_VERSION`; adding one is a new minor version. A service stack accepts a
platform with the same major version and at least its minor version, and fails at plan
time otherwise (a postcondition on the remote state, see PlatformRef).

Nothing here knows a service: these are the shared pieces every service may use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cdktf import TerraformOutput
from constructs import Construct

CONTRACT_VERSION = "1.1"


class Kind(str, Enum):
    STRING = "string"
    LIST = "list"
    NUMBER = "number"
    MAP = "map"


class Presence(str, Enum):
    ALWAYS = "always"
    DATABASE = "when [database] is enabled"
    EC2 = "when [cluster.ec2] is enabled"
    TEST_LISTENER = "when [load_balancer] test_listener_port is set"


@dataclass(frozen=True)
class Output:
    name: str
    kind: Kind
    description: str
    presence: Presence = Presence.ALWAYS


OUTPUTS: tuple[Output, ...] = (
    Output("contract_version", Kind.STRING, "version of this contract (major.minor)"),
    Output("vpc_id", Kind.STRING, "the environment's VPC"),
    Output("vpc_cidr", Kind.STRING, "its IPv4 CIDR block"),
    Output("public_subnet_ids", Kind.LIST, "public subnets, one per zone (the load balancer's)"),
    Output("private_subnet_ids", Kind.LIST, "private subnets, one per zone (where tasks run, NAT egress)"),
    Output("database_subnet_ids", Kind.LIST, "database subnets, one per zone (no route to the internet)"),
    Output("cluster_name", Kind.STRING, "the ECS cluster"),
    Output("cluster_arn", Kind.STRING, "its ARN"),
    Output("ec2_capacity_provider_name", Kind.STRING, "the cluster's EC2 capacity provider", Presence.EC2),
    Output("alb_arn", Kind.STRING, "the public application load balancer"),
    Output("alb_arn_suffix", Kind.STRING, "its ARN suffix (CloudWatch dimension LoadBalancer)"),
    Output("alb_dns_name", Kind.STRING, "its DNS name"),
    Output("alb_zone_id", Kind.STRING, "its Route 53 hosted zone (for alias records)"),
    Output("listener_arn", Kind.STRING, "where services add listener rules: HTTPS with a certificate, else HTTP"),
    Output(
        "test_listener_arn",
        Kind.STRING,
        "the test listener (admin network only): blue/green services add a rule to their second target group",
        Presence.TEST_LISTENER,
    ),
    Output("alb_security_group_id", Kind.STRING, "the load balancer's group (services admit it on their port)"),
    Output("app_security_group_id", Kind.STRING, "the application tier's group (EC2 capacity hosts)"),
    Output("database_security_group_id", Kind.STRING, "the database's group (services with database = true admit themselves)"),
    Output("database_endpoint", Kind.STRING, "the MySQL endpoint address", Presence.DATABASE),
    Output("database_port", Kind.NUMBER, "its port", Presence.DATABASE),
    Output("database_name", Kind.STRING, "the initial database", Presence.DATABASE),
    Output("database_secret_arn", Kind.STRING, "the RDS-managed master secret (Secrets Manager)", Presence.DATABASE),
    Output("namespace_id", Kind.STRING, "the Cloud Map private DNS namespace"),
    Output("namespace_name", Kind.STRING, "its DNS name (<service>.<namespace>)"),
    Output("namespace_arn", Kind.STRING, "its ARN"),
    Output("kms_key_arn", Kind.STRING, "the environment's KMS key (logs, queues, images, parameters, artifacts)"),
    Output("artifacts_bucket_name", Kind.STRING, "pipeline artifacts bucket"),
    Output("artifacts_bucket_arn", Kind.STRING, "its ARN"),
    Output("logs_bucket_name", Kind.STRING, "access-logs bucket"),
    Output("alarm_topic_arn", Kind.STRING, "SNS topic every alarm notifies"),
    Output("task_role_boundary_arn", Kind.STRING, "permissions boundary every task role carries"),
    Output("exec_log_group_name", Kind.STRING, "log group of ECS Exec sessions"),
    # 1.1
    Output("private_subnets_by_zone", Kind.MAP, "one private subnet per zone, by zone name (EFS mount targets: one per zone)"),
    Output(
        "file_systems",
        Kind.MAP,
        "the shared EFS file systems of [[file_systems]], by name: { id, arn, security_group_id } (services add their access point and NFS rule)",
    ),
)
BY_NAME: Mapping[str, Output] = {output.name: output for output in OUTPUTS}


class ContractError(ValueError):
    """The platform publishes more, less or other than the contract says."""


def publish(scope: Construct, values: Mapping[str, Any], *, database: bool, ec2: bool, test_listener: bool = False) -> None:
    """One Terraform output per contract entry that applies to this environment."""
    present = {
        Presence.ALWAYS,
        *([Presence.DATABASE] if database else []),
        *([Presence.EC2] if ec2 else []),
        *([Presence.TEST_LISTENER] if test_listener else []),
    }
    expected = {o.name for o in OUTPUTS if o.presence in present}
    missing, extra = sorted(expected - set(values)), sorted(set(values) - expected)
    if missing or extra:
        raise ContractError(f"platform outputs differ from the contract: missing {missing}, unexpected {extra}")
    for output in OUTPUTS:
        if output.name in values:
            TerraformOutput(scope, output.name, value=values[output.name], description=output.description)
