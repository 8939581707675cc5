"""The service's own security group `<env>-<service>-tasks` and the rules that admit it elsewhere.

    web      ingress on its port from the platform's ALB group, and that group's egress to it
    backend  ingress on its port from the group of each service in `allow_from`, and that
             group's egress to it (the caller's group is found by name in the VPC)
    worker   no ingress at all
    all      egress 443 to anywhere (ECR, Secrets Manager, CloudWatch Logs and the other AWS
             APIs, through the NAT gateway)
    database with `database = true`: egress 3306 to the platform's database group and that
             group's ingress from this one; without it there is no path to the database

Every rule lives in this stack, also those on the platform's groups and on a caller's group,
so adding, changing or removing the service changes only this stack's plan. Rules are
separate resources (never inline), so the other stacks' groups never see a diff.
A caller named in `allow_from` must have been applied first (its group must exist):
`cdktf deploy` orders the stacks that way (ServiceStack dependencies).
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_security_group import DataAwsSecurityGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup

from infra import naming
from infra.naming import Names
from infra import rules
from infra.addresses import named
from infra.config.specs import ServiceKind, ServiceSpec
from infra.service.platform_ref import PlatformRef

ANYWHERE = "0.0.0.0/0"
HTTPS, MYSQL = 443, 3306


def group_name(service: str) -> str:
    """`<prefix>-<service>-tasks`: the suffix keeps it apart from the platform's `<prefix>-alb`,
    `<prefix>-app`... The prefix (infra.naming) is the same in every stack of a workspace, so a
    backend finds its callers' groups of its own copy by this name."""
    return f"{naming.PREFIX}-{service}-tasks"


class ServiceSecurityGroup(Construct):
    """Typed outputs: `id`, `name`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env_name: str,
        spec: ServiceSpec,
        platform: PlatformRef,
        callers: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        self.name = Names.of(self).name(group_name(spec.name), naming.SECURITY_GROUP)
        group = SecurityGroup(
            self,
            "group",
            name=self.name,
            description=f"{env_name}-{spec.name}: its tasks ({spec.kind.value})",
            vpc_id=platform.vpc_id,
            tags={"Name": self.name},
        )
        named(group, spec.name)
        self.id = group.id
        port = spec.port
        rules.egress(self, "out-https", group_id=group.id, port=HTTPS, cidr=ANYWHERE,
                     description="HTTPS to ECR and AWS APIs through the NAT gateway")
        if spec.kind is ServiceKind.WEB:
            rules.ingress(self, "in-alb", group_id=group.id, port=port, from_group_id=platform.alb_security_group_id,
                          description=f"Port {port} from the load balancer (traffic and health checks)")
            rules.egress(self, "alb-out", group_id=platform.alb_security_group_id, port=port, to_group_id=group.id,
                         description=f"To {env_name}-{spec.name} on port {port}")
        for caller in callers:
            caller_group = DataAwsSecurityGroup(
                self, f"caller-{caller}", name=group_name(caller), vpc_id=platform.vpc_id
            ).id
            rules.ingress(self, f"in-{caller}", group_id=group.id, port=port, from_group_id=caller_group,
                          description=f"Port {port} from {env_name}-{caller} (allow_from)")
            rules.egress(self, f"{caller}-out", group_id=caller_group, port=port, to_group_id=group.id,
                         description=f"To {env_name}-{spec.name} on port {port} (its allow_from)")
        if spec.database:
            rules.egress(self, "out-mysql", group_id=group.id, port=MYSQL, to_group_id=platform.database_security_group_id,
                         description="MySQL to the platform database")
            rules.ingress(self, "database-in", group_id=platform.database_security_group_id, port=MYSQL,
                          from_group_id=group.id, description=f"MySQL from {env_name}-{spec.name}")
