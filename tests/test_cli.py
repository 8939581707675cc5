"""The plain Terraform CLI, end to end on the emulator, against the synthesized dev stacks.

One test drives every command a team uses on our output (the README's "Terraform CLI"
table lists them with what is checked): init, validate, plan -out and apply of that plan,
output, state list / show / pull / push / mv / rm, import, apply -refresh-only, apply
-replace, apply -target, -var and -var-file, graph, providers, workspace new / select / list
/ delete with a second copy applied beside the first, and destroy (`fmt` runs on the HCL
output, tests/test_hcl.py); plus the faults: a change made out
of band shows in the plan and the next apply corrects it; an apply interrupted with SIGINT
converges on the next apply with no duplicate resources; a second apply while one runs is
refused by the state lock and nothing is lost.

It runs on its own emulator and project copy beside tests/test_e2e.py, so the two share the
wall time of `make test`: the worker alone, on a platform without the parts the worker does
not use (database, EC2 capacity, bastion and Ansible host, WAF), which the end-to-end test
applies in full.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import boto3
import pytest

from localaws import running
from tests.config_builder import to_toml
from tests.conftest import ROOT
from tools import local_deploy as deploy

pytestmark = [pytest.mark.e2e, pytest.mark.cli, pytest.mark.timeout(2400)]

ALARM = "aws_cloudwatch_metric_alarm.cpu_high"


def _copy_project(target: Path, services: tuple[str, ...]) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("infra", "tools", "localaws", "environments"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for service in services:
        shutil.copytree(ROOT / "services" / service, target / "services" / service, ignore=ignore)
    shutil.copy2(ROOT / "main.py", target / "main.py")
    dev = target / "environments" / "dev.toml"
    settings = tomllib.loads(dev.read_text())
    settings["cluster"]["ec2"]["enabled"] = False
    settings["database"]["enabled"] = False
    settings["access"]["enabled"] = False
    settings["load_balancer"]["waf"] = False
    dev.write_text(to_toml(settings))
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
    return tf(stack_dir, "plan", "-input=false", "-detailed-exitcode", check=False).returncode == 0


def _client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def test_every_terraform_command_works_on_the_synthesized_stacks(
    tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in terraform_env.items():
        monkeypatch.setenv(key, value)
    root = _copy_project(tmp_path / "project", ("worker",))
    outdir = root / ".local" / "cdktf.out"
    platform, worker = outdir / "stacks" / "dev-platform", outdir / "stacks" / "dev-worker"
    checked: dict[str, str] = {}

    with running() as endpoint:
        stacks = deploy.synthesize(root, outdir, endpoint=endpoint, env_name="dev")
        assert stacks == ["dev-platform", "dev-worker"]
        cloudwatch = _client(endpoint, "cloudwatch")
        try:
            # init / validate / providers / graph: before any state exists.
            for stack_dir in (platform, worker):
                tf(stack_dir, "init", "-input=false")
                assert "Success" in tf(stack_dir, "validate").stdout
            providers = tf(worker, "providers").stdout
            assert "provider[registry.terraform.io/hashicorp/aws] 5.100.0" in providers, providers
            graph = tf(worker, "graph").stdout
            assert graph.startswith("digraph") and '"aws_ecs_service.worker"' in graph
            checked |= {"init": "", "validate": "", "providers": "", "graph": ""}

            # plan -out, then apply exactly that plan.
            tf(platform, "apply", "-auto-approve", "-input=false")
            actions = _plan_actions(worker)
            assert actions and set(map(tuple, actions.values())) == {("create",)}
            tf(worker, "apply", "-input=false", "cli.tfplan")
            assert _converged(worker) and _converged(platform)

            # output
            outputs = json.loads(tf(platform, "output", "-json").stdout)
            assert outputs["contract_version"]["value"] == "1.0" and outputs["cluster_name"]["value"] == "dev"

            # state list / show / pull / push
            listed = tf(worker, "state", "list").stdout.split()
            assert {"aws_ecs_service.worker", "aws_sqs_queue.queue", ALARM} <= set(listed)
            shown = tf(worker, "state", "show", "aws_ecs_service.worker").stdout
            assert re.search(r'^\s*name\s*=\s*"dev-worker"$', shown, re.MULTILINE), shown
            state = json.loads(tf(worker, "state", "pull").stdout)
            state["serial"] += 1
            (worker / "pushed.tfstate").write_text(json.dumps(state))
            tf(worker, "state", "push", "pushed.tfstate")
            pulled = json.loads(tf(worker, "state", "pull").stdout)
            # Terraform persists what it was pushed, and may bump the serial once more as it writes.
            assert pulled["lineage"] == state["lineage"] and pulled["serial"] >= state["serial"]
            assert pulled["resources"] == state["resources"]
            assert _converged(worker)

            # state mv: the plan then wants the old address back (create + destroy); mv back converges.
            tf(worker, "state", "mv", ALARM, f"{ALARM}_moved")
            assert _plan_actions(worker) == {ALARM: ["create"], f"{ALARM}_moved": ["delete"]}
            tf(worker, "state", "mv", f"{ALARM}_moved", ALARM)
            assert _converged(worker)

            # state rm + import: the alarm now exists outside the state (as if created out of
            # band); import adopts it at its readable address and the plan is empty again.
            alarm_name = json.loads(tf(worker, "state", "pull").stdout)
            alarm_name = next(r for r in alarm_name["resources"] if f"{r['type']}.{r['name']}" == ALARM)["instances"][0]["attributes"]["alarm_name"]
            tf(worker, "state", "rm", ALARM)
            assert _plan_actions(worker) == {ALARM: ["create"]}
            tf(worker, "import", "-input=false", ALARM, alarm_name)
            assert _converged(worker)

            # Out of band: a threshold changed with boto3 shows in the plan; apply -refresh-only
            # records it without changing AWS; the next apply corrects it.
            (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
            wanted = alarm["Threshold"]
            cloudwatch.put_metric_alarm(**{k: alarm[k] for k in _ALARM_KEYS if k in alarm}, Threshold=wanted + 7)
            assert _plan_actions(worker) == {ALARM: ["update"]}
            tf(worker, "apply", "-refresh-only", "-auto-approve", "-input=false")
            recorded = json.loads(tf(worker, "state", "pull").stdout)
            recorded = next(r for r in recorded["resources"] if f"{r['type']}.{r['name']}" == ALARM)["instances"][0]["attributes"]
            assert recorded["threshold"] == wanted + 7
            tf(worker, "apply", "-auto-approve", "-input=false")
            assert cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["Threshold"] == wanted
            assert _converged(worker)

            # apply -replace (taint's successor) and apply -target
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
            checked |= dict.fromkeys(["plan -out", "apply plan", "output", "state", "import", "refresh-only", "replace", "target"], "")

            # -var and -var-file: an operator's knob changes its resource in place, and the next
            # plan without it wants the configured value back.
            scaling = _client(endpoint, "application-autoscaling")
            assert _plan_actions(worker, "-var=max_count=3") == {"aws_appautoscaling_target.worker": ["update"]}
            (worker / "ops.tfvars.json").write_text(json.dumps({"max_count": 3}))
            tf(worker, "apply", "-auto-approve", "-input=false", "-var-file=ops.tfvars.json")
            assert _max_capacity(scaling) == 3
            assert _plan_actions(worker) == {"aws_appautoscaling_target.worker": ["update"]}
            refused = tf(worker, "plan", "-input=false", "-var=max_count=0", check=False)
            assert refused.returncode == 1 and "max_count" in refused.stderr, refused.stderr[-2000:]
            tf(worker, "apply", "-auto-approve", "-input=false")
            assert _max_capacity(scaling) == 5 and _converged(worker)
            checked |= {"-var": "", "-var-file": ""}

            # Workspaces: a second copy beside the first, in the same account and region.
            ecs = _client(endpoint, "ecs")
            for stack_dir in (platform, worker):
                tf(stack_dir, "workspace", "new", "pr-42")
            tf(platform, "apply", "-auto-approve", "-input=false")
            tf(worker, "apply", "-auto-approve", "-input=false")
            assert _converged(worker)
            listed = tf(worker, "workspace", "list").stdout
            assert "* pr-42" in listed and "default" in listed
            clusters = {arn.rsplit("/", 1)[1] for arn in ecs.list_clusters()["clusterArns"]}
            assert {"dev", "dev-pr-42"} <= clusters, clusters
            copy = ecs.describe_services(cluster="dev-pr-42", services=["dev-pr-42-worker"])["services"]
            assert [s["status"] for s in copy] == ["ACTIVE"]
            for stack_dir in (worker, platform):
                tf(stack_dir, "destroy", "-auto-approve", "-input=false")
                tf(stack_dir, "workspace", "select", "default")
                tf(stack_dir, "workspace", "delete", "pr-42")
            assert "pr-42" not in tf(worker, "workspace", "list").stdout
            assert _converged(worker) and _converged(platform)  # the default copy is untouched
            checked |= {"workspace": ""}

            # Faults: a second apply while one runs is refused by the lock; the first,
            # interrupted with SIGINT, converges on the next apply with no duplicates.
            tf(worker, "destroy", "-auto-approve", "-input=false")
            first = subprocess.Popen(
                ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
                cwd=worker, env=dict(os.environ, TF_IN_AUTOMATION="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            try:
                _wait_for_lock(worker)
                second = tf(worker, "apply", "-auto-approve", "-input=false", "-lock-timeout=0s", check=False)
                assert second.returncode == 1 and "Error acquiring the state lock" in second.stdout + second.stderr
                time.sleep(4)  # let the first apply create part of the stack
                first.send_signal(signal.SIGINT)
                first_output, _ = first.communicate(timeout=600)
            finally:
                if first.poll() is None:
                    first.kill()
            assert first.returncode != 0 and "Interrupt received" in first_output, first_output[-3000:]
            tf(worker, "apply", "-auto-approve", "-input=false")
            assert _converged(worker)
            ecs = _client(endpoint, "ecs")
            assert [s["serviceName"] for s in ecs.describe_services(cluster="dev", services=["dev-worker"])["services"]
                    if s["status"] == "ACTIVE"] == ["dev-worker"]
            queues = _client(endpoint, "sqs").list_queues(QueueNamePrefix="dev-worker").get("QueueUrls", [])
            assert sorted(q.rsplit("/", 1)[1] for q in queues) == ["dev-worker", "dev-worker-dlq"]
            checked |= {"lock": "", "SIGINT": ""}
        finally:
            for stack_dir in (worker, platform):
                tf(stack_dir, "destroy", "-auto-approve", "-input=false", check=False)
        assert not tf(platform, "state", "list", check=False).stdout.strip()
    print("\nchecked: " + ", ".join(checked))


_ALARM_KEYS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator",
    "TreatMissingData", "DatapointsToAlarm", "Unit", "Metrics", "ThresholdMetricId",
)


def _max_capacity(scaling) -> int:  # type: ignore[no-untyped-def]
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/dev/dev-worker"])["ScalableTargets"]
    return int(target["MaxCapacity"])


def _wait_for_lock(stack_dir: Path, timeout: float = 120) -> None:
    """The local backend writes `.<state file>.lock.info` beside the state while it holds the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (stack_dir.parents[2] / f".terraform.{stack_dir.name}.tfstate.lock.info").exists():
            return
        time.sleep(0.2)
    raise AssertionError("the apply never took the state lock")
