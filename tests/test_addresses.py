"""Terraform addresses read like hand-written Terraform, never a hash, and renames ship
`moved` blocks (infra/addresses.py). The end-to-end test applies a stack with the hashed
addresses of earlier versions and shows the moves replace nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import cdktf
from cdktf import App, TerraformStack
from constructs import Construct

from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from infra.addresses import legacy_logical_id, named, namespace
from infra.stacks import EnvironmentStack
from tests.conftest import Synth, env_of

READABLE = re.compile(r"^[a-z][a-z0-9_]*$")
HASHED = re.compile(r"_[0-9A-F]{8}$")


def _addresses(stack: dict[str, Any]) -> list[str]:
    return [f"{type_}.{name}" for type_, items in stack.get("resource", {}).items() for name in items] + [
        f"data.{type_}.{name}" for type_, items in stack.get("data", {}).items() for name in items
    ]


def test_every_address_in_every_stack_reads_like_hand_written_terraform(synth: Synth) -> None:
    for name, stack in synth.stacks.items():
        for address in _addresses(stack):
            label = address.rsplit(".", 1)[1]
            assert READABLE.match(label) and not HASHED.search(label), f"{name}: {address}"


def test_a_service_stacks_own_parts_carry_the_service_name(synth: Synth) -> None:
    web = synth.stack("dev-web")
    for type_ in ("aws_ecs_service", "aws_ecs_task_definition", "aws_ecr_repository", "aws_security_group",
                  "aws_lb_target_group", "aws_lb_listener_rule", "aws_cloudwatch_log_group", "aws_codepipeline"):
        assert "web" in web["resource"][type_], type_
    assert set(web["resource"]["aws_iam_role"]) == {"exec", "task", "build", "record", "pipeline"}
    platform = synth.stack("dev-platform")
    # ... and the mount targets' group of the shared file system ([[file_systems]] name = "shared").
    assert set(platform["resource"]["aws_security_group"]) == {"alb", "app", "bastion", "ansible", "database", "shared_efs"}
    # A service's own volume is addressed by its name, its mount targets by zone (for_each).
    worker = synth.stack("dev-worker")["resource"]
    for type_ in ("aws_efs_file_system", "aws_efs_access_point", "aws_efs_mount_target", "aws_efs_file_system_policy"):
        assert set(worker[type_]) == {"spool"}, type_
    assert set(worker["aws_security_group"]) == {"worker", "spool_efs"}
    assert "mysql" in platform["resource"]["aws_db_instance"]


def test_subnets_are_addressed_by_zone_not_by_position(synth: Synth) -> None:
    env = env_of("dev")
    zones = [az[len(env.region):] for az in env.network.availability_zones[: env.network.az_count]]
    subnets = synth.stack("dev-platform")["resource"]["aws_subnet"]
    assert set(subnets) == {f"{tier}_{zone}" for tier in ("public", "private", "database") for zone in zones}
    for name, subnet in subnets.items():
        assert subnet["availability_zone"].endswith(name.rsplit("_", 1)[1])


def test_every_resource_moves_from_the_hashed_address_cdktf_gave_it_before(synth: Synth) -> None:
    for name, stack in synth.stacks.items():
        moved = {block["to"]: block["from"] for block in stack["moved"]}
        for type_, items in stack["resource"].items():
            for label, resource in items.items():
                components = resource["//"]["metadata"]["path"].split("/")[1:]
                assert moved[f"{type_}.{label}"] == f"{type_}.{legacy_logical_id(components)}", f"{name}: {type_}.{label}"
        assert len(moved) == len(stack["moved"]) == sum(len(items) for items in stack["resource"].values())


@pytest.mark.parametrize(
    "path",
    [["queue"], ["service", "queue"], ["service", "scaling", "cpu"], ["a", "Default", "b"], ["storage", "logs", "logs"], ["x", "ab", "b"]],
)
def test_the_hashed_address_is_exactly_what_cdktf_allocates(path: list[str]) -> None:
    """Our copy of CDKTF's id algorithm agrees with CDKTF's own, so the moved blocks name
    the addresses earlier states really have."""
    app = cdktf.Testing.app()
    stack = TerraformStack(app, "stack")
    AwsProvider(stack, "aws", region="us-east-1")
    scope: Construct = stack
    for component in path[:-1]:
        scope = Construct(scope, component)
    queue = SqsQueue(scope, path[-1], name="q")
    assert legacy_logical_id(path) == queue.friendly_unique_id


def test_a_resources_string_form_is_its_construct_path() -> None:
    """Addresses.allocate reads an element's path as its string form (one jsii call, not two);
    in the app, the moved-block test above checks every resource's against CDKTF's metadata."""
    app, stack = _stack()
    group = Construct(Construct(stack, "a"), "b")
    elements = [SqsQueue(group, "queue", name="q"), DataAwsIamPolicyDocument(group, "doc"), SqsQueue(stack, "top", name="t")]
    assert [element.to_string() for element in elements] == [element.node.path for element in elements]
    assert [element.to_string() for element in elements] == ["dev-test/a/b/queue", "dev-test/a/b/doc", "dev-test/top"]
    out = json.loads(cdktf.Testing.synth(stack))
    assert set(out["resource"]["aws_sqs_queue"]) == {"queue", "top"} and set(out["data"]["aws_iam_policy_document"]) == {"doc"}


def _stack() -> tuple[App, EnvironmentStack]:
    app = cdktf.Testing.app()
    return app, EnvironmentStack(app, "dev-test", env=env_of("dev"), local=None, component="test")


def test_two_resources_of_one_type_at_one_address_fail_synthesis_naming_both() -> None:
    app, stack = _stack()
    SqsQueue(Construct(stack, "orders"), "queue", name="orders")
    SqsQueue(Construct(stack, "billing"), "queue", name="billing")
    with pytest.raises(RuntimeError, match=r"dev-test/billing/queue and dev-test/orders/queue would both be aws_sqs_queue\.queue"):
        cdktf.Testing.synth(stack)


def test_a_namespace_prefixes_what_it_holds_and_a_rename_ships_a_moved_block() -> None:
    app, stack = _stack()
    for name in ("orders", "billing"):
        group = Construct(stack, name)
        namespace(group)
        SqsQueue(group, "queue", name=name)
    named(SqsQueue(stack, "events", name="events"), "events_queue", was="events")
    out = json.loads(cdktf.Testing.synth(stack))
    assert set(out["resource"]["aws_sqs_queue"]) == {"orders_queue", "billing_queue", "events_queue"}
    assert {"from": "aws_sqs_queue.events", "to": "aws_sqs_queue.events_queue"} in out["moved"]


def test_a_later_rename_chains_its_moves_and_the_hcl_output_carries_them_too() -> None:
    """hashed → was → name: Terraform follows a chain but refuses two moves to one address. CDKTF's
    HCL writer drops the JSON's stack-level list; the stack gives it the same blocks."""
    app, stack = _stack()
    named(SqsQueue(Construct(stack, "events"), "queue", name="events"), "events_queue", was="events")
    stack.prepare_stack()  # what App.synth does to every stack before it writes any
    out = json.loads(cdktf.Testing.synth(stack))
    legacy = legacy_logical_id(["events", "queue"])
    assert out["moved"] == [
        {"from": f"aws_sqs_queue.{legacy}", "to": "aws_sqs_queue.events"},
        {"from": "aws_sqs_queue.events", "to": "aws_sqs_queue.events_queue"},
    ]
    hcl = cdktf.Testing.synth_hcl(stack)
    blocks = re.findall(r"moved \{\s*from = (\S+)\s*to = (\S+)\s*\}", hcl)
    assert blocks == [(m["from"], m["to"]) for m in out["moved"]], hcl


def test_named_refuses_what_terraform_would_not_accept_as_a_name() -> None:
    app, stack = _stack()
    with pytest.raises(ValueError, match="is not a Terraform resource name"):
        named(SqsQueue(stack, "q", name="q"), "5xx-alarm")


def test_a_hyphenated_service_name_gives_underscored_addresses(tmp_path: Any) -> None:
    """`order-api` is a valid service name (schema); its stack synthesized (it failed in `named`)
    and its resources read `aws_ecs_service.order_api`, the caller's group too."""
    from infra.app import build_app
    from tests.config_builder import BACKEND, Project

    project = Project(tmp_path).service("order-api", BACKEND, allow_from=["web"]).service("web", environment={"API": "${service.order-api.url}"})
    out = tmp_path / "out"
    build_app(project.load(), outdir=str(out), services=["order-api"], platform=False).synth()
    stack = json.loads((out / "stacks" / "dev-order-api" / "cdk.tf.json").read_text())
    assert "order_api" in stack["resource"]["aws_ecs_service"]
    assert "caller_web" in stack["data"]["aws_security_group"]
    assert all(READABLE.match(a.rsplit(".", 1)[1]) for a in _addresses(stack))
