"""Brownfield on the emulator: a platform on a VPC made out of band, and an import.

boto3 makes a VPC (DNS on) with public, private and database subnets in two zones and a log
group of the name the platform gives its ECS Exec logs. The brownfield platform stack plans
(no network of its own, the log group "will be imported"); an apply limited to that log
group adopts it, and a second plan of it is empty (exit 0). Terraform's own checks stop a
plan when the VPC has DNS hostnames off and when the public subnets share one zone.

Plans and one targeted apply only: the platform's load balancer and database would take
minutes on moto, and tests/test_e2e.py applies a whole platform already.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import naming
from infra.platform.cluster import EXEC_LOG_GROUP
from localaws import running
from tests.config_builder import Project
from tests.test_brownfield import address, addresses_by_path

pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def endpoint():
    with running() as url:
        yield url


def _ec2(endpoint: str) -> Any:
    return boto3.client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _network(endpoint: str, cidr: str, *, one_zone: bool = False) -> dict[str, Any]:
    """A VPC with DNS on and two subnets per tier, as a network team would hand it over."""
    ec2 = _ec2(endpoint)
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    base = cidr.rsplit(".", 2)[0]  # "10.20"
    tiers: dict[str, list[str]] = {}
    for t, tier in enumerate(("public", "private", "database")):
        tiers[tier] = [
            ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=f"{base}.{t * 16 + i}.0/24",
                AvailabilityZone="us-east-1a" if one_zone and tier == "public" else f"us-east-1{'ab'[i]}",
            )["Subnet"]["SubnetId"]
            for i in range(2)
        ]
    return {
        "vpc_cidr": None,
        "vpc_id": vpc,
        "public_subnet_ids": tiers["public"],
        "private_subnet_ids": tiers["private"],
        "database_subnet_ids": tiers["database"],
    }


def _platform(tmp: Path, endpoint: str, network: dict[str, Any], imports: list[dict[str, str]] | None = None) -> tuple[Path, dict[str, str]]:
    """Synthesize a brownfield dev in local mode; the platform's folder and its addresses."""
    from infra.app import build_app
    from tests.config_builder import DELETE

    project = Project(tmp).env(network={**network, "vpc_cidr": DELETE}, database={"multi_az": False})
    found = addresses_by_path(build_app(project.load(local_endpoint=endpoint), outdir=str(tmp / "unused")))["dev-platform"]
    if imports:
        project.env(imports=[{"to": address(found, suffix), "id": id_} for suffix, id_ in imports])
    outdir = tmp / "cdktf.out"
    build_app(project.load(local_endpoint=endpoint), outdir=str(outdir), services=[]).synth()
    return outdir / "stacks" / "dev-platform", found


def _terraform(stack_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args, "-no-color"], cwd=stack_dir, env=env, capture_output=True, text=True, timeout=600)


def _init(stack_dir: Path, env: dict[str, str]) -> None:
    result = _terraform(stack_dir, env, "init", "-input=false")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_platform_on_an_existing_vpc_plans_and_adopts_a_log_group(tmp_path: Path, endpoint: str, terraform_env: dict[str, str]) -> None:
    network = _network(endpoint, "10.20.0.0/16")
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    group = naming.in_default(EXEC_LOG_GROUP.replace("{prefix}", naming.PREFIX), "dev")
    logs.create_log_group(logGroupName=group)
    stack_dir, found = _platform(tmp_path, endpoint, network, imports=[("/cluster/exec-logs", group)])
    target = address(found, "/cluster/exec-logs")
    _init(stack_dir, terraform_env)

    planned = _terraform(stack_dir, terraform_env, "plan", "-input=false", "-out=plan.tfplan", "-detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert f"{target}: Preparing import... [id={group}]" in planned.stdout
    plan = json.loads(_terraform(stack_dir, terraform_env, "show", "-json", "plan.tfplan").stdout)
    changes = {c["address"]: c for c in plan["resource_changes"]}
    assert not [a for a in changes if a.split(".")[0] in ("aws_vpc", "aws_subnet", "aws_nat_gateway", "aws_internet_gateway")]
    assert changes[target]["change"]["importing"] == {"id": group}
    assert "create" not in changes[target]["change"]["actions"]
    # The contract publishes the existing network as read from the emulator.
    outputs = plan["planned_values"]["outputs"]
    assert outputs["vpc_id"]["value"] == network["vpc_id"] and outputs["vpc_cidr"]["value"] == "10.20.0.0/16"
    assert outputs["public_subnet_ids"]["value"] == network["public_subnet_ids"]

    # Adopt it (and create what it needs: the platform key), then nothing is left to do for it.
    applied = _terraform(stack_dir, terraform_env, "apply", "-auto-approve", "-input=false", f"-target={target}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "1 imported" in applied.stdout
    again = _terraform(stack_dir, terraform_env, "plan", "-input=false", "-detailed-exitcode", f"-target={target}")
    assert again.returncode == 0, again.stdout + again.stderr
    (adopted,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert adopted["retentionInDays"] == 365  # the platform's setting, applied to the adopted group


def test_a_plan_stops_when_the_existing_vpc_has_dns_hostnames_off(tmp_path: Path, endpoint: str, terraform_env: dict[str, str]) -> None:
    network = _network(endpoint, "10.30.0.0/16")
    _ec2(endpoint).modify_vpc_attribute(VpcId=network["vpc_id"], EnableDnsHostnames={"Value": False})
    stack_dir, found = _platform(tmp_path, endpoint, network)
    _init(stack_dir, terraform_env)
    namespace = address(found, "/discovery/namespace")
    planned = _terraform(stack_dir, terraform_env, "plan", "-input=false", f"-target={namespace}")
    assert planned.returncode == 1
    assert "Resource postcondition failed" in planned.stderr
    assert f"{network['vpc_id']} ([network] in environments/dev.toml) must have DNS resolution and DNS hostnames" in " ".join(
        planned.stderr.split()
    )


def test_a_plan_stops_when_the_public_subnets_share_one_zone(tmp_path: Path, endpoint: str, terraform_env: dict[str, str]) -> None:
    network = _network(endpoint, "10.40.0.0/16", one_zone=True)
    stack_dir, found = _platform(tmp_path, endpoint, network)
    _init(stack_dir, terraform_env)
    planned = _terraform(stack_dir, terraform_env, "plan", "-input=false", f"-target={address(found, '/alb/alb')}")
    assert planned.returncode == 1
    text = " ".join(planned.stderr.split())
    assert "Resource precondition failed" in text
    assert "public_subnet_ids ([network] in environments/dev.toml) must be in at least two Availability Zones" in text
