"""Workspaces are isolated copies (issue #14, 3): every AWS name carries the workspace outside
`default` (infra/naming.py), names in `default` are what they always were, a workspace a stack
cannot hold is refused with one message, and a service stack reads the platform of its own
workspace."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import naming
from tests.conftest import Synth, data_sources
from tests.config_builder import Project

PREFIX = naming.PREFIX

# Every attribute that names a resource in AWS, by resource type ("*": every type).
NAME_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "*": ("name", "name_prefix", "identifier", "alarm_name", "dashboard_name", "custom_suffix", "final_snapshot_identifier"),
    "aws_s3_bucket": ("bucket",),
    "aws_ecs_task_definition": ("family",),  # (a DB parameter group's `family` is its engine)
}
# Names that need not carry the workspace, and why (infra/naming.py).
SCOPED = {
    ("aws_iam_role_policy", "name"): "unique within its role, which carries the workspace",
    ("aws_service_discovery_service", "name"): "unique within its namespace, which is the copy's own",
    ("aws_service_discovery_private_dns_namespace", "name"): "a private hosted zone of the copy's own VPC",
}
# The AWS limit of each name attribute (checked against the longest workspace a stack accepts).
LIMITS: dict[tuple[str, str], naming.Limit] = {
    ("aws_lb", "name"): naming.LOAD_BALANCER,
    ("aws_lb_target_group", "name"): naming.TARGET_GROUP,
    ("aws_iam_role", "name"): naming.IAM_ROLE,
    ("aws_iam_instance_profile", "name"): naming.IAM_INSTANCE_PROFILE,
    ("aws_iam_policy", "name"): naming.IAM_POLICY,
    ("aws_s3_bucket", "bucket"): naming.S3_BUCKET,
    ("aws_db_instance", "identifier"): naming.RDS_IDENTIFIER,
    ("aws_db_instance", "final_snapshot_identifier"): naming.RDS_SNAPSHOT,
    ("aws_db_subnet_group", "name"): naming.RDS_GROUP,
    ("aws_db_parameter_group", "name"): naming.RDS_GROUP,
    ("aws_db_option_group", "name"): naming.RDS_GROUP,
    ("aws_sqs_queue", "name"): naming.SQS_QUEUE,
    ("aws_ecs_cluster", "name"): naming.ECS_NAME,
    ("aws_ecs_service", "name"): naming.ECS_NAME,
    ("aws_ecs_task_definition", "family"): naming.ECS_NAME,
    ("aws_ecs_capacity_provider", "name"): naming.ECS_NAME,
    ("aws_ecr_repository", "name"): naming.ECR_REPOSITORY,
    ("aws_cloudwatch_log_group", "name"): naming.LOG_GROUP,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): naming.ALARM,
    ("aws_cloudwatch_dashboard", "dashboard_name"): naming.DASHBOARD,
    ("aws_sns_topic", "name"): naming.SNS_TOPIC,
    ("aws_kms_alias", "name"): naming.KMS_ALIAS,
    ("aws_ssm_parameter", "name"): naming.SSM_PARAMETER,
    ("aws_security_group", "name"): naming.SECURITY_GROUP,
    ("aws_launch_template", "name"): naming.LAUNCH_TEMPLATE,
    ("aws_autoscaling_group", "name"): naming.AUTOSCALING_GROUP,
    ("aws_appautoscaling_policy", "name"): naming.SCALING_POLICY,
    ("aws_appautoscaling_scheduled_action", "name"): naming.SCALING_POLICY,
    ("aws_codebuild_project", "name"): naming.CODEBUILD_PROJECT,
    ("aws_codepipeline", "name"): naming.CODEPIPELINE,
    ("aws_scheduler_schedule", "name"): naming.SCHEDULE,
    ("aws_scheduler_schedule_group", "name"): naming.SCHEDULE,
    ("aws_cloudwatch_event_rule", "name"): naming.EVENT_RULE,
    ("aws_wafv2_web_acl", "name"): naming.WAF_NAME,
}
MOST = re.compile(r"length\(terraform\.workspace\) <= (\d+)")


def _names(stack: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(type, logical id, attribute, value) of every name of every resource (and Name tag)."""
    found = []
    for type_, items in stack.get("resource", {}).items():
        for id_, resource in items.items():
            for attribute in NAME_ATTRIBUTES["*"] + NAME_ATTRIBUTES.get(type_, ()):
                if isinstance(resource.get(attribute), str):
                    found.append((type_, id_, attribute, resource[attribute]))
            name_tag = (resource.get("tags") or {}).get("Name")
            if isinstance(name_tag, str):
                found.append((type_, id_, "tags.Name", name_tag))
    return found


def _reference(value: str) -> bool:
    """A value that is one reference to another resource (`${aws_s3_bucket.x.id}`)."""
    return re.fullmatch(r"\$\{[a-z_]+\.[A-Za-z0-9_-]+\.[a-z_]+\}", value) is not None


