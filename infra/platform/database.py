"""The environment's MySQL database (RDS, 8.4 by default), in the database subnets.

Secure by construction: storage and Performance Insights encrypted with the platform
key, TLS required by the parameter group, IAM database authentication on, never publicly
accessible, the master password generated and rotated by RDS in Secrets Manager (it never
appears in the configuration, the plan or the state). Production adds Multi-AZ,
deletion protection, a final snapshot and `prevent_destroy` (each from the spec, whose
defaults follow `production`).

The log groups RDS exports to are created here first, so they are encrypted with the
platform key and keep logs for `observability.log_retention_days` instead of forever.

Service stacks that set `database = true` read `secret_arn`, `endpoint_address`, `port`
and `db_name`; the connection is allowed by `SecurityGroups.database_sg_id`.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_option_group import DbOptionGroup, DbOptionGroupOption, DbOptionGroupOptionOptionSettings
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.platform.encryption import PlatformKey
from infra.platform.network import Network
from infra.config.specs import DatabaseSpec, EnvironmentSpec
from infra.platform.variables import PlatformKnobs

PORT = 3306
ENGINE = "mysql"



def major_version(engine_version: str) -> str:
    """`8.4.3` -> `8.4`: what the parameter group family and the option group follow."""
    return ".".join(engine_version.split(".")[:2])


def parameter_family(engine_version: str) -> str:
    """AWS docs, "Parameter groups for Amazon RDS": a group's family is engine + major version
    (mysql8.0, mysql8.4); an instance only takes a group of its own family."""
    return f"{ENGINE}{major_version(engine_version)}"


def group_name(engine_version: str) -> str:
    """`{prefix}-mysql84` (a template of `infra.naming.Names.name`): the major version is in
    the name, so an upgrade creates the new groups beside the old ones (create_before_destroy)
    instead of clashing with them."""
    return f"{{prefix}}-mysql{major_version(engine_version).replace('.', '')}"

PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7  # the free tier

# RDS instance parameter groups take MySQL booleans as 0/1 (Aurora cluster groups take
# ON/OFF); "ON" here would be stored as given and read back as "1", a perpetual diff.
PARAMETERS: dict[str, str] = {
    "require_secure_transport": "1",
    "slow_query_log": "1",
    "long_query_time": "2",
    # CloudWatch log exports read the log files; FILE is required for them.
    "log_output": "FILE",
}

# MySQL's default max_connections is {DBInstanceClassMemory/12582880}; the alarm fires at
# 80% of it. Memory per class is estimated from the size (as data, like the Fargate table).
MAX_CONNECTIONS_DIVISOR = 12582880
ALARM_CONNECTIONS_PERCENT = 80
BURSTABLE_MEMORY_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
SIZE_VCPUS = {
    "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
    "12xlarge": 48, "16xlarge": 64, "24xlarge": 96, "32xlarge": 128,
}
MEMORY_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8, "x": 16, "z": 8}
CPU_HIGH_PERCENT = 80
FREE_STORAGE_FRACTION = 0.10
GIB = 1024**3


def estimated_memory_gib(instance_class: str) -> float:
    """The instance class's memory; 1 GiB when unknown (the alarm then fires early, not late)."""
    _, family, size = instance_class.split(".", 2)
    if family.startswith("t"):
        return BURSTABLE_MEMORY_GIB.get(size, 1)
    return SIZE_VCPUS.get(size, 0) * MEMORY_GIB_PER_VCPU.get(family[0], 0) or 1


