"""`container_definition(spec, refs)`: the container ECS runs, as a pure function (no synthesis)."""

from __future__ import annotations

import dataclasses
import tempfile
from functools import cache
from pathlib import Path

from infra.config import load_app
from infra.config.specs import ImageSource, ImageSpec, ServiceSpec
from infra.service.container_definition import ContainerRefs, container_definition, container_definitions, scratch_volumes
from tests.conftest import FIXTURE
from tests.config_builder import DELETE, WORKER, Project

REFS = ContainerRefs(image="IMAGE", log_group="LOGS", region="eu-west-1")


@cache
def sample(name: str) -> ServiceSpec:
    (spec,) = [s for s in load_app(FIXTURE, environments=["dev"]).services["dev"] if s.name == name]
    return spec


def test_our_images_are_probed_on_their_health_path() -> None:
    definition = container_definition(sample("web"), REFS)
    check = definition["healthCheck"]
    assert check["command"][:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8080/health" in check["command"][3]


def test_an_external_image_gets_no_python_probe() -> None:
    """Issue #13 (2): an nginx image has no Python; the probe would fail forever."""
    spec = dataclasses.replace(
        sample("web"), image=ImageSpec(source=ImageSource.EXTERNAL, uri="public.ecr.aws/nginx/nginx:1.27", tag="bootstrap")
    )
    definition = container_definition(spec, dataclasses.replace(REFS, image=spec.image.uri))
    assert "healthCheck" not in definition
    assert definition["image"] == "public.ecr.aws/nginx/nginx:1.27"


def test_references_are_merged_into_the_manifest_environment_and_secrets_sorted() -> None:
    refs = dataclasses.replace(REFS, environment={"QUEUE_URL": "Q"}, secrets={"B": "arn:b", "A": "arn:a"})
    definition = container_definition(sample("worker"), refs)
    assert {e["name"]: e["value"] for e in definition.get("environment", [])} == {"QUEUE_URL": "Q"}
    assert definition["secrets"] == [{"name": "A", "valueFrom": "arn:a"}, {"name": "B", "valueFrom": "arn:b"}]
    assert definition["stopTimeout"] == 90  # the fixture's worker asks for it
    assert definition["logConfiguration"]["options"] == {
        "awslogs-group": "LOGS", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "worker"
    }


# --- the task's other containers and the container's options (issue #15, items 3 and 4) -----
def spec_with(**changes: object) -> ServiceSpec:
    """The builder's minimal web service with `changes`, loaded from its manifest (so the
    loader's rules and computed defaults apply as they would to a real file)."""
    project = Project(Path(tempfile.mkdtemp())).env(file_systems=[{"name": "shared"}]).service("web", **changes)
    (spec,) = project.load().services["dev"]
    return spec


PROXY = {"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27", "port": 9000}


def by_name(containers: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in containers}


def test_without_options_the_task_is_the_service_container_alone() -> None:
    spec = spec_with()
    assert container_definitions(spec, REFS) == [container_definition(spec, REFS)]
    assert scratch_volumes(spec) == ["tmp"]
    definition = container_definition(spec, REFS)
    for key in ("command", "entryPoint", "ulimits", "dependsOn", "stopTimeout"):
        assert key not in definition


def test_command_entrypoint_stop_timeout_and_ulimits_reach_the_container() -> None:
    spec = spec_with(
        command=["gunicorn", "-c", "gunicorn.conf.py", "app:app"],
        entrypoint=["/bin/sh", "-c"],
        stop_timeout=90,
        ulimits=[{"name": "nofile", "soft": 4096, "hard": 8192}],
    )
    definition = container_definition(spec, REFS)
    assert definition["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
    assert definition["entryPoint"] == ["/bin/sh", "-c"]
    assert definition["stopTimeout"] == 90
    assert definition["ulimits"] == [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}]


def test_a_worker_gets_sixty_seconds_to_stop_unless_it_asks_otherwise() -> None:
    assert container_definition(spec_with(**{**WORKER, "routes": DELETE}), REFS)["stopTimeout"] == 60
    assert "stopTimeout" not in container_definition(spec_with(), REFS)
    assert container_definition(spec_with(**{**WORKER, "routes": DELETE, "stop_timeout": 110}), REFS)["stopTimeout"] == 110


def test_a_sidecar_gets_its_own_scratch_volume_logs_secrets_and_dependencies() -> None:
    spec = spec_with(
        sidecars=[{**PROXY, "environment": {"UPSTREAM": "http://localhost:8080"}, "secrets": {"CERT": "ssm:/web/cert"},
                   "depends_on": {"web": "HEALTHY"}, "user": "101", "command": ["nginx", "-g", "daemon off;"], "essential": False}],
    )
    refs = dataclasses.replace(REFS, sidecar_secrets={"proxy": {"CERT": "arn:cert"}})
    containers = by_name(container_definitions(spec, refs))
    assert list(containers) == ["web", "proxy"]
    proxy = containers["proxy"]
    assert proxy["image"] == "public.ecr.aws/nginx/nginx:1.27"
    assert proxy["essential"] is False
    assert proxy["portMappings"] == [{"containerPort": 9000, "protocol": "tcp"}]
    assert proxy["environment"] == [{"name": "UPSTREAM", "value": "http://localhost:8080"}]
    assert proxy["secrets"] == [{"name": "CERT", "valueFrom": "arn:cert"}]
    assert proxy["dependsOn"] == [{"containerName": "web", "condition": "HEALTHY"}]
    assert (proxy["user"], proxy["command"]) == ("101", ["nginx", "-g", "daemon off;"])
    # Read-only root, its own /tmp: no container reads another's temporary files.
    assert proxy["readonlyRootFilesystem"] is True
    assert proxy["mountPoints"] == [{"sourceVolume": "tmp-proxy", "containerPath": "/tmp", "readOnly": False}]
    assert proxy["logConfiguration"] == containers["web"]["logConfiguration"]
    assert "dependsOn" not in containers["web"]
    assert containers["web"]["mountPoints"][0]["sourceVolume"] == "tmp"
    assert scratch_volumes(spec) == ["tmp", "tmp-proxy"]


def test_the_service_container_may_wait_for_a_sidecar_that_completes() -> None:
    spec = spec_with(sidecars=[{**PROXY, "essential": False}], depends_on={"proxy": "SUCCESS"})
    assert container_definition(spec, REFS)["dependsOn"] == [{"containerName": "proxy", "condition": "SUCCESS"}]


def test_firelens_adds_a_log_router_and_routes_every_container_through_it() -> None:
    spec = spec_with(logging={"driver": "firelens"}, sidecars=[PROXY])
    containers = by_name(container_definitions(spec, REFS))
    assert list(containers) == ["web", "proxy", "log_router"]
    router = containers["log_router"]
    assert router["firelensConfiguration"] == {"type": "fluentbit"}
    assert router["essential"] is True
    assert router["image"].startswith("public.ecr.aws/aws-observability/aws-for-fluent-bit:")
    assert not router["image"].endswith((":stable", ":latest"))
    # The router's own output cannot go through itself: awslogs, to the same group.
    assert router["logConfiguration"] == {
        "logDriver": "awslogs", "options": {"awslogs-group": "LOGS", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"}
    }
    assert router["readonlyRootFilesystem"] is True
    assert router["mountPoints"] == [{"sourceVolume": "tmp-log_router", "containerPath": "/tmp", "readOnly": False}]
    for name in ("web", "proxy"):
        assert containers[name]["logConfiguration"] == {
            "logDriver": "awsfirelens",
            "options": {
                "Name": "cloudwatch_logs", "region": "eu-west-1", "log_group_name": "LOGS",
                "log_stream_prefix": "web/", "auto_create_group": "false",
            },
        }
        assert {"containerName": "log_router", "condition": "START"} in containers[name]["dependsOn"]
    assert "dependsOn" not in router


def test_a_pinned_log_router_image_can_be_chosen() -> None:
    image = "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.4.14"
    spec = spec_with(logging={"driver": "firelens", "image": image})
    assert by_name(container_definitions(spec, REFS))["log_router"]["image"] == image


def test_tracing_adds_the_adot_collector_and_tells_the_service_where_it_is() -> None:
    spec = spec_with(tracing={"collector": "adot"}, environment={"LOG_LEVEL": "info"})
    containers = by_name(container_definitions(spec, REFS))
    assert list(containers) == ["web", "aws-otel-collector"]
    collector = containers["aws-otel-collector"]
    assert collector["image"] == "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
    assert collector["command"] == ["--config=/etc/ecs/ecs-xray.yaml"]
    assert collector["essential"] is True
    assert collector["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    assert collector["logConfiguration"]["logDriver"] == "awslogs"
    assert collector["readonlyRootFilesystem"] is True
    assert "portMappings" not in collector  # reached on localhost only
    environment = {e["name"]: e["value"] for e in containers["web"]["environment"]}
    assert environment == {
        "LOG_LEVEL": "info",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_SERVICE_NAME": "web",
    }
    assert scratch_volumes(spec) == ["tmp", "tmp-aws-otel-collector"]


def test_the_service_may_wait_for_the_collector_to_be_healthy() -> None:
    spec = spec_with(tracing={"collector": "adot"}, depends_on={"aws-otel-collector": "HEALTHY"})
    assert container_definition(spec, REFS)["dependsOn"] == [{"containerName": "aws-otel-collector", "condition": "HEALTHY"}]


def test_volumes_are_mounted_beside_tmp_and_the_root_stays_read_only() -> None:
    spec = spec_with(
        volumes=[{"name": "data", "path": "/var/lib/app"}, {"name": "reports", "path": "/srv/reports", "file_system": "shared", "read_only": True}]
    )
    definition = container_definition(spec, REFS)
    assert definition["readonlyRootFilesystem"] is True
    assert definition["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False},
        {"sourceVolume": "data", "containerPath": "/var/lib/app", "readOnly": False},
        {"sourceVolume": "reports", "containerPath": "/srv/reports", "readOnly": True},
    ]
    # The EFS volumes are task-level entries of their own (infra.service.volumes), not scratch.
    assert scratch_volumes(spec) == ["tmp"]
