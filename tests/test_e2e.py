"""End to end: apply every dev stack to moto, re-plan clean, change services, destroy, no leaks.

Runs on loopback only, in a temporary copy of the project, with the emulator stopped
whatever happens. Differences between a second plan and the state that come from moto's
fidelity (not from our configuration) are listed in `localaws.fidelity.KNOWN_DRIFT`,
each with the attribute and the reason; anything else fails the test.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import boto3
import pytest

from localaws import running
from localaws.fidelity import KNOWN_DRIFT, unexplained
from tools import local_deploy as deploy
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

SHOP = """\
kind = "web"
port = 8080
cpu = 256
memory = 512
desired_count = 1
max_count = 2

[routes]
paths = ["/shop/*"]
"""


def _copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("infra", "tools", "localaws", "environments", "services"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    shutil.copy2(ROOT / "main.py", target / "main.py")
    return target


def _assert_converged(stacks_dir: Path, stacks: list[str]) -> None:
    drift = {}
    results = deploy.run_parallel(
        lambda d: deploy.Result(d.name, 0.0, repr(unexplained(deploy.plan_changes(d)))), (stacks_dir / s for s in stacks)
    )
    for result in results:
        if result.output != "[]":
            drift[result.stack] = result.output
    assert not drift, f"a second plan is not empty: {drift}"


def _clients(endpoint: str) -> dict[str, object]:
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return {name: boto3.client(name, **kwargs) for name in ("ec2", "ecs", "elbv2", "rds", "s3", "iam", "sqs", "ecr")}


def _leftovers(endpoint: str) -> dict[str, list[str]]:
    c = _clients(endpoint)
    vpcs = [v["VpcId"] for v in c["ec2"].describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    # Deleted ECS clusters and services stay visible as INACTIVE (in AWS for a while, in
    # moto for good); only ACTIVE ones are left behind.
    listed = c["ecs"].list_clusters()["clusterArns"]
    described = c["ecs"].describe_clusters(clusters=listed)["clusters"] if listed else []
    clusters = [cl["clusterArn"] for cl in described if cl["status"] == "ACTIVE"]
    services = []
    for cluster in listed:
        arns = c["ecs"].list_services(cluster=cluster)["serviceArns"]
        for chunk in (arns[i : i + 10] for i in range(0, len(arns), 10)):
            found = c["ecs"].describe_services(cluster=cluster, services=chunk)["services"]
            services += [s["serviceArn"] for s in found if s["status"] == "ACTIVE"]
    return {
        "vpcs": vpcs,
        "clusters": clusters,
        "services": services,
        "load_balancers": [lb["LoadBalancerName"] for lb in c["elbv2"].describe_load_balancers()["LoadBalancers"]],
        "db_instances": [db["DBInstanceIdentifier"] for db in c["rds"].describe_db_instances()["DBInstances"]],
        "buckets": [b["Name"] for b in c["s3"].list_buckets()["Buckets"]],
        "roles": [r["RoleName"] for r in c["iam"].list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")],
        "queues": c["sqs"].list_queues().get("QueueUrls", []),
        "repositories": [r["repositoryName"] for r in c["ecr"].describe_repositories()["repositories"]],
        "instances": [
            i["InstanceId"]
            for r in c["ec2"].describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
    }


def test_dev_applies_converges_changes_one_service_and_destroys_without_leaks(tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in terraform_env.items():
        monkeypatch.setenv(key, value)
    root = _copy_project(tmp_path / "project")
    outdir = root / ".local" / "cdktf.out"
    stacks_dir = outdir / "stacks"
    timings: dict[str, float] = {}

    with running() as endpoint:
        stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
        assert stacks == ["dev-platform", "dev-api", "dev-web", "dev-worker"]
        applied: list[str] = []
        try:
            start = time.monotonic()
            deploy.deploy_all(stacks_dir, stacks)
            applied = list(stacks)
            timings["apply"] = time.monotonic() - start
            _assert_converged(stacks_dir, stacks)

            platform_out = deploy.outputs(stacks_dir / "dev-platform")
            assert str(platform_out["alb_dns_name"]).endswith(".elb.amazonaws.com")

            # Remove `worker`, add `shop`: its removal is a destroy of its own stack first.
            deploy.destroy(stacks_dir / "dev-worker")
            applied.remove("dev-worker")
            shutil.rmtree(root / "services" / "worker")
            (root / "services" / "shop").mkdir()
            (root / "services" / "shop" / "service.toml").write_text(SHOP)
            before = {s: (stacks_dir / s / "cdk.tf.json").read_text() for s in ("dev-web", "dev-api")}
            stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
            assert stacks == ["dev-platform", "dev-api", "dev-shop", "dev-web"]
            assert {s: (stacks_dir / s / "cdk.tf.json").read_text() for s in before} == before

            # The platform only gains shop's pieces and loses worker's; nothing else moves.
            changes = deploy.plan_changes(stacks_dir / "dev-platform")
            assert changes, "adding a service must add its registry and roles to the platform"
            for change in changes:
                actions = change["change"]["actions"]
                assert actions in (["create"], ["delete"]), (change["address"], actions)
                belongs = "shop" in change["address"] or "worker" in change["address"] or _names_service(change)
                assert belongs, f"{change['address']} changes although it belongs to neither shop nor worker"
            deploy.apply(stacks_dir / "dev-platform")
            deploy.apply(stacks_dir / "dev-shop")
            applied.append("dev-shop")
            _assert_converged(stacks_dir, stacks)
        finally:
            start = time.monotonic()
            present = [s for s in stacks if s in applied or s == "dev-platform"]
            deploy.destroy_all(stacks_dir, present)
            timings["destroy"] = time.monotonic() - start

        leftovers = {kind: items for kind, items in _leftovers(endpoint).items() if items}
        assert not leftovers, f"resources left behind after destroy: {leftovers}"
    print(f"\napply {timings['apply']:.0f} s, destroy {timings['destroy']:.0f} s; known moto drift: {len(KNOWN_DRIFT)}")


def _names_service(change: dict[str, object]) -> bool:
    """True when the resource's own values mention shop or worker (e.g. an SG rule for its port)."""
    text = repr(change["change"])
    return "shop" in text or "worker" in text
