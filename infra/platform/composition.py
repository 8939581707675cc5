"""The shared platform of one environment, as one construct with typed parts.

It knows no service: what exists because a service exists lives in that service's stack
(`infra.service`). What services may use is published as the contract
(`infra.platform.contract`), built here from the parts' typed attributes.

Parts and their typed attributes:
  key            PlatformKey       arn, key_id, account_id, partition
  network        Network           vpc_id, vpc_cidr, public/private/database_subnet_ids
  storage        Storage           logs_bucket_name/arn, alb_log_prefix, artifacts_bucket_name/arn
  alarms         AlarmTopic        topic_arn
  security       SecurityGroups    alb_sg_id, bastion_sg_id, ansible_sg_id, app_sg_id, database_sg_id
  load_balancer  LoadBalancer      arn, arn_suffix, dns_name, zone_id, listener_arn, test_listener_arn
  boundary       TaskRoleBoundary  arn, name
  cluster        Cluster           name, arn, ec2_capacity_provider_name, exec_log_group_name
  discovery      Discovery         namespace_id, namespace_name, namespace_arn
  database       Database|None     endpoint_address, port, secret_arn, identifier, db_name
  access         AccessHosts|None  bastion_public_ip, ansible_private_ip
  file_systems   SharedFileSystems by_name, contract_value
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from infra.config.specs import EnvironmentSpec
from infra.platform import contract
from infra.platform.access import AccessHosts
from infra.platform.boundary import TaskRoleBoundary
from infra.platform.cluster import Cluster
from infra.platform.dashboard import Dashboard
from infra.platform.database import Database
from infra.platform.discovery import Discovery
from infra.platform.encryption import PlatformKey
from infra.platform.file_systems import SharedFileSystems
from infra.platform.load_balancer import LoadBalancer
from infra.platform.network import Network
from infra.platform.observability import AlarmTopic
from infra.platform.security import SecurityGroups
from infra.platform.storage import Storage
from infra.platform.variables import PlatformKnobs


class Platform(Construct):
    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, knobs: PlatformKnobs | None = None) -> None:
        super().__init__(scope, id_)
        self.env = env
        knobs = knobs or PlatformKnobs.of(env)
        self.key = PlatformKey(self, "key", env=env)
        arns = self.key.arns
        self.network = Network(self, "network", env=env, kms_key_arn=self.key.arn, knobs=knobs)
        self.storage = Storage(self, "storage", env=env, key=self.key)
        self.alarms = AlarmTopic(self, "alarms", env=env, key=self.key)
        self.security = SecurityGroups(self, "security", env=env, network=self.network)
        self.load_balancer = LoadBalancer(
            self,
            "alb",
            env=env,
            network=self.network,
            security=self.security,
            storage=self.storage,
            alarm_topic_arn=self.alarms.topic_arn,
            kms_key_arn=self.key.arn,
            knobs=knobs,
        )
        self.boundary = TaskRoleBoundary(self, "boundary", env=env, arns=arns)
        self.cluster = Cluster(
            self, "cluster", env=env, network=self.network, security=self.security, key=self.key, arns=arns, knobs=knobs
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
                knobs=knobs,
            )
            if env.database.enabled
            else None
        )
        self.access = (
            AccessHosts(self, "access", env=env, network=self.network, security=self.security, key=self.key)
            if env.access.enabled
            else None
        )
        self.file_systems = SharedFileSystems(self, "file-systems", env=env, network=self.network, kms_key_arn=self.key.arn)
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

    def contract_values(self) -> dict[str, Any]:
        """The values of the contract's outputs, by name (see `infra.platform.contract`)."""
        values: dict[str, Any] = {
            "contract_version": contract.CONTRACT_VERSION,
            "vpc_id": self.network.vpc_id,
            "vpc_cidr": self.network.vpc_cidr,
            "public_subnet_ids": self.network.public_subnet_ids,
            "private_subnet_ids": self.network.private_subnet_ids,
            "database_subnet_ids": self.network.database_subnet_ids,
            "cluster_name": self.cluster.cluster_name_ref,
            "cluster_arn": self.cluster.arn,
            "alb_arn": self.load_balancer.arn,
            "alb_arn_suffix": self.load_balancer.arn_suffix,
            "alb_dns_name": self.load_balancer.dns_name,
            "alb_zone_id": self.load_balancer.zone_id,
            "listener_arn": self.load_balancer.listener_arn,
            "alb_security_group_id": self.security.alb_sg_id,
            "app_security_group_id": self.security.app_sg_id,
            "database_security_group_id": self.security.database_sg_id,
            "namespace_id": self.discovery.namespace_id,
            "namespace_name": self.discovery.namespace_ref,
            "namespace_arn": self.discovery.namespace_arn,
            "kms_key_arn": self.key.arn,
            "artifacts_bucket_name": self.storage.artifacts_bucket_name,
            "artifacts_bucket_arn": self.storage.artifacts_bucket_arn,
            "logs_bucket_name": self.storage.logs_bucket_name,
            "alarm_topic_arn": self.alarms.topic_arn,
            "task_role_boundary_arn": self.boundary.arn,
            "exec_log_group_name": self.cluster.exec_log_group_name,
            "private_subnets_by_zone": self.network.private_subnets_by_zone,
            "file_systems": self.file_systems.contract_value,
        }
        if self.database is not None:
            values.update(
                database_endpoint=self.database.endpoint_address,
                database_port=self.database.port,
                database_name=self.database.db_name,
                database_secret_arn=self.database.secret_arn,
            )
        if self.cluster.ec2_capacity_provider_name is not None:
            values["ec2_capacity_provider_name"] = self.cluster.ec2_capacity_provider_ref
        if self.load_balancer.test_listener_arn is not None:
            values["test_listener_arn"] = self.load_balancer.test_listener_arn
        return values
