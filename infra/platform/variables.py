"""The variables of a platform stack `<env>-platform`: per-environment values an operator may
change at apply time, each updated in place (no resource is replaced).

    ec2_min_size / ec2_max_size  the EC2 capacity's Auto Scaling group bounds. UpdateAutoScalingGroup
                                 changes them in place. Instances running tasks stay protected from
                                 scale-in (managed termination protection): a lower max_size takes
                                 effect as ECS frees them ("Use instance scale-in protection", EC2
                                 Auto Scaling User Guide: the desired capacity drops, protected
                                 instances are not terminated; "Control the instances Amazon ECS
                                 terminates").
    alb_idle_timeout             a load balancer attribute (ModifyLoadBalancerAttributes), in place.
    database_backup_retention_days
                                 ModifyDBInstance BackupRetentionPeriod: "If you change the parameter
                                 from one non-zero value to another non-zero value, the change is
                                 asynchronously applied as soon as possible" (RDS API Reference); 0,
                                 which would turn backups off with an outage ("Backup retention
                                 period"), is refused as the loader refuses it.
    database_max_allocated_storage
                                 the storage autoscaling ceiling, in place without downtime
                                 ("Managing capacity automatically with Amazon RDS storage
                                 autoscaling"); never below the allocated storage.
    flow_log_retention_days      the VPC flow-log group's retention (PutRetentionPolicy), in place.
                                 The plan also lists the flow-log role's policy as "known after
                                 apply": its policy document reads the group's ARN, and Terraform
                                 reads such a data source at apply (hashicorp/terraform#27171);
                                 the document comes out the same.

Not variables, on purpose (they stay configuration, changed with a new synthesis):
  - `[database] instance_class`: a class change restarts the instance (downtime, or a failover
    with Multi-AZ; "Settings for DB instances"), and the connections alarm's threshold and
    Performance Insights are derived from the class at synthesis;
  - `[database] allocated_storage`: it can only grow, not within six hours of the last change,
    and the free-storage alarm is derived from it; `multi_az` and `engine_version`: planned
    changes, with their own notes in docs/UPGRADE.md;
  - `[cluster.ec2] instance_type`: a new launch template version and a different AMI per
    architecture; `[network]`: replaces subnets, NAT gateways and everything in them;
  - `[observability] log_retention_days`: shared by the platform's and every service's log
    groups, so one stack's variable would split it.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from infra.config.schema import DatabaseModel, Ec2Model, LoadBalancerModel, NetworkModel
from infra.config.specs import EnvironmentSpec
from infra.variables import Knob, declare, not_greater, one_of, schema_range, schema_values, whole_number

EC2 = "when `[cluster.ec2] enabled`"
DATABASE = "when `[database] enabled`"
# The loader's rules for the same keys, read from the one schema.
MIN_SIZE = schema_range(Ec2Model, "min_size")
MAX_SIZE = schema_range(Ec2Model, "max_size")
IDLE_TIMEOUT = schema_range(LoadBalancerModel, "idle_timeout")
BACKUPS = schema_range(DatabaseModel, "backup_retention_days")
STORAGE_HIGH = schema_range(DatabaseModel, "max_allocated_storage")[1]
RETENTION_DAYS = schema_values(NetworkModel, "flow_log_retention_days")

EC2_MIN_SIZE = Knob(
    "ec2_min_size",
    "number",
    "Minimum instances of the EC2 capacity's Auto Scaling group.",
    default_from="`[cluster.ec2] min_size`",
    rules="whole number {}..{}, at most ec2_max_size".format(*MIN_SIZE),
    present=EC2,
)
EC2_MAX_SIZE = Knob(
    "ec2_max_size",
    "number",
    "Maximum instances of the EC2 capacity's Auto Scaling group (instances running tasks are kept until ECS frees them).",
    default_from="`[cluster.ec2] max_size`",
    rules="whole number {}..{}".format(*MAX_SIZE),
    present=EC2,
)
ALB_IDLE_TIMEOUT = Knob(
    "alb_idle_timeout",
    "number",
    "Connection idle timeout of the load balancer, seconds.",
    default_from="`[load_balancer] idle_timeout`",
    rules="whole number {}..{}".format(*IDLE_TIMEOUT),
)
BACKUP_RETENTION = Knob(
    "database_backup_retention_days",
    "number",
    "Days RDS keeps automated backups of the database (applied as soon as possible, no outage).",
    default_from="`[database] backup_retention_days`",
    rules="whole number {}..{}".format(*BACKUPS),
    present=DATABASE,
)
MAX_STORAGE = Knob(
    "database_max_allocated_storage",
    "number",
    "Storage autoscaling ceiling of the database, GiB.",
    default_from="`[database] max_allocated_storage`",
    rules=f"whole number from `[database] allocated_storage` to {STORAGE_HIGH}",
    present=DATABASE,
)
FLOW_LOG_RETENTION = Knob(
    "flow_log_retention_days",
    "number",
    "Days CloudWatch Logs keeps the VPC flow logs.",
    default_from="`[network] flow_log_retention_days`",
    rules="one of " + ", ".join(map(str, RETENTION_DAYS)),
    present="when the platform creates the VPC (no `[network] vpc_id`)",
)
KNOBS: tuple[Knob, ...] = (
    EC2_MIN_SIZE,
    EC2_MAX_SIZE,
    ALB_IDLE_TIMEOUT,
    BACKUP_RETENTION,
    MAX_STORAGE,
    FLOW_LOG_RETENTION,
)


@dataclass(frozen=True)
class PlatformKnobs:
    """What the platform's resources read instead of the spec's values: references to the
    stack's variables (`declare`), or the spec's values themselves (`of`). The EC2 and the
    database values are None when that part is off."""

    alb_idle_timeout: float
    flow_log_retention_days: float | None = None
    ec2_min_size: float | None = None
    ec2_max_size: float | None = None
    database_backup_retention_days: float | None = None
    database_max_allocated_storage: float | None = None

    @classmethod
    def of(cls, env: EnvironmentSpec) -> "PlatformKnobs":
        ec2, db = env.cluster.ec2, env.database
        return cls(
            alb_idle_timeout=env.load_balancer.idle_timeout,
            flow_log_retention_days=env.network.flow_log_retention_days,
            ec2_min_size=ec2.min_size if ec2.enabled else None,
            ec2_max_size=ec2.max_size if ec2.enabled else None,
            database_backup_retention_days=db.backup_retention_days if db.enabled else None,
            database_max_allocated_storage=db.max_allocated_storage if db.enabled else None,
        )

    @classmethod
    def declare(cls, stack: Construct, env: EnvironmentSpec) -> "PlatformKnobs":
        """The stack's variables, with the environment's values as defaults and the loader's rules."""
        values: dict[str, float] = {}
        ec2, db = env.cluster.ec2, env.database
        if ec2.enabled:
            values["ec2_min_size"] = declare(
                stack,
                EC2_MIN_SIZE,
                default=ec2.min_size,
                validations=[whole_number("ec2_min_size", *MIN_SIZE), not_greater("ec2_min_size", "ec2_max_size")],
            ).number_value
            values["ec2_max_size"] = declare(
                stack, EC2_MAX_SIZE, default=ec2.max_size, validations=[whole_number("ec2_max_size", *MAX_SIZE)]
            ).number_value
        timeout = declare(
            stack,
            ALB_IDLE_TIMEOUT,
            default=env.load_balancer.idle_timeout,
            validations=[whole_number("alb_idle_timeout", *IDLE_TIMEOUT)],
        ).number_value
        if db.enabled:
            values["database_backup_retention_days"] = declare(
                stack,
                BACKUP_RETENTION,
                default=db.backup_retention_days,
                validations=[whole_number("database_backup_retention_days", *BACKUPS)],
            ).number_value
            # AWS docs, "Managing capacity automatically with Amazon RDS storage autoscaling":
            # the maximum storage threshold may not be below the allocated storage (the loader's rule).
            values["database_max_allocated_storage"] = declare(
                stack,
                MAX_STORAGE,
                default=db.max_allocated_storage,
                validations=[whole_number("database_max_allocated_storage", db.allocated_storage, STORAGE_HIGH)],
            ).number_value
        if env.network.existing is None:  # an existing VPC's flow logs are not ours
            values["flow_log_retention_days"] = declare(
                stack,
                FLOW_LOG_RETENTION,
                default=env.network.flow_log_retention_days,
                validations=[one_of("flow_log_retention_days", RETENTION_DAYS)],
            ).number_value
        return cls(alb_idle_timeout=timeout, **values)
