"""The platform's security groups and the one chain of rules between them.

    internet --80/443--> ALB --web ports--> app <--22-- Ansible <--22-- bastion <--22-- admin CIDR
                                            app --backend ports--> app (web -> api through Cloud Map)
                                            app --3306--> database

Every rule is its own `aws_vpc_security_group_ingress_rule`/`egress_rule` (never inline
blocks, which fight with separate rules), with a description. Egress is as narrow as
works: the only rules to 0.0.0.0/0 besides the ALB's listeners are 443 egress of app,
bastion and Ansible (ECR, SSM and other AWS APIs through the NAT gateway / the internet
gateway). The database group has no egress at all. Terraform removes the default
allow-all egress rule AWS puts into a new group, so a group without egress rules has none.

Rule ids derive from names (service names for per-service ports), never from positions,
so adding a service adds rules without replacing any.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule

from infra.network import Network
from infra.config.specs import EnvironmentSpec, ServiceKind, ServiceSpec

ANYWHERE = "0.0.0.0/0"
HTTP, HTTPS, SSH, MYSQL = 80, 443, 22, 3306


class SecurityGroups(Construct):
    """Typed outputs: `alb_sg_id`, `bastion_sg_id`, `ansible_sg_id`, `app_sg_id` (ECS tasks and
    EC2 capacity), `database_sg_id`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        network: Network,
        services: Sequence[ServiceSpec],
    ) -> None:
        super().__init__(scope, id_)
        self._vpc_id = network.vpc_id
        self._env_name = env.name
        alb = self._group("alb", "Public application load balancer: HTTP/HTTPS from the internet")
        bastion = self._group("bastion", "Bastion host: SSH from the admin network only")
        ansible = self._group("ansible", "Ansible server: SSH from the bastion only")
        app = self._group("app", "Application: ECS tasks and EC2 capacity")
        database = self._group("database", "Database: MySQL from the application only")

        web = _ports([s for s in services if s.route is not None])
        backends = _ports([s for s in services if s.kind is ServiceKind.BACKEND])

        # ALB
        self._ingress("alb-in-http", alb, HTTP, cidr=ANYWHERE, description="HTTP from the internet (redirected to HTTPS when a certificate is set)")
        self._ingress("alb-in-https", alb, HTTPS, cidr=ANYWHERE, description="HTTPS from the internet")
        for port in web:
            self._egress(f"alb-out-{port}", alb, port, to_sg=app, description=f"To web services on port {port} (traffic and health checks)")

        # Bastion
        self._ingress("bastion-in-ssh", bastion, SSH, cidr=str(env.network.admin_cidr), description="SSH from the admin network")
        self._egress("bastion-out-ssh-ansible", bastion, SSH, to_sg=ansible, description="SSH to the Ansible server")
        self._egress("bastion-out-https", bastion, HTTPS, cidr=ANYWHERE, description="HTTPS to AWS APIs (SSM, package repositories)")

        # Ansible server
        self._ingress("ansible-in-ssh", ansible, SSH, from_sg=bastion, description="SSH from the bastion")
        self._egress("ansible-out-ssh-app", ansible, SSH, to_sg=app, description="SSH to the EC2 capacity hosts")
        self._egress("ansible-out-https", ansible, HTTPS, cidr=ANYWHERE, description="HTTPS to AWS APIs (SSM) through the NAT gateway")

        # Application
        for port in web:
            self._ingress(f"app-in-{port}-alb", app, port, from_sg=alb, description=f"To web services on port {port} from the load balancer")
        for port in backends:
            self._ingress(f"app-in-{port}-app", app, port, from_sg=app, description=f"To backend services on port {port} from other services (Cloud Map)")
        self._ingress("app-in-ssh-ansible", app, SSH, from_sg=ansible, description="SSH from the Ansible server")
        self._egress("app-out-https", app, HTTPS, cidr=ANYWHERE, description="HTTPS to ECR and AWS APIs through the NAT gateway")
        self._egress("app-out-mysql", app, MYSQL, to_sg=database, description="MySQL to the database")
        for port in backends:
            self._egress(f"app-out-{port}-app", app, port, to_sg=app, description=f"To backend services on port {port} (Cloud Map)")

        # Database: ingress only, no egress.
        self._ingress("database-in-mysql", database, MYSQL, from_sg=app, description="MySQL from the application")

        self.alb_sg_id = alb.id
        self.bastion_sg_id = bastion.id
        self.ansible_sg_id = ansible.id
        self.app_sg_id = app.id
        self.database_sg_id = database.id

    def _group(self, role: str, description: str) -> SecurityGroup:
        name = f"{self._env_name}-{role}"
        return SecurityGroup(self, role, name=name, description=description, vpc_id=self._vpc_id, tags={"Name": name})

    def _ingress(self, id_: str, group: SecurityGroup, port: int, *, description: str,
                 cidr: str | None = None, from_sg: SecurityGroup | None = None) -> None:
        self._rule(VpcSecurityGroupIngressRule, id_, group, port, description, cidr, from_sg)

    def _egress(self, id_: str, group: SecurityGroup, port: int, *, description: str,
                cidr: str | None = None, to_sg: SecurityGroup | None = None) -> None:
        self._rule(VpcSecurityGroupEgressRule, id_, group, port, description, cidr, to_sg)

    def _rule(
        self,
        rule: type[VpcSecurityGroupIngressRule] | type[VpcSecurityGroupEgressRule],
        id_: str,
        group: SecurityGroup,
        port: int,
        description: str,
        cidr: str | None,
        peer: SecurityGroup | None,
    ) -> None:
        """One TCP port, to or from either a CIDR block or another security group."""
        rule(
            self,
            id_,
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer.id if peer else None,
            description=description,
        )

def _ports(services: Sequence[ServiceSpec]) -> list[int]:
    """The distinct ports of `services`. Rules are keyed by port, not by service: services
    sharing a port share one rule (AWS rejects duplicates), and adding or removing a
    service never renames the rule another service depends on."""
    return sorted({s.port for s in services})
