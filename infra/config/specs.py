"""Typed, frozen specifications: what the constructs receive.

Built only by `infra.config` (which validates); constructs read these and never re-check.
Defaults and docs of the keys live once, in the schema (infra/config/schema.py); the
loader fills every field, so nothing here has a default of its own to drift.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class NatMode(str, Enum):
    SINGLE = "single"  # one NAT gateway shared by all AZs (cheaper, one AZ is a single point of failure)
    PER_AZ = "per_az"  # one NAT gateway per AZ (production)


class BackendKind(str, Enum):
    LOCAL = "local"
    S3 = "s3"
    CLOUD = "cloud"


class CapacityProvider(str, Enum):
    FARGATE = "FARGATE"
    FARGATE_SPOT = "FARGATE_SPOT"
    EC2 = "EC2"


class ServiceKind(str, Enum):
    WEB = "web"  # public, behind the ALB
    BACKEND = "backend"  # internal, reached through Cloud Map
    WORKER = "worker"  # no inbound traffic, consumes an SQS queue
    JOB = "job"  # no ECS service: one task per scheduled run (EventBridge Scheduler)


class Architecture(str, Enum):
    X86_64 = "X86_64"
    ARM64 = "ARM64"


class ImageSource(str, Enum):
    ECR = "ecr"  # the service's own ECR repository, tag written by its pipeline
    EXTERNAL = "external"  # a fixed image URI


class PipelineSource(str, Enum):
    CODESTAR = "codestar"  # CodeStar connection to the monorepo, path-filtered per service
    S3 = "s3"  # a zip of the repository uploaded to the artifacts bucket


class LogDriver(str, Enum):
    AWSLOGS = "awslogs"  # ECS's awslogs driver straight to the service's log group
    FIRELENS = "firelens"  # a Fluent Bit log router sidecar (FireLens) to the same log group


class TraceCollector(str, Enum):
    ADOT = "adot"  # the AWS Distro for OpenTelemetry collector as a sidecar, traces to X-Ray


class DependencyCondition(str, Enum):
    """A container dependency's condition ("ContainerDependency", Amazon ECS API Reference)."""

    START = "START"  # the dependency has started
    COMPLETE = "COMPLETE"  # it ran to completion (exited); not for an essential container
    SUCCESS = "SUCCESS"  # it exited with status 0; not for an essential container
    HEALTHY = "HEALTHY"  # it passed its container health check (it must have one)


# The containers the platform adds to a task beside the service's own and its sidecars.
LOG_ROUTER = "log_router"  # [logging] driver = "firelens"
TRACE_COLLECTOR = "aws-otel-collector"  # [tracing] collector = "adot"
# kind = "job": the container that ends a run at its timeout (infra.service.container_definition).
DEADLINE_CONTAINER = "job_deadline"


class DeploymentStrategy(str, Enum):
    ROLLING = "rolling"  # the ECS deployment controller: rolling update, circuit breaker, alarms
    BLUE_GREEN = "blue_green"  # CodeDeploy's ECS blue/green (provider 5.x; 6.x has it natively in ECS)


# ---------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ExistingNetworkSpec:
    """A VPC the platform uses but does not own (brownfield): read through data sources."""

    vpc_id: str
    public_subnet_ids: tuple[str, ...]  # at least two, in distinct AZs (checked at plan time)
    private_subnet_ids: tuple[str, ...]
    database_subnet_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class NetworkSpec:
    """A VPC the platform creates (`existing` is None), or an existing one (`existing` set; the
    fields that describe a created VPC are then None or empty)."""

    vpc_cidr: ipaddress.IPv4Network | None
    az_count: int | None  # 2..6
    # One per AZ index, in subnet order (a fixed list, never looked up).
    availability_zones: tuple[str, ...]
    nat: NatMode | None
    admin_cidr: ipaddress.IPv4Network  # required; SSH to the bastion only from here
    public_subnets: tuple[str, ...]  # derived from vpc_cidr, one per AZ
    private_subnets: tuple[str, ...]
    database_subnets: tuple[str, ...]
    flow_log_retention_days: int | None
    existing: ExistingNetworkSpec | None


@dataclass(frozen=True, kw_only=True)
class S3BackendSpec:
    bucket: str
    region: str
    key_prefix: str  # state key: <key_prefix>/<stack>.tfstate
    workspace_key_prefix: str
    use_lockfile: bool
    dynamodb_table: str | None  # optional legacy lock table
    kms_key_id: str | None


@dataclass(frozen=True, kw_only=True)
class CloudBackendSpec:
    organization: str
    hostname: str
    workspace_prefix: str  # workspace name: <prefix><stack>


@dataclass(frozen=True, kw_only=True)
class BackendSpec:
    kind: BackendKind
    s3: S3BackendSpec | None = None
    cloud: CloudBackendSpec | None = None


