"""The shared platform of one environment, as one construct with typed parts.

Service stacks receive this object and read attributes such as
`platform.network.private_subnet_ids` or `platform.cluster.arn`; CDKTF turns each such
read into a cross-stack reference. Nothing is looked up by string.

Parts and their typed outputs (the contract service stacks rely on):
  key            PlatformKey     arn, key_id, account_id, partition
  network        Network         vpc_id, vpc_cidr, public/private/database_subnet_ids
  storage        Storage         logs_bucket_name/arn, alb_log_prefix, artifacts_bucket_name/arn
  alarms         AlarmTopic      topic_arn
  security       SecurityGroups  alb_sg_id, bastion_sg_id, ansible_sg_id, app_sg_id, database_sg_id
  load_balancer  LoadBalancer    arn, arn_suffix, dns_name, zone_id, listener_arn (where service rules go),
                                 http_listener_arn, https_listener_arn (None without a certificate)
  iam            ServiceRoles    for_service(name) -> RoleSet (execution/task/build/pipeline role arn+name)
  registry       Registry        repository_url(name), repository_arn(name), repository_name(name)
  cluster        Cluster         name, arn, ec2_capacity_provider_name (None when EC2 is off)
  discovery      Discovery       namespace_id, namespace_name, namespace_arn
  database       Database|None   endpoint_address, port, secret_arn, identifier, db_name
  access         AccessHosts|None bastion_public_ip, ansible_private_ip
"""

from __future__ import annotations

from cdktf import TerraformStack
from constructs import Construct

from infra.access import AccessHosts
from infra.cluster import Cluster
from infra.dashboard import Dashboard
from infra.database import Database
from infra.discovery import Discovery
from infra.encryption import PlatformKey
from infra.iam import ServiceRoles
from infra.load_balancer import LoadBalancer
from infra.network import Network
from infra.observability import AlarmTopic
from infra.registry import Registry
from infra.security import SecurityGroups
from infra.config.specs import EnvironmentSpec, ServiceSpec
from infra.storage import Storage


class Platform(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, env: EnvironmentSpec, services: tuple[ServiceSpec, ...]
    ) -> None:
        super().__init__(scope, id_)
        self.env = env
        self.services = services
        self.stack = TerraformStack.of(self)
        self.key = PlatformKey(self, "key", env=env)
        self.network = Network(self, "network", env=env, kms_key_arn=self.key.arn)
        self.storage = Storage(self, "storage", env=env, key=self.key)
        self.alarms = AlarmTopic(self, "alarms", env=env, key=self.key)
        self.security = SecurityGroups(self, "security", env=env, network=self.network, services=services)
        self.load_balancer = LoadBalancer(
            self,
            "alb",
            env=env,
            network=self.network,
            security=self.security,
            storage=self.storage,
            alarm_topic_arn=self.alarms.topic_arn,
            kms_key_arn=self.key.arn,
        )
        self.iam = ServiceRoles(self, "iam", env=env, services=services, key=self.key, storage=self.storage)
        self.registry = Registry(self, "registry", env=env, services=services, key=self.key)
        self.cluster = Cluster(
            self, "cluster", env=env, network=self.network, security=self.security, iam=self.iam, key=self.key
        )
        self.discovery = Discovery(self, "discovery", env=env, network=self.network)
        self.database = (
            Database(
                self,
                "database",
                env=env,
                network=self.network,
                database_sg_id=self.security.database_sg_id,
                key=self.key,
                alarm_topic_arn=self.alarms.topic_arn,
            )
            if env.database.enabled
            else None
        )
        self.access = (
            AccessHosts(self, "access", env=env, network=self.network, security=self.security, key=self.key)
            if env.access.enabled
            else None
        )
        self.dashboard = (
            Dashboard(
                self,
                "dashboard",
                env=env,
                alb_arn_suffix=self.load_balancer.arn_suffix,
                db_identifier=self.database.identifier if self.database else None,
            )
            if env.observability.dashboard
            else None
        )
