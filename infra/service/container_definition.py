"""The task's containers, as a pure function of the service's spec and a few references.

`container_definitions(spec, refs)` returns what ECS receives as the task definition's
`containerDefinitions`: the service's own container first, then its `[[sidecars]]`, then the
containers the platform adds (the FireLens log router with `[logging] driver = "firelens"`,
the ADOT collector with `[tracing]`, a job's deadline container). `container_definition(spec, refs)` is the service's own
container alone. Values only known to Terraform (the image with its tag, the log group, the
queue URL, the database endpoint, secret ARNs) arrive in `refs` as references. Testable
without a synthesis.

Every container keeps a read-only root file system unless its manifest says otherwise, and
gets a writable /tmp of its own: a scratch volume per container (`tmp` for the service's,
`tmp-<container>` for the others, `scratch_volumes`), so no container reads another's
temporary files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.config.schema import JOB_TIMEOUT_VAR
from infra.config.specs import (
    DEADLINE_CONTAINER,
    LOG_ROUTER,
    TRACE_COLLECTOR,
    DependencyCondition,
    ImageSource,
    ServiceSpec,
    SidecarSpec,
)
from infra.service import connect

TMP_VOLUME = "tmp"
DEADLINE_EXIT_CODE = 124  # what coreutils' `timeout` exits with when the limit struck
# ECS container health check limits ("HealthCheck", Amazon ECS API Reference).
HEALTH_INTERVAL_RANGE = (5, 300)
HEALTH_TIMEOUT_RANGE = (2, 60)
HEALTH_START_PERIOD_MAX = 300
# The ADOT collector's receivers (its image's /etc/ecs/ecs-xray.yaml: OTLP gRPC on 4317, HTTP on
# 4318; traces to X-Ray). The containers of an awsvpc task share one network namespace, so the
# service's container reaches it on localhost (AWS docs, "Task networking options for Fargate":
# "containers that belong to the same task can communicate over the localhost interface").
COLLECTOR_CONFIG = "--config=/etc/ecs/ecs-xray.yaml"
OTLP_ENDPOINT = "http://localhost:4317"
# The image ships /healthcheck, which asks the collector's health_check extension (AWS Distro
# for OpenTelemetry, "Setting up ADOT Collector in Amazon ECS": the sidecar's healthCheck).
COLLECTOR_HEALTH_CHECK = {"command": ["CMD", "/healthcheck"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10}
# AWS docs, "Example Amazon ECS task definition: Route logs to FireLens": the log router's
# memoryReservation in AWS's examples (a soft reservation inside the task's memory).
LOG_ROUTER_MEMORY_RESERVATION = 50


@dataclass(frozen=True, kw_only=True)
class ContainerRefs:
    image: str
    log_group: str
    region: str
    environment: Mapping[str, str] = field(default_factory=dict)  # added to the manifest's
    secrets: Mapping[str, str] = field(default_factory=dict)  # variable -> valueFrom ARN
    # sidecar name -> variable -> valueFrom ARN (its [secrets], resolved like the service's)
    sidecar_secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


def health_check_command(port: int, path: str) -> list[str]:
    """The container's health check: the Dockerfile's HEALTHCHECK, which ECS ignores."""
    probe = (
        "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("
        f"'http://127.0.0.1:{port}{path}', timeout=3).status == 200 else 1)"
    )
    return ["CMD", "python", "-c", probe]


def scratch_volume(container: str, spec: ServiceSpec) -> str:
    """The writable /tmp volume of one container of the task."""
    return TMP_VOLUME if container == spec.name else f"{TMP_VOLUME}-{container}"


def scratch_volumes(spec: ServiceSpec) -> list[str]:
    """Every container's /tmp volume (task-level `volume` entries without a host path: Fargate
    task storage, a Docker-managed scratch volume on EC2)."""
    return [scratch_volume(name, spec) for name in container_names(spec)]


def container_names(spec: ServiceSpec) -> list[str]:
    names = [spec.name, *(s.name for s in spec.sidecars)]
    if spec.firelens:
        names.append(LOG_ROUTER)
    if spec.tracing is not None:
        names.append(TRACE_COLLECTOR)
    return names


def tracing_environment(spec: ServiceSpec) -> dict[str, str]:
    """What the service's container is told about the collector (OTLP exporter variables,
    OpenTelemetry specification "OTLP Exporter Configuration")."""
    if spec.tracing is None:
        return {}
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_SERVICE_NAME": spec.name,
    }


def _awslogs(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    # Streams are <service>/<container>/<task id>: one prefix for every container of the task.
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": refs.log_group,
            "awslogs-region": refs.region,
            "awslogs-stream-prefix": spec.name,
        },
    }


def _log_configuration(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    """The service's container and its sidecars: awslogs, or through the FireLens log router to
    the same log group. Fluent Bit's `cloudwatch_logs` output (the core plugin in AWS for Fluent
    Bit; Fluent Bit docs, "Amazon CloudWatch") writes streams `<service>/<container>-firelens-<task
    id>`; the group exists (this stack creates it), so it never creates one."""
    if not spec.firelens:
        return _awslogs(spec, refs)
    return {
        "logDriver": "awsfirelens",
        "options": {
            "Name": "cloudwatch_logs",
            "region": refs.region,
            "log_group_name": refs.log_group,
            "log_stream_prefix": f"{spec.name}/",
            "auto_create_group": "false",
        },
    }


def _depends_on(spec: ServiceSpec, depends_on: Mapping[str, DependencyCondition]) -> list[dict[str, str]]:
    conditions = {name: condition.value for name, condition in depends_on.items()}
    if spec.firelens:
        # AWS docs, "Send Amazon ECS logs to an AWS service or AWS Partner": ECS starts the
        # FireLens container first by default, but "when you specify a container order between
        # the application containers and the FireLens container, the default start container
        # order is overridden": written out, the order holds whatever else a container waits for.
        conditions.setdefault(LOG_ROUTER, DependencyCondition.START.value)
    return [{"containerName": name, "condition": condition} for name, condition in sorted(conditions.items())]


def _environment(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def _secrets(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "valueFrom": v} for k, v in sorted(values.items())]


def _scratch_mount(container: str, spec: ServiceSpec) -> dict[str, Any]:
    return {"sourceVolume": scratch_volume(container, spec), "containerPath": "/tmp", "readOnly": False}


def container_definition(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    """The service's own container."""
    health = spec.health_check
    container: dict[str, Any] = {
        "name": spec.name,
        "image": refs.image,
        "essential": True,
        # Named, with its protocol, when Service Connect publishes it (infra.service.connect).
        "portMappings": [connect.port_mapping(spec)],
        "logConfiguration": _log_configuration(spec, refs),
        "readonlyRootFilesystem": spec.read_only_root_filesystem,
        "mountPoints": [
            _scratch_mount(spec.name, spec),
            # AWS docs, "Specify an Amazon EFS file system in an Amazon ECS task definition":
            # a mount point names the task's EFS volume (infra.service.volumes).
            *({"sourceVolume": v.name, "containerPath": v.path, "readOnly": v.read_only} for v in spec.volumes),
        ],
        "user": spec.user,
    }
    if spec.port is None:  # a job: it accepts no connections and has no endpoint to probe
        del container["portMappings"]
    if spec.image.source is ImageSource.ECR and spec.port is not None:
        # Our images are built from services/<name> with Python in them. An external image
        # (nginx, a vendor's image) may have no Python at all: the probe would fail forever
        # and ECS would replace its tasks in a loop, so it gets no container health check
        # (a web service is still checked by its target group).
        container["healthCheck"] = {
            "command": health_check_command(spec.port, health.path),
            "interval": _clamp(health.interval, HEALTH_INTERVAL_RANGE),
            "timeout": _clamp(health.timeout, HEALTH_TIMEOUT_RANGE),
            "retries": health.unhealthy_threshold,
            "startPeriod": min(health.grace_period, HEALTH_START_PERIOD_MAX),
        }
    # Empty lists are left out: ECS does not store them, so they would show as a diff.
    environment = {**spec.environment, **refs.environment, **tracing_environment(spec)}
    if spec.job is not None:
        # The run's limit (infra.service.job): the app may plan its work to end before it.
        environment[JOB_TIMEOUT_VAR] = str(spec.job.timeout)
    if environment:
        container["environment"] = _environment(environment)
    if refs.secrets:
        container["secrets"] = _secrets(refs.secrets)
    if spec.entrypoint is not None:
        container["entryPoint"] = list(spec.entrypoint)
    if spec.command is not None:
        container["command"] = list(spec.command)
    if spec.enable_exec:
        # ECS Exec needs an init process to reap the session's processes.
        container["linuxParameters"] = {"initProcessEnabled": True}
    if spec.stop_timeout is not None:
        container["stopTimeout"] = spec.stop_timeout
    if spec.ulimits:
        container["ulimits"] = [{"name": u.name, "softLimit": u.soft, "hardLimit": u.hard} for u in spec.ulimits]
    depends_on = _depends_on(spec, spec.depends_on)
    if depends_on:
        container["dependsOn"] = depends_on
    return container


