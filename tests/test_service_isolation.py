"""Adding or removing a service touches nothing that belongs to another service.

The original project and modified copies (a fourth service `shop`; the worker removed)
are synthesized the way `cdktf synth` does it (`python main.py` in a subprocess, dev
only), and their JSON compared: the other services' stacks must be byte-identical, and
the platform stack may only gain (or lose) things that belong to the added (or removed)
service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import default_priority
from tests.conftest import ROOT, only, resources

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

def synthesize(project: Path, outdir: Path) -> dict[str, str]:
    """`python main.py` for dev into `outdir`; the text of every stack by name."""
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), PLATFORM_ENVIRONMENTS="dev", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {path.parent.name: path.read_text() for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return synthesize(ROOT, tmp_path_factory.mktemp("original") / "cdktf.out")


def entries(stack: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """Every resource, data source and output of a stack by address (metadata dropped)."""
    found: dict[tuple[str, ...], Any] = {}
    for block in ("resource", "data"):
        for type_, items in stack.get(block, {}).items():
            for name, body in items.items():
                found[(block, type_, name)] = {k: v for k, v in body.items() if k != "//"}
    for name, body in stack.get("output", {}).items():
        found[("output", name)] = body
    return found


def belongs_to(address: tuple[str, ...], stack: dict[str, Any], service: str) -> bool:
    """Whether a platform entry exists for `service`: a segment of its construct path (or,
    for a cross-stack output, of the referenced resource's id) names the service."""
    word = re.compile(rf"(^|[-_]){re.escape(service)}($|[-_])")
    if address[0] == "output":
        return bool(word.search(address[1]))
    path = stack[address[0]][address[1]][address[2]]["//"]["metadata"]["path"]
    return any(word.search(segment) for segment in path.split("/")[2:])


def assert_platform_changed_only_for(before: dict[str, Any], after: dict[str, Any], service: str) -> None:
    """Entries of `after` missing from `before` (or the reverse) belong to `service`; every
    entry in both is unchanged."""
    old, new = entries(before), entries(after)
    added = set(new) - set(old)
    removed = set(old) - set(new)
    assert all(belongs_to(a, after, service) for a in added), sorted(a for a in added if not belongs_to(a, after, service))
    assert all(belongs_to(a, before, service) for a in removed), sorted(
        a for a in removed if not belongs_to(a, before, service)
    )
    changed = sorted(a for a in set(old) & set(new) if old[a] != new[a])
    assert not changed, f"existing platform entries changed: {changed}"
    # Provider, backend and versions; "//" is CDKTF's metadata (it indexes the outputs).
    rest = ("resource", "data", "output", "//")
    assert {k: v for k, v in before.items() if k not in rest} == {k: v for k, v in after.items() if k not in rest}


@pytest.fixture(scope="module")
def with_shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = _copy(tmp_path_factory.mktemp("with-shop"))
    shutil.copytree(project / "services" / "web", project / "services" / "shop")
    (project / "services" / "shop" / "service.toml").write_text(SHOP_MANIFEST)
    return synthesize(project, project / "cdktf.out")


@pytest.fixture(scope="module")
def without_worker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = _copy(tmp_path_factory.mktemp("without-worker"))
    shutil.rmtree(project / "services" / "worker")
    return synthesize(project, project / "cdktf.out")


def _copy(tmp: Path) -> Path:
    """The same copy as the `project_copy` fixture, for module-scoped synthesis (each costs
    tens of seconds, so every test of a variant shares one)."""
    target = tmp / "project"
    target.mkdir(parents=True)
    for name in ("main.py", "cdktf.json"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for name in ("infra", "environments", "services", "tools"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    return target


def test_the_module_copies_are_what_the_shared_fixture_copies(project_copy: Path, tmp_path: Path) -> None:
    copied = sorted(p.relative_to(project_copy).as_posix() for p in project_copy.rglob("*") if p.is_file())
    mine = _copy(tmp_path / "mine")
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file()) == copied
    assert "services/web/service.toml" in copied


# --- adding a service --------------------------------------------------------------
@pytest.mark.parametrize("service", ["web", "api", "worker"])
def test_adding_a_service_leaves_the_other_service_stacks_byte_identical(
    original: dict[str, str], with_shop: dict[str, str], service: str
) -> None:
    assert with_shop[f"dev-{service}"] == original[f"dev-{service}"]


def test_adding_a_service_only_adds_to_the_platform(original: dict[str, str], with_shop: dict[str, str]) -> None:
    assert set(with_shop) == set(original) | {"dev-shop"}
    assert_platform_changed_only_for(json.loads(original["dev-platform"]), json.loads(with_shop["dev-platform"]), "shop")


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
    assert only(shop, "aws_lb_target_group")["name"] == "dev-shop"


def test_added_service_secrets_are_references_and_its_execution_role_reads_exactly_them(with_shop: dict[str, str]) -> None:
    shop = json.loads(with_shop["dev-shop"])
    (definition,) = json.loads(only(shop, "aws_ecs_task_definition")["container_definitions"])
    prefix = "arn:${data.aws_partition.service_partition_"
    secrets = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert set(secrets) == {"PAYMENT_TOKEN", "SIGNING_KEY", "STRIPE_KEY"}
    assert secrets["SIGNING_KEY"] == "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-signing-AbCdEf"
    assert secrets["PAYMENT_TOKEN"].startswith(prefix)
    assert secrets["PAYMENT_TOKEN"].endswith(":secret:dev/shop/payment-token")
    assert secrets["STRIPE_KEY"].startswith(prefix)
    assert secrets["STRIPE_KEY"].endswith(":parameter/dev/shop/stripe-key")
    assert ":ssm:" in secrets["STRIPE_KEY"] and ":secretsmanager:" in secrets["PAYMENT_TOKEN"]
    assert [e["name"] for e in definition["environment"]] == ["CURRENCY"]

    (policy,) = [p for p in resources(shop, "aws_iam_role_policy").values() if p["name"] == "service-secrets"]
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
    (definition,) = json.loads(task["container_definitions"])
    assert definition["linuxParameters"] == {"initProcessEnabled": True}
    service = only(shop, "aws_ecs_service")
    assert service["enable_execute_command"] is True
    assert service["capacity_provider_strategy"] == [{"base": 0, "capacity_provider": "ec2-dev", "weight": 1}]
    assert service["ordered_placement_strategy"] == [{"field": "attribute:ecs.availability-zone", "type": "spread"}]


# --- removing a service ------------------------------------------------------------
@pytest.mark.parametrize("service", ["web", "api"])
def test_removing_a_service_leaves_the_other_service_stacks_byte_identical(
    original: dict[str, str], without_worker: dict[str, str], service: str
) -> None:
    assert without_worker[f"dev-{service}"] == original[f"dev-{service}"]


def test_removing_a_service_only_removes_from_the_platform(original: dict[str, str], without_worker: dict[str, str]) -> None:
    assert set(without_worker) == set(original) - {"dev-worker"}
    assert_platform_changed_only_for(
        json.loads(original["dev-platform"]), json.loads(without_worker["dev-platform"]), "worker"
    )
