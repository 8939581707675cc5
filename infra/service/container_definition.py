"""The service's container definition, as a pure function of its spec and a few references.

`container_definition(spec, refs)` returns the dict ECS receives (one element of the task
definition's `containerDefinitions`); values only known to Terraform (the image with its
tag, the log group, the queue URL, the database endpoint) arrive in `refs` as references.
Testable without a synthesis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.config.schema import JOB_TIMEOUT_VAR
from infra.config.specs import ImageSource, ServiceKind, ServiceSpec
from infra.service import connect

TMP_VOLUME = "tmp"
# A job's second container (`deadline_container`). Service names have no "_", so no job's own
# container can be called this.
DEADLINE_CONTAINER = "job_deadline"
DEADLINE_EXIT_CODE = 124  # what coreutils' `timeout` exits with when the limit struck
WORKER_STOP_TIMEOUT = 60  # seconds between SIGTERM and SIGKILL: a worker finishes its batch
# ECS container health check limits ("HealthCheck", Amazon ECS API Reference).
HEALTH_INTERVAL_RANGE = (5, 300)
HEALTH_TIMEOUT_RANGE = (2, 60)
HEALTH_START_PERIOD_MAX = 300


@dataclass(frozen=True, kw_only=True)
class ContainerRefs:
    image: str
    log_group: str
    region: str
    environment: Mapping[str, str] = field(default_factory=dict)  # added to the manifest's
    secrets: Mapping[str, str] = field(default_factory=dict)  # variable -> valueFrom ARN


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


def health_check_command(port: int, path: str) -> list[str]:
    """The container's health check: the Dockerfile's HEALTHCHECK, which ECS ignores."""
    probe = (
        "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen("
        f"'http://127.0.0.1:{port}{path}', timeout=3).status == 200 else 1)"
    )
    return ["CMD", "python", "-c", probe]


def container_definition(spec: ServiceSpec, refs: ContainerRefs) -> dict[str, Any]:
    health = spec.health_check
    container: dict[str, Any] = {
        "name": spec.name,
        "image": refs.image,
        "essential": True,
        # Named, with its protocol, when Service Connect publishes it (infra.service.connect).
        "portMappings": [connect.port_mapping(spec)],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": refs.log_group,
                "awslogs-region": refs.region,
                "awslogs-stream-prefix": spec.name,
            },
        },
        "readonlyRootFilesystem": spec.read_only_root_filesystem,
        "mountPoints": [{"sourceVolume": TMP_VOLUME, "containerPath": "/tmp", "readOnly": False}],
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
    environment = {**spec.environment, **refs.environment}
    if spec.job is not None:
        # The run's limit (infra.service.job): the app may plan its work to end before it.
        environment[JOB_TIMEOUT_VAR] = str(spec.job.timeout)
    if environment:
        container["environment"] = [{"name": k, "value": v} for k, v in sorted(environment.items())]
    if refs.secrets:
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(refs.secrets.items())]
    if spec.enable_exec:
        # ECS Exec needs an init process to reap the session's processes.
        container["linuxParameters"] = {"initProcessEnabled": True}
    if spec.kind is ServiceKind.WORKER:
        container["stopTimeout"] = WORKER_STOP_TIMEOUT
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
