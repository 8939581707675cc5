"""IAM: per-service roles and their trust, least-privilege policies, the container-instance role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_app
from infra.service.roles import EXEC_CHANNEL_ACTIONS
from tests.conftest import ROOT, Synth, by_path, data_sources, resources

ENVS = ("dev", "prod")
SERVICES = ("api", "web", "worker")
# role kind: (trusted service principal, requires the aws:SourceAccount condition)
ROLE_KINDS = {
    "exec": ("ecs-tasks.amazonaws.com", True),
    "task": ("ecs-tasks.amazonaws.com", True),
    "build": ("codebuild.amazonaws.com", False),
    "pipeline": ("codepipeline.amazonaws.com", False),
}
# Actions that support no resource-level permissions, so "*" is the only possible resource.
STAR_RESOURCE_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "ecs:DiscoverPollEndpoint",
        "logs:DescribeLogGroups",
        "ssm:UpdateInstanceInformation",
        "ec2:DescribeInstances",
        *EXEC_CHANNEL_ACTIONS,
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
    }
)


def ref(stack: dict[str, Any], type_: str, suffix: str, attr: str, *, data: bool = False) -> str:
    items = data_sources(stack, type_) if data else resources(stack, type_)
    (logical_id,) = [k for k, v in items.items() if v["//"]["metadata"]["path"].endswith(suffix)]
    return f"${{{'data.' if data else ''}{type_}.{logical_id}.{attr}}}"


def document(stack: dict[str, Any], suffix: str) -> dict[str, Any]:
    (found,) = [
        d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith(suffix)
    ]
    return found


def statements_by_sid(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in doc["statement"]}


def arn(stack: dict[str, Any], service: str, resource: str) -> str:
    partition = ref(stack, "aws_partition", "/key/partition", "partition", data=True)
    account = ref(stack, "aws_caller_identity", "/key/account", "account_id", data=True)
    return f"arn:{partition}:{service}:us-east-1:{account}:{resource}"


# ---------------------------------------------------------------------------------
# Roles and trust
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", sorted(ROLE_KINDS))
def test_each_service_has_its_own_role_trusted_by_one_service(synth: Synth, env: str, service: str, kind: str) -> None:
    stack = synth.stack(f"{env}-platform")
    principal, source_account = ROLE_KINDS[kind]
    role = by_path(stack, "aws_iam_role", f"/iam/{service}/{kind}")
    assert role["name"] == f"{env}-{service}-{kind}"
    assert len(role["name"]) <= 64
    assert role["assume_role_policy"] == ref(stack, "aws_iam_policy_document", f"/iam/{service}/{kind}-trust", "json", data=True)
    assert "managed_policy_arns" not in role
    (statement,) = document(stack, f"/iam/{service}/{kind}-trust")["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    # One identifier: rendered by Terraform as a plain string principal.
    assert statement["principals"] == [{"type": "Service", "identifiers": [principal]}]
    if source_account:
        assert statement["condition"] == [
            {
                "test": "StringEquals",
                "variable": "aws:SourceAccount",
                "values": [ref(stack, "aws_caller_identity", "/key/account", "account_id", data=True)],
            }
        ]
    else:
        assert "condition" not in statement


@pytest.mark.parametrize("env", ENVS)
def test_roles_are_keyed_by_service_name(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    paths = {r["//"]["metadata"]["path"].split("/iam/", 1)[1] for r in resources(stack, "aws_iam_role").values()
             if "/platform/iam/" in r["//"]["metadata"]["path"]}
    expected = {f"{s}/{k}" for s in SERVICES for k in ROLE_KINDS} | {"ecs-instance"}
    assert paths == expected


@pytest.mark.parametrize("env", ENVS)
def test_no_aws_managed_policies_are_attached(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    attachments = [
        a for a in resources(stack, "aws_iam_role_policy_attachment").values() if "/platform/iam/" in a["//"]["metadata"]["path"]
    ]
    assert attachments == []


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["exec", "build", "pipeline"])
def test_inline_policy_is_attached_to_its_own_role(synth: Synth, env: str, service: str, kind: str) -> None:
    stack = synth.stack(f"{env}-platform")
    policy = by_path(stack, "aws_iam_role_policy", f"/iam/{service}/{kind}-policy")
    assert policy["role"] == ref(stack, "aws_iam_role", f"/iam/{service}/{kind}", "id")
    assert policy["policy"] == ref(stack, "aws_iam_policy_document", f"/iam/{service}/{kind}-policy-document", "json", data=True)
    assert policy["name"] == "platform"


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_task_role_has_no_inline_policy_without_ecs_exec(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    assert not [p for p in resources(stack, "aws_iam_role_policy").values() if "/iam/" in p["//"]["metadata"]["path"]
                and p["//"]["metadata"]["path"].endswith(f"/iam/{service}/task-policy")]


# ---------------------------------------------------------------------------------
# Least privilege everywhere
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("stack_name", ["dev-platform", "prod-platform"])
def test_no_star_actions_and_star_resources_only_where_aws_requires_them(synth: Synth, stack_name: str) -> None:
    stack = synth.stack(stack_name)
    docs = data_sources(stack, "aws_iam_policy_document")
    assert docs
    problems = []
    for doc in docs.values():
        path = doc["//"]["metadata"]["path"]
        for statement in doc.get("statement", []):
            actions = statement.get("actions", [])
            allow = statement.get("effect", "Allow") == "Allow"
            for action in actions:
                if action == "*" or (allow and action.endswith(":*")):
                    problems.append(f"{path}: action {action}")
            # In a resource policy (one with principals) "*" means the resource itself.
            if "*" in statement.get("resources", []) and not statement.get("principals"):
                extra = set(actions) - STAR_RESOURCE_ACTIONS
                if extra:
                    problems.append(f"{path}: '*' resource for {sorted(extra)}")
            assert "not_actions" not in statement, path
    assert problems == []


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_execution_role_reaches_only_its_own_image_logs_and_the_key(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    statements = statements_by_sid(document(stack, f"/iam/{service}/exec-policy-document"))
    assert statements["EcrLogin"]["resources"] == ["*"]
    assert statements["PullOwnImage"]["resources"] == [arn(stack, "ecr", f"repository/{env}/{service}")]
    assert statements["PullOwnImage"]["actions"] == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert statements["WriteOwnLogs"]["resources"] == [arn(stack, "logs", f"log-group:/ecs/{env}/{service}:*")]
    assert statements["DecryptWithPlatformKey"] == {
        "sid": "DecryptWithPlatformKey",
        "actions": ["kms:Decrypt"],
        "resources": [ref(stack, "aws_kms_key", "/key/key", "arn")],
    }
    assert set(statements) == {"EcrLogin", "PullOwnImage", "WriteOwnLogs", "DecryptWithPlatformKey"}


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_build_role_scope(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    statements = statements_by_sid(document(stack, f"/iam/{service}/build-policy-document"))
    artifacts = ref(stack, "aws_s3_bucket", "/storage/artifacts/bucket", "arn")
    assert statements["WriteBuildLogs"]["resources"] == [arn(stack, "logs", f"log-group:/codebuild/{env}-{service}:*")]
    push_pull = statements["PushPullOwnImage"]
    assert push_pull["resources"] == [arn(stack, "ecr", f"repository/{env}/{service}")]
    assert {"ecr:PutImage", "ecr:BatchGetImage", "ecr:UploadLayerPart"} <= set(push_pull["actions"])
    assert statements["Artifacts"]["resources"] == [f"{artifacts}/*"]
    assert statements["PlatformKey"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statements["ImageTagParameter"] == {
        "sid": "ImageTagParameter",
        "actions": ["ssm:GetParameter", "ssm:PutParameter"],
        "resources": [arn(stack, "ssm", f"parameter/ecs-platform/{env}/{service}/image-tag")],
    }


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("service", SERVICES)
def test_pipeline_role_deploys_only_its_own_service(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    statements = statements_by_sid(document(stack, f"/iam/{service}/pipeline-policy-document"))
    assert statements["RunOwnBuild"]["resources"] == [arn(stack, "codebuild", f"project/{env}-{service}")]
    assert statements["DeployOwnService"]["resources"] == [arn(stack, "ecs", f"service/{env}/{env}-{service}")]
    assert statements["DeployOwnService"]["actions"] == ["ecs:DescribeServices", "ecs:UpdateService"]
    assert statements["TaskDefinitions"]["resources"] == ["*"]
    pass_role = statements["PassOwnTaskRoles"]
    assert pass_role["actions"] == ["iam:PassRole"]
    assert pass_role["resources"] == [
        ref(stack, "aws_iam_role", f"/iam/{service}/exec", "arn"),
        ref(stack, "aws_iam_role", f"/iam/{service}/task", "arn"),
    ]
    assert pass_role["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}
    ]
    assert statements["Artifacts"]["resources"] == [f"{ref(stack, 'aws_s3_bucket', '/storage/artifacts/bucket', 'arn')}/*"]


@pytest.mark.parametrize(
    ("env", "connection"),
    [
        ("dev", None),
        ("prod", "arn:aws:codestar-connections:us-east-1:123456789012:connection/5d2a2f1c-1111-4c3e-9e8b-3b7a5c0d9f21"),
    ],
)
def test_pipeline_uses_the_source_connection_only_when_configured(synth: Synth, env: str, connection: str | None) -> None:
    stack = synth.stack(f"{env}-platform")
    for service in SERVICES:
        statements = statements_by_sid(document(stack, f"/iam/{service}/pipeline-policy-document"))
        if connection is None:
            assert "UseSourceConnection" not in statements
        else:
            assert statements["UseSourceConnection"]["actions"] == ["codestar-connections:UseConnection"]
            assert statements["UseSourceConnection"]["resources"] == [connection]


# ---------------------------------------------------------------------------------
# Container instances
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_container_instance_role_and_profile(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    role = by_path(stack, "aws_iam_role", "/iam/ecs-instance")
    assert role["name"] == f"{env}-ecs-instance"
    (trust,) = document(stack, "/iam/ecs-instance-trust")["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}]
    profile = by_path(stack, "aws_iam_instance_profile", "/iam/ecs-instance-profile")
    assert profile["name"] == f"{env}-ecs-instance"
    assert profile["role"] == ref(stack, "aws_iam_role", "/iam/ecs-instance", "name")
    statements = statements_by_sid(document(stack, "/iam/ecs-instance-policy-document"))
    assert statements["DiscoverPollEndpoint"]["resources"] == ["*"]
    assert statements["ContainerInstance"]["resources"] == [
        arn(stack, "ecs", f"cluster/{env}"),
        arn(stack, "ecs", f"container-instance/{env}/*"),
    ]
    assert {"ecs:RegisterContainerInstance", "ecs:Poll", "ecs:SubmitTaskStateChange"} <= set(
        statements["ContainerInstance"]["actions"]
    )
    assert statements["PullEnvironmentImages"]["resources"] == [arn(stack, "ecr", f"repository/{env}/*")]


# ---------------------------------------------------------------------------------
# Variants: ECS Exec on, a codeconnections ARN, no EC2 capacity
# ---------------------------------------------------------------------------------
CODECONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-4c3e-9e8b-3b7a5c0d9f21"


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any]:
    from cdktf import App

    from infra.stacks import PlatformStack

    app_spec = load_app(ROOT, environments=["dev"])
    dev = app_spec.environments[0]
    env = dataclasses.replace(
        dev,
        pipeline=dataclasses.replace(dev.pipeline, connection_arn=CODECONNECTION),
        cluster=dataclasses.replace(dev.cluster, ec2=dataclasses.replace(dev.cluster.ec2, enabled=False)),
    )
    services = tuple(dataclasses.replace(s, enable_exec=(s.name == "api")) for s in app_spec.services["dev"])
    outdir: Path = tmp_path_factory.mktemp("iam-variant")
    app = App(outdir=str(outdir))
    platform = PlatformStack(app, "dev-platform", env=env, services=services, local=None).platform
    app.synth()
    return json.loads((outdir / "stacks" / "dev-platform" / "cdk.tf.json").read_text()), platform


def test_ecs_exec_gives_the_task_role_session_channels_key_and_logs(variant: tuple[dict[str, Any], Any]) -> None:
    stack, _ = variant
    policy = by_path(stack, "aws_iam_role_policy", "/iam/api/task-policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "/iam/api/task", "id")
    statements = statements_by_sid(document(stack, "/iam/api/task-policy-document"))
    assert statements["ExecChannels"]["actions"] == sorted(EXEC_CHANNEL_ACTIONS)
    assert statements["ExecChannels"]["resources"] == ["*"]
    assert statements["ExecSessionKey"]["resources"] == [ref(stack, "aws_kms_key", "/key/key", "arn")]
    assert statements["ExecSessionLogs"]["resources"] == [arn(stack, "logs", "log-group:/ecs-exec/dev:*")]
    # The exec log group is the one the cluster logs sessions to.
    group = by_path(stack, "aws_cloudwatch_log_group", "/cluster/exec-logs")
    assert group["name"] == "/ecs-exec/dev"
    # Services without enable_exec still get no task policy.
    assert not [p for p in resources(stack, "aws_iam_role_policy").values()
                if p["//"]["metadata"]["path"].endswith(("/iam/web/task-policy", "/iam/worker/task-policy"))]


def test_codeconnections_arn_gets_the_codeconnections_action(variant: tuple[dict[str, Any], Any]) -> None:
    stack, _ = variant
    statements = statements_by_sid(document(stack, "/iam/web/pipeline-policy-document"))
    assert statements["UseSourceConnection"] == {
        "sid": "UseSourceConnection",
        "actions": ["codeconnections:UseConnection"],
        "resources": [CODECONNECTION],
    }


def test_no_container_instance_role_without_ec2_capacity(variant: tuple[dict[str, Any], Any]) -> None:
    stack, platform = variant
    assert platform.iam.instance_profile_arn is None and platform.iam.instance_role_arn is None
    assert not [r for r in resources(stack, "aws_iam_role").values() if r["//"]["metadata"]["path"].endswith("/iam/ecs-instance")]
    assert not [p for p in resources(stack, "aws_iam_instance_profile").values() if "/iam/" in p["//"]["metadata"]["path"]]


def test_for_service_returns_tokens_and_rejects_unknown_names(variant: tuple[dict[str, Any], Any]) -> None:
    _, platform = variant
    roles = platform.iam.for_service("web")
    assert all(value.startswith("${TfToken[") for value in dataclasses.astuple(roles))
    assert roles.execution_role_arn != platform.iam.for_service("api").execution_role_arn
    with pytest.raises(KeyError, match="known: api, web, worker"):
        platform.iam.for_service("nope")
