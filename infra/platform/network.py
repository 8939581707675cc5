"""VPC with public, private (application) and database subnets in every configured AZ, or
an existing VPC and its subnets (brownfield, `[network] vpc_id`).

Subnet CIDRs come from the spec (derived and checked by the loader). Construct ids use
the AZ index and tier, never list positions of other things, so adding an AZ adds
resources without renaming any.

An existing VPC is read, never changed: no subnets, internet gateway, NAT gateways, route
tables, default-security-group takeover or flow logs are created (the network's owner runs
those). Data sources read what the platform needs (the VPC's CIDR for the contract), and
what the loader cannot know from ids alone is checked by Terraform at plan time:
  - the VPC resolves DNS and gives hostnames (a postcondition): the Cloud Map namespace is a
    Route 53 private hosted zone, and AWS docs, "Considerations when working with a private
    hosted zone" (Amazon VPC settings): enableDnsHostnames and enableDnsSupport must be true;
  - every subnet is in that VPC (a postcondition on each subnet);
  - the public subnets are in at least two zones, one per zone (a precondition on the load
    balancer): AWS docs, "CreateLoadBalancer" (Elastic Load Balancing API, Subnets): "You
    can specify only one subnet per Availability Zone ... [Application Load Balancers] You
    must specify subnets from at least two Availability Zones";
  - the database subnets cover at least two zones (a precondition on the DB subnet group):
    AWS docs, "CreateDBSubnetGroup" (Amazon RDS API, DBSubnetGroupDoesNotCoverEnoughAZs).
Routes (public subnets to an internet gateway, private ones to a NAT) are the network's
owner's; README "Brownfield" says what the existing network must provide.
"""

from __future__ import annotations

from cdktf import Fn, Op, Postcondition, Precondition, TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_subnet import DataAwsSubnet
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc
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

from infra import naming
from infra.addresses import address_name, named
from infra.config.specs import EnvironmentSpec, ExistingNetworkSpec, NatMode
from infra.naming import Names
from infra.platform.variables import PlatformKnobs