def test_every_name_in_every_stack_carries_the_workspace(synth: Synth) -> None:
    """A walk over every resource: a future resource with a fixed name fails here."""
    fixed = []
    for stack_name, stack in synth.raw_stacks.items():
        for type_, id_, attribute, value in _names(stack):
            if (type_, attribute) in SCOPED or _reference(value):
                continue
            # A DNS name of a custom domain carries it as its first label (naming.HOST_PREFIX).
            if PREFIX not in value and naming.HOST_PREFIX not in value:
                fixed.append(f"{stack_name}: {type_}.{id_}.{attribute} = {value!r}")
    assert not fixed, "names that do not carry the workspace:\n" + "\n".join(fixed)
    counted = sum(len(_names(stack)) for stack in synth.raw_stacks.values())
    assert counted > 300


def test_the_prefix_is_the_environment_in_default_and_carries_the_workspace_elsewhere(synth: Synth) -> None:
    for stack_name, stack in synth.raw_stacks.items():
        env = stack_name.split("-")[0]
        assert stack["locals"]["name_prefix"] == f'${{terraform.workspace == "default" ? "{env}" : "{env}-${{local.workspace}}"}}'


def test_every_stack_refuses_a_workspace_its_tightest_name_cannot_hold(synth: Synth) -> None:
    """The longest workspace a stack accepts leaves every one of its names within AWS's limit."""
    for stack_name, stack in synth.raw_stacks.items():
        env = stack_name.split("-")[0]
        most = int(MOST.search(stack["locals"]["workspace"]).group(1))
        assert most >= 5, f"{stack_name}: a workspace such as pr-42 must fit"
        tight = []
        for type_, id_, attribute, value in _names(stack):
            limit = LIMITS.get((type_, attribute))
            if limit is None or PREFIX not in value:
                continue
            # The account id in a bucket name is 12 digits (a reference to the caller identity here).
            default = re.sub(r"\$\{data\.aws_caller_identity\.[^}]+\}", "0" * 12, naming.in_default(value, env))
            assert "${" not in default, (stack_name, id_, value)
            assert len(default) + 1 + most <= limit.max_len, f"{stack_name}: {type_}.{id_}.{attribute} {default!r}"
            tight.append(limit.max_len - len(default) - 1)
        assert min(tight) == most, f"{stack_name}: the guard allows {most}, the tightest name {min(tight)}"


def test_service_stacks_look_up_names_of_their_own_copy(synth: Synth) -> None:
    """The callers' groups a backend admits are found by the name of the same workspace."""
    api = synth.raw("dev-api")
    names = {d["name"] for d in data_sources(api, "aws_security_group").values()}
    assert names == {f"{PREFIX}-web-tasks"}


def test_remote_state_follows_the_workspace_for_s3_and_local(synth: Synth) -> None:
    for env, backend in (("dev", "local"), ("prod", "s3")):
        stack = synth.raw(f"{env}-web")
        (state,) = stack["data"]["terraform_remote_state"].values()
        assert state["backend"] == backend
        assert state["workspace"] == "${terraform.workspace}"
        own = stack["terraform"]["backend"][backend]
        if backend == "s3":
            assert state["config"]["workspace_key_prefix"] == own["workspace_key_prefix"]
        else:  # the platform's own workspace_dir: terraform.tfstate.d/<stack>/<workspace>/
            assert state["config"]["workspace_dir"] == own["workspace_dir"].replace("dev-web", "dev-platform")


def test_cloud_backend_names_stay_the_environment(tmp_path: Path) -> None:
    """HCP Terraform: one named workspace per stack, no CLI workspaces; the prefix is the
    environment whatever `terraform.workspace` reports there."""
    from infra.app import build_app

    project = Project(tmp_path).env(backend={"type": "cloud", "organization": "example"})
    out = tmp_path / "out"
    build_app(project.load(), outdir=str(out)).synth()
    stack = json.loads((out / "stacks" / "dev-web" / "cdk.tf.json").read_text())
    assert stack["locals"]["name_prefix"] == "dev"
    assert stack["resource"]["aws_lb_target_group"]
    assert all(value.startswith(PREFIX) for type_, _, attribute, value in _names(stack) if type_ == "aws_iam_role")


def test_names_fail_at_synthesis_when_the_default_name_is_too_long() -> None:
    names = naming.Names(env_name="dev", stack="dev-web")
    with pytest.raises(ValueError, match="longer than 32 characters, the limit of a target group name"):
        names.name("{prefix}-" + "x" * 29, naming.TARGET_GROUP)
    with pytest.raises(ValueError, match="carries the prefix"):
        names.name("fixed-name", naming.IAM_ROLE)


def test_scripts_refuse_template_sequences_other_than_the_prefix() -> None:
    assert naming.base64_script(f"echo {PREFIX}\n") == '${base64encode("echo ${local.name_prefix}\\n")}'
    with pytest.raises(ValueError, match="must not contain"):
        naming.base64_script("echo ${HOME}\n")


# --- Terraform itself --------------------------------------------------------------------