def connections_threshold(instance_class: str) -> int:
    max_connections = estimated_memory_gib(instance_class) * GIB // MAX_CONNECTIONS_DIVISOR
    return max(1, int(max_connections * ALARM_CONNECTIONS_PERCENT // 100))


def free_storage_threshold_bytes(spec: DatabaseSpec) -> int:
    return int(spec.allocated_storage * GIB * FREE_STORAGE_FRACTION)


class Database(Construct):
    """Typed outputs: `endpoint_address`, `port`, `secret_arn` (the RDS-managed master user
    secret), `identifier`, `db_name`, `arn`, `instance` (the DbInstance resource)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        network: Network,
        database_sg_id: str,
        key: PlatformKey,
        alarm_topic_arn: str,
        knobs: PlatformKnobs | None = None,
    ) -> None:
        super().__init__(scope, id_)
        spec = env.database
        knobs = knobs or PlatformKnobs.of(env)
        names = Names.of(self)
        identifier = names.name("{prefix}-mysql", naming.RDS_IDENTIFIER)

        subnets = DbSubnetGroup(
            self,
            "subnets",
            name=names.name("{prefix}-database", naming.RDS_GROUP),
            description=f"{env.name}: database subnets (no route to the internet)",
            subnet_ids=network.database_subnet_ids,
            # An existing network's database subnets: two zones at least (infra/platform/network.py).
            lifecycle=network.database_checks,
        )
        parameters = DbParameterGroup(
            self,
            "parameters",
            name=names.name(group_name(spec.engine_version), naming.RDS_GROUP),
            family=parameter_family(spec.engine_version),
            description=f"{env.name}: TLS required, slow query log",
            parameter=[
                DbParameterGroupParameter(name=name, value=value, apply_method="immediate")
                for name, value in sorted(self._parameters(spec).items())
            ],
            # A new major version needs a group of the new family, created before the
            # instance moves to it; the old group goes once nothing uses it.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        options = self._audit_options(env) if "audit" in spec.log_exports else None
        log_groups = [
            CloudwatchLogGroup(
                self,
                f"log-{log}",
                # AWS docs, "Publishing MySQL logs to Amazon CloudWatch Logs": RDS writes to
                # /aws/rds/instance/<identifier>/<log>, so the group follows the identifier.
                name=names.name(f"/aws/rds/instance/{{prefix}}-mysql/{log}", naming.LOG_GROUP),
                retention_in_days=env.observability.log_retention_days,
                kms_key_id=key.arn,
            )
            for log in sorted(spec.log_exports)
        ]
        monitoring_role = self._monitoring_role(env, key) if spec.monitoring_interval > 0 else None

        self.instance = DbInstance(
            self,
            "instance",
            identifier=identifier,
            engine=ENGINE,
            engine_version=spec.engine_version,
            # AWS docs, "Upgrading a DB instance engine version": a change of the major
            # version (8.0 -> 8.4) needs AllowMajorVersionUpgrade, and is done in place
            # (see docs/UPGRADE.md); the new groups of the new family come in the same call.
            allow_major_version_upgrade=True,
            instance_class=spec.instance_class,
            db_name=spec.db_name,
            username=spec.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            iam_database_authentication_enabled=True,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[database_sg_id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            option_group_name=options.name if options else None,
            storage_type="gp3",
            allocated_storage=spec.allocated_storage,
            max_allocated_storage=knobs.database_max_allocated_storage,
            storage_encrypted=True,
            kms_key_id=key.arn,
            multi_az=spec.multi_az,
            backup_retention_period=knobs.database_backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=env.deletion_protection,
            skip_final_snapshot=not env.production,
            final_snapshot_identifier=names.name("{prefix}-mysql-final", naming.RDS_SNAPSHOT) if env.production else None,
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=sorted(spec.log_exports),
            monitoring_interval=spec.monitoring_interval,
            monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
            performance_insights_enabled=spec.performance_insights,
            performance_insights_kms_key_id=key.arn if spec.performance_insights else None,
            performance_insights_retention_period=(
                PERFORMANCE_INSIGHTS_RETENTION_DAYS if spec.performance_insights else None
            ),
            tags={"Name": identifier},
            depends_on=log_groups,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if env.deletion_protection else None,
        )
        named(self.instance, "mysql")
        self.endpoint_address = self.instance.address
        self.port = PORT
        self.secret_arn = self.instance.master_user_secret.get(0).secret_arn
        self.identifier = self.instance.identifier
        self.db_name = spec.db_name
        self.arn = self.instance.arn
        self._alarms(env, alarm_topic_arn)

    @staticmethod
    def _parameters(spec: DatabaseSpec) -> dict[str, str]:
        params = dict(PARAMETERS)
        if "general" in spec.log_exports:
            params["general_log"] = "1"
        return params

    def _audit_options(self, env: EnvironmentSpec) -> DbOptionGroup:
        # The "audit" log export needs the MariaDB audit plugin; connections and DDL/DCL
        # statements are audited, not every query (which would copy data into the logs).
        return DbOptionGroup(
            self,
            "options",
            name=Names.of(self).name(group_name(env.database.engine_version), naming.RDS_GROUP),
            engine_name=ENGINE,
            # AWS docs, "Options for MySQL DB instances": MARIADB_AUDIT_PLUGIN on all 8.4
            # versions and 8.0.28 and higher.
            major_engine_version=major_version(env.database.engine_version),
            option_group_description=f"{env.name}: audit plugin",
            option=[
                DbOptionGroupOption(
                    option_name="MARIADB_AUDIT_PLUGIN",
                    option_settings=[
                        DbOptionGroupOptionOptionSettings(name="SERVER_AUDIT_EVENTS", value="CONNECT,QUERY_DDL,QUERY_DCL")
                    ],
                )
            ],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )

    def _monitoring_role(self, env: EnvironmentSpec, key: PlatformKey) -> IamRole:
        trust = DataAwsIamPolicyDocument(
            self,
            "monitoring-trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["monitoring.rds.amazonaws.com"])
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[key.account_id]
                        )
                    ],
                )
            ],
        )
        role = IamRole(self, "monitoring-role", name=Names.of(self).name("{prefix}-rds-monitoring", naming.IAM_ROLE), assume_role_policy=trust.json)
        # The permissions of the AWS-managed AmazonRDSEnhancedMonitoringRole, narrowed to this
        # account and region. RDS writes OS metrics to the account-wide RDSOSMetrics group,
        # which it creates itself (shared by every instance, so it is not ours to manage).
        groups = key.arns.arn("logs", "log-group:RDS*")
        write = DataAwsIamPolicyDocument(
            self,
            "monitoring-permissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="EnableCreationAndManagementOfRDSCloudwatchLogGroups",
                    actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
                    resources=[groups],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="EnableCreationAndManagementOfRDSCloudwatchLogStreams",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                    resources=[f"{groups}:log-stream:*"],
                ),
            ],
        )
        IamRolePolicy(self, "monitoring-policy", name="enhanced-monitoring", role=role.id, policy=write.json)
        return role

    def _alarms(self, env: EnvironmentSpec, topic_arn: str) -> None:
        spec = env.database
        rows = [
            # id, metric, statistic, comparison, threshold, evaluation periods, description
            ("cpu-high", "CPUUtilization", "Average", "GreaterThanThreshold", CPU_HIGH_PERCENT, 3,
             f"{env.name} MySQL CPU above {CPU_HIGH_PERCENT}% for 15 minutes"),
            ("storage-low", "FreeStorageSpace", "Minimum", "LessThanThreshold", free_storage_threshold_bytes(spec), 1,
             f"{env.name} MySQL free storage below {int(FREE_STORAGE_FRACTION * 100)}% of the {spec.allocated_storage} GiB allocated"),
            ("connections-high", "DatabaseConnections", "Maximum", "GreaterThanThreshold",
             connections_threshold(spec.instance_class), 3,
             f"{env.name} MySQL connections above {ALARM_CONNECTIONS_PERCENT}% of the estimated max_connections"),
        ]
        for id_, metric, statistic, comparison, threshold, periods, description in rows:
            CloudwatchMetricAlarm(
                self,
                f"alarm-{id_}",
                alarm_name=Names.of(self).name(f"{{prefix}}-mysql-{id_}", naming.ALARM),
                alarm_description=description,
                namespace="AWS/RDS",
                metric_name=metric,
                dimensions={"DBInstanceIdentifier": self.identifier},
                statistic=statistic,
                period=300,
                evaluation_periods=periods,
                comparison_operator=comparison,
                threshold=threshold,
                treat_missing_data="missing",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
            )
