"""The plain Terraform CLI, end to end on the emulator, against the synthesized dev stacks.

One test drives every command a team uses on our output (the README's "The Terraform CLI on
the output" lists each with what is checked): init, validate, providers, graph, plan -out and
apply of that plan, output, state list / show / pull / push / mv / rm, import, apply
-refresh-only, apply -replace, apply -target, -var and -var-file, workspace new / select /
list / delete with a second copy applied beside the first (its service stack by
`TF_WORKSPACE=pr-42 cdktf deploy`), and destroy (`fmt` runs on the HCL output,
tests/test_hcl.py); plus the faults: a change made out of band shows in the plan and the next
apply corrects it; a second apply while one runs is refused by the state lock and nothing is
lost; an apply interrupted with SIGINT converges on the next apply with no duplicate resources.

The interrupt lands at a chosen point, so the step is the same on every run: the apply runs
one operation at a time (`-parallelism=1`), and SIGINT goes out when Terraform reports an SQS
queue "Still creating..." after 10 s. By then CreateQueue has returned and the queue's id is
set: the provider creates in two phases (CreateQueue, then a waiter polls GetQueueAttributes
until the attributes read back six times in a row, at least 5 s apart: more than 25 s), and
Terraform's graceful stop cancels the waiter, so the queue is saved in the state as tainted
and the next apply replaces it. An interrupt while a create request is in flight (sent, no
answer yet) can leave the object in AWS and not in the state; that window and the recovery are
in the README ("The Terraform CLI on the output").

Gated (tests/conftest.py): it runs with `make cli` (PLATFORM_TEST_CLI=1), on its own emulator
and project copy, the worker alone on a platform without the parts the worker does not use
(database, EC2 capacity, bastion and Ansible host, WAF), which tests/test_e2e.py applies in full.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.platform.contract import CONTRACT_VERSION
from localaws import running
from tests.config_builder import to_toml
from tests.conftest import ROOT
from tools import environment as deploy

pytestmark = [pytest.mark.e2e, pytest.mark.cli, pytest.mark.timeout(3600)]

ALARM = "aws_cloudwatch_metric_alarm.cpu_high"
WORKSPACE = "pr-42"
# Terraform's progress line for a create still running after 10 s (one every 10 s).
STILL_CREATING = re.compile(r"^(aws_sqs_queue\.[a-z0-9_]+): Still creating\.\.\.", re.MULTILINE)
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"


def _copy_project(target: Path, services: tuple[str, ...]) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("infra", "tools", "localaws", "environments"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for service in services:
        shutil.copytree(ROOT / "services" / service, target / "services" / service, ignore=ignore)
        # Subscriptions to topics of services left out of the copy (the worker's api.orders)
        # would be refused at load: the publisher is not there to apply first.
        manifest = target / "services" / service / "service.toml"
        spec = tomllib.loads(manifest.read_text())
        kept = [s for s in spec.get("subscribe", []) if s["topic"].split(".")[0] in services]
        if kept != spec.get("subscribe", []):
            spec["subscribe"] = kept
            manifest.write_text(to_toml({k: v for k, v in spec.items() if v != []}))
    for name in ("main.py", "cdktf.json"):  # cdktf.json: `cdktf deploy` runs the app it names
        shutil.copy2(ROOT / name, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    dev = target / "environments" / "dev.toml"
    settings = tomllib.loads(dev.read_text())
    settings["cluster"]["ec2"]["enabled"] = False
    settings["database"]["enabled"] = False
    settings["access"]["enabled"] = False
    settings["load_balancer"]["waf"] = False
    dev.write_text(to_toml(settings))
    # The test works on dev alone. With prod promoting from dev, dev's stacks have no pipeline
    # (prod's holds it), and the in-flight-create steps below need the worker's build project.
    prod = target / "environments" / "prod.toml"
    settings = tomllib.loads(prod.read_text())
    settings.get("pipeline", {}).pop("promote_from", None)
    prod.write_text(to_toml(settings))
    return target


def tf(stack_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return deploy.terraform(stack_dir, *args, check=check)


def _plan_actions(stack_dir: Path, *args: str) -> dict[str, list[str]]:
    tf(stack_dir, "plan", "-input=false", "-out=cli.tfplan", *args)
    plan = json.loads(tf(stack_dir, "show", "-json", "cli.tfplan").stdout)
    return {
        c["address"]: c["change"]["actions"]
        for c in plan.get("resource_changes", [])
        if c["mode"] == "managed" and c["change"]["actions"] != ["no-op"]
    }


def _converged(stack_dir: Path) -> bool:
    """`plan -detailed-exitcode` exits 0: nothing to do, not even an output."""
    return tf(stack_dir, "plan", "-input=false", "-detailed-exitcode", check=False).returncode == 0


def _state_resource(stack_dir: Path, address: str) -> dict[str, Any]:
    state = json.loads(tf(stack_dir, "state", "pull").stdout)
    return next(r for r in state["resources"] if f"{r['type']}.{r['name']}" == address)


def _client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


class Steps:
    """Prints how long each group of checks took (`make cli` runs pytest with -s)."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        print(f"  {name}: {now - self._start:.0f} s", flush=True)
        self._start = now