@dataclass(frozen=True, kw_only=True)
class StrategyItem:
    provider: CapacityProvider
    weight: int
    base: int


@dataclass(frozen=True, kw_only=True)
class Ec2CapacitySpec:
    enabled: bool
    instance_type: str
    min_size: int
    max_size: int
    target_capacity: int  # percent


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    container_insights: bool
    default_strategy: tuple[StrategyItem, ...]
    ec2: Ec2CapacitySpec


@dataclass(frozen=True, kw_only=True)
class LoadBalancerSpec:
    certificate_arn: str | None  # an existing ACM certificate
    domain: str | None  # or a domain to request a certificate for (DNS validation)
    ssl_policy: str
    idle_timeout: int  # seconds
    waf: bool
    access_log_retention_days: int
    # "ipv4" or "dualstack" (ELB API "CreateLoadBalancer": IpAddressType). Not a manifest key:
    # the platform builds an IPv4 load balancer (an IPv6 one needs IPv6 in the VPC); the
    # platform's load balancer and the services' alias records (AAAA only for dualstack)
    # both read it from here.
    ip_address_type: str
    test_listener_port: int | None = None  # the shared test listener of blue/green deployments

    @property
    def dualstack(self) -> bool:
        return self.ip_address_type != "ipv4"

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None or self.domain is not None


@dataclass(frozen=True, kw_only=True)
class DatabaseSpec:
    enabled: bool
    instance_class: str
    engine_version: str
    allocated_storage: int  # GiB
    max_allocated_storage: int  # GiB, storage autoscaling ceiling
    multi_az: bool
    backup_retention_days: int
    db_name: str
    master_username: str
    monitoring_interval: int  # enhanced monitoring seconds
    performance_insights: bool
    log_exports: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AccessSpec:
    enabled: bool  # bastion + Ansible host
    key_name: str | None  # EC2 key pair for SSH; None: SSM Session Manager only
    instance_type: str


@dataclass(frozen=True, kw_only=True)
class ObservabilitySpec:
    alarm_emails: tuple[str, ...]
    log_retention_days: int
    dashboard: bool


@dataclass(frozen=True, kw_only=True)
class RegistrySpec:
    keep_images: int  # ECR lifecycle: keep the last N images


@dataclass(frozen=True, kw_only=True)
class PeerEnvironment:
    """Another environment of the same account and Region, named by the naming scheme only
    (never a reference into its stacks)."""

    name: str
    workspaces: bool  # its names carry the Terraform workspace outside `default` (not a cloud backend)


@dataclass(frozen=True, kw_only=True)
class PipelineSpec:
    source: PipelineSource
    connection_arn: str | None
    repository: str  # "owner/repo" of the monorepo
    branch: str
    manual_approval: bool
    # Build once, promote: this environment's pipelines build, deploy `promote_from` first and
    # promote the same image digest here; `promoted_to`: the environment whose pipelines
    # deploy this one's services (they have none of their own then).
    promote_from: PeerEnvironment | None = None
    promoted_to: PeerEnvironment | None = None


@dataclass(frozen=True, kw_only=True)
class ImportSpec:
    """`[[imports]]`: a Terraform import block into one resource address of one stack."""

    to: str  # <type>.<name>, the address in the stack
    id: str  # the import ID the resource type documents
    file: str  # where it was written, for errors found at synthesis
    field: str  # e.g. "imports[0]"


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    name: str
    file: str  # relative path of the file it came from
    region: str
    production: bool
    deletion_protection: bool
    tags: Mapping[str, str]
    network: NetworkSpec
    backend: BackendSpec
    cluster: ClusterSpec
    load_balancer: LoadBalancerSpec
    database: DatabaseSpec
    access: AccessSpec
    observability: ObservabilitySpec
    registry: RegistrySpec
    pipeline: PipelineSpec
    namespace: str  # Cloud Map private DNS namespace
    imports: tuple[ImportSpec, ...]  # into the platform stack
    # Public Route 53 zone of the services' custom domains ([routes] hosts); None: no hosts allowed.
    hosted_zone_id: str | None = None
    file_systems: tuple["FileSystemSpec", ...] = ()  # shared EFS file systems the platform creates
    account_id: str | None = None  # the account its stacks may be applied to (None: not pinned)


@dataclass(frozen=True, kw_only=True)
class FileSystemSpec:
    """`[[file_systems]]`: an encrypted EFS file system of the environment, shared by name."""

    name: str


# ---------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ImageSpec:
    source: ImageSource
    uri: str | None  # only for external images
    tag: str  # initial tag for ECR images before the first pipeline run


@dataclass(frozen=True, kw_only=True)
class HealthCheckSpec:
    path: str
    interval: int
    timeout: int
    healthy_threshold: int
    unhealthy_threshold: int
    grace_period: int  # seconds
    matcher: str


