"""Load and validate the checked-in configuration, once, into frozen specs.

    environments/<env>.toml      one file per environment      (schema: EnvironmentFile)
    services/<name>/service.toml one manifest per microservice (schema: ServiceFile)

The steps, for each file: read the TOML; fill in the defaults that depend on other values
(so they are validated exactly like typed ones); validate against the schema
(`infra.config.schema`: types, ranges, rules within the file); check what needs another
file (the environment a service runs in, the service folder, the other services); build
the frozen specs of `infra.config.specs`, which the constructs read. Every failure is one
`ConfigError` naming file and field; nothing is synthesized before all files pass.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import sys
import tomllib
import typing
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from infra.config import aws_tables, limits
from infra.config.errors import ConfigError, ConfigWarning, toml_key
from infra.config.schema import (
    ENV_NAME,
    MYSQL_EXTENDED_SUPPORT,
    DatabaseModel,
    NetworkModel,
    OVERRIDABLE,
    SECRET_LIKE,
    SECRETSMANAGER_ARN,
    SSM_ARN,
    TOPIC_REFERENCE,
    EnvironmentFile,
    Model,
    RouteModel,
    ServiceFile,
    StrategyItemModel,
    show,
    topic_variable,
)
from infra.config.sns_filter import SCOPES
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
    ClusterSpec,
    ConditionSpec,
    DatabaseSpec,
    DependencyCondition,
    DeploymentSpec,
    DeploymentStrategy,
    Ec2CapacitySpec,
    EnvironmentSpec,
    ExistingNetworkSpec,
    FileSystemSpec,
    HealthCheckSpec,
    ImportSpec,
    ImageSource,
    JobSpec,
    ImageSpec,
    LoadBalancerSpec,
    LocalEndpoint,
    LogDriver,
    LoggingSpec,
    NatMode,
    NetworkSpec,
    ObservabilitySpec,
    PeerEnvironment,
    PermissionSpec,
    PipelineSource,
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
    SidecarSpec,
    StrategyItem,
    SubscriptionSpec,
    TopicSpec,
    TraceCollector,
    TracingSpec,
    UlimitSpec,
    VolumeSpec,
)

__all__ = [
    "ConfigError", "SECRET_LIKE", "default_priority", "load_app", "load_environment", "load_services",
    "publisher_dependencies",
]

# Sections of an environment file that are tables with their own defaults.
ENV_SECTIONS = ("backend", "cluster", "load_balancer", "database", "access", "observability", "registry", "pipeline")


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
# Validation errors -> one `file: field: message` line
# ---------------------------------------------------------------------------------
_TYPE_ERRORS = {
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
}


def _inner(annotation: Any, part: str | int) -> Any:
    """The annotation one step below `annotation` along a validation location."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner(args[0], part)
    if origin in (list, tuple):
        return args[0] if args else None
    if origin is dict:
        return args[1]
    for arg in args:  # a union: the branch that has this key
        found = _inner(arg, part)
        if found is not None:
            return found
    return None


def _model_at(model: type[Model], loc: Sequence[str | int]) -> type[BaseModel] | None:
    annotation: Any = model
    for part in loc:
        annotation = _inner(annotation, part)
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _path(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{toml_key(part)}" if text else toml_key(part))
    return text


def _clean_loc(model: type[Model], loc: Sequence[str | int]) -> list[str | int]:
    """The error location without pydantic's own steps ('[key]', union branch tags)."""
    clean: list[str | int] = []
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, str) and ("[" in part or part in ("int", "bool", "str", "list", "dict")):
            parent = _model_at(model, clean)
            if parent is None or part not in parent.model_fields:
                continue
        clean.append(part)
    return clean


def _to_config_error(exc: ValidationError, model: type[Model], file: str, derived: Mapping[str, str]) -> ConfigError:
    errors = exc.errors(include_url=False)
    error = errors[0]
    if error["type"] == "missing":  # a misspelled required key: the typo is the news
        parent = error["loc"][:-1]
        error = next((e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent), error)
    loc = _clean_loc(model, error["loc"])
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    field = _path(loc)
    if kind == "config":
        message = ctx["message"]
        if ctx.get("field"):
            sub = ctx["field"]
            field = (f"{field}{sub}" if sub.startswith("[") else f"{field}.{sub}") if field else sub
    elif kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"unknown key{hint} (known keys: {', '.join(known)})"
    elif kind in _TYPE_ERRORS:
        message = f"{_TYPE_ERRORS[kind]}, got {type(value).__name__} {show(value)}"
    else:  # not expected: pydantic's own words, still on one line
        message = error["msg"]
    if field in derived:
        message = f"{message} (the default: {derived[field]})"
    return ConfigError(file, field, message)