def deadline_container(spec: ServiceSpec, job_container: dict[str, Any]) -> dict[str, Any]:
    """A job's run-time limit, enforced by ECS whatever the app does (infra.service.job).

    RunTask has no time limit, and a task runs until its essential containers exit. This
    second essential container starts once the job's own container has started (`dependsOn`
    START), sleeps `timeout` seconds and exits with 124: ECS then stops the task, the job's
    container gets SIGTERM and, after its stopTimeout, SIGKILL. AWS docs, "Amazon ECS task
    definition parameters" (essential: "If the essential parameter of a container is marked as
    true, and that container fails or stops for any reason, all other containers that are part
    of the task are stopped"; dependsOn, condition START),
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html

    When the job ends first, ECS stops this container with SIGTERM: the shell traps it and
    exits 0, so a run that succeeded leaves only zero exit codes, and a nonzero one anywhere
    means the run failed or hit its limit (the run-failed rule of infra.service.job). It runs
    the job's own image (already on the host), which must have `sh` and `sleep` (any image
    with a shell; not a distroless or scratch one), with the job's user, logs and read-only
    root file system.
    """
    if spec.job is None:
        raise ValueError(f"{spec.file}: only a job has a deadline container")
    limit = spec.job.timeout
    script = (
        f"trap 'exit 0' TERM; sleep {limit} & wait $!; "
        f"echo 'job deadline: {limit} s (timeout) are up, stopping the task'; exit {DEADLINE_EXIT_CODE}"
    )
    return {
        "name": DEADLINE_CONTAINER,
        "image": job_container["image"],
        "essential": True,
        "entryPoint": ["sh", "-c"],
        "command": [script],
        "dependsOn": [{"containerName": job_container["name"], "condition": "START"}],
        "logConfiguration": job_container["logConfiguration"],
        "readonlyRootFilesystem": True,
        "user": job_container["user"],
    }


