"""`container_definition(spec, refs)`: the container ECS runs, as a pure function (no synthesis)."""

from __future__ import annotations

import dataclasses
from functools import cache

from infra.config import load_app
from infra.config.specs import ImageSource, ImageSpec, ServiceSpec
from infra.service.container_definition import ContainerRefs, container_definition
from tests.conftest import FIXTURE

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
    assert definition["stopTimeout"] == 60
    assert definition["logConfiguration"]["options"] == {
        "awslogs-group": "LOGS", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "worker"
    }