@dataclass(frozen=True, kw_only=True)
class RouteSpec:
    paths: tuple[str, ...]
    hosts: tuple[str, ...]
    priority: int  # explicit, or derived deterministically from the service name


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    name: str
    expression: str  # cron(...), rate(...) or at(...)
    timezone: str
    min_count: int
    max_count: int


@dataclass(frozen=True, kw_only=True)
class ScalingSpec:
    cpu_target: int | None  # percent
    memory_target: int | None  # percent
    requests_per_target: int | None  # web only
    queue_backlog_per_task: int | None  # worker only: step scaling on the backlog
    scale_in_cooldown: int
    scale_out_cooldown: int
    schedules: tuple[ScheduleSpec, ...]


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    cpu_high: int  # percent
    memory_high: int  # percent
    http_5xx: int  # count per 5 minutes (web)
    queue_age_seconds: int  # oldest message age (worker)


@dataclass(frozen=True, kw_only=True)
class QueueSpec:
    visibility_timeout: int
    retention_seconds: int
    max_receive_count: int  # before a message goes to the DLQ


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """A secret injected into the container through the task definition's `secrets`."""

    kind: str  # "secretsmanager" or "ssm"
    arn: str | None  # full ARN when given
    name: str  # name or ARN as given


@dataclass(frozen=True, kw_only=True)
class ConditionSpec:
    """One IAM condition of a `[[permissions]]` entry."""

    test: str  # a condition operator, e.g. StringEquals
    variable: str  # a condition key, e.g. aws:SourceVpce
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PermissionSpec:
    """An IAM statement the application needs, rendered into its task role."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]  # ARNs, "*" (only for actions without resource-level permissions), "queue", "dlq"
    conditions: tuple[ConditionSpec, ...]


# Names a `[[permissions]]` resource may use for the service's own things.
OWN_RESOURCES = ("queue", "dlq")

# The alarms each kind of service has (infra.service.alarms, by purpose), which
# `[deployment] rollback_alarms` may name.
SERVICE_ALARMS: dict[str, tuple[str, ...]] = {
    "web": ("cpu-high", "memory-high", "http-5xx", "unhealthy-hosts"),
    "backend": ("cpu-high", "memory-high"),
    "worker": ("cpu-high", "memory-high", "queue-age", "dlq-not-empty"),
}
# `rollback_alarms = true`: what says a release is broken. A web service: its targets answer
# 5xx or fail the load balancer's health check. Others: AWS recommends CPUUtilization and
# MemoryUtilization for an existing application ("How CloudWatch alarms detect Amazon ECS
# deployment failures", Recommended alarms:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).
DEFAULT_ROLLBACK_ALARMS: dict[str, tuple[str, ...]] = {
    "web": ("http-5xx", "unhealthy-hosts"),
    "backend": ("cpu-high", "memory-high"),
    "worker": ("cpu-high", "memory-high"),
    "job": (),  # no ECS service to roll back: `[deployment]` is refused for a job at load
}


@dataclass(frozen=True, kw_only=True)
class DeploymentSpec:
    """How a new task definition reaches the running service (`[deployment]`)."""

    strategy: DeploymentStrategy
    rollback_alarms: tuple[str, ...]  # purposes of the service's own alarms (infra.service.alarms)
    min_healthy_percent: int
    max_percent: int
    termination_wait: int  # blue_green: minutes the old tasks stay after the traffic moved

    @property
    def blue_green(self) -> bool:
        return self.strategy is DeploymentStrategy.BLUE_GREEN


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    """`publish`: an SNS topic the service owns and publishes to (AWS name `<prefix>-<service>-<name>`)."""

    name: str  # as written, e.g. "orders"
    variable: str  # the container's environment variable holding its ARN, e.g. TOPIC_ORDERS_ARN


@dataclass(frozen=True, kw_only=True)
class SubscriptionSpec:
    """`subscribe`: a topic another service publishes, delivered to this worker's queue."""

    service: str  # the publishing service
    topic: str  # one of its `publish` names
    filter_policy: Mapping[str, Any] | None  # the SNS filter policy as written; None: every message
    filter_scope: str  # SNS FilterPolicyScope: MessageAttributes or MessageBody
    raw_message_delivery: bool


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """`kind = "job"`: when the task runs and how a run is bounded (infra/service/job.py)."""

    schedule: str  # an EventBridge Scheduler cron(...) or rate(...) expression
    timezone: str  # IANA name the expression is read in
    timeout: int  # seconds: the run is stopped then, and a start is not retried later than that
    retries: int  # Scheduler's retries of a failed RunTask call (0..185)


@dataclass(frozen=True, kw_only=True)
class UlimitSpec:
    name: str  # one of ECS's ulimit names (limits.ULIMIT_NAMES)
    soft: int
    hard: int


