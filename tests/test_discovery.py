"""Cloud Map: one private DNS namespace per environment, in the environment's VPC."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURE, Synth, only, resources

SERVICES = ("web", "api", "worker")


@pytest.mark.parametrize("env, name", [("dev", "dev.internal"), ("prod", "prod.internal")])
def test_private_namespace_per_environment_in_its_vpc(synth: Synth, env: str, name: str) -> None:
    stack = synth.stack(f"{env}-platform")
    namespace = only(stack, "aws_service_discovery_private_dns_namespace")
    assert namespace["name"] == name
    (vpc_id,) = resources(stack, "aws_vpc")
    assert namespace["vpc"] == f"${{aws_vpc.{vpc_id}.id}}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_public_namespace_and_no_services_in_the_platform(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    assert not resources(stack, "aws_service_discovery_public_dns_namespace")
    assert not resources(stack, "aws_service_discovery_http_namespace")
    # Per-service registrations belong to the service stacks.
    assert not resources(stack, "aws_service_discovery_service")


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_stack_registers_itself_in_the_published_namespace(synth: Synth, env: str, service: str) -> None:
    platform = synth.stack(f"{env}-platform")
    (namespace_id,) = resources(platform, "aws_service_discovery_private_dns_namespace")
    assert platform["output"]["namespace_id"]["value"] == f"${{aws_service_discovery_private_dns_namespace.{namespace_id}.id}}"
    stack = synth.stack(f"{env}-{service}")
    registration = only(stack, "aws_service_discovery_service")
    assert registration["name"] == service  # reached as <service>.<namespace>
    dns = registration["dns_config"]
    assert dns["namespace_id"] == "${data.terraform_remote_state.platform.outputs.namespace_id}"
    assert dns["dns_records"] == [{"ttl": 10, "type": "A"}]  # awsvpc tasks: one A record per task
    (logical_id,) = resources(stack, "aws_service_discovery_service")
    ecs = only(stack, "aws_ecs_service")
    assert ecs["service_registries"] == {"registry_arn": f"${{aws_service_discovery_service.{logical_id}.arn}}"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_backend_address_is_known_at_synth_time(synth: Synth, env: str) -> None:
    # The namespace's name is configuration, not a reference: a backend's address is plain text;
    # api serves Service Connect, so its address is the client alias (tests/test_domains.py).
    assert synth.stack(f"{env}-api")["output"]["url"]["value"] == "http://api:8081"


def test_namespace_name_is_a_plain_string_for_service_stacks() -> None:
    from cdktf import App

    from infra.config import load_app
    from infra.stacks import EnvironmentStack
    from infra.platform.discovery import Discovery
    from infra.platform.network import Network

    spec = load_app(FIXTURE, environments=["dev"])
    (env,) = spec.environments
    stack = EnvironmentStack(App(), "t", env=env, local=None, component="platform")
    discovery = Discovery(stack, "discovery", env=env, network=Network(stack, "network", env=env, kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/x"))
    # Services build DNS names such as api.dev.internal from it at synth time.
    assert discovery.namespace_name == "dev.internal"
