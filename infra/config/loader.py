"""Load and validate the checked-in configuration, once, into frozen specs.

    environments/<env>.toml      one file per environment
    services/<name>/service.toml one manifest per microservice

This is the only module that parses. Rules about one value live in `infra.config.fields`,
rules about one spec live in the `_environment`/`_service` readers below, and rules
across specs (unique names, routes and priorities, references between files) run in
`load_app` right after parsing. Every failure is a `ConfigError` naming file and field.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra.config import iam_actions, limits
from infra.config.fields import ConfigError, Fields
from infra.config.specs import (
    AccessSpec,
    AlarmSpec,
    AppSpec,
    Architecture,
    BackendKind,
    BackendSpec,
    BuildSpec,
    CapacityProvider,
    CloudBackendSpec,
    ConditionSpec,
    ClusterSpec,
    DatabaseSpec,
    Ec2CapacitySpec,
    EnvironmentSpec,
    HealthCheckSpec,
    ImageSource,
    ImageSpec,
    LoadBalancerSpec,
    LocalEndpoint,
    NatMode,
    NetworkSpec,
    ObservabilitySpec,
    PipelineSource,
    PermissionSpec,
    PipelineSpec,
    QueueSpec,
    RegistrySpec,
    RouteSpec,
    S3BackendSpec,
    ScalingSpec,
    ScheduleSpec,
    SecretRef,
    ServiceKind,
    ServiceSpec,
    StrategyItem,
)
from infra.config.specs import OWN_RESOURCES

__all__ = ["ConfigError", "load_app", "load_environment", "load_services"]

ENV_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
TAG_KEY = re.compile(r"^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$")
ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DYNAMO_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
ORG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
DB_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
MYSQL_VERSION = re.compile(r"^8\.0(\.[0-9]+)?$")
KEY_NAME = re.compile(r"^[A-Za-z0-9 ._+=,@-]{1,255}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$")
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$")
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$"
)
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
SSL_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]-[0-9-]+|TLS-1-2-[A-Za-z0-9-]+|FS-1-2-[A-Za-z0-9-]+)$")
IMAGE_URI = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9_.-]{1,128}|@sha256:[a-f0-9]{64})$")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,1023}$")
MATCHER = re.compile(r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$")
PATH_PATTERN = re.compile(r"^/[A-Za-z0-9._~/*?-]{0,127}$")
HOST_PATTERN = re.compile(r"^(\*\.)?([A-Za-z0-9-?*]+\.)*[A-Za-z0-9-?*]+$")
SCHEDULE = re.compile(r"^(cron\([0-9*?,/ LW#A-Za-z-]+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|at\([0-9T:-]+\))$")
SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TIMEZONE = re.compile(r"^[A-Za-z_]+(/[A-Za-z_+-]+)*$")
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$|^\*$")
CONDITION_KEY = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9/_.:${}-]+$")
ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12})?:[^\s]+$")
USER = re.compile(r"^[0-9]{1,10}(:[0-9]{1,10})?$|^[a-z_][a-z0-9_-]{0,31}$")
SECRETSMANAGER_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*)?$"
)
SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+$")
SSM_NAME = re.compile(r"^/[A-Za-z0-9/_.-]{1,1010}$")
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# Environment variable names that suggest a credential: such values belong in [secrets].
SECRET_LIKE = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL)", re.IGNORECASE)
# Variables the platform sets itself for a database link.
DATABASE_VARS = frozenset({"DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET"})

DEFAULT_STRATEGY = (StrategyItem(provider=CapacityProvider.FARGATE, weight=1, base=1),)


# ---------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------
def _read_toml(root: Path, path: Path) -> tuple[str, dict[str, Any]]:
    rel = path.relative_to(root).as_posix()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(rel, "", f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(rel, "", f"is not UTF-8 text (byte {exc.start})") from None
    try:
        return rel, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(rel, "", f"is not valid TOML: {exc}") from None


# ---------------------------------------------------------------------------------
# Environments
# ---------------------------------------------------------------------------------
def load_environment(root: Path, path: Path) -> EnvironmentSpec:
    rel, data = _read_toml(root, path)
    name = path.stem
    if not ENV_NAME.fullmatch(name):
        raise ConfigError(rel, "", f"environment name {name!r} (from the file name) must match {ENV_NAME.pattern}")
    f = Fields(rel, data)
    region = f.string("region", pattern=REGION, describe="an AWS region name")
    production = f.boolean("production", False)
    deletion_protection = f.boolean("deletion_protection", production)
    # Turning protection off in production takes a second, explicit flag.
    allow_destroy = f.boolean("allow_destroy", False)
    if production and not deletion_protection and not allow_destroy:
        raise f.error(
            "deletion_protection",
            "cannot be false in a production environment unless allow_destroy = true is set as well",
        )
    tags = f.mapping("tags", key_pattern=TAG_KEY, key_describe="a tag key", max_value_len=256)
    spec = EnvironmentSpec(
        name=name,
        file=rel,
        region=region,
        production=production,
        deletion_protection=deletion_protection,
        tags=tags,
        network=_network(f.table("network", required=True), production, region),
        backend=_backend(f.table("backend"), name, region),
        cluster=_cluster(f.table("cluster")),
        load_balancer=_load_balancer(f.table("load_balancer"), production),
        database=_database(f.table("database"), production),
        access=_access(f.table("access")),
        observability=_observability(f.table("observability")),
        registry=_registry(f.table("registry")),
        pipeline=_pipeline(f.table("pipeline"), production),
        namespace=f.string("namespace", f"{name}.internal", pattern=HOSTNAME, describe="a DNS name"),
    )
    f.done()
    return spec


def _network(f: Fields, production: bool, region: str) -> NetworkSpec:
    vpc = f.cidr("vpc_cidr")
    if not vpc.is_private:
        raise f.error("vpc_cidr", f"{vpc} is not a private (RFC 1918) range")
    if not 16 <= vpc.prefixlen <= 22:
        raise f.error("vpc_cidr", f"{vpc} must be between /16 and /22 to hold three subnet tiers in up to 6 AZs")
    low, high = limits.AZ_COUNT_RANGE
    az_count = f.integer("az_count", 2, low=low, high=high)
    zones = _availability_zones(f, region, az_count)
    nat = f.choice("nat", NatMode, NatMode.PER_AZ if production else NatMode.SINGLE)
    admin = f.cidr("admin_cidr")
    if admin.prefixlen == 0:
        raise f.error("admin_cidr", "0.0.0.0/0 would open SSH to the internet; give your office or VPN range")
    derived = _derive_subnets(vpc, az_count)
    tiers: dict[str, tuple[str, ...]] = {}
    for tier, default in zip(("public_subnets", "private_subnets", "database_subnets"), derived):
        if f.has(tier):
            tiers[tier] = _explicit_subnets(f, tier, vpc, az_count)
        else:
            f.strings(tier)  # mark as known
            tiers[tier] = tuple(str(net) for net in default)
    _check_no_overlap(f, tiers)
    return NetworkSpec(
        vpc_cidr=vpc,
        az_count=az_count,
        availability_zones=zones,
        nat=nat,
        admin_cidr=admin,
        public_subnets=tiers["public_subnets"],
        private_subnets=tiers["private_subnets"],
        database_subnets=tiers["database_subnets"],
        flow_log_retention_days=f.one_of("flow_log_retention_days", limits.LOG_RETENTION_DAYS, 90),
    )


def _availability_zones(f: Fields, region: str, az_count: int) -> tuple[str, ...]:
    """Explicit AZ names (the platform never asks AWS which zones exist: plans stay
    reproducible); by default the region's first `az_count` letters."""
    if not f.has("availability_zones"):
        f.strings("availability_zones")  # mark as known
        return tuple(f"{region}{letter}" for letter in "abcdef"[:az_count])
    zone = re.compile(re.escape(region) + "[a-z]")
    zones = f.strings(
        "availability_zones", pattern=zone, describe=f"an availability zone of {region} ({region}a, {region}b, ...)",
        max_len=32, max_items=6,
    )
    if len(zones) != az_count:
        raise f.error("availability_zones", f"lists {len(zones)} zones; az_count is {az_count}")
    return zones


