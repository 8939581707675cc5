"""`make cost`: the monthly estimate read from what Terraform will create (tools/cost.py).

Small configurations built here are synthesized and priced; the expected figures are computed
from the price table and the configuration, so a change to either shows which line moved."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infra.app import build_app
from tests.config_builder import WORKER, Project
from tests.conftest import ROOT, Synth
from tools import cost, readme_block

PRICES = tomllib.loads((ROOT / "tools" / "prices" / "us-east-1.toml").read_text())
HOURS = PRICES["hours_per_month"]


def synthesize(project: Project, out: Path) -> Path:
    build_app(project.load(), outdir=str(out)).synth()
    return out


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dev: NAT per zone in 3 zones, Multi-AZ db.m6g.large with 100 GB, web (2 tasks: 1 on FARGATE
    by base, 1 by weight 1:3 → 0.25 FARGATE / 0.75 FARGATE_SPOT), a worker on the EC2 provider;
    an ASG of minimum 2 × t3.medium; the bastion and the Ansible host."""
    tmp = tmp_path_factory.mktemp("cost")
    project = (
        Project(tmp)
        .env(
            network={"az_count": 3, "nat": "per_az"},
            database={"instance_class": "db.m6g.large", "allocated_storage": 100, "multi_az": True},
            cluster={
                "default_strategy": [
                    {"provider": "FARGATE", "weight": 1, "base": 1},
                    {"provider": "FARGATE_SPOT", "weight": 3},
                ],
                "ec2": {"enabled": True, "instance_type": "t3.medium", "min_size": 2, "max_size": 4},
            },
            access={"enabled": True, "key_name": "admin"},
        )
        .service("web", desired_count=2, min_count=1, max_count=4, cpu=512, memory=1024)
        .service("jobs", WORKER, capacity="EC2", desired_count=3, min_count=1, max_count=3)
    )
    return synthesize(project, tmp / "out")


def line(out: Path, kind: str, env: str = "dev") -> float:
    return round(cost.estimate(out, env).lines[kind].monthly, 6)


def test_nat_gateways_are_priced_per_zone(priced: Path) -> None:
    assert line(priced, "NAT gateways") == pytest.approx(3 * PRICES["vpc"]["nat_gateway_hour"] * HOURS)


def test_every_public_address_is_priced_nat_bastion_and_load_balancer_zones(priced: Path) -> None:
    # 3 NAT Elastic IPs + the bastion's + one per load balancer subnet (3 zones)
    assert line(priced, "Public IPv4 addresses") == pytest.approx(7 * PRICES["vpc"]["public_ipv4_hour"] * HOURS)


def test_multi_az_database_bills_the_standby_and_its_storage(priced: Path) -> None:
    rds = PRICES["rds"]
    assert line(priced, "RDS instance") == pytest.approx(2 * rds["mysql_instance_hour"]["db.m6g.large"] * HOURS)
    assert line(priced, "RDS storage") == pytest.approx(100 * rds["multi_az_gp_storage_gb_month"])


def test_tasks_split_between_fargate_and_spot_by_base_then_weight(priced: Path) -> None:
    f = PRICES["fargate"]
    task = 0.5 * f["x86_64_vcpu_hour"] + 1 * f["x86_64_gb_hour"]
    spot = 0.5 * f["spot_x86_64_vcpu_hour"] + 1 * f["spot_x86_64_gb_hour"]
    # 2 tasks: the base puts 1 on FARGATE; the other splits 1:3 → 1.25 FARGATE, 0.75 SPOT
    assert line(priced, "Fargate tasks") == pytest.approx(1.25 * task * HOURS)
    assert line(priced, "Fargate Spot tasks") == pytest.approx(0.75 * spot * HOURS)


def test_tasks_on_the_ec2_provider_cost_only_the_instances_at_the_group_minimum(priced: Path) -> None:
    estimate = cost.estimate(priced, "dev")
    assert not any("dev-jobs" in basis for k in ("Fargate tasks", "Fargate Spot tasks") for basis in estimate.lines[k].basis)
    ec2 = PRICES["ec2"]
    expected = 2 * (ec2["instance_hour"]["t3.medium"] * HOURS + 30 * ec2["ebs_gp3_gb_month"])
    assert line(priced, "EC2 capacity (ASG minimum)") == pytest.approx(expected)


def test_the_total_is_the_sum_of_the_lines(priced: Path) -> None:
    estimate = cost.estimate(priced, "dev")
    assert estimate.total == pytest.approx(sum(l.monthly for l in estimate.lines.values()))
    assert set(estimate.lines) <= set(cost.KINDS)


def test_desired_count_is_read_from_the_variable_default(priced: Path, tmp_path: Path) -> None:
    """An operator's `-var desired_count=` is not known at estimate time: the default is priced,
    and changing the default changes the estimate."""
    copy = tmp_path / "out"
    shutil.copytree(priced, copy)
    path = copy / "stacks" / "dev-web" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    assert stack["resource"]["aws_ecs_service"]["web"]["desired_count"] == "${var.desired_count}"
    stack["variable"]["desired_count"]["default"] = 4
    path.write_text(json.dumps(stack))
    assert line(copy, "Fargate tasks") > line(priced, "Fargate tasks")


def test_an_unknown_instance_type_is_reported_not_priced_never_zero(priced: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(priced, copy)
    path = copy / "stacks" / "dev-platform" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    stack["resource"]["aws_instance"]["bastion"]["instance_type"] = "x9.huge"
    path.write_text(json.dumps(stack))
    estimate = cost.estimate(copy, "dev")
    assert "bastion: EC2 instance type x9.huge" in estimate.unpriced
    assert "Not priced" in cost.text([estimate]) and "x9.huge" in cost.text([estimate])


def test_split_places_bases_first_then_by_weight() -> None:
    strategy = [{"capacity_provider": "FARGATE", "base": 2, "weight": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    assert cost.split(1, strategy) == {"FARGATE": 1, "FARGATE_SPOT": 0}
    assert cost.split(6, strategy) == {"FARGATE": 4, "FARGATE_SPOT": 2}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cost", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_fails_when_the_environment_was_not_synthesized(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    result = run("staging", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}/stacks: no stack of environment 'staging' (run `make synth ENVS=staging` first)"
    ]


def test_fails_when_there_is_no_price_table_for_the_region(priced: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(priced, copy)
    for path in (copy / "stacks").glob("dev-*/cdk.tf.json"):
        stack = json.loads(path.read_text())
        for provider in stack["provider"]["aws"]:
            provider["region"] = "ap-south-2"
        path.write_text(json.dumps(stack))
    result = run("dev", "--out", str(copy))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: tools/prices/ap-south-2.toml: no price table for region ap-south-2 (have: us-east-1)"
    ]


def test_environments_print_side_by_side(priced: Path) -> None:
    result = run("dev,dev", "--out", str(priced))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["kind", "dev", "dev"]
    assert any(l.startswith("total") for l in lines)
    assert "Not counted" in result.stdout


def test_the_readme_table_is_what_make_cost_says_of_the_example_configuration(synth: Synth) -> None:
    assert cost.README_CONFIG == ROOT / "tests" / "fixtures" / "app"  # what the `synth` fixture synthesizes
    readme = (ROOT / "README.md").read_text()
    rendered = readme_block.render(readme, cost.BEGIN, cost.END, cost.readme_table(synth.outdir))
    assert rendered == readme, "README.md: the cost table is stale; run python -m tools.cost --readme"