class Network(Construct):
    """Typed outputs: `vpc_id`, `vpc_cidr`, `public_subnet_ids`, `private_subnet_ids`,
    `database_subnet_ids`, `private_subnets_by_zone` (zone -> one private subnet);
    `load_balancer_checks` and `database_checks`, the lifecycle (with
    preconditions on an existing network's subnets, else None) of the resources placed in
    those tiers."""

    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, kms_key_arn: str, knobs: PlatformKnobs | None = None
    ) -> None:
        super().__init__(scope, id_)
        self._knobs = knobs or PlatformKnobs.of(env)
        self.load_balancer_checks: TerraformResourceLifecycle | None = None
        self.database_checks: TerraformResourceLifecycle | None = None
        if env.network.existing is not None:
            self._existing(env, env.network.existing)
        else:
            self._create(env, kms_key_arn)

    def _existing(self, env: EnvironmentSpec, existing: ExistingNetworkSpec) -> None:
        where = f"[network] in {env.file}"
        vpc = DataAwsVpc(
            self,
            "vpc",
            id=existing.vpc_id,
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition="${self.enable_dns_support && self.enable_dns_hostnames}",
                        error_message=(
                            f"{existing.vpc_id} ({where}) must have DNS resolution and DNS hostnames turned on: the"
                            " Cloud Map namespace is a Route 53 private hosted zone, which needs both (enableDnsSupport,"
                            " enableDnsHostnames)."
                        ),
                    )
                ]
            ),
        )
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        tiers: dict[str, list[DataAwsSubnet]] = {}
        for tier, ids in (
            ("public", existing.public_subnet_ids),
            ("private", existing.private_subnet_ids),
            ("database", existing.database_subnet_ids),
        ):
            # One data source per subnet, named by its id: reordering the list renames nothing.
            tiers[tier] = [
                DataAwsSubnet(
                    self,
                    f"{tier}-{subnet_id}",
                    id=subnet_id,
                    lifecycle=TerraformResourceLifecycle(
                        postcondition=[
                            Postcondition(
                                condition=f'${{self.vpc_id == "{existing.vpc_id}"}}',
                                error_message=f"{subnet_id} ({tier}_subnet_ids, {where}) is not in {existing.vpc_id}.",
                            )
                        ]
                    ),
                )
                for subnet_id in ids
            ]
        self.public_subnet_ids = [s.id for s in tiers["public"]]
        self.private_subnet_ids = [s.id for s in tiers["private"]]
        self.database_subnet_ids = [s.id for s in tiers["database"]]
        # One private subnet per zone (an EFS file system takes one mount target per zone): with
        # several subnets in a zone, zipmap keeps the last ("zipmap Function", Terraform docs:
        # "the value with the highest index is used").
        self.private_subnets_by_zone = Fn.zipmap(
            [s.availability_zone for s in tiers["private"]], [s.id for s in tiers["private"]]
        )

        public_zones = Fn.distinct([s.availability_zone for s in tiers["public"]])
        self.load_balancer_checks = TerraformResourceLifecycle(
            precondition=[
                Precondition(
                    condition=Op.gte(Fn.length_of(public_zones), 2),
                    error_message=(
                        f"public_subnet_ids ({where}) must be in at least two Availability Zones: an Application"
                        " Load Balancer needs subnets in two."
                    ),
                ),
                Precondition(
                    condition=Op.eq(Fn.length_of(public_zones), len(tiers["public"])),
                    error_message=(
                        f"public_subnet_ids ({where}) lists two subnets of one Availability Zone: a load balancer"
                        " takes one subnet per zone."
                    ),
                ),
            ]
        )
        database_zones = Fn.distinct([s.availability_zone for s in tiers["database"]])
        self.database_checks = TerraformResourceLifecycle(
            precondition=[
                Precondition(
                    condition=Op.gte(Fn.length_of(database_zones), 2),
                    error_message=(
                        f"database_subnet_ids ({where}) must cover at least two Availability Zones: RDS refuses a DB"
                        " subnet group in one (DBSubnetGroupDoesNotCoverEnoughAZs)."
                    ),
                )
            ]
        )

    def _create(self, env: EnvironmentSpec, kms_key_arn: str) -> None:
        net = env.network
        # Name tags are not unique in AWS, but they are how a copy's network is told apart.
        prefix = naming.PREFIX
        self.vpc_cidr = str(net.vpc_cidr)
        # AZ names come from the configuration, not from an aws_availability_zones lookup.
        availability_zones = list(net.availability_zones)

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

        public_rt = named(RouteTable(self, "public-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-public"}), "public")
        named(
            Route(self, "public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id),
            "public_internet",
        )

        # Addresses carry the zone, not the list position (aws_subnet.private_a): reordering
        # `availability_zones` must not renumber subnets. Construct ids keep the position:
        # the moved blocks from the earlier hashed addresses are derived from them.
        zones = [_zone(az, env.region) for az in availability_zones]
        public, private, database = [], [], []
        for i in range(net.az_count):
            az, zone = availability_zones[i], zones[i]
            public.append(self._subnet(f"public-{i}", f"public_{zone}", net.public_subnets[i], az, f"{prefix}-public-{i}", "public"))
            private.append(self._subnet(f"private-{i}", f"private_{zone}", net.private_subnets[i], az, f"{prefix}-private-{i}", "private"))
            database.append(
                self._subnet(f"database-{i}", f"database_{zone}", net.database_subnets[i], az, f"{prefix}-database-{i}", "database")
            )
            named(RouteTableAssociation(self, f"public-{i}-rta", subnet_id=public[i].id, route_table_id=public_rt.id), f"public_{zone}")

        nat_count = net.az_count if net.nat is NatMode.PER_AZ else 1
        nats = []
        for i in range(nat_count):
            eip = named(Eip(self, f"nat-{i}-eip", domain="vpc", tags={"Name": f"{prefix}-nat-{i}"}, depends_on=[igw]), f"nat_{zones[i]}")
            nats.append(
                named(
                    NatGateway(
                        self, f"nat-{i}", allocation_id=eip.id, subnet_id=public[i].id, tags={"Name": f"{prefix}-nat-{i}"}
                    ),
                    f"nat_{zones[i]}",
                )
            )

        for i in range(net.az_count):
            nat = nats[i] if net.nat is NatMode.PER_AZ else nats[0]
            zone = zones[i]
            rt = named(RouteTable(self, f"private-{i}-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-private-{i}"}), f"private_{zone}")
            named(
                Route(self, f"private-{i}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id),
                f"private_{zone}_nat",
            )
            named(RouteTableAssociation(self, f"private-{i}-rta", subnet_id=private[i].id, route_table_id=rt.id), f"private_{zone}")

        # Database subnets have no route to the internet at all.
        database_rt = named(RouteTable(self, "database-rt", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-database"}), "database")
        for i in range(net.az_count):
            named(
                RouteTableAssociation(self, f"database-{i}-rta", subnet_id=database[i].id, route_table_id=database_rt.id),
                f"database_{zones[i]}",
            )

        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.database_subnet_ids = [s.id for s in database]
        self.private_subnets_by_zone = {az: s.id for az, s in zip(availability_zones, private)}
        self._flow_logs(env, kms_key_arn)

    def _subnet(self, id_: str, address: str, cidr: str, az: str, name: str, tier: str) -> Subnet:
        subnet = Subnet(
            self,
            id_,
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=az,
            map_public_ip_on_launch=False,
            tags={"Name": name, "Tier": tier},
        )
        return named(subnet, address)

    def _flow_logs(self, env: EnvironmentSpec, kms_key_arn: str) -> None:
        group = CloudwatchLogGroup(
            self,
            "flow-logs",
            name=Names.of(self).name("/vpc/{prefix}/flow-logs", naming.LOG_GROUP),
            retention_in_days=self._knobs.flow_log_retention_days,
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



def _zone(az: str, region: str) -> str:
    """An AZ's part after its region, for addresses: us-east-1a → a, us-east-1-bos-1a → bos_1a."""
    suffix = az[len(region):].lstrip("-") if az.startswith(region) else az
    return address_name(suffix)
