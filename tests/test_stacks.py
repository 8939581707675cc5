"""The stack layout every environment gets, and what each stack's `terraform` block says."""

from __future__ import annotations

import pytest

from infra.stacks import PROVIDER_VERSION
from tests.conftest import Synth, resources

ENVS = ("dev", "prod")
SERVICES = ("web", "api", "worker", "cleanup")  # cleanup: a job (kind = "job"), a stack like any other


def test_one_platform_stack_and_one_stack_per_service_per_environment(synth: Synth) -> None:
    expected = {f"{env}-{part}" for env in ENVS for part in ("platform", *SERVICES)}
    assert set(synth.stacks) == expected


@pytest.mark.parametrize("stack", [f"{e}-{p}" for e in ENVS for p in ("platform", *SERVICES)])
def test_provider_is_pinned_to_the_bindings_version(synth: Synth, stack: str) -> None:
    terraform = synth.stack(stack)["terraform"]
    assert terraform["required_providers"]["aws"] == {"source": "aws", "version": PROVIDER_VERSION}
    assert PROVIDER_VERSION == "5.100.0"


@pytest.mark.parametrize("part", ("platform", *SERVICES))
def test_dev_keeps_local_state_outside_the_synth_folder(synth: Synth, part: str) -> None:
    backend = synth.stack(f"dev-{part}")["terraform"]["backend"]
    assert backend == {
        "local": {
            "path": f"../../../terraform.dev-{part}.tfstate",
            "workspace_dir": f"../../../terraform.tfstate.d/dev-{part}",
        }
    }


@pytest.mark.parametrize("part", ("platform", *SERVICES))
def test_prod_state_is_in_s3_encrypted_locked_and_per_stack(synth: Synth, part: str) -> None:
    backend = synth.stack(f"prod-{part}")["terraform"]["backend"]["s3"]
    assert backend["bucket"] == "example-platform-terraform-state"
    assert backend["key"] == f"ecs-platform/prod/prod-{part}.tfstate"
    assert backend["encrypt"] is True and backend["use_lockfile"] is True
    assert backend["workspace_key_prefix"] == "workspaces"


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_service_stacks_read_the_platform_through_remote_state_of_the_same_workspace(
    synth: Synth, env: str, service: str
) -> None:
    remote = synth.stack(f"{env}-{service}")["data"]["terraform_remote_state"]
    (ref,) = remote.values()
    assert ref["workspace"] == "${terraform.workspace}"
    platform_backend = synth.stack(f"{env}-platform")["terraform"]["backend"]
    (kind,) = platform_backend
    assert ref["backend"] == kind
    if kind == "s3":
        assert ref["config"]["key"] == platform_backend["s3"]["key"]


@pytest.mark.parametrize("env", ENVS)
def test_every_stack_tags_its_resources(synth: Synth, env: str) -> None:
    for part in ("platform", *SERVICES):
        provider = synth.stack(f"{env}-{part}")["provider"]["aws"][0]
        tags = provider["default_tags"][0]["tags"]
        assert tags["Environment"] == env
        assert tags["ManagedBy"] == "cdktf"
        assert tags["Component"] == part
        assert tags["Owner"] == "platform-team"
        assert provider["region"] == "us-east-1"


def test_nothing_points_at_a_local_endpoint_by_default(synth: Synth) -> None:
    for name, stack in synth.stacks.items():
        provider = stack["provider"]["aws"][0]
        assert "endpoints" not in provider, name
        assert "access_key" not in provider, name


def test_platform_stack_is_not_empty(synth: Synth) -> None:
    assert resources(synth.stack("dev-platform"), "aws_vpc")
