"""The platform's five security groups and the rules among them.

    internet --80/443--> ALB                      (service stacks add ALB -> service port)
    admin CIDR --22--> bastion --22--> Ansible --22--> app tier (EC2 capacity hosts)
    database                                      (service stacks with database = true add
                                                   service -> 3306)

The platform knows no service: each service stack owns its own group and the rules that
admit it elsewhere (see `infra.service.security_group`). Every rule is its own
`aws_vpc_security_group_ingress_rule`/`egress_rule` (never inline blocks, which fight with
separate rules, including the ones service stacks add to these groups), with a
description. Egress is as narrow as works: 443 to 0.0.0.0/0 for the bastion, the Ansible
server and the app tier (ECR, SSM and other AWS APIs through the NAT gateway / the
internet gateway). The database group has no egress at all. Terraform removes the default
allow-all egress rule AWS puts into a new group, so a group without egress rules has none.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.security_group import SecurityGroup

from infra import naming
from infra.naming import Names
from infra import rules
from infra.config.specs import EnvironmentSpec
from infra.platform.network import Network

ANYWHERE = "0.0.0.0/0"
HTTP, HTTPS, SSH, MYSQL = 80, 443, 22, 3306


class SecurityGroups(Construct):
    """Typed outputs: `alb_sg_id`, `bastion_sg_id`, `ansible_sg_id`, `app_sg_id` (the EC2
    capacity hosts), `database_sg_id`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, network: Network) -> None:
        super().__init__(scope, id_)
        self._vpc_id = network.vpc_id
        alb = self._group("alb", "Public application load balancer: HTTP/HTTPS from the internet")
        bastion = self._group("bastion", "Bastion host: SSH from the admin network only")
        ansible = self._group("ansible", "Ansible server: SSH from the bastion only")
        app = self._group("app", "Application tier: EC2 capacity hosts (SSH from the Ansible server)")
        database = self._group("database", "Database: MySQL from the services with database = true only")

        # ALB: service stacks add the egress to their own group on their port.
        self._ingress("alb-in-http", alb, HTTP, cidr=ANYWHERE, description="HTTP from the internet (redirected to HTTPS when a certificate is set)")
        self._ingress("alb-in-https", alb, HTTPS, cidr=ANYWHERE, description="HTTPS from the internet")
        test_port = env.load_balancer.test_listener_port
        if test_port is not None:
            # Test traffic reaches a blue/green deployment's new tasks before production
            # traffic does (infra.platform.load_balancer): from the admin network only.
            self._ingress("alb-in-test", alb, test_port, cidr=str(env.network.admin_cidr), description="Test listener of blue/green deployments, from the admin network")

        # Bastion
        self._ingress("bastion-in-ssh", bastion, SSH, cidr=str(env.network.admin_cidr), description="SSH from the admin network")
        self._egress("bastion-out-ssh-ansible", bastion, SSH, to_sg=ansible, description="SSH to the Ansible server")
        self._egress("bastion-out-https", bastion, HTTPS, cidr=ANYWHERE, description="HTTPS to AWS APIs (SSM, package repositories)")

        # Ansible server
        self._ingress("ansible-in-ssh", ansible, SSH, from_sg=bastion, description="SSH from the bastion")
        self._egress("ansible-out-ssh-app", ansible, SSH, to_sg=app, description="SSH to the EC2 capacity hosts")
        self._egress("ansible-out-https", ansible, HTTPS, cidr=ANYWHERE, description="HTTPS to AWS APIs (SSM) through the NAT gateway")

        # Application tier (the EC2 capacity hosts; tasks run in their service's own group).
        self._ingress("app-in-ssh-ansible", app, SSH, from_sg=ansible, description="SSH from the Ansible server")
        self._egress("app-out-https", app, HTTPS, cidr=ANYWHERE, description="HTTPS to ECR and AWS APIs through the NAT gateway")

        # Database: no rules here. Each service stack with database = true adds its own
        # ingress on 3306; the group has no egress at all.

        self.alb_sg_id = alb.id
        self.bastion_sg_id = bastion.id
        self.ansible_sg_id = ansible.id
        self.app_sg_id = app.id
        self.database_sg_id = database.id

    def _group(self, role: str, description: str) -> SecurityGroup:
        name = Names.of(self).name(f"{{prefix}}-{role}", naming.SECURITY_GROUP)
        return SecurityGroup(self, role, name=name, description=description, vpc_id=self._vpc_id, tags={"Name": name})

    def _ingress(self, id_: str, group: SecurityGroup, port: int, *, description: str,
                 cidr: str | None = None, from_sg: SecurityGroup | None = None) -> None:
        rules.ingress(self, id_, group_id=group.id, port=port, description=description, cidr=cidr,
                      from_group_id=from_sg.id if from_sg else None)

    def _egress(self, id_: str, group: SecurityGroup, port: int, *, description: str,
                cidr: str | None = None, to_sg: SecurityGroup | None = None) -> None:
        rules.egress(self, id_, group_id=group.id, port=port, description=description, cidr=cidr,
                     to_group_id=to_sg.id if to_sg else None)
