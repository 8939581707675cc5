"""Adding, changing or removing a service changes that service's stack and nothing else.

The original project and modified copies (a fourth service `shop`; api on another port with
another `allow_from`; a new topic and two new subscriptions; the worker removed) are synthesized the way `cdktf synth` does it
(`python main.py` in a subprocess, dev only), and their JSON compared: the platform stack
and every other service's stack must be byte-identical. A service stack synthesized alone
(`PLATFORM_SERVICES`) is byte-identical to the same stack synthesized with everything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import default_priority
from tests.conftest import copy_project, jsondoc, only, resources

SHOP_MANIFEST = """\
# A second web service, routed by path; on EC2 capacity, with ECS Exec and secrets.
kind = "web"
port = 8080
cpu = 256
memory = 512
desired_count = 1
min_count = 1
max_count = 3
capacity = "EC2"
enable_exec = true

[routes]
paths = ["/shop/*"]

[environment]
CURRENCY = "EUR"

[secrets]
PAYMENT_TOKEN = "secretsmanager:dev/shop/payment-token"
SIGNING_KEY = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-signing-AbCdEf"
STRIPE_KEY = "ssm:/dev/shop/stripe-key"
"""

def synthesize(project: Path, outdir: Path, **variables: str) -> dict[str, str]:
    """`python main.py` for dev into `outdir`; the text of every stack by name."""
    env = dict(
        os.environ,
        CDKTF_OUTDIR=str(outdir),
        PLATFORM_ENVIRONMENTS="dev",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        **variables,
    )
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {path.parent.name: path.read_text() for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = _copy(tmp_path_factory.mktemp("original"))
    return synthesize(project, project / "cdktf.out")


@pytest.fixture(scope="module")
def with_shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = _copy(tmp_path_factory.mktemp("with-shop"))
    shutil.copytree(project / "services" / "web", project / "services" / "shop")
    (project / "services" / "shop" / "service.toml").write_text(SHOP_MANIFEST)
    return synthesize(project, project / "cdktf.out")


@pytest.fixture(scope="module")
def api_changed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """api on port 9090, reachable from web and worker."""
    project = _copy(tmp_path_factory.mktemp("api-changed"))
    manifest = project / "services" / "api" / "service.toml"
    text = manifest.read_text()
    assert "port = 8081" in text and 'allow_from = ["web"]' in text
    manifest.write_text(text.replace("port = 8081", "port = 9090").replace('allow_from = ["web"]', 'allow_from = ["web", "worker"]'))
    return synthesize(project, project / "cdktf.out")


@pytest.fixture(scope="module")
def with_events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Events added: web publishes "visits", which the worker subscribes to; a new worker `audit`
    subscribes to api's existing "orders"."""
    project = _copy(tmp_path_factory.mktemp("with-events"))
    web = project / "services" / "web" / "service.toml"
    text = web.read_text()
    assert "max_count = 6\n" in text
    web.write_text(text.replace("max_count = 6\n", 'max_count = 6\npublish = ["visits"]\n', 1))
    worker = project / "services" / "worker" / "service.toml"
    worker.write_text(worker.read_text() + '\n[[subscribe]]\ntopic = "web.visits"\n')
    shutil.copytree(project / "services" / "worker", project / "services" / "audit")
    (project / "services" / "audit" / "service.toml").write_text(
        'kind = "worker"\nport = 8083\ncpu = 256\nmemory = 512\n\n[[subscribe]]\ntopic = "api.orders"\n'
    )
    return synthesize(project, project / "cdktf.out")


@pytest.fixture(scope="module")
def without_worker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = _copy(tmp_path_factory.mktemp("without-worker"))
    shutil.rmtree(project / "services" / "worker")
    return synthesize(project, project / "cdktf.out")


def _copy(tmp: Path) -> Path:
    """The project's code with the tests' configuration, for module-scoped synthesis (each
    variant is synthesized once and shared by its tests)."""
    return copy_project(tmp / "project")


