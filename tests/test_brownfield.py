"""Brownfield: an existing VPC (`[network] vpc_id`) and `[[imports]]` of existing resources.

The synthesized JSON of a platform on an existing network: no VPC, subnets, gateways or
route tables of its own; the VPC and subnets read by data sources with the checks Terraform
makes at plan time; the same contract outputs. `[[imports]]` entries become `import` blocks
at the stack's final addresses, and an address the stack lacks stops `python main.py` with
exit code 2, one line, nothing written. Terraform validates both kinds of stack.
(tests/test_brownfield_moto.py runs them against the emulator.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config.specs import AppSpec
from tests.config_builder import BACKEND, DELETE, Project
from tests.conftest import data_sources, logical_id, resources

VPC_ID = "vpc-0123456789abcdef0"
PUBLIC = ["subnet-0a000000000000001", "subnet-0a000000000000002"]
PRIVATE = ["subnet-0b000000000000001", "subnet-0b000000000000002"]
DATABASE = ["subnet-0c000000000000001", "subnet-0c000000000000002"]
EXISTING = {
    "vpc_cidr": DELETE,
    "vpc_id": VPC_ID,
    "public_subnet_ids": PUBLIC,
    "private_subnet_ids": PRIVATE,
    "database_subnet_ids": DATABASE,
}
# What only a VPC the platform creates has.
CREATED_NETWORK_TYPES = (
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_nat_gateway",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_default_security_group",
    "aws_flow_log",
)


def brownfield(project: Project) -> Project:
    return project.env(network=EXISTING).env("prod", production=True, network=EXISTING)


def addresses_by_path(app: Any) -> dict[str, dict[str, str]]:
    """stack -> construct path -> Terraform address, of every resource (as apply_imports sees them)."""
    from infra.imports import resource_addresses

    found: dict[str, dict[str, str]] = {}
    for stack in app.node.children:
        found[stack.node.id] = {res.node.path: address for address, res in resource_addresses(stack).items()}
    return found


def address(addresses: dict[str, str], suffix: str) -> str:
    (match,) = [a for path, a in addresses.items() if path.endswith(suffix)]
    return match


def synthesize(spec: AppSpec, outdir: Path) -> dict[str, dict[str, Any]]:
    from infra.app import build_app

    build_app(spec, outdir=str(outdir)).synth()
    return {p.parent.name: json.loads(p.read_text()) for p in (outdir / "stacks").glob("*/cdk.tf.json")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]], Path]:
    """A brownfield dev and prod, with an import into the platform and one into web's stack of
    dev only; the addresses come from building the same configuration without the imports."""
    from infra.app import build_app

    tmp = tmp_path_factory.mktemp("brownfield")
    project = brownfield(Project(tmp))
    found = addresses_by_path(build_app(project.load(), outdir=str(tmp / "unused")))
    exec_logs = address(found["dev-platform"], "/cluster/exec-logs")
    repository = address(found["dev-web"], "/registry/repository")
    project.env(imports=[{"to": exec_logs, "id": "/ecs-exec/dev"}])
    project.service("web", imports=[{"to": repository, "id": "dev/web", "environments": ["dev"]}])
    outdir = tmp / "cdktf.out"
    return synthesize(project.load(), outdir), found, outdir


def test_an_existing_network_creates_no_vpc_subnets_gateways_or_routes(built) -> None:
    stacks, _, _ = built
    for env in ("dev", "prod"):
        platform = stacks[f"{env}-platform"]
        present = [t for t in CREATED_NETWORK_TYPES if resources(platform, t)]
        assert present == [], f"{env}-platform creates {present} on an existing network"
        # The only Elastic IP left is the bastion's (no NAT gateway needs one).
        assert [r["//"]["metadata"]["path"].split("/")[-1] for r in resources(platform, "aws_eip").values()] == ["bastion-ip"]


def test_an_existing_network_offers_no_flow_log_variable(built) -> None:
    """Its flow logs are not ours: a `flow_log_retention_days` variable would default to null
    and fail its own validation at plan (contains() on null)."""
    stacks, _, _ = built
    for env in ("dev", "prod"):
        variables = stacks[f"{env}-platform"]["variable"]
        assert "flow_log_retention_days" not in variables and "alb_idle_timeout" in variables


def test_the_existing_vpc_is_read_and_must_resolve_dns(built) -> None:
    platform = built[0]["dev-platform"]
    (vpc,) = data_sources(platform, "aws_vpc").values()
    assert vpc["id"] == VPC_ID
    (check,) = vpc["lifecycle"]["postcondition"]
    assert check["condition"] == "${self.enable_dns_support && self.enable_dns_hostnames}"
    assert "environments/dev.toml" in check["error_message"] and "private hosted zone" in check["error_message"]


def test_every_existing_subnet_is_read_and_must_be_in_the_vpc(built) -> None:
    platform = built[0]["dev-platform"]
    subnets = data_sources(platform, "aws_subnet")
    assert sorted(s["id"] for s in subnets.values()) == sorted(PUBLIC + PRIVATE + DATABASE)
    for subnet in subnets.values():
        (check,) = subnet["lifecycle"]["postcondition"]
        assert check["condition"] == f'${{self.vpc_id == "{VPC_ID}"}}'
        assert subnet["id"] in check["error_message"]


def test_the_contract_publishes_the_existing_network(built) -> None:
    platform = built[0]["dev-platform"]
    vpc = logical_id(platform, "aws_vpc", "network/vpc", data=True)
    outputs = {name: output["value"] for name, output in platform["output"].items()}
    assert outputs["vpc_id"] == f"${{data.aws_vpc.{vpc}.id}}"
    assert outputs["vpc_cidr"] == f"${{data.aws_vpc.{vpc}.cidr_block}}"
    for tier, ids in (("public", PUBLIC), ("private", PRIVATE), ("database", DATABASE)):
        expected = [f"${{data.aws_subnet.{logical_id(platform, 'aws_subnet', f'network/{tier}-{i}', data=True)}.id}}" for i in ids]
        assert outputs[f"{tier}_subnet_ids"] == expected


def test_groups_namespace_and_load_balancer_use_the_existing_network(built) -> None:
    platform = built[0]["dev-platform"]
    vpc = f"${{data.aws_vpc.{logical_id(platform, 'aws_vpc', 'network/vpc', data=True)}.id}}"
    assert {g["vpc_id"] for g in resources(platform, "aws_security_group").values()} == {vpc}
    (namespace,) = resources(platform, "aws_service_discovery_private_dns_namespace").values()
    assert namespace["vpc"] == vpc
    (lb,) = resources(platform, "aws_lb").values()
    public = [f"data.aws_subnet.{logical_id(platform, 'aws_subnet', f'network/public-{i}', data=True)}" for i in PUBLIC]
    assert lb["subnets"] == [f"${{{s}.id}}" for s in public]
    zones = f"distinct([{', '.join(f'{s}.availability_zone' for s in public)}])"
    conditions = {c["condition"]: c["error_message"] for c in lb["lifecycle"]["precondition"]}
    assert "Application Load Balancer needs subnets in two" in conditions[f"${{(length({zones}) >= 2)}}"]
    assert "one subnet per zone" in conditions[f"${{(length({zones}) == 2)}}"]


def test_the_database_subnet_group_must_cover_two_zones(built) -> None:
    platform = built[0]["dev-platform"]
    (group,) = resources(platform, "aws_db_subnet_group").values()
    database = [f"data.aws_subnet.{logical_id(platform, 'aws_subnet', f'network/database-{i}', data=True)}" for i in DATABASE]
    assert group["subnet_ids"] == [f"${{{s}.id}}" for s in database]
    (check,) = group["lifecycle"]["precondition"]
    assert check["condition"] == f"${{(length(distinct([{', '.join(f'{s}.availability_zone' for s in database)}])) >= 2)}}"
    assert "DBSubnetGroupDoesNotCoverEnoughAZs" in check["error_message"]


def test_service_stacks_do_not_change_on_an_existing_network(built, tmp_path: Path) -> None:
    """A service stack reads the network through the contract only: byte for byte the same
    stack as on a network the platform creates (prod's web, which imports nothing)."""
    from infra.app import build_app

    greenfield = Project(tmp_path).env("prod", production=True).load()
    build_app(greenfield, outdir=str(tmp_path / "out"), services=["web"], platform=False).synth()
    expected = json.loads((tmp_path / "out" / "stacks" / "prod-web" / "cdk.tf.json").read_text())
    assert built[0]["prod-web"] == expected


def test_imports_become_import_blocks_at_the_final_addresses(built) -> None:
    stacks, found, _ = built
    exec_logs = address(found["dev-platform"], "/cluster/exec-logs")
    repository = address(found["dev-web"], "/registry/repository")
    assert stacks["dev-platform"]["import"] == [{"to": exec_logs, "id": "/ecs-exec/dev"}]
    assert stacks["dev-web"]["import"] == [{"to": repository, "id": "dev/web"}]
    # The address is a resource of that stack.
    type_, name = repository.split(".")
    assert name in stacks["dev-web"]["resource"][type_]
    # environments = ["dev"]: prod's stack of web imports nothing; prod's platform neither.
    assert "import" not in stacks["prod-web"] and "import" not in stacks["prod-platform"]


def test_a_production_environment_on_an_existing_network_loads_without_nat_defaults(tmp_path: Path) -> None:
    (dev, prod) = brownfield(Project(tmp_path)).load().environments
    assert prod.production and prod.network.nat is None and prod.network.existing is not None
    assert prod.network.existing.public_subnet_ids == tuple(PUBLIC)
    assert dev.network.vpc_cidr is None and dev.network.availability_zones == ()


def test_a_service_import_applies_to_every_environment_without_environments(tmp_path: Path) -> None:
    project = Project(tmp_path).env("prod").service(imports=[{"to": "aws_ecr_repository.web", "id": "shared/web"}])
    app = project.load()
    assert [s.imports[0].id for env in ("dev", "prod") for s in app.services[env]] == ["shared/web", "shared/web"]
    assert app.services["dev"][0].imports[0].field == "imports[0]"


# -- an address the stack does not have: main.py exits 2, one line, nothing written ------------------
def _run_main(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", **env)
    return subprocess.run([sys.executable, "-O", "main.py"], cwd=root, capture_output=True, text=True, timeout=300, env=environ)


@pytest.mark.parametrize(
    ("case", "entry", "message"),
    [
        ("a_misspelled_address", {"to": "aws_ecr_repository.wbe", "id": "dev/web"}, "; did you mean aws_ecr_repository.web?"),
        ("a_type_the_stack_lacks", {"to": "aws_s3_bucket.web", "id": "dev-web-bucket"}, " (it has no aws_s3_bucket resource)"),
    ],
)
def test_fails_when_an_import_names_a_resource_the_stack_lacks(tmp_path: Path, case: str, entry: dict[str, str], message: str) -> None:
    project = Project(tmp_path).service(imports=[entry])
    root = project.write_runnable()
    sentinel = root / "cdktf.out" / "stacks" / "keep" / "cdk.tf.json"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text('{"untouched": true}')

    result = _run_main(root, PLATFORM_SERVICES="web")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    prefix = f"error: services/web/service.toml: imports[0].to: no resource {entry['to']} in dev-web"
    assert result.stderr.startswith(prefix) and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert sorted(p.relative_to(root / "cdktf.out").as_posix() for p in (root / "cdktf.out").rglob("*")) == [
        "stacks", "stacks/keep", "stacks/keep/cdk.tf.json"
    ]


def test_fails_when_an_environment_import_names_a_resource_the_platform_lacks(tmp_path: Path) -> None:
    project = brownfield(Project(tmp_path)).env(imports=[{"to": "aws_vpc.vpc", "id": VPC_ID}]).service("api", BACKEND)
    result = _run_main(project.write_runnable(), PLATFORM_ENVIRONMENTS="dev")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: environments/dev.toml: imports[0].to: no resource aws_vpc.vpc in dev-platform (it has no aws_vpc resource)\n"
    )
    assert not (tmp_path / "project" / "cdktf.out").exists()


# -- Terraform validates both -------------------------------------------------------------------
@pytest.mark.terraform
def test_terraform_validates_a_brownfield_platform_and_a_stack_with_an_import(built, terraform_env, tmp_path: Path) -> None:
    _, _, outdir = built
    for name in ("dev-platform", "dev-web"):
        workdir = tmp_path / name
        shutil.copytree(outdir / "stacks" / name, workdir)
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = subprocess.run(["terraform", *args], cwd=workdir, env=terraform_env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{name}: terraform {args[0]}\n{result.stdout}{result.stderr}"
