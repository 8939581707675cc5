"""End to end on the emulator: each service is its own unit of change.

Apply the platform, three services and a job; rewrite one stack's state to the hashed addresses of
earlier versions and check the readable ones only move it; add a fourth; change one's port and `allow_from`;
remove one. After each step `terraform plan -detailed-exitcode` exits 0 on the platform and
on every service stack that was not touched (nothing to do, not even an output), the
touched stack alone plans changes, and once applied every plan is empty again. Then
destroy everything and check that nothing is left behind.

Runs on loopback only, in a temporary copy of the project, with the emulator stopped
whatever happens. Differences between a second plan and the state that come from moto's
fidelity (not from our configuration) are listed in `localaws.fidelity.KNOWN_DRIFT`,
each with the attribute and the reason; anything else fails the test.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import boto3
import pytest

from localaws import running
from localaws.fidelity import unexplained
from tools import environment as deploy
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

# A backend the web front end may call. Nobody names it in ${service.shop.url}, so a change to
# its port concerns its own stack only (a caller naming it would follow its port).
SHOP = """\
kind = "backend"
port = 8083
cpu = 256
memory = 512
desired_count = 1
max_count = 2
allow_from = ["web"]
"""


def _run(target: deploy.Target, stacks: list[str], action: str) -> None:
    """`action` (deploy or destroy) over `stacks` as `make deploy LOCAL=1` runs it: each stack
    as soon as the stacks it waits for are done (tools/environment.py, `Environment.apply`)."""
    if deploy.Environment(target, stacks).apply(action) != deploy.EXIT_OK:
        logs = {log.name: log.read_text() for log in sorted((target.state_dir / "logs" / target.env).glob(f"*.{action}.log"))}
        failed = {name: text[-3000:] for name, text in logs.items() if "Error:" in text}
        pytest.fail(f"{action} of {stacks} failed: {failed}")


def _copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("infra", "tools", "localaws", "environments", "services"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    shutil.copy2(ROOT / "main.py", target / "main.py")
    return target


# Each round of plans runs every stack at once: a plan spends its time in Terraform's provider
# and the emulator, and the platform's, the longest, would otherwise hold the last slot.
def _exit_codes(stacks_dir: Path, stacks: list[str], *args: str) -> dict[str, int]:
    results = deploy.run_parallel(
        lambda d: deploy.Result(d.name, 0.0, str(deploy.plan_exit_code(d, *args))), (stacks_dir / s for s in stacks), len(stacks)
    )
    return {r.stack: int(r.output) for r in results}


def _assert_converged(stacks_dir: Path, stacks: list[str]) -> None:
    drift = {}
    results = deploy.run_parallel(
        lambda d: deploy.Result(d.name, 0.0, repr(unexplained(deploy.plan_changes(d)))), (stacks_dir / s for s in stacks), len(stacks)
    )
    for result in results:
        if result.output != "[]":
            drift[result.stack] = result.output
    assert not drift, f"a second plan is not empty: {drift}"


def _assert_only_changes(stacks_dir: Path, stacks: list[str], changed: str) -> None:
    """`changed` plans changes; the platform and every other stack exit 0 (nothing to do).

    Without a refresh: this is a change of configuration, and the emulator has not changed
    since the last `_assert_converged` (which refreshes, and runs again once `changed` is
    applied), so a refresh would read back what the state holds, at seconds per stack."""
    codes = _exit_codes(stacks_dir, stacks, "-refresh=false")
    assert codes == {s: 2 if s == changed else 0 for s in stacks}, codes


def _upgrade_from_hashed_addresses_replaces_nothing(stack_dir: Path) -> float:
    """A stack applied by a version with CDKTF's hashed addresses (its state rewritten to them)
    plans only moves to the readable addresses: no resource is destroyed, created or changed."""
    start = time.monotonic()
    moved = {block["to"]: block["from"] for block in json.loads((stack_dir / "cdk.tf.json").read_text())["moved"]}
    state = json.loads(deploy.terraform(stack_dir, "state", "pull").stdout)
    for resource in state["resources"]:
        address = f"{resource['type']}.{resource['name']}"
        if resource["mode"] == "managed" and address in moved:
            resource["name"] = moved[address].split(".", 1)[1]
    state["serial"] += 1
    assert {f"{r['type']}.{r['name']}" for r in state["resources"] if r["mode"] == "managed"} == set(moved.values())
    (stack_dir / "hashed.tfstate").write_text(json.dumps(state))
    deploy.terraform(stack_dir, "state", "push", "hashed.tfstate")

    deploy.terraform(stack_dir, "plan", "-input=false", "-out=upgrade.tfplan")
    plan = json.loads(deploy.terraform(stack_dir, "show", "-json", "upgrade.tfplan").stdout)
    changes = {c["address"]: (c["change"]["actions"], c.get("previous_address")) for c in plan["resource_changes"] if c["mode"] == "managed"}
    assert changes == {to: (["no-op"], old) for to, old in moved.items()}, changes
    deploy.terraform(stack_dir, "apply", "-input=false", "upgrade.tfplan")
    assert deploy.plan_exit_code(stack_dir) == 0
    return time.monotonic() - start


def _clients(endpoint: str) -> dict[str, object]:
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    names = ("ec2", "ecs", "elbv2", "rds", "s3", "iam", "sqs", "ecr", "scheduler", "events", "codebuild", "codepipeline", "codedeploy", "sns", "efs", "logs")
    return {name: boto3.client(name, **kwargs) for name in names}


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
        "schedules": [s["Name"] for s in c["scheduler"].list_schedules()["Schedules"]],
        "schedule_groups": [g["Name"] for g in c["scheduler"].list_schedule_groups()["ScheduleGroups"] if g["Name"] != "default"],
        "event_rules": [r["Name"] for r in c["events"].list_rules()["Rules"]],
        # What each service stack's pipeline, topics and volumes add (a project the provider deletes
        # by ARN stayed behind in moto until shim S19).
        "build_projects": c["codebuild"].list_projects()["projects"],
        "pipelines": [p["name"] for p in c["codepipeline"].list_pipelines()["pipelines"]],
        "codedeploy_applications": c["codedeploy"].list_applications()["applications"],
        "topics": [t["TopicArn"] for t in c["sns"].list_topics()["Topics"]],
        "file_systems": [f["FileSystemId"] for f in c["efs"].describe_file_systems()["FileSystems"]],
        "log_groups": [g["logGroupName"] for g in c["logs"].describe_log_groups()["logGroups"]],
        "instances": [
            i["InstanceId"]
            for r in c["ec2"].describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
    }


def _assert_the_job_is_scheduled(endpoint: str) -> None:
    """The cleanup job's schedule, as EventBridge Scheduler (moto) holds it: RunTask of its family
    (no revision: the latest one runs) on the cluster, with its retry policy and DLQ."""
    schedule = _clients(endpoint)["scheduler"].get_schedule(Name="dev-cleanup", GroupName="dev-cleanup")
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == ("cron(30 3 * * ? *)", "Europe/Berlin")
    target = schedule["Target"]
    assert target["Arn"].endswith(":cluster/dev")
    assert target["EcsParameters"]["TaskDefinitionArn"].endswith(":task-definition/dev-cleanup")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 1800}
    assert target["DeadLetterConfig"]["Arn"].endswith(":dev-cleanup-dlq")
    assert target["RoleArn"].endswith(":role/dev-cleanup-scheduler")


def _ingress_ports(endpoint: str, group_name: str) -> set[tuple[int, str]]:
    """(port, source group name) of every ingress rule of one security group."""
    ec2 = _clients(endpoint)["ec2"]
    groups = {g["GroupId"]: g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    (group_id,) = [i for i, n in groups.items() if n == group_name]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]
    return {
        (r["FromPort"], groups.get(r.get("ReferencedGroupInfo", {}).get("GroupId", ""), r.get("CidrIpv4", "")))
        for r in rules
        if not r["IsEgress"]
    }


# The operators' variables (infra.service.variables, infra.platform.variables), each set away from
# its default: (stack, -var arguments, {resource type: planned actions}). Planned, not applied,
# without a refresh (the state was just applied): what a variable changes is decided against
# the state by the provider, which would plan a replacement for a ForceNew attribute.
VARIABLE_PLANS = (
    (
        "dev-api",
        {"image_tag": "pinned-1", "max_count": "8"},
        # A task definition revision is immutable: a pin registers a new one, and the (rolling)
        # service moves to it; the scaling target's range is updated in place.
        {
            "aws_ecs_task_definition": ["delete", "create"],
            "aws_ecs_service": ["update"],
            "aws_appautoscaling_target": ["update"],
        },
    ),
    (
        "dev-cleanup",
        {"image_tag": "pinned-1"},
        # A job's new image is a new revision of its family, and nothing else: the schedule names
        # the family, not a revision.
        {"aws_ecs_task_definition": ["delete", "create"]},
    ),
    (
        "dev-web",
        {"image_tag": "pinned-1"},
        # Blue/green: the pin registers a revision, and the service stays as it is: only a
        # CodeDeploy deployment moves it (the pipeline's, infra.service.blue_green).
        {"aws_ecs_task_definition": ["delete", "create"]},
    ),
    (
        "dev-platform",
        {
            "ec2_max_size": "3",
            "alb_idle_timeout": "120",
            "database_backup_retention_days": "5",
            "database_max_allocated_storage": "200",
            "flow_log_retention_days": "400",
        },
        {
            "aws_autoscaling_group": ["update"],
            "aws_lb": ["update"],
            "aws_db_instance": ["update"],
            "aws_cloudwatch_log_group": ["update"],
            # The flow-log role's policy document reads the log group's ARN, and Terraform reads
            # a data source that depends on a resource with planned changes at apply time: the
            # policy shows as "known after apply" and comes out the same (hashicorp/terraform#27171).
            "aws_iam_role_policy": ["update"],
        },
    ),
)


def _variables_change_their_resources_in_place(stacks_dir: Path) -> float:
    start = time.monotonic()
    plans = {stack: (values, expected) for stack, values, expected in VARIABLE_PLANS}

    def plan(stack_dir: Path) -> deploy.Result:  # the stacks side by side: each plan mostly waits
        values = plans[stack_dir.name][0]
        args = ["-refresh=false", *(f"-var={name}={value}" for name, value in values.items())]
        return deploy.Result(stack_dir.name, 0.0, json.dumps(deploy.plan_changes(stack_dir, *args)))

    for result in deploy.run_parallel(plan, (stacks_dir / stack for stack in plans), len(plans)):
        changes, expected = json.loads(result.output), plans[result.stack][1]
        planned = {change["type"]: change["change"]["actions"] for change in changes}
        assert planned == expected, (result.stack, [(c["address"], c["change"]["actions"]) for c in changes])
        assert len(changes) == len(expected), [c["address"] for c in changes]  # one of each, nothing else
    return time.monotonic() - start


def test_each_service_is_its_own_unit_of_change_and_the_platform_plan_stays_empty(
    tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in terraform_env.items():
        monkeypatch.setenv(key, value)
    root = _copy_project(tmp_path / "project")
    outdir = root / ".local" / "cdktf.out"
    stacks_dir = outdir / "stacks"
    timings: dict[str, float] = {}

    with running() as endpoint:
        target = deploy.Target(root=root, env="dev", outdir=outdir, state_dir=root / ".local", endpoint=endpoint,
                               timeout=deploy.TERRAFORM_TIMEOUT)
        stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
        assert stacks == ["dev-platform", "dev-api", "dev-cleanup", "dev-web", "dev-worker"]
        applied: list[str] = []
        try:
            # 1. The platform, three services and a job (cleanup, kind = "job").
            start = time.monotonic()
            _run(target, stacks, "deploy")
            applied = list(stacks)
            timings["apply"] = time.monotonic() - start
            _assert_converged(stacks_dir, stacks)
            assert str(deploy.outputs(stacks_dir / "dev-platform")["alb_dns_name"]).endswith(".elb.amazonaws.com")
            assert _ingress_ports(endpoint, "dev-api-tasks") == {(8081, "dev-web-tasks")}
            assert _ingress_ports(endpoint, "dev-database") == {(3306, "dev-api-tasks"), (3306, "dev-cleanup-tasks")}
            _assert_the_job_is_scheduled(endpoint)
            timings["upgrade"] = _upgrade_from_hashed_addresses_replaces_nothing(stacks_dir / "dev-web")
            timings["variables"] = _variables_change_their_resources_in_place(stacks_dir)

            # 2. Add a fourth service: only its stack plans changes, although it adds a rule to
            #    web's group.
            start = time.monotonic()
            (root / "services" / "shop").mkdir()
            (root / "services" / "shop" / "service.toml").write_text(SHOP)
            shutil.copy2(root / "services" / "web" / "Dockerfile", root / "services" / "shop" / "Dockerfile")
            stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
            assert stacks == ["dev-platform", "dev-api", "dev-cleanup", "dev-shop", "dev-web", "dev-worker"]
            _assert_only_changes(stacks_dir, stacks, "dev-shop")
            _run(target, ["dev-shop"], "deploy")
            applied.append("dev-shop")
            _assert_converged(stacks_dir, stacks)
            assert _ingress_ports(endpoint, "dev-shop-tasks") == {(8083, "dev-web-tasks")}
            timings["add"] = time.monotonic() - start

            # 3. Change shop's port and allow_from: only shop's stack plans changes, although its
            #    rules land on web's and api's groups.
            start = time.monotonic()
            manifest = root / "services" / "shop" / "service.toml"
            manifest.write_text(SHOP.replace("port = 8083", "port = 9090").replace('allow_from = ["web"]', 'allow_from = ["web", "api"]'))
            stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
            _assert_only_changes(stacks_dir, stacks, "dev-shop")
            _run(target, ["dev-shop"], "deploy")
            _assert_converged(stacks_dir, stacks)
            assert _ingress_ports(endpoint, "dev-shop-tasks") == {(9090, "dev-web-tasks"), (9090, "dev-api-tasks")}
            timings["change"] = time.monotonic() - start

            # 4. Remove the worker: its stack is destroyed; nothing else plans a change.
            start = time.monotonic()
            _run(target, ["dev-worker"], "destroy")
            applied.remove("dev-worker")
            shutil.rmtree(root / "services" / "worker")
            stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
            assert stacks == ["dev-platform", "dev-api", "dev-cleanup", "dev-shop", "dev-web"]
            assert set(_exit_codes(stacks_dir, stacks).values()) == {0}
            timings["remove"] = time.monotonic() - start
        finally:
            start = time.monotonic()
            present = [s for s in stacks if s in applied or s == "dev-platform"]
            _run(target, present, "destroy")
            timings["destroy"] = time.monotonic() - start

        leftovers = {kind: items for kind, items in _leftovers(endpoint).items() if items}
        assert not leftovers, f"resources left behind after destroy: {leftovers}"
    print("\n" + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in timings.items()))