def _validate(model: type[Model], data: Mapping[str, Any], file: str, derived: Mapping[str, str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _to_config_error(exc, model, file, derived) from None


# ---------------------------------------------------------------------------------
# Environments
# ---------------------------------------------------------------------------------
def _derive_subnets(
    vpc: ipaddress.IPv4Network, az_count: int
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """Split the VPC in eighths: six large private slots, then public and database tiers.

    With a /16: private /19s (8k addresses for tasks), public and database /22s.
    Slot positions depend only on the AZ index, so adding an AZ never moves a subnet.
    Public subnets are never smaller than /27 (the load balancer's minimum, see
    `limits.ALB_SUBNET_MAX_PREFIX`): from /16 to /21 they are a sixty-fourth of the VPC,
    in a /22 a thirty-second (four /27s, so a /22 holds at most four zones; the caller
    refuses more). The public tier may return fewer than `az_count` subnets.
    """
    eighths = list(vpc.subnets(new_prefix=vpc.prefixlen + 3))
    public_prefix = min(vpc.prefixlen + 6, limits.ALB_SUBNET_MAX_PREFIX)
    public = list(eighths[6].subnets(new_prefix=public_prefix))[:az_count]
    database = list(eighths[7].subnets(new_prefix=vpc.prefixlen + 6))[:az_count]
    return public, eighths[:az_count], database


def _default(model: type[Model], key: str) -> Any:
    """A key's default, as the schema declares it (computed defaults start from these)."""
    return model.model_fields[key].get_default(call_default_factory=True)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _environment_defaults(rel: str, data: Mapping[str, Any], name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The file with every computed default filled in, and which keys were filled (for the
    error message). Values of the wrong type are left for the schema to report."""
    data = dict(data)
    derived: dict[str, str] = {}
    production = data.get("production") is True

    def fill(table: dict[str, Any], key: str, value: Any, path: str, why: str) -> None:
        if key not in table:
            table[key] = value
            derived[path] = why

    fill(data, "deletion_protection", production, "deletion_protection", "production")
    fill(data, "namespace", f"{name}.internal", "namespace", "<env>.internal")
    sections: dict[str, dict[str, Any]] = {}
    for section in (*ENV_SECTIONS, "network"):
        if section not in data and section != "network":
            data[section] = {}
        if isinstance(data.get(section), Mapping):
            sections[section] = data[section] = dict(data[section])
    region = data.get("region")
    network = sections.get("network")
    if network is not None and "vpc_id" not in network:
        fill(network, "nat", NatMode.PER_AZ.value if production else NatMode.SINGLE.value, "network.nat", "per_az in production, else single")
        az_count = network.get("az_count", _default(NetworkModel, "az_count"))
        valid_count = _is_int(az_count) and limits.AZ_COUNT_RANGE[0] <= az_count <= limits.AZ_COUNT_RANGE[1]
        if "availability_zones" not in network and isinstance(region, str) and region in aws_tables.REGION_ZONES and valid_count:
            zones = aws_tables.zones_of(region)
            if region in aws_tables.ACCOUNT_MAPPED_ZONES:
                raise ConfigError(
                    rel,
                    "network.availability_zones",
                    f"is required in {region}: each account sees {aws_tables.ACCOUNT_MAPPED_ZONES[region]} of"
                    f" {', '.join(zones)}; list yours (aws ec2 describe-availability-zones)",
                )
            # AWS docs, "AWS Availability Zones": the zones a Region has.
            if az_count > len(zones):
                raise ConfigError(rel, "network.az_count", f"{az_count} exceeds the {len(zones)} availability zones of {region} ({', '.join(zones)})")
            fill(network, "availability_zones", list(zones[:az_count]), "network.availability_zones", f"the first {az_count} zones of {region}")
        try:
            vpc = ipaddress.IPv4Network(network.get("vpc_cidr"), strict=True)
        except (TypeError, ValueError):
            vpc = None
        if vpc is not None and 16 <= vpc.prefixlen <= 22 and valid_count:
            derived_tiers = _derive_subnets(vpc, az_count)
            public = derived_tiers[0]
            if "public_subnets" not in network and len(public) < az_count:
                # AWS docs, "Application Load Balancers" (Subnets for your load balancer): each
                # subnet at least /27 with at least 8 free addresses.
                raise ConfigError(
                    rel,
                    "network.vpc_cidr",
                    f"{vpc} is too small for {az_count} zones: public subnets must be at least"
                    f" /{limits.ALB_SUBNET_MAX_PREFIX} for the load balancer ({2 ** (32 - limits.ALB_SUBNET_MAX_PREFIX)} addresses),"
                    f" and the public slot of a /{vpc.prefixlen} ({public[0].supernet(new_prefix=vpc.prefixlen + 3)}) holds"
                    f" {len(public)}; use a /{vpc.prefixlen - 1} or larger, az_count <= {len(public)}, or list public_subnets",
                )
            for tier, nets in zip(("public_subnets", "private_subnets", "database_subnets"), derived_tiers):
                fill(network, tier, [str(net) for net in nets], f"network.{tier}", "derived from vpc_cidr")
    if "load_balancer" in sections:
        fill(sections["load_balancer"], "waf", production, "load_balancer.waf", "production")
    if "database" in sections:
        db = sections["database"]
        fill(db, "multi_az", production, "database.multi_az", "production")
        instance_class = db.get("instance_class", _default(DatabaseModel, "instance_class"))
        supports_pi = isinstance(instance_class, str) and not limits.RDS_NO_PERFORMANCE_INSIGHTS.fullmatch(instance_class)
        fill(db, "performance_insights", supports_pi, "database.performance_insights", "whether the instance class supports it")
        storage = db.get("allocated_storage", _default(DatabaseModel, "allocated_storage"))
        fill(db, "max_allocated_storage", max(100, storage) if _is_int(storage) else storage, "database.max_allocated_storage", "max(100, allocated_storage)")
    if "pipeline" in sections:
        pipeline = sections["pipeline"]
        fill(pipeline, "source", PipelineSource.CODESTAR.value if "connection_arn" in pipeline else PipelineSource.S3.value, "pipeline.source", "codestar with a connection_arn, else s3")
        fill(pipeline, "manual_approval", production, "pipeline.manual_approval", "production")
    if "backend" in sections and sections["backend"].get("type") == BackendKind.S3.value:
        fill(sections["backend"], "region", region, "backend.region", "the environment's region")
        fill(sections["backend"], "key_prefix", f"ecs-platform/{name}", "backend.key_prefix", "ecs-platform/<env>")
    return data, derived


def load_environment(root: Path, path: Path) -> EnvironmentSpec:
    rel, data = _read_toml(root, path)
    name = path.stem
    if not ENV_NAME.fullmatch(name):
        raise ConfigError(rel, "", f"environment name {name!r} (from the file name) must match {ENV_NAME.pattern}")
    filled, derived = _environment_defaults(rel, data, name)
    model: EnvironmentFile = _validate(EnvironmentFile, filled, rel, derived)
    return _environment_spec(model, name, rel)


# AWS docs, "MySQL on Amazon RDS versions" (Supported MySQL major versions on Amazon RDS):
# the end of RDS standard support of 8.0; RDS Extended Support (billed per vCPU-hour) since.
MYSQL_80_END_OF_STANDARD_SUPPORT = "2026-07-31"


def environment_warnings(env: EnvironmentSpec) -> list[ConfigWarning]:
    """What AWS accepts but advises against: printed once by `load_app`, never an error."""
    found = []
    if env.database.enabled and MYSQL_EXTENDED_SUPPORT.fullmatch(env.database.engine_version):
        found.append(
            ConfigWarning(
                env.file,
                "database.engine_version",
                f"{env.database.engine_version!r}: MySQL 8.0 left RDS standard support on {MYSQL_80_END_OF_STANDARD_SUPPORT}"
                " (RDS Extended Support is billed since); use 8.4 (see docs/UPGRADE.md)",
            )
        )
    return found


def _strategy(items: Iterable[StrategyItemModel]) -> tuple[StrategyItem, ...]:
    return tuple(StrategyItem(provider=CapacityProvider(i.provider), weight=i.weight, base=i.base) for i in items)


def _environment_spec(m: EnvironmentFile, name: str, rel: str) -> EnvironmentSpec:
    n, b, c, lb, db, p = m.network, m.backend, m.cluster, m.load_balancer, m.database, m.pipeline
    backend = BackendSpec(kind=BackendKind(b.type))
    if b.type == BackendKind.S3.value:
        backend = BackendSpec(
            kind=BackendKind.S3,
            s3=S3BackendSpec(
                bucket=b.bucket,
                region=b.region,
                key_prefix=b.key_prefix,
                workspace_key_prefix=b.workspace_key_prefix,
                use_lockfile=b.use_lockfile,
                dynamodb_table=b.dynamodb_table,
                kms_key_id=b.kms_key_id,
            ),
        )
    elif b.type == BackendKind.CLOUD.value:
        backend = BackendSpec(
            kind=BackendKind.CLOUD,
            cloud=CloudBackendSpec(organization=b.organization, hostname=b.hostname, workspace_prefix=b.workspace_prefix),
        )
    return EnvironmentSpec(
        name=name,
        file=rel,
        region=m.region,
        production=m.production,
        deletion_protection=m.deletion_protection,
        tags=dict(m.tags),
        network=_network_spec(n),
        backend=backend,
        cluster=ClusterSpec(
            container_insights=c.container_insights,
            default_strategy=_strategy(c.default_strategy),
            ec2=Ec2CapacitySpec(
                enabled=c.ec2.enabled,
                instance_type=c.ec2.instance_type,
                min_size=c.ec2.min_size,
                max_size=c.ec2.max_size,
                target_capacity=c.ec2.target_capacity,
            ),
        ),
        load_balancer=LoadBalancerSpec(
            certificate_arn=lb.certificate_arn,
            domain=lb.domain,
            ssl_policy=lb.ssl_policy,
            idle_timeout=lb.idle_timeout,
            waf=lb.waf,
            access_log_retention_days=lb.access_log_retention_days,
            ip_address_type=LOAD_BALANCER_IP_ADDRESS_TYPE,
            test_listener_port=lb.test_listener_port,
        ),
        database=DatabaseSpec(
            enabled=db.enabled,
            instance_class=db.instance_class,
            engine_version=db.engine_version,
            allocated_storage=db.allocated_storage,
            max_allocated_storage=db.max_allocated_storage,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            db_name=db.db_name,
            master_username=db.master_username,
            monitoring_interval=db.monitoring_interval,
            performance_insights=db.performance_insights,
            log_exports=tuple(db.log_exports),
        ),
        access=AccessSpec(enabled=m.access.enabled, key_name=m.access.key_name, instance_type=m.access.instance_type),
        observability=ObservabilitySpec(
            alarm_emails=tuple(m.observability.alarm_emails),
            log_retention_days=m.observability.log_retention_days,
            dashboard=m.observability.dashboard,
        ),
        registry=RegistrySpec(keep_images=m.registry.keep_images),
        pipeline=PipelineSpec(
            source=PipelineSource(p.source),
            connection_arn=p.connection_arn,
            repository=p.repository,
            branch=p.branch,
            manual_approval=p.manual_approval,
            # Linked to the other environment's spec once every environment is loaded (load_app).
            promote_from=None if p.promote_from is None else PeerEnvironment(name=p.promote_from, workspaces=True),
            promoted_to=None,
        ),
        namespace=m.namespace,
        hosted_zone_id=m.hosted_zone_id,
        account_id=m.account_id,
        imports=tuple(
            ImportSpec(to=i.to, id=i.id, file=rel, field=f"imports[{index}]") for index, i in enumerate(m.imports)
        ),
        file_systems=tuple(FileSystemSpec(name=f.name) for f in m.file_systems),
    )


# The platform's load balancer is IPv4 only (an IPv6 one needs IPv6 ranges in the VPC and its
# subnets, which the platform does not assign): services' custom domains get A aliases, no AAAA.
LOAD_BALANCER_IP_ADDRESS_TYPE = "ipv4"


def _network_spec(n: NetworkModel) -> NetworkSpec:
    if n.vpc_id is not None:
        return NetworkSpec(
            vpc_cidr=None,
            az_count=None,
            availability_zones=(),
            nat=None,
            admin_cidr=ipaddress.IPv4Network(n.admin_cidr),
            public_subnets=(),
            private_subnets=(),
            database_subnets=(),
            flow_log_retention_days=None,
            existing=ExistingNetworkSpec(
                vpc_id=n.vpc_id,
                public_subnet_ids=tuple(n.public_subnet_ids),
                private_subnet_ids=tuple(n.private_subnet_ids),
                database_subnet_ids=tuple(n.database_subnet_ids),
            ),
        )
    return NetworkSpec(
        vpc_cidr=ipaddress.IPv4Network(n.vpc_cidr),
        az_count=n.az_count,
        availability_zones=tuple(n.availability_zones),
        nat=NatMode(n.nat),
        admin_cidr=ipaddress.IPv4Network(n.admin_cidr),
        public_subnets=tuple(n.public_subnets),
        private_subnets=tuple(n.private_subnets),
        database_subnets=tuple(n.database_subnets),
        flow_log_retention_days=n.flow_log_retention_days,
        existing=None,
    )


# ---------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------
def default_priority(name: str, paths: Sequence[str], hosts: Sequence[str]) -> int:
    """A listener-rule priority that depends only on the service's own name.

    Adding or removing another service never moves it. Catch-all rules (only `/*`,
    no host) go last, so more specific rules of other services win.
    """
    digest = zlib.crc32(name.encode())
    if not hosts and set(paths) <= {"/*", "/"}:
        return 50000 - digest % 1000
    return 1000 + digest % 40000


def _service_defaults(data: Mapping[str, Any], folder: str, env: EnvironmentSpec) -> tuple[dict[str, Any], dict[str, str]]:
    data = dict(data)
    derived: dict[str, str] = {}

    def fill(table: dict[str, Any], key: str, value: Any, path: str, why: str) -> None:
        if key not in table:
            table[key] = value
            derived[path] = why

    fill(data, "name", Path(folder).name, "name", f"the folder name, {folder}")
    strategy = [{"provider": i.provider.value, "weight": i.weight, "base": i.base} for i in env.cluster.default_strategy]
    fill(data, "capacity", strategy, "capacity", f"cluster.default_strategy of {env.file}")
    if data.get("kind") == ServiceKind.JOB.value:
        return data, derived  # a job keeps no task count: nothing below applies
    desired = data.get("desired_count", _default(ServiceFile, "desired_count"))
    fill(data, "min_count", desired, "min_count", "desired_count")
    low = data["min_count"]
    fill(data, "max_count", max(desired, low) if _is_int(desired) and _is_int(low) else desired, "max_count", "max(desired_count, min_count)")
    if data.get("kind") == ServiceKind.WORKER.value:
        fill(data, "stop_timeout", WORKER_STOP_TIMEOUT, "stop_timeout", "60 for a worker")
        if "queue" not in data:
            data["queue"] = {}
        scaling = data.get("scaling", {})
        if isinstance(scaling, Mapping):
            data["scaling"] = dict(scaling)
            # Backlog per running task needs the task count: Container Insights' RunningTaskCount.
            if "queue_delay" not in data["scaling"] and env.cluster.container_insights:
                fill(data["scaling"], "queue_backlog_per_task", 100, "scaling.queue_backlog_per_task", "100 for a worker")
    return data, derived


# Seconds a worker gets between SIGTERM and SIGKILL by default: time to finish its batch.
WORKER_STOP_TIMEOUT = 60


def _check_overrides(rel: str, overrides: Any, known_envs: Sequence[str]) -> None:
    if not isinstance(overrides, Mapping):
        raise ConfigError(rel, "overrides", "must be a table of [overrides.<environment>] tables")
    for env_name, table in overrides.items():
        if env_name not in known_envs:
            raise ConfigError(rel, f"overrides.{toml_key(env_name)}", f"names no environment (known: {', '.join(known_envs)})")
        if not isinstance(table, Mapping):
            raise ConfigError(rel, f"overrides.{toml_key(env_name)}", "must be a table")
        for key in table:
            if key not in OVERRIDABLE:
                close = difflib.get_close_matches(key, OVERRIDABLE, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(rel, f"overrides.{toml_key(env_name)}.{toml_key(key)}", f"cannot be overridden{hint} (allowed: {', '.join(OVERRIDABLE)})")


# Override tables merged key by key over the manifest's table (the others replace it).
MERGED_OVERRIDES = ("environment", "scaling", "routes", "deployment")
# Keys that moved into a table: the old place is refused with where they are now.
MOVED_KEYS = {"min_healthy_percent": "min_healthy_percent", "max_percent": "max_percent"}


def load_service(root: Path, path: Path, env: EnvironmentSpec, known_envs: Iterable[str]) -> ServiceSpec:
    rel, data = _read_toml(root, path)
    overrides = data.pop("overrides", {})
    _check_overrides(rel, overrides, sorted(known_envs))
    own = overrides.get(env.name, {})
    merged = dict(data)
    for key in MOVED_KEYS:
        if key in data:
            raise ConfigError(rel, key, f"moved: set it under [deployment] ({MOVED_KEYS[key]}), per environment under [overrides.<env>.deployment]")
    for key, value in own.items():
        if key in MERGED_OVERRIDES and isinstance(value, Mapping) and isinstance(data.get(key, {}), Mapping):
            merged[key] = {**data.get(key, {}), **value}
        else:
            merged[key] = value
    folder = path.parent.relative_to(root).as_posix()
    try:
        filled, derived = _service_defaults(merged, folder, env)
        model: ServiceFile = _validate(ServiceFile, filled, rel, derived)
        _check_against_environment(model, env, rel)
        _check_containers_against_environment(model, env, rel)
        return replace(_service_spec(model, path.parent, rel), imports=_service_imports(model, env, rel, sorted(known_envs)))
    except ConfigError as exc:
        top = re.split(r"[.\[]", exc.field)[0]
        if top in own:
            raise ConfigError(rel, f"overrides.{env.name}.{exc.field}", exc.message) from None
        raise


def _service_imports(m: ServiceFile, env: EnvironmentSpec, rel: str, known_envs: Sequence[str]) -> tuple[ImportSpec, ...]:
    """The manifest's imports into this environment's stack (`environments` absent: every one)."""
    found = []
    for i, entry in enumerate(m.imports):
        for j, name in enumerate(entry.environments or ()):
            if name not in known_envs:
                raise ConfigError(rel, f"imports[{i}].environments[{j}]", f"{name!r} names no environment (known: {', '.join(known_envs)})")
        if entry.environments is None or env.name in entry.environments:
            found.append(ImportSpec(to=entry.to, id=entry.id, file=rel, field=f"imports[{i}]"))
    return tuple(found)


def _check_against_environment(m: ServiceFile, env: EnvironmentSpec, rel: str) -> None:
    """Rules that need the environment the service runs in."""
    providers = {item.provider for item in m.capacity}
    if CapacityProvider.EC2.value in providers and not env.cluster.ec2.enabled:
        raise ConfigError(rel, "capacity", f"uses EC2 but cluster.ec2.enabled is false in {env.file}")
    if m.database and not env.database.enabled:
        raise ConfigError(rel, "database", f"is true but the database is disabled in {env.file}")
    if m.routes is not None and m.routes.hosts:
        _check_hosts(m, env, rel)
    if m.deployment.strategy == DeploymentStrategy.BLUE_GREEN.value and env.load_balancer.test_listener_port is None:
        # CodeDeploy starts the new task set in the second target group, which a listener must
        # forward to: the platform's shared test listener (infra.service.blue_green).
        raise ConfigError(
            rel,
            "deployment.strategy",
            f"blue_green needs the load balancer's test listener: set [load_balancer] test_listener_port in {env.file}",
        )
    if not env.cluster.container_insights:
        # The backlog per task divides by Container Insights' RunningTaskCount ("Create a
        # target tracking scaling policy for Application Auto Scaling using metric math").
        for key in ("queue_backlog_per_task", "queue_delay"):
            if getattr(m.scaling, key) is not None:
                raise ConfigError(
                    rel, f"scaling.{key}", f"needs the running task count from Container Insights: cluster.container_insights is false in {env.file}"
                )
    fargate = providers - {CapacityProvider.EC2.value}
    if fargate:
        # AWS docs, "Amazon ECS task definition parameters for Fargate" (Task size).
        if m.cpu not in limits.FARGATE_MEMORY:
            shown = ", ".join(map(str, limits.FARGATE_MEMORY))
            raise ConfigError(rel, "cpu", f"{m.cpu} is not allowed (valid: {shown})")
        allowed = limits.FARGATE_MEMORY[m.cpu]
        if m.memory not in allowed:
            shown = ", ".join(map(str, allowed))
            raise ConfigError(rel, "memory", f"{m.memory} is not valid with cpu={m.cpu} on Fargate (valid: {shown})")
    else:
        instance_type = env.cluster.ec2.instance_type
        # AWS docs, "Specifying the ARM architecture in an Amazon ECS task definition" and
        # "Amazon EC2 instance types": a task's cpuArchitecture must be its container
        # instance's; ECS never places an ARM64 task on x86_64 instances (nor an X86_64 task
        # on Graviton), so the service would never run a task.
        host = aws_tables.instance_architecture(instance_type)
        if m.architecture != host:
            raise ConfigError(
                rel,
                "architecture",
                f"{m.architecture} cannot run on the EC2 capacity: {instance_type} (cluster.ec2.instance_type in {env.file})"
                f" is {'a Graviton (ARM64)' if host == 'ARM64' else 'an x86_64'} instance type; use"
                f" {'a Graviton type (e.g. m7g.large)' if host == 'X86_64' else 'an x86_64 type'}, architecture = {host!r}, or Fargate capacity",
            )
        capacity = aws_tables.instance_capacity(instance_type)
        if capacity is not None:
            units, mib = capacity
            if m.cpu > units:
                raise ConfigError(rel, "cpu", f"{m.cpu} does not fit {instance_type} ({units} CPU units), the EC2 instance type in {env.file}")
            if m.memory >= mib:
                raise ConfigError(
                    rel, "memory", f"{m.memory} MiB does not fit {instance_type} ({mib} MiB, part of it kept by ECS and the OS), the EC2 instance type in {env.file}"
                )


def _check_hosts(m: ServiceFile, env: EnvironmentSpec, rel: str) -> None:
    """Custom domains need the environment's zone (the certificate is validated and the alias
    records are created in it) and an HTTPS listener (the certificate goes into its list)."""
    if env.hosted_zone_id is None:
        raise ConfigError(
            rel,
            "routes.hosts",
            f"needs hosted_zone_id in {env.file}: the public Route 53 zone the hosts' certificate is validated in"
            " and their alias records are created in",
        )
    if not env.load_balancer.https:
        # AWS docs, "SSL certificates for your Application Load Balancer"
        # (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html):
        # a listener's certificate list belongs to an HTTPS listener, which has a default certificate.
        raise ConfigError(
            rel,
            "routes.hosts",
            f"needs HTTPS on the load balancer: set [load_balancer] certificate_arn or domain in {env.file}"
            " (the hosts' certificate is added to the HTTPS listener)",
        )


def _check_containers_against_environment(m: ServiceFile, env: EnvironmentSpec, rel: str) -> None:
    """Container options whose validity depends on the capacity (Fargate or EC2) and the
    environment's shared file systems."""
    fargate = any(item.provider != CapacityProvider.EC2.value for item in m.capacity)
    if not fargate and m.ephemeral_storage is not None:
        # AWS docs, "EphemeralStorage" (Amazon ECS API Reference): "for tasks hosted on AWS
        # Fargate"; on EC2 a task's storage is its container instance's volume.
        raise ConfigError(rel, "ephemeral_storage", "is only for Fargate tasks; on EC2 capacity a task uses its instance's volume (size it in the launch template)")
    if fargate:
        # AWS docs, "ContainerDefinition" (stopTimeout): "For tasks that use the Fargate launch
        # type, the max stop timeout value is 120 seconds".
        if m.stop_timeout is not None and m.stop_timeout > limits.FARGATE_STOP_TIMEOUT_MAX:
            raise ConfigError(rel, "stop_timeout", f"{m.stop_timeout} exceeds {limits.FARGATE_STOP_TIMEOUT_MAX}, the most Fargate waits before it stops a container")
        # AWS docs, "Ulimit" (Amazon ECS API Reference): Fargate tasks use the operating system's
        # limits "with the exception of the nofile resource limit parameter which AWS Fargate overrides".
        for i, ulimit in enumerate(m.ulimits):
            if ulimit.name not in limits.FARGATE_ULIMITS:
                raise ConfigError(rel, f"ulimits[{i}].name", f"{ulimit.name!r} cannot be changed on Fargate, which keeps the operating system's limits except nofile")
            if ulimit.hard > limits.FARGATE_NOFILE_MAX:
                raise ConfigError(rel, f"ulimits[{i}].hard", f"{ulimit.hard} exceeds {limits.FARGATE_NOFILE_MAX}, the most open files a Fargate container may have")
    shared = {fs.name for fs in env.file_systems}
    for i, volume in enumerate(m.volumes):
        if volume.file_system is not None and volume.file_system not in shared:
            known = ", ".join(sorted(shared)) or "none"
            raise ConfigError(rel, f"volumes[{i}].file_system", f"{volume.file_system!r} is not a [[file_systems]] entry of {env.file} (known: {known})")


def _secret(value: str) -> SecretRef:
    if SECRETSMANAGER_ARN.fullmatch(value):
        return SecretRef(kind="secretsmanager", arn=value, name=value)
    if SSM_ARN.fullmatch(value):
        return SecretRef(kind="ssm", arn=value, name=value)
    if value.startswith("ssm:"):
        return SecretRef(kind="ssm", arn=None, name=value[4:])
    return SecretRef(kind="secretsmanager", arn=None, name=value[len("secretsmanager:"):])


def _service_spec(m: ServiceFile, directory: Path, rel: str) -> ServiceSpec:
    kind = ServiceKind(m.kind)
    counted = kind is not ServiceKind.JOB  # a job keeps no task count
    route = None
    if m.routes is not None:
        r = m.routes
        if r.priority is None:  # the computed default, validated like a given one
            priority = default_priority(m.name, r.paths, r.hosts)
            r = _validate(RouteModel, {"paths": list(r.paths), "hosts": list(r.hosts), "priority": priority}, rel, {})
        route = RouteSpec(paths=tuple(r.paths), hosts=tuple(r.hosts), priority=r.priority)
    s = m.scaling
    hc = m.health_check
    return ServiceSpec(
        name=m.name,
        file=rel,
        directory=directory,
        kind=kind,
        image=ImageSpec(source=ImageSource(m.image.source), uri=m.image.uri, tag=m.image.tag),
        cpu=m.cpu,
        memory=m.memory,
        architecture=Architecture(m.architecture),
        port=m.port,
        capacity=_strategy(m.capacity),
        desired_count=m.desired_count if counted else 0,
        min_count=m.min_count if counted else 0,
        max_count=m.max_count if counted else 0,
        health_check=HealthCheckSpec(
            path=hc.path,
            interval=hc.interval,
            timeout=hc.timeout,
            healthy_threshold=hc.healthy_threshold,
            unhealthy_threshold=hc.unhealthy_threshold,
            grace_period=hc.grace_period,
            matcher=hc.matcher,
        ),
        route=route,
        environment=dict(m.environment),
        secrets={var: _secret(value) for var, value in m.secrets.items()},
        database=m.database,
        queue=None
        if m.queue is None
        else QueueSpec(
            visibility_timeout=m.queue.visibility_timeout,
            retention_seconds=m.queue.retention_seconds,
            max_receive_count=m.queue.max_receive_count,
        ),
        scaling=ScalingSpec(
            cpu_target=None if s.cpu_target is False else s.cpu_target,
            memory_target=s.memory_target,
            requests_per_target=s.requests_per_target,
            queue_backlog_per_task=_backlog_per_task(s),
            scale_in_cooldown=s.scale_in_cooldown,
            scale_out_cooldown=s.scale_out_cooldown,
            schedules=tuple(
                ScheduleSpec(name=i.name, expression=i.expression, timezone=i.timezone, min_count=i.min_count, max_count=i.max_count)
                for i in s.schedules
            ),
        ),
        alarms=AlarmSpec(
            cpu_high=m.alarms.cpu_high,
            memory_high=m.alarms.memory_high,
            http_5xx=m.alarms.http_5xx,
            queue_age_seconds=m.alarms.queue_age_seconds,
        ),
        read_only_root_filesystem=m.read_only_root_filesystem,
        user=m.user,
        enable_exec=m.enable_exec,
        deployment=DeploymentSpec(
            strategy=DeploymentStrategy(m.deployment.strategy),
            rollback_alarms=m.deployment.alarm_purposes(m.kind),
            min_healthy_percent=m.deployment.min_healthy_percent,
            max_percent=m.deployment.max_percent,
            termination_wait=m.deployment.termination_wait,
        ),
        build=BuildSpec(dockerfile=m.build.dockerfile, test_command=m.build.test_command),
        command=m.command,
        entrypoint=m.entrypoint,
        ephemeral_storage=m.ephemeral_storage,
        stop_timeout=m.stop_timeout,
        ulimits=tuple(UlimitSpec(name=u.name, soft=u.soft, hard=u.hard) for u in m.ulimits),
        depends_on={name: DependencyCondition(condition) for name, condition in m.depends_on.items()},
        sidecars=tuple(
            SidecarSpec(
                name=c.name,
                image=c.image,
                port=c.port,
                essential=c.essential,
                depends_on={name: DependencyCondition(condition) for name, condition in c.depends_on.items()},
                environment=dict(c.environment),
                secrets={var: _secret(value) for var, value in c.secrets.items()},
                command=c.command,
                user=c.user,
                read_only_root_filesystem=c.read_only_root_filesystem,
            )
            for c in m.sidecars
        ),
        logging=LoggingSpec(driver=LogDriver(m.logging.driver), image=m.logging.image),
        tracing=None if m.tracing is None else TracingSpec(collector=TraceCollector(m.tracing.collector), image=m.tracing.image),
        volumes=tuple(VolumeSpec(name=v.name, path=v.path, read_only=v.read_only, file_system=v.file_system) for v in m.volumes),
        allow_from=tuple(m.allow_from),
        connect=m.connect,
        permissions=tuple(
            PermissionSpec(
                actions=tuple(p.actions),
                resources=tuple(p.resources),
                conditions=tuple(ConditionSpec(test=c.test, variable=c.variable, values=tuple(c.values)) for c in p.conditions),
            )
            for p in m.permissions
        ),
        publish=tuple(TopicSpec(name=topic, variable=topic_variable(topic)) for topic in m.publish),
        subscribe=tuple(_subscription(s) for s in m.subscribe),
        job=None if counted else JobSpec(schedule=m.schedule, timezone=m.timezone, timeout=m.timeout, retries=m.retries),
    )


def _subscription(s: Any) -> SubscriptionSpec:
    reference = TOPIC_REFERENCE.fullmatch(s.topic)
    return SubscriptionSpec(
        service=reference["service"],
        topic=reference["topic"],
        filter_policy=s.filter,
        filter_scope=SCOPES[s.filter_scope],
        raw_message_delivery=s.raw_message_delivery,
    )


def _backlog_per_task(s: Any) -> int | None:
    """The backlog per task a worker tracks: given, or from its latency target (a message that
    arrives behind N others per task waits N x the time per message)."""
    if s.queue_delay is None:
        return s.queue_backlog_per_task
    return max(1, (s.queue_delay.acceptable_latency * 1000) // s.queue_delay.msg_processing_ms)


def _service_folders(root: Path) -> list[Path]:
    """Every service folder; anything else in services/ is refused, not skipped."""
    services_dir = root / "services"
    if not services_dir.is_dir():
        return []
    folders = []
    for entry in sorted(services_dir.iterdir()):
        rel = entry.relative_to(root).as_posix()
        if entry.name.startswith((".", "__pycache__")):
            continue
        if entry.is_symlink() and not entry.exists():
            raise ConfigError(rel, "", f"is a broken symbolic link (to {entry.readlink()})")
        if not entry.is_dir():
            raise ConfigError(rel, "", "is not a service folder (services/ holds one folder per service, each with a service.toml)")
        if not (entry / "service.toml").is_file():
            raise ConfigError(rel, "", "has no service.toml")
        folders.append(entry)
    return folders


def load_services(root: Path, env: EnvironmentSpec, known_envs: Iterable[str]) -> tuple[ServiceSpec, ...]:
    known = tuple(known_envs)
    specs = [load_service(root, folder / "service.toml", env, known) for folder in _service_folders(root)]
    _check_services(env, specs)
    for spec in specs:
        _check_dockerfile(spec)
    return _resolve_references(env, specs)


# `${service.<name>.url}` in an [environment] value: where another service of the same
# environment answers, resolved per environment (so a new environment copied from dev
# points at its own services, not dev's).
SERVICE_REFERENCE = re.compile(r"\$\{service\.([^.}]*)\.([^}]*)\}")


def service_url(env: EnvironmentSpec, spec: ServiceSpec, *, caller_connect: bool = True) -> str:
    """A service's address inside the VPC: its Cloud Map name in the environment's namespace,
    or, with `connect = true`, its Service Connect endpoint (infra.service.connect: the
    client alias `<name>` on its port, answered by the Service Connect proxy of the caller's
    task). `caller_connect=False`: the caller runs no Service Connect proxy, so it gets the
    Cloud Map DNS name, which a Service Connect backend keeps too."""
    if spec.connect and caller_connect:
        return f"http://{spec.name}:{spec.port}"
    return f"http://{spec.name}.{env.namespace}:{spec.port}"


def _resolve_references(env: EnvironmentSpec, specs: Sequence[ServiceSpec]) -> tuple[ServiceSpec, ...]:
    by_name = {s.name: s for s in specs}
    resolved = []
    for spec in specs:
        environment = _resolved_environment(env, spec, by_name, spec.environment, "environment")
        # A sidecar reaches the same services as the service's container (one task, one group).
        sidecars = tuple(
            replace(s, environment=_resolved_environment(env, spec, by_name, s.environment, f"sidecars[{i}].environment"))
            for i, s in enumerate(spec.sidecars)
        )
        resolved.append(replace(spec, environment=environment, sidecars=sidecars))
    return tuple(resolved)


def _resolved_environment(
    env: EnvironmentSpec, spec: ServiceSpec, by_name: Mapping[str, ServiceSpec], values: Mapping[str, str], where: str
) -> dict[str, str]:
    """`values` with each `${service.<name>.url}` resolved (one container's environment)."""
    environment = {}
    for var, value in values.items():
        field = f"{where}.{var}"

        def url(match: re.Match[str], spec: ServiceSpec = spec, field: str = field) -> str:
            name, attribute = match.group(1), match.group(2)
            target = by_name.get(name)
            if target is None:
                known = ", ".join(sorted(by_name))
                raise ConfigError(spec.file, field, f"refers to service {name!r}, which does not exist (known: {known})")
            if attribute != "url":
                raise ConfigError(spec.file, field, f"${{service.{name}.{attribute}}}: a service offers only .url")
            if target.kind is not ServiceKind.BACKEND:
                why = "is reached through the load balancer" if target.kind is ServiceKind.WEB else "accepts no connections"
                raise ConfigError(spec.file, field, f"refers to {name!r}, a {target.kind.value} service, which {why}")
            if spec.name not in target.allow_from:
                raise ConfigError(
                    spec.file, field, f"refers to {name!r}, whose allow_from does not list {spec.name!r}: its tasks could not connect"
                )
            # The short name <target> of a Service Connect backend resolves only inside tasks
            # that run the Service Connect proxy (AWS docs, "Amazon ECS Service Connect",
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect.html).
            # A caller without connect (e.g. a blue/green web service: Service Connect is not
            # supported with the CODE_DEPLOY controller) gets the backend's Cloud Map DNS name
            # instead, which every service keeps beside Service Connect (infra.service.route's
            # DNS service, the ECS service's service_registries in infra.service.composer).
            return service_url(env, target, caller_connect=spec.connect)

        value = SERVICE_REFERENCE.sub(url, value)
        if "${" in value or "%{" in value:
            # Terraform would read it as an interpolation or a template directive.
            raise ConfigError(spec.file, field, "holds '${' or '%{'; the only reference allowed is ${service.<name>.url}")
        environment[var] = value
    return environment


def _check_dockerfile(spec: ServiceSpec) -> None:
    """An image from ECR is built by the service's pipeline from its Dockerfile."""
    if spec.image.source is ImageSource.ECR and not (spec.directory / spec.build.dockerfile).is_file():
        raise ConfigError(
            spec.file, "build.dockerfile", f"{spec.build.dockerfile!r} does not exist in {spec.directory.name}/ (an ecr image is built from it)"
        )


def _check_services(env: EnvironmentSpec, specs: Sequence[ServiceSpec]) -> None:
    # AWS docs, "Quotas for your Application Load Balancers": 100 rules per load balancer
    # besides the default ones; each web service adds one to each listener.
    web = [s for s in specs if s.route is not None]
    if len(web) > limits.RULES_PER_LOAD_BALANCER:
        raise ConfigError(
            web[limits.RULES_PER_LOAD_BALANCER].file,
            "routes",
            f"is web service number {limits.RULES_PER_LOAD_BALANCER + 1}; a load balancer holds {limits.RULES_PER_LOAD_BALANCER} rules",
        )
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
        second = f"{resource_name}{limits.SECOND_TARGET_GROUP_SUFFIX}"
        if spec.deployment.blue_green and not limits.LB_NAME.fullmatch(second):
            raise ConfigError(
                spec.file,
                "deployment.strategy",
                f"blue_green needs a second target group {second!r}, longer than the 32 characters AWS allows a target"
                " group name: shorten the service name",
            )
    _check_subscriptions(env, by_name)
    _check_domains(specs)
    routed = [(s, s.route) for s in specs if s.route is not None]
    for i, (a, route_a) in enumerate(routed):
        for b, route_b in routed[i + 1 :]:
            if set(route_a.paths) == set(route_b.paths) and set(route_a.hosts) == set(route_b.hosts):
                raise ConfigError(b.file, "routes", f"routes the same paths and hosts as {a.file}")
            if route_a.priority == route_b.priority:
                raise ConfigError(
                    b.file, "routes.priority", f"{route_b.priority} is also the priority of {a.file}; set routes.priority explicitly"
                )


def _check_subscriptions(env: EnvironmentSpec, by_name: Mapping[str, ServiceSpec]) -> None:
    """A worker subscribes only to a topic some service of the environment publishes: SNS would
    refuse the subscription (NotFound) at apply, after the queue policy was written."""
    published = sorted(f"{s.name}.{t.name}" for s in by_name.values() for t in s.publish)
    for spec in by_name.values():
        for i, subscription in enumerate(spec.subscribe):
            reference = f"{subscription.service}.{subscription.topic}"
            if reference in published:
                continue
            publisher = by_name.get(subscription.service)
            if publisher is None:
                why = f"there is no service {subscription.service!r} in {env.name} (known: {', '.join(sorted(by_name))})"
            elif not publisher.publish:
                why = f"{publisher.name} publishes no topic (publish = [...] in {publisher.file})"
            else:
                why = f"{publisher.name} publishes {', '.join(t.name for t in publisher.publish)}"
            close = difflib.get_close_matches(reference, published, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise ConfigError(spec.file, f"subscribe[{i}].topic", f'"{reference}" is not published: {why}{hint}')


def _allow_from_needs(specs: Iterable[ServiceSpec]) -> dict[str, set[str]]:
    """service -> the services whose stacks it is applied after for its allow_from (a backend
    finds its callers' security groups by name, so they must exist: infra.app)."""
    specs = list(specs)
    names = {s.name for s in specs}
    return {s.name: {c for c in s.allow_from if c in names} for s in specs}


def publisher_dependencies(specs: Iterable[ServiceSpec]) -> dict[str, tuple[str, ...]]:
    """subscriber -> the publishers its stack is applied after (its subscriptions need their
    topics): every publisher of its `subscribe`, except one that is itself applied after the
    subscriber through allow_from (directly or not), which would make a loop no order could
    apply. `subscription_warnings` names those."""
    specs = list(specs)
    needs = _allow_from_needs(specs)
    names = {s.name for s in specs}
    found: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        publishers = sorted({s.service for s in spec.subscribe} & names - {spec.name})
        found[spec.name] = tuple(p for p in publishers if _path_between(needs, p, spec.name) is None)
    return found


def subscription_warnings(specs: Sequence[ServiceSpec]) -> list[ConfigWarning]:
    """A subscription whose publisher is applied after the subscriber (allow_from): on a new
    environment the subscriber's first apply stops at that subscription (SNS: NotFound)."""
    needs = _allow_from_needs(specs)
    found = []
    for spec in specs:
        for i, subscription in enumerate(spec.subscribe):
            if subscription.service == spec.name:
                continue
            chain = _path_between(needs, subscription.service, spec.name)
            if chain is None:
                continue
            found.append(
                ConfigWarning(
                    spec.file,
                    f"subscribe[{i}].topic",
                    f'"{subscription.service}.{subscription.topic}": {subscription.service} is applied after {spec.name}'
                    f" (allow_from: {' -> '.join(chain)}), so on a new environment the first apply of {spec.name} stops at"
                    f" this subscription (SNS: NotFound): apply {subscription.service}, then {spec.name} again",
                )
            )
    return found


def _path_between(needs: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The services from `start` to `goal` following `needs` (depth first), or None."""
    stack, seen = [[start]], {start}
    while stack:
        path = stack.pop()
        if path[-1] == goal:
            return path
        for nxt in sorted(needs.get(path[-1], ())):
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*path, nxt])
    return None
def _check_domains(specs: Sequence[ServiceSpec]) -> None:
    """A host belongs to one service (its certificate and its alias record live in that
    service's stack), and the HTTPS listener holds a limited number of certificates."""
    owner: dict[str, ServiceSpec] = {}
    with_hosts = [s for s in specs if s.route is not None and s.route.hosts]
    for spec in with_hosts:
        for i, host in enumerate(spec.route.hosts):  # type: ignore[union-attr]
            if host in owner:
                raise ConfigError(
                    spec.file,
                    f"routes.hosts[{i}]",
                    f"{host!r} is also a host of {owner[host].file}: a host's certificate and alias record belong to"
                    " one service (route by path within that service, or use another host)",
                )
            owner[host] = spec
    if len(with_hosts) > limits.CERTIFICATES_PER_LOAD_BALANCER:
        raise ConfigError(
            with_hosts[limits.CERTIFICATES_PER_LOAD_BALANCER].file,
            "routes.hosts",
            f"is web service number {limits.CERTIFICATES_PER_LOAD_BALANCER + 1} with hosts; the HTTPS listener holds"
            f" {limits.CERTIFICATES_PER_LOAD_BALANCER} certificates besides its default one",
        )


# ---------------------------------------------------------------------------------
# The whole app
# ---------------------------------------------------------------------------------
def _environment_files(root: Path) -> list[Path]:
    env_dir = root / "environments"
    if not env_dir.is_dir():
        raise ConfigError("environments/", "", "is missing: it holds one <env>.toml file per environment")
    files = []
    for entry in sorted(env_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.suffix != ".toml" or not entry.is_file():
            rel = entry.relative_to(root).as_posix()
            raise ConfigError(rel, "", "is not an <env>.toml file (environments/ holds only those)")
        files.append(entry)
    if not files:
        raise ConfigError("environments/", "", "holds no <env>.toml file")
    return files


def load_app(root: Path, *, environments: Sequence[str] | None = None, local_endpoint: str | None = None) -> AppSpec:
    """Load every environment (or the named ones) and every service manifest under `root`.

    Every environment file is read even when only some are named: which environment's
    pipelines deploy which (`[pipeline] promote_from`) is a rule between two files."""
    files = _environment_files(root)
    all_names = [p.stem for p in files]
    if environments:
        unknown = [name for name in environments if name not in all_names]
        if unknown:
            raise ConfigError("environments/", "", f"has no {unknown[0]}.toml (known: {', '.join(all_names)})")
    every = tuple(load_environment(root, path) for path in files)
    local = None
    if local_endpoint is not None:
        if not re.fullmatch(r"http://(127\.0\.0\.1|localhost):[0-9]{1,5}", local_endpoint):
            raise ConfigError("PLATFORM_LOCAL_ENDPOINT", "", f"{local_endpoint!r} must be http://127.0.0.1:<port> (loopback only)")
        local = LocalEndpoint(url=local_endpoint)
        # An emulator deployment is disposable: local state, nothing that blocks destroy, and
        # the emulator's own account.
        every = tuple(
            replace(env, backend=BackendSpec(kind=BackendKind.LOCAL), deletion_protection=False, account_id=None) for env in every
        )
    every = _link_promotions(every)
    envs = tuple(env for env in every if not environments or env.name in environments)
    services = {env.name: load_services(root, env, all_names) for env in envs}
    services = _link_upstream_strategies(root, every, services, all_names)
    # Only once everything loaded (an error stops the load with one line, and no warnings).
    warnings = tuple(str(w) for env in envs for w in environment_warnings(env)) + tuple(
        dict.fromkeys(str(w) for env in envs for w in subscription_warnings(services[env.name]))
    )
    for line in printed_warnings(warnings):
        print(line, file=sys.stderr)
    return AppSpec(environments=envs, services=services, local=local, warnings=warnings)


def printed_warnings(warnings: Sequence[str]) -> list[str]:
    """The stderr lines `load_app` prints for its warnings."""
    return [f"warning: {line}" for line in warnings]


# ---------------------------------------------------------------------------------
# Build once, promote: `[pipeline] promote_from`
# ---------------------------------------------------------------------------------
def _peer(env: EnvironmentSpec) -> PeerEnvironment:
    return PeerEnvironment(name=env.name, workspaces=env.backend.kind is not BackendKind.CLOUD)


def _link_promotions(envs: Sequence[EnvironmentSpec]) -> tuple[EnvironmentSpec, ...]:
    """Check each `promote_from` against the environment it names, and tell that environment
    whose pipelines deploy it. What is supported: one hop (an environment that is not itself
    promoted), one promoter per environment, one Region and one account: the home
    environment's pipeline deploys the other environment's ECS service with its own role, and
    CodePipeline keeps one artifact store per Region."""
    by_name = {env.name: env for env in envs}
    promoter: dict[str, EnvironmentSpec] = {}
    linked = dict(by_name)
    for env in envs:
        source = env.pipeline.promote_from
        if source is None:
            continue
        field = "pipeline.promote_from"
        upstream = by_name.get(source.name)
        if upstream is None:
            raise ConfigError(env.file, field, f"{source.name!r} names no environment (known: {', '.join(sorted(by_name))})")
        if upstream.name == env.name:
            raise ConfigError(env.file, field, "names this environment itself")
        if upstream.pipeline.promote_from is not None:
            raise ConfigError(
                env.file,
                field,
                f"{upstream.name} is itself promoted from {upstream.pipeline.promote_from.name} ({upstream.file}): a chain of"
                " promotions is not supported; promote every environment from the one that builds",
            )
        if upstream.name in promoter:
            raise ConfigError(
                env.file,
                field,
                f"{promoter[upstream.name].file} promotes from {upstream.name} already: one environment's pipelines deploy it",
            )
        if upstream.region != env.region:
            raise ConfigError(
                env.file,
                field,
                f"{upstream.name} is in {upstream.region}, {env.name} in {env.region}: one pipeline deploys both only within one"
                " Region (CodePipeline needs an artifact store in every Region an action runs in); leave promote_from out to"
                " build in each environment",
            )
        if upstream.account_id != env.account_id:
            known = [f"{e.name}: {e.account_id or 'not set'}" for e in (upstream, env)]
            raise ConfigError(
                env.file,
                field,
                f"promotes across AWS accounts or cannot tell ({'; '.join(known)}): the pipeline deploys {upstream.name} with"
                " its own role in one account; set the same account_id in both files, or leave promote_from out to build in"
                " each environment",
            )
        promoter[upstream.name] = env
        linked[env.name] = replace(env, pipeline=replace(env.pipeline, promote_from=_peer(upstream)))
    for name, env in promoter.items():
        upstream = linked[name]
        linked[name] = replace(upstream, pipeline=replace(upstream.pipeline, promoted_to=_peer(env)))
    return tuple(linked[env.name] for env in envs)


def _link_upstream_strategies(
    root: Path,
    every: Sequence[EnvironmentSpec],
    services: Mapping[str, tuple[ServiceSpec, ...]],
    known_envs: Sequence[str],
) -> dict[str, tuple[ServiceSpec, ...]]:
    """A home environment's pipeline deploys the upstream environment first, the way that
    environment deploys the service (its `[deployment] strategy`, overrides included)."""
    by_name = {env.name: env for env in every}
    linked = dict(services)
    for name, specs in services.items():
        source = by_name[name].pipeline.promote_from
        if source is None:
            continue
        upstream = services.get(source.name) or load_services(root, by_name[source.name], known_envs)
        strategies = {spec.name: spec.deployment.strategy for spec in upstream}
        linked[name] = tuple(replace(spec, upstream_strategy=strategies[spec.name]) for spec in specs)
    return linked