# --- adding a service --------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev-platform", "dev-web", "dev-api", "dev-worker"])
def test_adding_a_service_leaves_the_platform_and_the_other_services_byte_identical(
    original: dict[str, str], with_shop: dict[str, str], stack: str
) -> None:
    assert set(with_shop) == set(original) | {"dev-shop"}
    assert with_shop[stack] == original[stack]


def test_added_web_service_gets_its_own_rule_with_a_priority_from_its_name(
    original: dict[str, str], with_shop: dict[str, str]
) -> None:
    shop = json.loads(with_shop["dev-shop"])
    rule = only(shop, "aws_lb_listener_rule")
    assert rule["priority"] == default_priority("shop", ["/shop/*"], [])
    assert rule["condition"] == [{"path_pattern": {"values": ["/shop/*"]}}]
    web_rule = only(json.loads(original["dev-web"]), "aws_lb_listener_rule")
    assert rule["priority"] < web_rule["priority"]  # the specific path is evaluated before the catch-all
    assert rule["listener_arn"] == web_rule["listener_arn"]
    assert only(shop, "aws_lb_target_group")["name"] == "${local.name_prefix}-shop"  # dev-shop in `default`


def test_added_service_secrets_are_references_and_its_execution_role_reads_exactly_them(with_shop: dict[str, str]) -> None:
    shop = json.loads(with_shop["dev-shop"])
    (definition,) = jsondoc(only(shop, "aws_ecs_task_definition")["container_definitions"])
    prefix = "arn:${data.aws_partition.partition.partition}"
    secrets = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert set(secrets) == {"PAYMENT_TOKEN", "SIGNING_KEY", "STRIPE_KEY"}
    assert secrets["SIGNING_KEY"] == "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-signing-AbCdEf"
    assert secrets["PAYMENT_TOKEN"].startswith(prefix)
    assert secrets["PAYMENT_TOKEN"].endswith(":secret:dev/shop/payment-token")
    assert secrets["STRIPE_KEY"].startswith(prefix)
    assert secrets["STRIPE_KEY"].endswith(":parameter/dev/shop/stripe-key")
    assert ":ssm:" in secrets["STRIPE_KEY"] and ":secretsmanager:" in secrets["PAYMENT_TOKEN"]
    assert [e["name"] for e in definition["environment"]] == ["CURRENCY"]

    (policy,) = [p for p in resources(shop, "aws_iam_role_policy").values() if p["name"] == "task-execution"]
    document = shop["data"]["aws_iam_policy_document"][policy["policy"].split(".")[2]]
    statements = {s["sid"]: s for s in document["statement"]}
    assert statements["ReadOwnSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert sorted(statements["ReadOwnSecrets"]["resources"]) == sorted(
        [secrets["PAYMENT_TOKEN"] + "-??????", secrets["SIGNING_KEY"]]
    )
    assert statements["ReadOwnParameters"] == {
        "sid": "ReadOwnParameters",
        "actions": ["ssm:GetParameters"],
        "resources": [secrets["STRIPE_KEY"]],
    }
    assert statements["DecryptWithPlatformKey"]["actions"] == ["kms:Decrypt"]