def test_every_terraform_command_works_on_the_synthesized_stacks(
    tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in terraform_env.items():
        monkeypatch.setenv(key, value)
    root = _copy_project(tmp_path / "project", ("worker",))
    outdir = root / ".local" / "cdktf.out"
    platform, worker = outdir / "stacks" / "dev-platform", outdir / "stacks" / "dev-worker"
    step = Steps()
    started = time.monotonic()

    with running() as endpoint:
        stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
        assert stacks == ["dev-platform", "dev-worker"]
        try:
            _init_validate_providers_graph(platform, worker)
            step("init, validate, providers, graph")
            _plan_out_and_apply_that_plan(platform, worker)
            step("plan -out, apply <plan>, output")
            _state_commands_and_import(worker)
            step("state list/show/pull/push/mv/rm, import")
            _out_of_band_change_refresh_only_replace_target(worker, _client(endpoint, "cloudwatch"))
            step("out of band, apply -refresh-only, -replace, -target")
            _variables(worker, _client(endpoint, "application-autoscaling"))
            step("-var, -var-file")
            _a_second_copy_in_a_workspace(root, platform, worker, endpoint)
            step(f"workspace new/select/list/delete, TF_WORKSPACE={WORKSPACE} cdktf deploy")
            _state_lock_and_sigint(worker, endpoint)
            step("state lock, SIGINT")
        finally:
            for stack_dir in (worker, platform):
                tf(stack_dir, "destroy", "-auto-approve", "-input=false", check=False)
        assert not tf(worker, "state", "list", check=False).stdout.strip()
        assert not tf(platform, "state", "list", check=False).stdout.strip()
        # And nothing left in AWS: no queue, no build project, no active cluster.
        assert _queue_names(_client(endpoint, "sqs"), "dev") == []
        assert _client(endpoint, "codebuild").list_projects()["projects"] == []
        ecs = _client(endpoint, "ecs")
        clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
        assert {c["status"] for c in clusters} <= {"INACTIVE"}, clusters
        step("destroy")
    print(f"\nthe Terraform CLI on the emulator: {time.monotonic() - started:.0f} s")


def _init_validate_providers_graph(platform: Path, worker: Path) -> None:
    """Before any state exists: each stack initializes from the mirror and validates."""
    for stack_dir in (platform, worker):
        tf(stack_dir, "init", "-input=false")
        assert "Success" in tf(stack_dir, "validate").stdout
    providers = tf(worker, "providers").stdout
    assert "provider[registry.terraform.io/hashicorp/aws] 5.100.0" in providers, providers
    graph = tf(worker, "graph").stdout
    assert graph.startswith("digraph") and '"aws_ecs_service.worker"' in graph, graph[:2000]


def _plan_out_and_apply_that_plan(platform: Path, worker: Path) -> None:
    tf(platform, "apply", "-auto-approve", "-input=false")
    actions = _plan_actions(worker)
    assert actions and set(map(tuple, actions.values())) == {("create",)}, actions
    tf(worker, "apply", "-input=false", "cli.tfplan")
    assert _converged(worker) and _converged(platform)
    outputs = json.loads(tf(platform, "output", "-json").stdout)
    assert outputs["contract_version"]["value"] == CONTRACT_VERSION and outputs["cluster_name"]["value"] == "dev", outputs


def _state_commands_and_import(worker: Path) -> None:
    listed = set(tf(worker, "state", "list").stdout.split())
    assert {"aws_ecs_service.worker", "aws_sqs_queue.queue", "aws_sqs_queue.dlq", ALARM} <= listed, listed
    shown = tf(worker, "state", "show", "aws_ecs_service.worker").stdout
    assert re.search(r'^\s*name\s*=\s*"dev-worker"$', shown, re.MULTILINE), shown

    # pull / push: a pulled state pushed back is what Terraform keeps.
    state = json.loads(tf(worker, "state", "pull").stdout)
    state["serial"] += 1
    (worker / "pushed.tfstate").write_text(json.dumps(state))
    tf(worker, "state", "push", "pushed.tfstate")
    pulled = json.loads(tf(worker, "state", "pull").stdout)
    # Terraform may bump the serial once more as it writes.
    assert pulled["lineage"] == state["lineage"] and pulled["serial"] >= state["serial"]
    assert pulled["resources"] == state["resources"]
    assert _converged(worker)

    # mv: the plan then wants the old address back (create) and the new one gone (delete).
    tf(worker, "state", "mv", ALARM, f"{ALARM}_moved")
    assert _plan_actions(worker) == {ALARM: ["create"], f"{ALARM}_moved": ["delete"]}
    tf(worker, "state", "mv", f"{ALARM}_moved", ALARM)
    assert _converged(worker)

    # rm + import: the alarm exists outside the state (as if made out of band); import adopts
    # it at its readable address and the plan is empty again.
    alarm_name = _state_resource(worker, ALARM)["instances"][0]["attributes"]["alarm_name"]
    assert alarm_name == "dev-worker-cpu-high"
    tf(worker, "state", "rm", ALARM)
    assert _plan_actions(worker) == {ALARM: ["create"]}
    tf(worker, "import", "-input=false", ALARM, alarm_name)
    assert _converged(worker)


def _out_of_band_change_refresh_only_replace_target(worker: Path, cloudwatch: Any) -> None:
    alarm_name = "dev-worker-cpu-high"
    # A threshold changed with boto3 shows in the plan; apply -refresh-only records it without
    # changing AWS; the next apply puts the configured value back.
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    wanted = alarm["Threshold"]
    cloudwatch.put_metric_alarm(**{k: alarm[k] for k in _ALARM_KEYS if k in alarm}, Threshold=wanted + 7)
    assert _plan_actions(worker) == {ALARM: ["update"]}
    tf(worker, "apply", "-refresh-only", "-auto-approve", "-input=false")
    assert _state_resource(worker, ALARM)["instances"][0]["attributes"]["threshold"] == wanted + 7
    assert cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["Threshold"] == wanted + 7
    tf(worker, "apply", "-auto-approve", "-input=false")
    assert cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["Threshold"] == wanted
    assert _converged(worker)

    # -replace (the successor of `taint`): delete + create of that one resource.
    assert _plan_actions(worker, f"-replace={ALARM}") == {ALARM: ["delete", "create"]}
    tf(worker, "apply", "-auto-approve", "-input=false", f"-replace={ALARM}")
    assert _converged(worker)

    # -target: the alarm deleted out of band and dropped from the state; an apply of that
    # target alone creates it and nothing else.
    tf(worker, "state", "rm", ALARM)
    cloudwatch.delete_alarms(AlarmNames=[alarm_name])
    targeted = tf(worker, "apply", "-auto-approve", "-input=false", f"-target={ALARM}").stdout
    assert "1 added, 0 changed, 0 destroyed" in targeted, targeted[-2000:]
    assert _converged(worker)


def _variables(worker: Path, scaling: Any) -> None:
    """An operator's knob changes its resource in place; the next plan without it wants the
    configured value back; a value the variable's validation refuses stops the plan."""
    assert _plan_actions(worker, "-var=max_count=3") == {"aws_appautoscaling_target.worker": ["update"]}
    (worker / "ops.tfvars.json").write_text(json.dumps({"max_count": 3}))
    tf(worker, "apply", "-auto-approve", "-input=false", "-var-file=ops.tfvars.json")
    assert _max_capacity(scaling, "dev") == 3
    assert _plan_actions(worker) == {"aws_appautoscaling_target.worker": ["update"]}
    refused = tf(worker, "plan", "-input=false", "-var=max_count=0", check=False)
    assert refused.returncode == 1 and "max_count" in refused.stderr, refused.stderr[-2000:]
    tf(worker, "apply", "-auto-approve", "-input=false")
    assert _max_capacity(scaling, "dev") == 5 and _converged(worker)


def _a_second_copy_in_a_workspace(root: Path, platform: Path, worker: Path, endpoint: str) -> None:
    """The platform of a new workspace applied with terraform, its service stack with
    `TF_WORKSPACE=pr-42 cdktf deploy` from the project (the README's example): every name of
    the copy carries the workspace, and the default copy is untouched."""
    tf(platform, "workspace", "new", WORKSPACE)
    tf(platform, "apply", "-auto-approve", "-input=false")
    assert (worker / ".terraform.lock.hcl").is_file()  # from `terraform init`: cdktf needs no registry
    deployed = _cdktf_deploy(root, "dev-worker", endpoint, workspace=WORKSPACE)
    assert "Apply complete!" in deployed, deployed[-3000:]

    ecs, sqs = _client(endpoint, "ecs"), _client(endpoint, "sqs")
    clusters = {arn.rsplit("/", 1)[1] for arn in ecs.list_clusters()["clusterArns"]}
    assert {"dev", f"dev-{WORKSPACE}"} <= clusters, clusters
    copy = ecs.describe_services(cluster=f"dev-{WORKSPACE}", services=[f"dev-{WORKSPACE}-worker"])["services"]
    assert [s["status"] for s in copy] == ["ACTIVE"]
    queues = _queue_names(sqs, f"dev-{WORKSPACE}-")
    assert queues == [f"dev-{WORKSPACE}-worker", f"dev-{WORKSPACE}-worker-dlq"], queues

    # The workspace cdktf deploy created is the CLI's: select it, list it, plan it (the same
    # JSON, synthesized by the test: nothing to do), then take the copy down.
    tf(worker, "workspace", "select", WORKSPACE)
    listed = tf(worker, "workspace", "list").stdout
    assert f"* {WORKSPACE}" in listed and "default" in listed, listed
    assert _converged(worker)
    for stack_dir in (worker, platform):
        tf(stack_dir, "destroy", "-auto-approve", "-input=false")
        tf(stack_dir, "workspace", "select", "default")
        tf(stack_dir, "workspace", "delete", WORKSPACE)
        assert WORKSPACE not in tf(stack_dir, "workspace", "list").stdout
    # A deleted cluster may stay describable as INACTIVE for a while (moto keeps it):
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
    assert [c["status"] for c in ecs.describe_clusters(clusters=[f"dev-{WORKSPACE}"])["clusters"]] in ([], ["INACTIVE"])
    assert _queue_names(sqs, f"dev-{WORKSPACE}-") == []
    assert _converged(worker) and _converged(platform)  # the default copy is untouched


def _cdktf_deploy(root: Path, stack: str, endpoint: str, *, workspace: str) -> str:
    """`cdktf deploy <stack>` with TF_WORKSPACE, as an operator runs it from the project root
    after a synthesis: cdktf synthesizes again (main.py against the emulator) into the folder the
    terraform commands of this test use, which keeps each stack's `.terraform/` and lock file
    (cdktf removes only the folders of stacks that are gone). The lock file matters offline: a
    stack folder without one makes cdktf run `terraform providers lock`, which asks the registry
    whatever the mirror (tools/locks.py; `make synth` writes them). The platform of the
    workspace is applied already, so the dependency cdktf would insist on deploying too is left
    out."""
    env = dict(
        os.environ,
        TF_WORKSPACE=workspace,
        PLATFORM_ENVIRONMENTS="dev",
        PLATFORM_LOCAL_ENDPOINT=endpoint,
        CDKTF_DISABLE_PLUGIN_CACHE_ENV="1",
        CHECKPOINT_DISABLE="1",
        CI="1",
    )
    result = subprocess.run(
        [str(CDKTF), "deploy", stack, "--auto-approve", "--ignore-missing-stack-dependencies", "--output", ".local/cdktf.out"],
        cwd=root, env=env, capture_output=True, text=True, timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def _state_lock_and_sigint(worker: Path, endpoint: str) -> None:
    tf(worker, "destroy", "-auto-approve", "-input=false")
    first = subprocess.Popen(
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=1"],
        cwd=worker, env=dict(os.environ, TF_IN_AUTOMATION="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    waiting: list[str] = []
    in_waiter = threading.Event()

    def read() -> None:
        assert first.stdout is not None
        for line in first.stdout:
            output.append(line)
            match = STILL_CREATING.match(line)
            if match and not in_waiter.is_set():
                waiting.append(match.group(1))
                in_waiter.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # A second apply while the first holds the lock is refused, and changes nothing.
        _wait_for_lock(worker)
        second = tf(worker, "apply", "-auto-approve", "-input=false", "-lock-timeout=0s", check=False)
        assert second.returncode == 1 and "Error acquiring the state lock" in second.stdout + second.stderr
        # SIGINT inside an SQS queue's create waiter, with nothing else in flight (-parallelism=1).
        assert in_waiter.wait(timeout=600), "".join(output)[-3000:]
        first.send_signal(signal.SIGINT)
        first.wait(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
        reader.join(timeout=60)
    text = "".join(output)
    assert first.returncode == 1 and "Interrupt received" in text, text[-3000:]

    # The queue was created and its id kept: in the state, tainted.
    (interrupted,) = waiting
    instance = _state_resource(worker, interrupted)["instances"][0]
    assert instance.get("status") == "tainted" and instance["attributes"]["id"], instance
    # The next apply replaces it and creates the rest; then there is nothing to do.
    converging = tf(worker, "apply", "-auto-approve", "-input=false").stdout
    assert f"{interrupted} is tainted, so must be replaced" in converging, converging[-3000:]
    assert _converged(worker)

    # No duplicate in AWS: one of each, by name. Names are unique per type for most of these
    # (AWS refuses a second: CodeBuild CreateProject answers ResourceAlreadyExistsException,
    # https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/CodeBuild/MICodeBuildCreateProjectCreateProjectRequest.html),
    # so a duplicate would have stopped the apply above; task definition revisions are not, so
    # they are counted: one ACTIVE revision, the one in the state.
    sqs, ecs = _client(endpoint, "sqs"), _client(endpoint, "ecs")
    assert _queue_names(sqs, "dev-worker") == ["dev-worker", "dev-worker-dlq"]
    active = [s["serviceName"] for s in ecs.describe_services(cluster="dev", services=["dev-worker"])["services"] if s["status"] == "ACTIVE"]
    assert active == ["dev-worker"]
    revisions = ecs.list_task_definitions(familyPrefix="dev-worker", status="ACTIVE")["taskDefinitionArns"]
    assert len(revisions) == 1, revisions
    projects = Counter(name for name in _client(endpoint, "codebuild").list_projects()["projects"] if name.startswith("dev-worker"))
    assert projects == {"dev-worker": 1, "dev-worker-record": 1}, projects
    roles = Counter(r["RoleName"] for r in _client(endpoint, "iam").list_roles()["Roles"] if r["RoleName"].startswith("dev-worker-"))
    assert set(roles.values()) == {1} and len(roles) == 5, roles
    groups = Counter(g["GroupName"] for g in _client(endpoint, "ec2").describe_security_groups()["SecurityGroups"])
    assert groups["dev-worker-tasks"] == 1, groups

    # The other window: an interrupt while a create request is in flight (sent, no answer yet)
    # can leave the object in AWS and not in the state. The emulator answers in milliseconds, so
    # that leftover is made here on purpose (state rm); the next apply stops on it as it would
    # then, and the README's recovery, an import at the readable address, converges.
    tf(worker, "state", "rm", "aws_codebuild_project.build")
    stopped = tf(worker, "apply", "-auto-approve", "-input=false", check=False)
    assert stopped.returncode == 1 and "ResourceAlreadyExistsException" in stopped.stdout + stopped.stderr, stopped.stderr[-3000:]
    tf(worker, "import", "-input=false", "aws_codebuild_project.build", "dev-worker")
    assert _converged(worker)


_ALARM_KEYS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator",
    "TreatMissingData", "DatapointsToAlarm", "Unit", "Metrics", "ThresholdMetricId",
)


def _queue_names(sqs: Any, prefix: str) -> list[str]:
    return sorted(url.rsplit("/", 1)[1] for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []))


def _max_capacity(scaling: Any, prefix: str) -> int:
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{prefix}/{prefix}-worker"]
    )["ScalableTargets"]
    return int(target["MaxCapacity"])


def _wait_for_lock(stack_dir: Path, timeout: float = 120) -> None:
    """The local backend writes `.<state file>.lock.info` beside the state while it holds the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (stack_dir.parents[2] / f".terraform.{stack_dir.name}.tfstate.lock.info").exists():
            return
        time.sleep(0.2)
    raise AssertionError("the apply never took the state lock")