def sidecar_definition(spec: ServiceSpec, sidecar: SidecarSpec, refs: ContainerRefs) -> dict[str, Any]:
    """One `[[sidecars]]` entry: its logs go where the service's go."""
    container: dict[str, Any] = {
        "name": sidecar.name,
        "image": sidecar.image,
        "essential": sidecar.essential,
        "logConfiguration": _log_configuration(spec, refs),
        "readonlyRootFilesystem": sidecar.read_only_root_filesystem,
        "mountPoints": [_scratch_mount(sidecar.name, spec)],
    }
    if sidecar.port is not None:
        container["portMappings"] = [{"containerPort": sidecar.port, "protocol": "tcp"}]
    if sidecar.environment:
        container["environment"] = _environment(sidecar.environment)
    secrets = refs.sidecar_secrets.get(sidecar.name, {})
    if secrets:
        container["secrets"] = _secrets(secrets)
    if sidecar.command is not None:
        container["command"] = list(sidecar.command)
    if sidecar.user is not None:
        container["user"] = sidecar.user
    depends_on = _depends_on(spec, sidecar.depends_on)
    if depends_on:
        container["dependsOn"] = depends_on
    return container


def log_router_definition(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    """The FireLens log router (AWS docs, "Example Amazon ECS task definition: Route logs to
    FireLens"): a Fluent Bit container with a `firelensConfiguration`, marked essential as AWS
    recommends, its own output through awslogs to the service's log group. ECS writes the
    Fluent Bit configuration from the other containers' `awsfirelens` options and mounts it at
    /fluent-bit/etc/fluent-bit.conf; the router needs the task role's permission to write the
    log group (infra.service.sidecars). Its root file system stays read-only like every other
    container's, with its own writable /tmp for outputs that buffer on disk."""
    return {
        "name": LOG_ROUTER,
        "image": spec.logging.image if spec.logging else "",
        "essential": True,
        "firelensConfiguration": {"type": "fluentbit"},
        "logConfiguration": _awslogs(spec, refs),
        "memoryReservation": LOG_ROUTER_MEMORY_RESERVATION,
        "readonlyRootFilesystem": True,
        "mountPoints": [_scratch_mount(LOG_ROUTER, spec)],
    }


def collector_definition(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    """The AWS Distro for OpenTelemetry collector (AWS docs, "Specifying the AWS Distro for
    OpenTelemetry sidecar for AWS X-Ray integration in your task definition"): essential, its
    own logs through awslogs (AWS recommends routing the sidecar's logs to CloudWatch Logs), the
    ECS X-Ray configuration its image ships. It needs the task role's X-Ray permissions
    (infra.service.sidecars)."""
    return {
        "name": TRACE_COLLECTOR,
        "image": spec.tracing.image if spec.tracing else "",
        "essential": True,
        "command": [COLLECTOR_CONFIG],
        "logConfiguration": _awslogs(spec, refs),
        "healthCheck": dict(COLLECTOR_HEALTH_CHECK),
        "readonlyRootFilesystem": True,
        "mountPoints": [_scratch_mount(TRACE_COLLECTOR, spec)],
    }


def container_definitions(spec: ServiceSpec, refs: ContainerRefs) -> list[dict[str, Any]]:
    """Every container of the task, the service's own first (the one the load balancer and
    Cloud Map route to)."""
    containers = [container_definition(spec, refs), *(sidecar_definition(spec, s, refs) for s in spec.sidecars)]
    if spec.firelens:
        containers.append(log_router_definition(spec, refs))
    if spec.tracing is not None:
        containers.append(collector_definition(spec, refs))
    if spec.job is not None:
        containers.append(deadline_container(spec, containers[0]))
    return containers