def _terraform(args: list[str], cwd: Path, env: dict[str, str], workspace: str | None = None) -> subprocess.CompletedProcess[str]:
    run_env = dict(env)
    if workspace is not None:
        run_env["TF_WORKSPACE"] = workspace
    return subprocess.run(["terraform", *args, "-no-color"], cwd=cwd, env=run_env, capture_output=True, text=True, timeout=300)


@pytest.mark.terraform
def test_terraform_refuses_a_workspace_the_stack_cannot_hold_with_one_message(
    synth: Synth, terraform_env: dict[str, str], tmp_path: Path
) -> None:
    """`terraform validate` (and plan) run the provider's own checks on the names; a workspace the
    stack cannot hold must stop before them, with the one message of the `workspace` local."""
    work = tmp_path / "dev-web"
    work.mkdir()
    (work / "cdk.tf.json").write_text(json.dumps(synth.raw("dev-web")))
    init = _terraform(["init", "-backend=false", "-input=false"], work, terraform_env)
    assert init.returncode == 0, init.stdout + init.stderr
    accepted = _terraform(["validate"], work, terraform_env, "pr-42")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = _terraform(["validate"], work, terraform_env, "feature-add-payments-gateway")
    text = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 1 and text.count("Error:") == 1, text
    assert (
        "Workspace feature-add-payments-gateway cannot hold a copy of dev-web: use a workspace name of at most 24"
        " lower-case letters, digits and single hyphens (its target group name dev-<workspace>-web may have at most"
        " 32 characters)."
    ) in text


@pytest.mark.terraform
def test_the_workspace_label_rule_as_terraform_evaluates_it(synth: Synth, terraform_env: dict[str, str], tmp_path: Path) -> None:
    """The two locals alone (no provider, so each case costs a fraction of a second)."""
    work = tmp_path / "locals"
    work.mkdir()
    (work / "main.tf.json").write_text(json.dumps({
        "locals": synth.raw("dev-web")["locals"], "output": {"prefix": {"value": "${local.name_prefix}"}},
    }))
    assert _terraform(["init", "-input=false"], work, terraform_env).returncode == 0
    cases = {"default": "dev", "pr-42": "dev-pr-42", "a" * 24: "dev-" + "a" * 24, "7": "dev-7",
             "a" * 25: None, "Feature_X": None, "pr--42": None, "pr-": None, "-pr": None}
    for workspace, prefix in cases.items():
        result = _terraform(["apply", "-auto-approve", "-input=false"], work, terraform_env, workspace)
        if prefix is None:
            assert result.returncode == 1 and "cannot hold a copy of dev-web" in " ".join(result.stderr.split()), workspace
        else:
            assert result.returncode == 0, result.stderr
            assert _terraform(["output", "-raw", "prefix"], work, terraform_env, workspace).stdout == prefix


def _state(outputs: dict[str, str]) -> str:
    return json.dumps({
        "version": 4, "terraform_version": "1.11.0", "serial": 1, "lineage": "test",
        "outputs": {k: {"value": v, "type": "string"} for k, v in outputs.items()}, "resources": [],
    })


@pytest.mark.terraform
def test_a_service_stack_reads_the_platform_of_its_own_workspace_with_the_local_backend(
    terraform_env: dict[str, str], tmp_path: Path
) -> None:
    """PlatformRef as a service stack has it, with the local backend's paths: in workspace pr-42
    it reads terraform.tfstate.d/dev-platform/pr-42/, in default terraform.dev-platform.tfstate."""
    from cdktf import App, LocalBackend, TerraformOutput, TerraformStack

    from infra.config import load_app
    from infra.platform import contract
    from infra.service.platform_ref import PlatformRef
    from infra.stacks import local_state_paths
    from tests.conftest import FIXTURE

    (env,) = [e for e in load_app(FIXTURE, environments=["dev"]).environments]
    root = tmp_path / "project"
    root.mkdir()
    app = App(outdir=str(root / "cdktf.out"))
    stack = TerraformStack(app, "dev-web")
    LocalBackend(stack, **local_state_paths("dev-web"))
    platform = PlatformRef(stack, "platform", env=env)
    TerraformOutput(stack, "vpc", value=platform.vpc_id)
    app.synth()
    (root / "terraform.dev-platform.tfstate").write_text(_state({"contract_version": contract.CONTRACT_VERSION, "vpc_id": "vpc-default"}))
    copy = root / "terraform.tfstate.d" / "dev-platform" / "pr-42" / "terraform.tfstate"
    copy.parent.mkdir(parents=True)
    copy.write_text(_state({"contract_version": contract.CONTRACT_VERSION, "vpc_id": "vpc-pr-42"}))
    work = root / "cdktf.out" / "stacks" / "dev-web"
    for workspace, vpc in (("pr-42", "vpc-pr-42"), ("default", "vpc-default")):
        # TF_WORKSPACE as `TF_WORKSPACE=pr-42 cdktf deploy dev-web` sets it: init creates the
        # workspace of the local backend, apply runs in it.
        for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
            result = _terraform(args, work, terraform_env, workspace)
            assert result.returncode == 0, result.stdout + result.stderr
        output = _terraform(["output", "-raw", "vpc"], work, terraform_env, workspace)
        assert output.stdout == vpc