@dataclass(frozen=True, kw_only=True)
class SidecarSpec:
    """`[[sidecars]]`: a container beside the service's own, in the same task."""

    name: str
    image: str  # a full image URI with a tag or digest
    port: int | None
    essential: bool
    depends_on: Mapping[str, DependencyCondition]  # container name -> condition
    environment: Mapping[str, str]
    secrets: Mapping[str, SecretRef]
    command: tuple[str, ...] | None
    user: str | None  # None: the image's own user
    read_only_root_filesystem: bool


@dataclass(frozen=True, kw_only=True)
class LoggingSpec:
    driver: LogDriver
    image: str  # firelens: the log router's image


@dataclass(frozen=True, kw_only=True)
class TracingSpec:
    collector: TraceCollector
    image: str  # the collector's image


@dataclass(frozen=True, kw_only=True)
class VolumeSpec:
    """`[[volumes]]`: an EFS volume mounted into the service's container."""

    name: str
    path: str  # the mount path inside the container
    read_only: bool
    file_system: str | None  # a shared file system of the environment; None: the service's own


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    dockerfile: str  # relative to the service folder
    test_command: str  # run inside the build


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    name: str
    file: str  # relative path of the manifest
    directory: Path  # the service folder
    kind: ServiceKind
    image: ImageSpec
    cpu: int
    memory: int
    architecture: Architecture
    port: int | None  # container port (also for the worker's health endpoint); None for a job
    capacity: tuple[StrategyItem, ...]
    desired_count: int  # 0 for a job (and min/max_count): no ECS service keeps a task count
    min_count: int
    max_count: int
    health_check: HealthCheckSpec
    route: RouteSpec | None  # web services only
    environment: Mapping[str, str]
    secrets: Mapping[str, SecretRef]
    database: bool  # link to the platform database (secret + SG access)
    queue: QueueSpec | None  # worker services only
    scaling: ScalingSpec
    alarms: AlarmSpec
    read_only_root_filesystem: bool
    user: str
    enable_exec: bool  # ECS Exec
    deployment: DeploymentSpec
    build: BuildSpec
    allow_from: tuple[str, ...] = ()  # backend: the services whose tasks may connect to its port
    permissions: tuple[PermissionSpec, ...] = ()  # the application's own IAM permissions
    imports: tuple[ImportSpec, ...] = ()  # into this environment's stack of the service
    publish: tuple[TopicSpec, ...] = ()  # SNS topics it owns and publishes to
    subscribe: tuple[SubscriptionSpec, ...] = ()  # worker: other services' topics into its queue
    job: JobSpec | None = None  # kind = "job" only
    # ECS Service Connect in the environment's Cloud Map namespace: a backend as client and server
    # (reached at http://<name>:<port>), web and worker services as clients.
    connect: bool = False
    # The container's options, its sidecars, log routing, tracing and volumes (the loader fills
    # each; these defaults only keep specs built by hand short).
    command: tuple[str, ...] | None = None  # None: the image's CMD
    entrypoint: tuple[str, ...] | None = None  # None: the image's ENTRYPOINT
    ephemeral_storage: int | None = None  # Fargate task storage, GiB; None: Fargate's 20
    stop_timeout: int | None = None  # seconds from SIGTERM to SIGKILL; None: ECS's 30
    ulimits: tuple[UlimitSpec, ...] = ()
    depends_on: Mapping[str, DependencyCondition] = field(default_factory=dict)  # of the service's container
    sidecars: tuple[SidecarSpec, ...] = ()
    logging: LoggingSpec | None = None  # None: awslogs
    tracing: TracingSpec | None = None
    volumes: tuple[VolumeSpec, ...] = ()
    # With `[pipeline] promote_from`: how the service is deployed in that environment, which
    # this environment's pipeline deploys first.
    upstream_strategy: DeploymentStrategy | None = None

    @property
    def posix_user(self) -> tuple[int, int] | None:
        """The container user as uid and gid (gid: the uid when not given), or None for a user name."""
        uid, _, gid = self.user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            return None
        return int(uid), int(gid or uid)

    @property
    def firelens(self) -> bool:
        return self.logging is not None and self.logging.driver is LogDriver.FIRELENS

    @property
    def uses_fargate(self) -> bool:
        return any(item.provider is not CapacityProvider.EC2 for item in self.capacity)


@dataclass(frozen=True, kw_only=True)
class LocalEndpoint:
    """Point every AWS API of the provider at one emulator (moto) on loopback."""

    url: str


@dataclass(frozen=True, kw_only=True)
class AppSpec:
    environments: tuple[EnvironmentSpec, ...]
    services: Mapping[str, tuple[ServiceSpec, ...]]  # per environment name
    local: LocalEndpoint | None = None
    # `file: field: message` lines the loader printed on stderr (accepted, but advised against).
    warnings: tuple[str, ...] = ()
