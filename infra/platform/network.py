"""VPC with public, private (application) and database subnets in every configured AZ.

Subnet CIDRs come from the spec (derived and checked by the loader). Construct ids use
the AZ index and tier, never list positions of other things, so adding an AZ adds
resources without renaming any.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc

from infra.config.specs import EnvironmentSpec, NatMode
from infra import naming
from infra.naming import Names


class Network(Construct):
    """Typed outputs: `vpc_id`, `vpc_cidr`, `public_subnet_ids`, `private_subnet_ids`,
    `database_subnet_ids`, `availability_zones`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        net = env.network
        # Name tags are not unique in AWS, but they are how a copy's network is told apart.
        prefix = naming.PREFIX
        self.vpc_cidr = str(net.vpc_cidr)
        # AZ names come from the configuration, not from an aws_availability_zones lookup.
        self.availability_zones = list(net.availability_zones)

        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=self.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{prefix}-vpc"},
        )
        self.vpc_id = self.vpc.id
        # The default security group is left with no rules: nothing may use it by accident.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-default-closed"})

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-igw"})

        public_rt = RouteTable(self, "public-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-public"})
        Route(self, "public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)

        public, private, database = [], [], []
        for i in range(net.az_count):
            az = self.availability_zones[i]
            public.append(self._subnet(f"public-{i}", net.public_subnets[i], az, f"{prefix}-public-{i}", "public"))
            private.append(self._subnet(f"private-{i}", net.private_subnets[i], az, f"{prefix}-private-{i}", "private"))
            database.append(self._subnet(f"database-{i}", net.database_subnets[i], az, f"{prefix}-database-{i}", "database"))
            RouteTableAssociation(self, f"public-{i}-rta", subnet_id=public[i].id, route_table_id=public_rt.id)

        nat_count = net.az_count if net.nat is NatMode.PER_AZ else 1
        nats = []
        for i in range(nat_count):
            eip = Eip(self, f"nat-{i}-eip", domain="vpc", tags={"Name": f"{prefix}-nat-{i}"}, depends_on=[igw])
            nats.append(
                NatGateway(
                    self, f"nat-{i}", allocation_id=eip.id, subnet_id=public[i].id, tags={"Name": f"{prefix}-nat-{i}"}
                )
            )

        for i in range(net.az_count):
            nat = nats[i] if net.nat is NatMode.PER_AZ else nats[0]
            rt = RouteTable(self, f"private-{i}-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-private-{i}"})
            Route(self, f"private-{i}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)
            RouteTableAssociation(self, f"private-{i}-rta", subnet_id=private[i].id, route_table_id=rt.id)

        # Database subnets have no route to the internet at all.
        database_rt = RouteTable(self, "database-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-database"})
        for i in range(net.az_count):
            RouteTableAssociation(self, f"database-{i}-rta", subnet_id=database[i].id, route_table_id=database_rt.id)

        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.database_subnet_ids = [s.id for s in database]
        self.nat_gateway_count = nat_count
        self._flow_logs(env, kms_key_arn)

    def _subnet(self, id_: str, cidr: str, az: str, name: str, tier: str) -> Subnet:
        return Subnet(
            self,
            id_,
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=az,
            map_public_ip_on_launch=False,
            tags={"Name": name, "Tier": tier},
        )

    def _flow_logs(self, env: EnvironmentSpec, kms_key_arn: str) -> None:
        group = CloudwatchLogGroup(
            self,
            "flow-logs",
            name=Names.of(self).name("/vpc/{prefix}/flow-logs", naming.LOG_GROUP),
            retention_in_days=env.network.flow_log_retention_days,
            kms_key_id=kms_key_arn,
        )
        trust = DataAwsIamPolicyDocument(
            self,
            "flow-logs-trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["vpc-flow-logs.amazonaws.com"])
                    ],
                )
            ],
        )
        role = IamRole(self, "flow-logs-role", name=Names.of(self).name("{prefix}-vpc-flow-logs", naming.IAM_ROLE), assume_role_policy=trust.json)
        write = DataAwsIamPolicyDocument(
            self,
            "flow-logs-write",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[group.arn, f"{group.arn}:*"],
                )
            ],
        )
        IamRolePolicy(self, "flow-logs-policy", name="write-flow-logs", role=role.id, policy=write.json)
        FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        )

