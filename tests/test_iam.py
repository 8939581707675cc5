"""IAM: each service's four roles in its own stack, the task-role boundary, `[[permissions]]`,
the container-instance role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from infra.config.specs import ConditionSpec, PermissionSpec
from infra.iam import SSM_CHANNEL_ACTIONS
from tests.conftest import FIXTURE, Synth, by_path, data_sources, load_stack, ref, resources, spec_of

ENVS = ("dev", "prod")
SERVICES = ("api", "web", "worker")
REMOTE = "${data.terraform_remote_state.platform.outputs.%s}"
PARTITION = "${data.aws_partition.partition.partition}"
ACCOUNT = "${data.aws_caller_identity.account.account_id}"
# role kind: (trusted service principal, requires the aws:SourceAccount condition)
ROLE_KINDS = {
    "exec": ("ecs-tasks.amazonaws.com", True),
    "task": ("ecs-tasks.amazonaws.com", True),
    "build": ("codebuild.amazonaws.com", False),
    "record": ("codebuild.amazonaws.com", False),
    "pipeline": ("codepipeline.amazonaws.com", False),
}
POLICY_NAMES = {
    "exec": "task-execution", "task": "application", "build": "build", "record": "record", "pipeline": "pipeline",
    "codedeploy": "codedeploy",
}


def document(stack: dict[str, Any], suffix: str) -> dict[str, Any]:
    (found,) = [
        d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith(suffix)
    ]
    return found


def statements_by_sid(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in doc["statement"]}


def arn(service: str, resource: str, *, partition: str = PARTITION, account: str = ACCOUNT) -> str:
    return f"arn:{partition}:{service}:us-east-1:{account}:{resource}"


# ---------------------------------------------------------------------------------
# Roles and trust: every role lives in its service's stack
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", sorted(ROLE_KINDS))
def test_each_service_stack_has_its_own_role_trusted_by_one_service(synth: Synth, env: str, service: str, kind: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    principal, source_account = ROLE_KINDS[kind]
    role = by_path(stack, "aws_iam_role", f"/service/iam/{kind}")
    assert role["name"] == f"{env}-{service}-{kind}"
    assert role["assume_role_policy"] == ref(stack, "aws_iam_policy_document", f"/iam/{kind}-trust", "json", data=True)
    assert "managed_policy_arns" not in role
    (statement,) = document(stack, f"/iam/{kind}-trust")["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    # One identifier: rendered by Terraform as a plain string principal.
    assert statement["principals"] == [{"type": "Service", "identifiers": [principal]}]
    if source_account:
        assert statement["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}]
    else:
        assert "condition" not in statement


@pytest.mark.parametrize("env", ENVS)
def test_the_platform_holds_no_service_role(synth: Synth, env: str) -> None:
    names = {r["name"] for r in resources(synth.stack(f"{env}-platform"), "aws_iam_role").values()}
    assert not [n for n in names for s in SERVICES if n.startswith(f"{env}-{s}-")]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_only_the_task_role_carries_the_platform_boundary(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    bounded = {r["name"]: r.get("permissions_boundary") for r in resources(stack, "aws_iam_role").values()}
    blue_green = {f"{env}-{service}-codedeploy": None} if spec_of(env, service).deployment.blue_green else {}
    assert bounded == {
        f"{env}-{service}-exec": None,
        f"{env}-{service}-task": REMOTE % "task_role_boundary_arn",
        f"{env}-{service}-build": None,
        f"{env}-{service}-record": None,
        f"{env}-{service}-pipeline": None,
        **blue_green,
    }


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_no_aws_managed_policies_and_each_inline_policy_on_its_own_role(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    assert not resources(stack, "aws_iam_role_policy_attachment")
    for policy in resources(stack, "aws_iam_role_policy").values():
        parent, name = policy["//"]["metadata"]["path"].rsplit("/", 1)
        kind = name.removesuffix("-policy")
        # Roles live in service/iam, a blue/green service's CodeDeploy role in service/blue-green.
        assert parent.endswith(("/service/iam", "/service/blue-green"))
        assert policy["role"] == ref(stack, "aws_iam_role", f"{parent.split('/', 1)[1]}/{kind}", "id")
        assert policy["name"] == POLICY_NAMES[kind]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_execution_role_reaches_only_its_own_image_logs_and_the_key(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    statements = statements_by_sid(document(stack, "/iam/exec-policy-document"))
    assert statements["EcrLogin"]["resources"] == ["*"]
    assert statements["PullOwnImage"]["resources"] == [ref(stack, "aws_ecr_repository", "/registry/repository", "arn")]
    assert statements["PullOwnImage"]["actions"] == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    log_group = ref(stack, "aws_cloudwatch_log_group", "/service/logs", "name")
    assert statements["WriteOwnLogs"]["resources"] == [arn("logs", f"log-group:{log_group}:*")]
    assert statements["DecryptWithPlatformKey"] == {
        "sid": "DecryptWithPlatformKey",
        "actions": ["kms:Decrypt"],
        "resources": [REMOTE % "kms_key_arn"],
    }
    secrets = {"ReadOwnSecrets"} if service == "api" else set()
    assert set(statements) == {"EcrLogin", "PullOwnImage", "WriteOwnLogs", "DecryptWithPlatformKey", *secrets}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_build_role_scope(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    statements = statements_by_sid(document(stack, "/iam/build-policy-document"))
    artifacts = REMOTE % "artifacts_bucket_arn"
    assert statements["WriteBuildLogs"]["resources"] == [arn("logs", f"log-group:/codebuild/{env}-{service}:*")]
    push_pull = statements["PushPullOwnImage"]
    assert push_pull["resources"] == [ref(stack, "aws_ecr_repository", "/registry/repository", "arn")]
    assert {"ecr:PutImage", "ecr:BatchGetImage", "ecr:UploadLayerPart", "ecr:DescribeImages"} <= set(push_pull["actions"])
    assert statements["Artifacts"]["resources"] == [f"{artifacts}/*"]
    assert statements["PlatformKey"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "ImageTagParameter" not in statements and "RecordDeployedTag" not in statements


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_record_role_writes_only_the_deployed_tag(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    statements = statements_by_sid(document(stack, "/iam/record-policy-document"))
    assert statements["RecordDeployedTag"] == {
        "sid": "RecordDeployedTag",
        "actions": ["ssm:PutParameter"],
        "resources": [arn("ssm", f"parameter/ecs-platform/{env}/{service}/image-tag")],
    }
    assert statements["ReadBuildArtifact"]["actions"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert not [a for s in statements.values() for a in s["actions"] if a.startswith(("ecr:", "ecs:", "iam:"))]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_pipeline_role_deploys_only_its_own_service(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    statements = statements_by_sid(document(stack, "/iam/pipeline-policy-document"))
    assert statements["RunOwnBuilds"]["resources"] == [
        arn("codebuild", f"project/{env}-{service}"),
        arn("codebuild", f"project/{env}-{service}-record"),
    ]
    assert statements["TaskDefinitions"]["resources"] == ["*"]
    # Issue #13 (8), CodePipeline's "Amazon ECS deploy action reference": the action tags the
    # revisions it registers and watches the service's tasks.
    assert statements["TagRegisteredRevisions"]["resources"] == [arn("ecs", f"task-definition/{env}-{service}:*")]
    assert statements["TagRegisteredRevisions"]["condition"] == [
        {"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RegisterTaskDefinition"]}
    ]
    if spec_of(env, service).deployment.blue_green:
        # prod-web deploys through CodeDeploy: its own deployment group and application only
        # (the rest in tests/test_blue_green.py), and nothing of the ECS rolling deploy action.
        assert statements["DeployThroughCodeDeploy"]["resources"] == [arn("codedeploy", f"deploymentgroup:{env}-{service}/{env}-{service}")]
        assert statements["TaskDefinitions"]["actions"] == ["ecs:RegisterTaskDefinition"]
        assert not {"DeployOwnService", "WatchOwnTasks", "ListClusterTasks"} & set(statements)
    else:
        assert statements["DeployOwnService"]["resources"] == [arn("ecs", f"service/{env}/{env}-{service}")]
        assert statements["DeployOwnService"]["actions"] == ["ecs:DescribeServices", "ecs:UpdateService"]
        assert statements["WatchOwnTasks"] == {
            "sid": "WatchOwnTasks", "actions": ["ecs:DescribeTasks"], "resources": [arn("ecs", f"task/{env}/*")]
        }
        assert statements["ListClusterTasks"]["actions"] == ["ecs:ListTasks"]
        assert statements["ListClusterTasks"]["condition"] == [
            {"test": "ArnEquals", "variable": "ecs:cluster", "values": [arn("ecs", f"cluster/{env}")]}
        ]
    pass_role = statements["PassOwnTaskRoles"]
    assert pass_role["actions"] == ["iam:PassRole"]
    assert pass_role["resources"] == [
        ref(stack, "aws_iam_role", "/service/iam/exec", "arn"),
        ref(stack, "aws_iam_role", "/service/iam/task", "arn"),
    ]
    assert pass_role["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}
    ]
    assert statements["Artifacts"]["resources"] == [f"{REMOTE % 'artifacts_bucket_arn'}/*"]


@pytest.mark.parametrize(
    ("env", "connection"),
    [
        ("dev", None),
        ("prod", "arn:aws:codestar-connections:us-east-1:123456789012:connection/5d2a2f1c-1111-4c3e-9e8b-3b7a5c0d9f21"),
    ],
)
def test_pipeline_uses_the_source_connection_only_when_configured(synth: Synth, env: str, connection: str | None) -> None:
    for service in SERVICES:
        statements = statements_by_sid(document(synth.stack(f"{env}-{service}"), "/iam/pipeline-policy-document"))
        if connection is None:
            assert "UseSourceConnection" not in statements
        else:
            assert statements["UseSourceConnection"]["actions"] == ["codestar-connections:UseConnection"]
            assert statements["UseSourceConnection"]["resources"] == [connection]


# ---------------------------------------------------------------------------------
# The platform: the task-role boundary and the container-instance role
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_the_boundary_is_published_and_names_only_this_accounts_resources(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    policy = by_path(stack, "aws_iam_policy", "/boundary/policy")
    assert policy["name"] == f"{env}-task-boundary"
    assert stack["output"]["task_role_boundary_arn"]["value"] == ref(stack, "aws_iam_policy", "/boundary/policy", "arn")
    partition = ref(stack, "aws_partition", "/key/partition", "partition", data=True)
    account = ref(stack, "aws_caller_identity", "/key/account", "account_id", data=True)
    for statement in document(stack, "/boundary/document")["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        assert not [a for a in statement["actions"] if a == "*" or a.endswith(":*") or a.startswith("iam:")]
        for resource in statement["resources"]:
            if resource == "*":
                assert statement["sid"] == "NoResourceLevel"
            elif resource.startswith(f"arn:{partition}:s3:::"):
                assert statement["condition"] == [{"test": "StringEquals", "variable": "aws:ResourceAccount", "values": [account]}]
            else:
                assert resource.startswith(f"arn:{partition}:") and f":{account}:" in resource, resource


@pytest.mark.parametrize("env", ENVS)
def test_container_instance_role_and_profile(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    role = by_path(stack, "aws_iam_role", "/cluster/instance-role")
    assert role["name"] == f"{env}-ecs-instance"
    (trust,) = document(stack, "/cluster/instance-role-trust")["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}]
    profile = by_path(stack, "aws_iam_instance_profile", "/cluster/instance-profile")
    assert profile["name"] == f"{env}-ecs-instance"
    assert profile["role"] == ref(stack, "aws_iam_role", "/cluster/instance-role", "name")
    statements = statements_by_sid(document(stack, "/cluster/instance-policy-document"))
    partition = ref(stack, "aws_partition", "/key/partition", "partition", data=True)
    account = ref(stack, "aws_caller_identity", "/key/account", "account_id", data=True)
    assert statements["DiscoverPollEndpoint"]["resources"] == ["*"]
    assert statements["ContainerInstance"]["resources"] == [
        arn("ecs", f"cluster/{env}", partition=partition, account=account),
        arn("ecs", f"container-instance/{env}/*", partition=partition, account=account),
    ]
    assert {"ecs:RegisterContainerInstance", "ecs:Poll", "ecs:SubmitTaskStateChange"} <= set(
        statements["ContainerInstance"]["actions"]
    )
    assert statements["PullEnvironmentImages"]["resources"] == [
        arn("ecr", f"repository/{env}/*", partition=partition, account=account)
    ]


# ---------------------------------------------------------------------------------
# Variants: ECS Exec and [[permissions]] on a worker, a codeconnections ARN, no EC2 capacity
# ---------------------------------------------------------------------------------
CODECONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-4c3e-9e8b-3b7a5c0d9f21"
PERMISSIONS = (
    PermissionSpec(actions=("sqs:SendMessage",), resources=("dlq",), conditions=()),
    PermissionSpec(
        actions=("cloudwatch:PutMetricData",),
        resources=("*",),
        conditions=(ConditionSpec(test="StringEquals", variable="cloudwatch:namespace", values=("worker",)),),
    ),
    PermissionSpec(actions=("s3:GetObject",), resources=("arn:aws:s3:::reports/*",), conditions=()),
)


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from cdktf import App

    from infra.platform.stack import PlatformStack
    from infra.service.stack import ServiceStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    dev = app_spec.environments[0]
    env = dataclasses.replace(
        dev,
        pipeline=dataclasses.replace(dev.pipeline, connection_arn=CODECONNECTION),
        cluster=dataclasses.replace(dev.cluster, ec2=dataclasses.replace(dev.cluster.ec2, enabled=False)),
    )
    (worker,) = [s for s in app_spec.services["dev"] if s.name == "worker"]
    worker = dataclasses.replace(worker, enable_exec=True, permissions=PERMISSIONS)
    outdir: Path = tmp_path_factory.mktemp("iam-variant")
    app = App(outdir=str(outdir))
    PlatformStack(app, "dev-platform", env=env, local=None)
    ServiceStack(app, "dev-worker", env=env, service=worker, local=None)
    app.synth()
    return {name: load_stack(outdir / "stacks" / name / "cdk.tf.json") for name in ("dev-platform", "dev-worker")}


def test_ecs_exec_gives_the_task_role_session_channels_key_and_logs(variant: dict[str, dict[str, Any]]) -> None:
    stack = variant["dev-worker"]
    statements = statements_by_sid(document(stack, "/iam/task-policy-document"))
    assert statements["ExecChannels"]["actions"] == sorted(SSM_CHANNEL_ACTIONS)
    assert statements["ExecChannels"]["resources"] == ["*"]
    assert statements["ExecSessionKey"]["resources"] == [REMOTE % "kms_key_arn"]
    assert statements["ExecSessionLogs"]["resources"] == [arn("logs", f"log-group:{REMOTE % 'exec_log_group_name'}:*")]
    # The platform publishes the log group the cluster logs sessions to.
    platform = variant["dev-platform"]
    group = by_path(platform, "aws_cloudwatch_log_group", "/cluster/exec-logs")
    assert group["name"] == "/ecs-exec/dev"
    assert platform["output"]["exec_log_group_name"]["value"] == ref(platform, "aws_cloudwatch_log_group", "/cluster/exec-logs", "name")


def test_manifest_permissions_render_into_the_task_role_with_own_names_resolved(variant: dict[str, dict[str, Any]]) -> None:
    stack = variant["dev-worker"]
    statements = statements_by_sid(document(stack, "/iam/task-policy-document"))
    dlq = ref(stack, "aws_sqs_queue", "/queues/dlq", "arn")
    assert statements["Manifest0"] == {"sid": "Manifest0", "actions": ["sqs:SendMessage"], "resources": [dlq]}
    assert statements["Manifest1"] == {
        "sid": "Manifest1",
        "actions": ["cloudwatch:PutMetricData"],
        "resources": ["*"],
        "condition": [{"test": "StringEquals", "variable": "cloudwatch:namespace", "values": ["worker"]}],
    }
    assert statements["Manifest2"]["resources"] == ["arn:aws:s3:::reports/*"]
    # Next to the queue the worker consumes: one application policy on the task role.
    assert {"ConsumeOwnQueue", "QueueKey"} <= set(statements)
    policy = by_path(stack, "aws_iam_role_policy", "/iam/task-policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "/service/iam/task", "id")


def test_codeconnections_arn_gets_the_codeconnections_action(variant: dict[str, dict[str, Any]]) -> None:
    statements = statements_by_sid(document(variant["dev-worker"], "/iam/pipeline-policy-document"))
    assert statements["UseSourceConnection"] == {
        "sid": "UseSourceConnection",
        "actions": ["codeconnections:UseConnection"],
        "resources": [CODECONNECTION],
    }


def test_no_container_instance_role_without_ec2_capacity(variant: dict[str, dict[str, Any]]) -> None:
    platform = variant["dev-platform"]
    assert not [r for r in resources(platform, "aws_iam_role").values() if r["name"] == "dev-ecs-instance"]
    assert not [p for p in resources(platform, "aws_iam_instance_profile").values() if "/cluster/" in p["//"]["metadata"]["path"]]
    assert "ec2_capacity_provider_name" not in platform["output"]