def test_added_service_on_ec2_with_exec(with_shop: dict[str, str]) -> None:
    shop = json.loads(with_shop["dev-shop"])
    task = only(shop, "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["EC2"]
    (definition,) = jsondoc(task["container_definitions"])
    assert definition["linuxParameters"] == {"initProcessEnabled": True}
    service = only(shop, "aws_ecs_service")
    assert service["enable_execute_command"] is True
    assert service["capacity_provider_strategy"] == [
        {"base": 0, "capacity_provider": "${data.terraform_remote_state.platform.outputs.ec2_capacity_provider_name}", "weight": 1}
    ]
    assert service["ordered_placement_strategy"] == [{"field": "attribute:ecs.availability-zone", "type": "spread"}]


# --- changing a service ------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev-platform", "dev-worker"])
def test_changing_a_port_and_allow_from_leaves_the_platform_and_the_other_services_byte_identical(
    original: dict[str, str], api_changed: dict[str, str], stack: str
) -> None:
    assert set(api_changed) == set(original)
    assert api_changed[stack] == original[stack]
    assert api_changed["dev-api"] != original["dev-api"]


def test_a_service_naming_the_changed_one_by_url_changes_exactly_that_url(
    original: dict[str, str], api_changed: dict[str, str]
) -> None:
    """web's API_URL is `${service.api.url}`: it follows api's new port, and that is all."""
    # web has no Service Connect: api's Cloud Map DNS name (tests/test_domains.py).
    assert api_changed["dev-web"] == original["dev-web"].replace("http://api.dev.internal:8081", "http://api.dev.internal:9090")
    assert api_changed["dev-web"] != original["dev-web"]


def test_the_changed_service_admits_exactly_its_new_callers_on_its_new_port(api_changed: dict[str, str]) -> None:
    api = json.loads(api_changed["dev-api"])
    callers = {d["name"] for d in api["data"]["aws_security_group"].values()}
    # The callers' groups of the same copy: dev-web-tasks and dev-worker-tasks in `default`.
    assert callers == {"${local.name_prefix}-web-tasks", "${local.name_prefix}-worker-tasks"}
    ingress = [r for r in resources(api, "aws_vpc_security_group_ingress_rule").values() if "allow_from" in r["description"]]
    assert sorted((r["from_port"], r["to_port"]) for r in ingress) == [(9090, 9090), (9090, 9090)]


# --- events: a new topic, a new subscriber ---------------------------------------------
@pytest.mark.parametrize("stack", ["dev-platform", "dev-api"])
def test_adding_a_topic_and_subscribers_changes_only_the_publishing_and_subscribing_stacks(
    original: dict[str, str], with_events: dict[str, str], stack: str
) -> None:
    """api's stack stays byte-identical although a new service subscribes to its topic: a
    subscriber finds the topic by name and owns its subscription and queue policy."""
    assert set(with_events) == set(original) | {"dev-audit"}
    assert with_events[stack] == original[stack]
    assert with_events["dev-web"] != original["dev-web"]  # its new topic
    assert with_events["dev-worker"] != original["dev-worker"]  # its new subscription


def test_the_new_subscriber_owns_its_subscription_and_the_publisher_its_new_topic(with_events: dict[str, str]) -> None:
    audit = json.loads(with_events["dev-audit"])
    assert only(audit, "aws_sns_topic_subscription")["topic_arn"].endswith(":${local.name_prefix}-api-orders")
    web = json.loads(with_events["dev-web"])
    assert only(web, "aws_sns_topic")["name"] == "${local.name_prefix}-web-visits"
    worker = json.loads(with_events["dev-worker"])
    assert sorted(resources(worker, "aws_sns_topic_subscription")) == ["api_orders", "web_visits"]


# --- removing a service ------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev-platform", "dev-web", "dev-api"])
def test_removing_a_service_leaves_the_platform_and_the_other_services_byte_identical(
    original: dict[str, str], without_worker: dict[str, str], stack: str
) -> None:
    assert set(without_worker) == set(original) - {"dev-worker"}
    assert without_worker[stack] == original[stack]


# --- one service alone ---------------------------------------------------------------
@pytest.mark.parametrize("service", ["web", "api", "worker"])
def test_a_service_stack_synthesized_alone_is_the_same_stack(
    original: dict[str, str], tmp_path: Path, service: str
) -> None:
    project = _copy(tmp_path)
    alone = synthesize(project, project / "cdktf.out", PLATFORM_SERVICES=service)
    assert set(alone) == {f"dev-{service}"}
    assert alone[f"dev-{service}"] == original[f"dev-{service}"]