def _derive_subnets(
    vpc: ipaddress.IPv4Network, az_count: int
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """Split the VPC in eighths: six large private slots, then public and database tiers.

    With a /16: private /19s (8k addresses for tasks), public and database /22s.
    Slot positions depend only on the AZ index, so adding an AZ never moves a subnet.
    """
    eighths = list(vpc.subnets(new_prefix=vpc.prefixlen + 3))
    public = list(eighths[6].subnets(new_prefix=vpc.prefixlen + 6))[:az_count]
    database = list(eighths[7].subnets(new_prefix=vpc.prefixlen + 6))[:az_count]
    return public, eighths[:az_count], database


def _explicit_subnets(f: Fields, tier: str, vpc: ipaddress.IPv4Network, az_count: int) -> tuple[str, ...]:
    items = f.strings(tier, max_len=18, max_items=6)
    if len(items) != az_count:
        raise f.error(tier, f"lists {len(items)} subnets; az_count is {az_count}")
    nets = []
    for i, text in enumerate(items):
        try:
            net = ipaddress.IPv4Network(text, strict=True)
        except ValueError as exc:
            raise f.error(f"{tier}[{i}]", f"{text!r} is not an IPv4 CIDR block ({exc})") from None
        if not net.subnet_of(vpc):
            raise f.error(f"{tier}[{i}]", f"{net} does not fit in vpc_cidr {vpc}")
        if not 16 <= net.prefixlen <= 28:
            raise f.error(f"{tier}[{i}]", f"{net} must be between /16 and /28")
        nets.append(str(net))
    return tuple(nets)


def _check_no_overlap(f: Fields, tiers: Mapping[str, Sequence[str]]) -> None:
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for tier, cidrs in tiers.items():
        for i, text in enumerate(cidrs):
            net = ipaddress.IPv4Network(text)
            for where, other in seen:
                if net.overlaps(other):
                    raise f.error(f"{tier}[{i}]", f"{net} overlaps {other} ({where})")
            seen.append((f"{tier}[{i}]", net))


def _backend(f: Fields, env: str, region: str) -> BackendSpec:
    kind = f.choice("type", BackendKind, BackendKind.LOCAL)
    if kind is BackendKind.LOCAL:
        f.done()
        return BackendSpec(kind=kind)
    if kind is BackendKind.S3:
        if not f.has("bucket"):
            raise f.error("bucket", "is required for an s3 backend (the bucket that holds Terraform state)")
        bucket = f.string("bucket", pattern=S3_BUCKET, describe="an S3 bucket name")
        encrypt = f.boolean("encrypt", True)
        if not encrypt:
            raise f.error("encrypt", "must stay true: Terraform state holds secrets and resource details")
        use_lockfile = f.boolean("use_lockfile", True)
        table = f.string("dynamodb_table", None, pattern=DYNAMO_TABLE, describe="a DynamoDB table name")
        if not use_lockfile and table is None:
            raise f.error("use_lockfile", "is false and no dynamodb_table is set: state would have no lock")
        s3 = S3BackendSpec(
            bucket=bucket,
            region=f.string("region", region, pattern=REGION, describe="an AWS region name"),
            key_prefix=f.string("key_prefix", f"ecs-platform/{env}", pattern=KEY_PREFIX, describe="an S3 key prefix"),
            workspace_key_prefix=f.string(
                "workspace_key_prefix", "workspaces", pattern=KEY_PREFIX, describe="an S3 key prefix"
            ),
            use_lockfile=use_lockfile,
            dynamodb_table=table,
            kms_key_id=f.string("kms_key_id", None, max_len=2048),
        )
        f.done()
        return BackendSpec(kind=kind, s3=s3)
    cloud = CloudBackendSpec(
        organization=f.string("organization", pattern=ORG, describe="an HCP Terraform organization name"),
        hostname=f.string("hostname", "app.terraform.io", pattern=HOSTNAME, describe="a host name"),
        workspace_prefix=f.string(
            "workspace_prefix", "ecs-platform-", pattern=re.compile(r"^[A-Za-z0-9_-]{0,60}$"), describe="a prefix"
        ),
    )
    f.done()
    return BackendSpec(kind=kind, cloud=cloud)


def _strategy(f: Fields, key: str, default: tuple[StrategyItem, ...]) -> tuple[StrategyItem, ...]:
    """A capacity-provider strategy: a provider name, or [[key]] tables with weight and base."""
    if not f.has(key):
        f.tables(key)
        return default
    if f.is_string(key):  # shorthand: capacity = "FARGATE_SPOT"
        provider = f.choice(key, CapacityProvider)
        return (StrategyItem(provider=provider, weight=1, base=0),)
    items = []
    for item in f.tables(key):
        items.append(
            StrategyItem(
                provider=item.choice("provider", CapacityProvider),
                weight=item.integer("weight", 1, low=0, high=1000),
                base=item.integer("base", 0, low=0, high=100000),
            )
        )
        item.done()
    if not items:
        raise f.error(key, "must name at least one capacity provider")
    providers = [item.provider for item in items]
    if len(set(providers)) != len(providers):
        raise f.error(key, "names a capacity provider more than once")
    if CapacityProvider.EC2 in providers and len(providers) > 1:
        raise f.error(key, "cannot mix EC2 with Fargate providers in one strategy (ECS refuses it)")
    if sum(1 for item in items if item.base > 0) > 1:
        raise f.error(key, "only one capacity provider may have a base")
    if not any(item.weight > 0 for item in items):
        raise f.error(key, "needs at least one provider with weight > 0")
    return tuple(items)


def _cluster(f: Fields) -> ClusterSpec:
    strategy = _strategy(f, "default_strategy", DEFAULT_STRATEGY)
    e = f.table("ec2")
    ec2 = Ec2CapacitySpec(
        enabled=e.boolean("enabled", True),
        instance_type=e.string("instance_type", "t3.medium", pattern=INSTANCE_TYPE, describe="an EC2 instance type"),
        min_size=e.integer("min_size", 0, low=0, high=1000),
        max_size=e.integer("max_size", 4, low=1, high=1000),
        target_capacity=e.integer("target_capacity", 100, low=1, high=100),
    )
    if ec2.min_size > ec2.max_size:
        raise e.error("min_size", f"{ec2.min_size} is greater than max_size {ec2.max_size}")
    e.done()
    if not ec2.enabled and any(item.provider is CapacityProvider.EC2 for item in strategy):
        raise f.error("default_strategy", "uses EC2 but cluster.ec2.enabled is false")
    spec = ClusterSpec(container_insights=f.boolean("container_insights", True), default_strategy=strategy, ec2=ec2)
    f.done()
    return spec


def _load_balancer(f: Fields, production: bool) -> LoadBalancerSpec:
    certificate = f.string("certificate_arn", None, pattern=ACM_ARN, describe="an ACM certificate ARN")
    domain = f.string("domain", None, pattern=HOSTNAME, describe="a DNS name")
    if certificate and domain:
        raise f.error("domain", "set either certificate_arn or domain, not both")
    spec = LoadBalancerSpec(
        certificate_arn=certificate,
        domain=domain,
        ssl_policy=f.string(
            "ssl_policy", "ELBSecurityPolicy-TLS13-1-2-2021-06", pattern=SSL_POLICY, describe="a TLS 1.2+ ELB policy"
        ),
        idle_timeout=f.integer("idle_timeout", 60, low=1, high=4000),
        waf=f.boolean("waf", production),
        access_log_retention_days=f.integer("access_log_retention_days", 90, low=1, high=3650),
    )
    f.done()
    return spec


def _database(f: Fields, production: bool) -> DatabaseSpec:
    instance_class = f.string(
        "instance_class", "db.t4g.micro", pattern=DB_INSTANCE_CLASS, describe="an RDS instance class"
    )
    supports_pi = not limits.RDS_NO_PERFORMANCE_INSIGHTS.fullmatch(instance_class)
    performance_insights = f.boolean("performance_insights", supports_pi)
    if performance_insights and not supports_pi:
        raise f.error("performance_insights", f"is not available for {instance_class}; use db.t4g.medium or larger")
    low, high = limits.RDS_STORAGE_RANGE
    storage = f.integer("allocated_storage", 20, low=low, high=high)
    max_storage = f.integer("max_allocated_storage", max(100, storage), low=low, high=high)
    if max_storage < storage:
        raise f.error("max_allocated_storage", f"{max_storage} is below allocated_storage {storage}")
    low, high = limits.RDS_BACKUP_RETENTION_RANGE
    spec = DatabaseSpec(
        enabled=f.boolean("enabled", True),
        instance_class=instance_class,
        engine_version=f.string("engine_version", "8.0", pattern=MYSQL_VERSION, describe="a MySQL 8.0 version"),
        allocated_storage=storage,
        max_allocated_storage=max_storage,
        multi_az=f.boolean("multi_az", production),
        backup_retention_days=f.integer("backup_retention_days", 7, low=low, high=high),
        db_name=f.string("db_name", "app", pattern=DB_IDENT, describe="a MySQL database name"),
        master_username=f.string("master_username", "platform", pattern=DB_IDENT, describe="a MySQL user name"),
        monitoring_interval=f.one_of("monitoring_interval", limits.RDS_MONITORING_INTERVALS, 60),
        performance_insights=performance_insights,
        log_exports=_subset(f, "log_exports", limits.RDS_LOG_EXPORTS, ("audit", "error", "slowquery")),
    )
    if spec.master_username.lower() in {"admin", "root", "rdsadmin", "mysql"}:
        raise f.error("master_username", f"{spec.master_username!r} is reserved by MySQL/RDS")
    f.done()
    return spec


def _subset(f: Fields, key: str, allowed: Sequence[str], default: tuple[str, ...]) -> tuple[str, ...]:
    values = f.strings(key, default)
    for i, value in enumerate(values):
        if value not in allowed:
            raise f.error(f"{key}[{i}]", f"{value!r} is not one of {', '.join(allowed)}")
    return values


def _access(f: Fields) -> AccessSpec:
    spec = AccessSpec(
        enabled=f.boolean("enabled", True),
        key_name=f.string("key_name", None, pattern=KEY_NAME, describe="an EC2 key pair name"),
        instance_type=f.string("instance_type", "t3.micro", pattern=INSTANCE_TYPE, describe="an EC2 instance type"),
    )
    f.done()
    return spec


def _observability(f: Fields) -> ObservabilitySpec:
    spec = ObservabilitySpec(
        alarm_emails=f.strings("alarm_emails", pattern=EMAIL, describe="an e-mail address", max_items=20),
        log_retention_days=f.one_of("log_retention_days", limits.LOG_RETENTION_DAYS, 30),
        dashboard=f.boolean("dashboard", True),
    )
    f.done()
    return spec


def _registry(f: Fields) -> RegistrySpec:
    spec = RegistrySpec(keep_images=f.integer("keep_images", 30, low=1, high=1000))
    f.done()
    return spec


def _pipeline(f: Fields, production: bool) -> PipelineSpec:
    connection = f.string("connection_arn", None, pattern=CONNECTION_ARN, describe="a CodeStar connection ARN")
    source = f.choice("source", PipelineSource, PipelineSource.CODESTAR if connection else PipelineSource.S3)
    if source is PipelineSource.CODESTAR and connection is None:
        raise f.error("connection_arn", "is required when source is codestar")
    spec = PipelineSpec(
        source=source,
        connection_arn=connection,
        repository=f.string("repository", "example/platform", pattern=REPOSITORY, describe="owner/repo"),
        branch=f.string("branch", "main", pattern=BRANCH, describe="a branch name"),
        manual_approval=f.boolean("manual_approval", production),
    )
    f.done()
    return spec


# ---------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------
# Manifest keys an environment may override under [overrides.<env>].
OVERRIDABLE = ("cpu", "memory", "desired_count", "min_count", "max_count", "capacity", "enable_exec", "environment")


def load_service(root: Path, path: Path, env: EnvironmentSpec, known_envs: Iterable[str]) -> ServiceSpec:
    rel, data = _read_toml(root, path)
    overrides = data.pop("overrides", {})
    if not isinstance(overrides, Mapping):
        raise ConfigError(rel, "overrides", "must be a table of [overrides.<environment>] tables")
    known = sorted(known_envs)
    for env_name, table in overrides.items():
        if env_name not in known:
            raise ConfigError(rel, f"overrides.{env_name}", f"names no environment (known: {', '.join(known)})")
        if not isinstance(table, Mapping):
            raise ConfigError(rel, f"overrides.{env_name}", "must be a table")
        for key in table:
            if key not in OVERRIDABLE:
                raise ConfigError(
                    rel, f"overrides.{env_name}.{key}", f"cannot be overridden (allowed: {', '.join(OVERRIDABLE)})"
                )
    origin = {key: key for key in OVERRIDABLE}
    own = overrides.get(env.name, {})
    merged = dict(data)
    for key, value in own.items():
        origin[key] = f"overrides.{env.name}.{key}"
        if key == "environment" and isinstance(value, Mapping) and isinstance(data.get(key, {}), Mapping):
            merged[key] = {**data.get(key, {}), **value}
        else:
            merged[key] = value
    try:
        return _service(Fields(rel, merged), path.parent, env)
    except ConfigError as exc:
        top = exc.field.split(".")[0].split("[")[0]
        if top in own:
            raise ConfigError(rel, f"overrides.{env.name}.{exc.field}", exc.message) from None
        raise


def _service(f: Fields, directory: Path, env: EnvironmentSpec) -> ServiceSpec:
    name = f.string("name", directory.name, pattern=SERVICE_NAME, describe="a service name")
    kind = f.choice("kind", ServiceKind)
    capacity = _strategy(f, "capacity", env.cluster.default_strategy)
    if any(item.provider is CapacityProvider.EC2 for item in capacity) and not env.cluster.ec2.enabled:
        raise f.error("capacity", f"uses EC2 but cluster.ec2.enabled is false in {env.file}")
    architecture = f.choice("architecture", Architecture, Architecture.X86_64)
    if architecture is Architecture.ARM64 and any(i.provider is CapacityProvider.FARGATE_SPOT for i in capacity):
        raise f.error("architecture", "ARM64 is not available on FARGATE_SPOT")
    fargate = any(item.provider is not CapacityProvider.EC2 for item in capacity)
    cpu, memory = _cpu_memory(f, fargate)
    port = f.integer("port", low=limits.PORT_RANGE[0], high=limits.PORT_RANGE[1])
    if port in limits.RESERVED_CONTAINER_PORTS:
        raise f.error("port", f"{port} is reserved by the platform (SSH, MySQL)")
    if f.has("host_port"):
        host_port = f.integer("host_port", low=limits.PORT_RANGE[0], high=limits.PORT_RANGE[1])
        if host_port != port:
            raise f.error("host_port", f"{host_port} must equal port {port} with awsvpc networking (or be left out)")
    else:
        f.integer("host_port", None, low=1, high=1)
    desired, low, high = _counts(f)
    health = _health_check(f.table("health_check"))
    route = _route(f, kind, name)
    environment = f.mapping("environment", key_pattern=ENV_VAR, key_describe="an environment variable name")
    for var in environment:
        if SECRET_LIKE.search(var):
            raise f.error(f"environment.{var}", "looks like a credential: put it in [secrets] (values never belong in the JSON)")
    secrets = _secrets(f)
    database = f.boolean("database", False)
    if database and not env.database.enabled:
        raise f.error("database", f"is true but the database is disabled in {env.file}")
    clash = set(environment) & set(secrets)
    if clash:
        raise f.error("secrets", f"{sorted(clash)[0]} is set in both [environment] and [secrets]")
    if database:
        reserved = (set(environment) | set(secrets)) & DATABASE_VARS
        if reserved:
            raise f.error("environment", f"{sorted(reserved)[0]} is set by the platform for database = true")
    queue = _queue(f.table("queue"), kind)
    scaling = _scaling(f.table("scaling"), kind, low, high)
    spec = ServiceSpec(
        name=name,
        file=f.file,
        directory=directory,
        kind=kind,
        image=_image(f.table("image")),
        cpu=cpu,
        memory=memory,
        architecture=architecture,
        port=port,
        capacity=capacity,
        desired_count=desired,
        min_count=low,
        max_count=high,
        health_check=health,
        route=route,
        environment=environment,
        secrets=secrets,
        database=database,
        queue=queue,
        scaling=scaling,
        alarms=_alarms(f.table("alarms")),
        read_only_root_filesystem=f.boolean("read_only_root_filesystem", True),
        user=_user(f),
        enable_exec=f.boolean("enable_exec", False),
        min_healthy_percent=f.integer("min_healthy_percent", 100, low=0, high=100),
        max_percent=f.integer("max_percent", 200, low=100, high=200),
        build=_build(f.table("build")),
        allow_from=_allow_from(f, kind, name),
        permissions=tuple(_permission(item, kind) for item in f.tables("permissions")),
    )
    f.done()
    return spec


def _allow_from(f: Fields, kind: ServiceKind, name: str) -> tuple[str, ...]:
    """Callers of a backend; that they exist is checked with the other services."""
    callers = f.strings("allow_from", pattern=SERVICE_NAME, describe="a service name", max_len=21)
    if callers and kind is not ServiceKind.BACKEND:
        reach = "only the load balancer reaches a web service" if kind is ServiceKind.WEB else "a worker accepts no connections"
        raise f.error("allow_from", f"is only for backend services ({reach})")
    if name in callers:
        raise f.error("allow_from", f"names the service itself ({name!r})")
    return callers


def _permission(f: Fields, kind: ServiceKind) -> PermissionSpec:
    """One `[[permissions]]` entry, refused where IAM would refuse it or where it is wider than
    an application should ask for (see infra/config/iam_actions.py)."""
    actions = f.strings("actions", pattern=IAM_ACTION, describe="an IAM action (service:Action)", max_items=50)
    if not actions:
        raise f.error("actions", "is required: a non-empty array of IAM actions")
    for i, action in enumerate(actions):
        prefix, _, verb = action.partition(":")
        if action == "*" or verb == "*":
            raise f.error(f"actions[{i}]", f"{action!r} grants every action; name the actions the application calls")
        if prefix not in iam_actions.SERVICE_PREFIXES:
            close = difflib.get_close_matches(prefix, iam_actions.SERVICE_PREFIXES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise f.error(f"actions[{i}]", f"{prefix!r} is not an AWS service prefix{hint}")
    resources = f.strings("resources", max_len=2048, max_items=50)
    if not resources:
        raise f.error("resources", "is required: ARNs, \"queue\"/\"dlq\" (the service's own), or \"*\" for actions without resource-level permissions")
    for i, resource in enumerate(resources):
        if resource == "*":
            scoped = [a for a in actions if "*" in a or iam_actions.supports_resource_level(a)]
            if scoped:
                raise f.error(
                    f"resources[{i}]",
                    f"'*' for {scoped[0]!r}, which supports resource-level permissions; name its resources",
                )
        elif resource in OWN_RESOURCES:
            if kind is not ServiceKind.WORKER:
                raise f.error(f"resources[{i}]", f"{resource!r}: only a worker has a queue and a dead-letter queue")
        elif not ARN.fullmatch(resource):
            raise f.error(
                f"resources[{i}]", f"{resource!r} is not an ARN, '*', or one of {', '.join(map(repr, OWN_RESOURCES))}"
            )
    conditions = []
    for c in f.tables("conditions"):
        test = c.string("test", max_len=64)
        if not iam_actions.condition_operator_known(test):
            raise c.error("test", f"{test!r} is not an IAM condition operator (e.g. StringEquals, ArnLike, Bool)")
        variable = c.string("variable", pattern=CONDITION_KEY, describe="a condition key (e.g. aws:SourceVpce)", max_len=256)
        values = c.strings("values", max_len=1024, max_items=50)
        if not values:
            raise c.error("values", "is required: a non-empty array of strings")
        c.done()
        conditions.append(ConditionSpec(test=test, variable=variable, values=values))
    f.done()
    return PermissionSpec(actions=actions, resources=resources, conditions=tuple(conditions))


def _cpu_memory(f: Fields, fargate: bool) -> tuple[int, int]:
    if fargate:
        cpu = f.one_of("cpu", tuple(limits.FARGATE_MEMORY))
        allowed = limits.FARGATE_MEMORY[cpu]
        memory = f.integer("memory", low=1, high=1_000_000)
        if memory not in allowed:
            shown = ", ".join(map(str, allowed))
            raise f.error("memory", f"{memory} is not valid with cpu={cpu} on Fargate (valid: {shown})")
        return cpu, memory
    cpu = f.integer("cpu", low=128, high=196_608)
    memory = f.integer("memory", low=128, high=4_000_000)
    return cpu, memory


def _counts(f: Fields) -> tuple[int, int, int]:
    low_limit, high_limit = limits.SERVICE_COUNT_RANGE
    desired = f.integer("desired_count", 1, low=low_limit, high=high_limit)
    low = f.integer("min_count", desired, low=low_limit, high=high_limit)
    high = f.integer("max_count", max(desired, low), low=1, high=high_limit)
    if low > high:
        raise f.error("min_count", f"{low} is greater than max_count {high}")
    if not low <= desired <= high:
        raise f.error("desired_count", f"{desired} is outside min_count..max_count ({low}..{high})")
    return desired, low, high


def _health_check(f: Fields) -> HealthCheckSpec:
    interval = f.integer("interval", 30, low=limits.HEALTH_CHECK_INTERVAL_RANGE[0], high=limits.HEALTH_CHECK_INTERVAL_RANGE[1])
    timeout = f.integer("timeout", 5, low=limits.HEALTH_CHECK_TIMEOUT_RANGE[0], high=limits.HEALTH_CHECK_TIMEOUT_RANGE[1])
    if timeout >= interval:
        raise f.error("timeout", f"{timeout} must be shorter than interval {interval}")
    low, high = limits.HEALTH_CHECK_THRESHOLD_RANGE
    spec = HealthCheckSpec(
        path=f.string("path", "/health", pattern=HEALTH_PATH, describe="an HTTP path"),
        interval=interval,
        timeout=timeout,
        healthy_threshold=f.integer("healthy_threshold", 2, low=low, high=high),
        unhealthy_threshold=f.integer("unhealthy_threshold", 3, low=low, high=high),
        grace_period=f.integer("grace_period", 60, low=limits.HEALTH_CHECK_GRACE_RANGE[0], high=limits.HEALTH_CHECK_GRACE_RANGE[1]),
        matcher=f.string("matcher", "200-399", pattern=MATCHER, describe="an HTTP code list"),
    )
    f.done()
    return spec


def default_priority(name: str, paths: Sequence[str], hosts: Sequence[str]) -> int:
    """A listener-rule priority that depends only on the service's own name.

    Adding or removing another service never moves it. Catch-all rules (only `/*`,
    no host) go last, so more specific rules of other services win.
    """
    digest = zlib.crc32(name.encode())
    if not hosts and set(paths) <= {"/*", "/"}:
        return 50000 - digest % 1000
    return 1000 + digest % 40000


def _route(f: Fields, kind: ServiceKind, name: str) -> RouteSpec | None:
    if kind is not ServiceKind.WEB:
        if f.has("routes"):
            raise f.error("routes", f"only web services are routed from the load balancer (kind is {kind.value})")
        f.table("routes")
        return None
    r = f.table("routes", required=True)
    paths = r.strings("paths", pattern=PATH_PATTERN, describe="an ALB path pattern", max_len=128, max_items=5)
    hosts = r.strings("hosts", pattern=HOST_PATTERN, describe="an ALB host pattern", max_len=128, max_items=5)
    if not paths and not hosts:
        raise r.error("paths", "a web service needs at least one path or host")
    if len(paths) + len(hosts) > limits.RULE_MAX_CONDITION_VALUES:
        raise r.error("paths", f"paths and hosts give {len(paths) + len(hosts)} values; a rule allows {limits.RULE_MAX_CONDITION_VALUES}")
    low, high = limits.RULE_PRIORITY_RANGE
    priority = r.integer("priority", default_priority(name, paths, hosts), low=low, high=high)
    r.done()
    return RouteSpec(paths=paths, hosts=hosts, priority=priority)


def _secrets(f: Fields) -> dict[str, SecretRef]:
    raw = f.mapping("secrets", key_pattern=ENV_VAR, key_describe="an environment variable name", max_value_len=2048)
    result = {}
    for var, value in raw.items():
        field = f"secrets.{var}"
        if SECRETSMANAGER_ARN.fullmatch(value):
            ref = SecretRef(kind="secretsmanager", arn=value, name=value)
        elif SSM_ARN.fullmatch(value):
            ref = SecretRef(kind="ssm", arn=value, name=value)
        elif value.startswith("ssm:") and SSM_NAME.fullmatch(value[4:]):
            ref = SecretRef(kind="ssm", arn=None, name=value[4:])
        elif value.startswith("secretsmanager:") and SECRET_NAME.fullmatch(value[15:]):
            ref = SecretRef(kind="secretsmanager", arn=None, name=value[15:])
        else:
            raise f.error(
                field,
                "must be a Secrets Manager or SSM parameter ARN, 'secretsmanager:<name>' or 'ssm:/<path>'"
                " (never the secret value itself)",
            )
        result[var] = ref
    return result


def _queue(f: Fields, kind: ServiceKind) -> QueueSpec | None:
    if kind is not ServiceKind.WORKER:
        if f.has("visibility_timeout") or f.has("retention_seconds") or f.has("max_receive_count"):
            raise ConfigError(f.file, "queue", f"only worker services have a queue (kind is {kind.value})")
        f.done()
        return None
    spec = QueueSpec(
        visibility_timeout=f.integer("visibility_timeout", 60, low=limits.SQS_VISIBILITY_RANGE[0], high=limits.SQS_VISIBILITY_RANGE[1]),
        retention_seconds=f.integer("retention_seconds", 345600, low=limits.SQS_RETENTION_RANGE[0], high=limits.SQS_RETENTION_RANGE[1]),
        max_receive_count=f.integer("max_receive_count", 5, low=limits.SQS_MAX_RECEIVE_RANGE[0], high=limits.SQS_MAX_RECEIVE_RANGE[1]),
    )
    f.done()
    return spec


def _scaling(f: Fields, kind: ServiceKind, low: int, high: int) -> ScalingSpec:
    # cpu_target = false turns the default CPU target tracking off.
    cpu = None if f.has("cpu_target") and f.boolean_if_false("cpu_target") else f.integer("cpu_target", 60, low=1, high=100)
    memory = f.integer("memory_target", None, low=1, high=100)
    requests = f.integer("requests_per_target", None, low=1, high=1_000_000)
    if requests is not None and kind is not ServiceKind.WEB:
        raise f.error("requests_per_target", "only web services get ALB request-count scaling")
    backlog_default = 100 if kind is ServiceKind.WORKER else None
    backlog = f.integer("queue_backlog_per_task", backlog_default, low=1, high=1_000_000)
    if backlog is not None and kind is not ServiceKind.WORKER:
        raise f.error("queue_backlog_per_task", "only worker services scale on a queue")
    schedules = []
    names = set()
    for s in f.tables("schedules"):
        item = ScheduleSpec(
            name=s.string("name", pattern=SCHEDULE_NAME, describe="a schedule name"),
            expression=s.string("expression", pattern=SCHEDULE, describe="cron(...), rate(...) or at(...)"),
            timezone=s.string("timezone", "UTC", pattern=TIMEZONE, describe="an IANA time zone"),
            min_count=s.integer("min_count", low=0, high=limits.SERVICE_COUNT_RANGE[1]),
            max_count=s.integer("max_count", low=0, high=limits.SERVICE_COUNT_RANGE[1]),
        )
        if item.min_count > item.max_count:
            raise s.error("min_count", f"{item.min_count} is greater than max_count {item.max_count}")
        if item.name in names:
            raise s.error("name", f"{item.name!r} is used by another schedule")
        names.add(item.name)
        s.done()
        schedules.append(item)
    spec = ScalingSpec(
        cpu_target=cpu,
        memory_target=memory,
        requests_per_target=requests,
        queue_backlog_per_task=backlog,
        scale_in_cooldown=f.integer("scale_in_cooldown", 300, low=0, high=86400),
        scale_out_cooldown=f.integer("scale_out_cooldown", 60, low=0, high=86400),
        schedules=tuple(schedules),
    )
    f.done()
    return spec


def _alarms(f: Fields) -> AlarmSpec:
    spec = AlarmSpec(
        cpu_high=f.integer("cpu_high", 85, low=1, high=100),
        memory_high=f.integer("memory_high", 85, low=1, high=100),
        http_5xx=f.integer("http_5xx", 10, low=1, high=1_000_000),
        queue_age_seconds=f.integer("queue_age_seconds", 600, low=60, high=1209600),
    )
    f.done()
    return spec


def _image(f: Fields) -> ImageSpec:
    source = f.choice("source", ImageSource, ImageSource.ECR)
    if source is ImageSource.EXTERNAL:
        uri = f.string("uri", pattern=IMAGE_URI, describe="an image URI with a tag or digest", max_len=512)
    else:
        if f.has("uri"):
            raise f.error("uri", "is only used with source = \"external\"")
        uri = f.string("uri", None)
    spec = ImageSpec(source=source, uri=uri, tag=f.string("tag", "bootstrap", pattern=IMAGE_TAG, describe="an image tag"))
    f.done()
    return spec


def _user(f: Fields) -> str:
    user = f.string("user", "10001", pattern=USER, describe="a user name or uid[:gid]", max_len=32)
    if user.split(":")[0] in {"0", "root"}:
        raise f.error("user", "containers must not run as root")
    return user


def _build(f: Fields) -> BuildSpec:
    dockerfile = f.relative_path("dockerfile", "Dockerfile")
    spec = BuildSpec(
        dockerfile=dockerfile.as_posix(),
        test_command=f.string("test_command", "python -m pytest -q tests", max_len=500),
    )
    f.done()
    return spec


def load_services(root: Path, env: EnvironmentSpec, known_envs: Iterable[str]) -> tuple[ServiceSpec, ...]:
    services_dir = root / "services"
    specs = []
    known = tuple(known_envs)
    for folder in sorted(p for p in services_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        manifest = folder / "service.toml"
        if not manifest.is_file():
            raise ConfigError(folder.relative_to(root).as_posix(), "", "has no service.toml")
        specs.append(load_service(root, manifest, env, known))
    _check_services(env, specs)
    return tuple(specs)


def _check_services(env: EnvironmentSpec, specs: Sequence[ServiceSpec]) -> None:
    by_name: dict[str, ServiceSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ConfigError(spec.file, "name", f"{spec.name!r} is already used by {by_name[spec.name].file}")
        by_name[spec.name] = spec
    for spec in specs:
        for i, caller in enumerate(spec.allow_from):
            if caller not in by_name:
                known = ", ".join(sorted(by_name))
                raise ConfigError(spec.file, f"allow_from[{i}]", f"{caller!r} is not a service (known: {known})")
        resource_name = f"{env.name}-{spec.name}"
        if not limits.LB_NAME.fullmatch(resource_name):
            raise ConfigError(spec.file, "name", f"{resource_name!r} (<env>-<name>) exceeds the 32-character target group name limit")
    routed = [(s, s.route) for s in specs if s.route is not None]
    for i, (a, route_a) in enumerate(routed):
        for b, route_b in routed[i + 1 :]:
            if set(route_a.paths) == set(route_b.paths) and set(route_a.hosts) == set(route_b.hosts):
                raise ConfigError(b.file, "routes", f"routes the same paths and hosts as {a.file}")
            if route_a.priority == route_b.priority:
                raise ConfigError(
                    b.file, "routes.priority", f"{route_b.priority} is also the priority of {a.file}; set routes.priority explicitly"
                )


# ---------------------------------------------------------------------------------
# The whole app
# ---------------------------------------------------------------------------------
def load_app(root: Path, *, environments: Sequence[str] | None = None, local_endpoint: str | None = None) -> AppSpec:
    """Load every environment (or the named ones) and every service manifest under `root`."""
    env_dir = root / "environments"
    files = sorted(env_dir.glob("*.toml")) if env_dir.is_dir() else []
    if not files:
        raise ConfigError("environments/", "", "holds no <env>.toml file")
    all_names = [p.stem for p in files]
    if environments:
        unknown = [name for name in environments if name not in all_names]
        if unknown:
            raise ConfigError("environments/", "", f"has no {unknown[0]}.toml (known: {', '.join(all_names)})")
        files = [p for p in files if p.stem in environments]
    envs = tuple(load_environment(root, path) for path in files)
    local = None
    if local_endpoint is not None:
        if not re.fullmatch(r"http://(127\.0\.0\.1|localhost):[0-9]{1,5}", local_endpoint):
            raise ConfigError("PLATFORM_LOCAL_ENDPOINT", "", f"{local_endpoint!r} must be http://127.0.0.1:<port> (loopback only)")
        local = LocalEndpoint(url=local_endpoint)
        # An emulator deployment is disposable: local state, and nothing that blocks destroy.
        envs = tuple(
            replace(env, backend=BackendSpec(kind=BackendKind.LOCAL), deletion_protection=False) for env in envs
        )
    services = {env.name: load_services(root, env, all_names) for env in envs}
    return AppSpec(environments=envs, services=services, local=local)
