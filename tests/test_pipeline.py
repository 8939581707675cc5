"""CI/CD per service: the buildspec text, the CodeBuild project and the pipeline's stages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import naming
from infra.service.buildspec import buildspec_document, record_buildspec_document
from infra.service.pipeline import trigger_file_paths
from tests.conftest import Synth, by_path, data_sources, env_of, jsondoc, logical_id, only, platform_ref, platform_value, ref, resources, spec_of

SERVICES = ("web", "api", "worker")


def buildspec(env: str, service: str) -> dict[str, Any]:
    document = buildspec_document(spec_of(env, service), env_of(env))
    assert isinstance(document, dict)
    return document


def terraform_json(document: Any) -> str:
    """The text Terraform's jsonencode makes of `document`: compact, keys sorted, and <, > and &
    escaped as \\u003c, \\u003e and \\u0026 (Go's encoding/json)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def commands(document: dict[str, Any]) -> list[str]:
    return [c for phase in ("install", "pre_build", "build", "post_build") for c in document["phases"][phase]["commands"]]


def index_of(items: list[str], fragment: str) -> int:
    found = [i for i, item in enumerate(items) if fragment in item]
    assert len(found) == 1, f"{fragment!r} in {len(found)} commands"
    return found[0]


# --- buildspec ---------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_buildspec_is_deterministic_yaml(service: str) -> None:
    """What CodeBuild reads is Terraform's jsonencode of the document: YAML that reads back as it."""
    spec, env = spec_of("dev", service), env_of("dev")
    text = terraform_json(buildspec_document(spec, env))
    assert text == terraform_json(buildspec_document(spec, env))
    assert "\\u003e" in text and "\\u0026" in text  # the escapes are there, and YAML reads them
    assert yaml.safe_load(text) == buildspec_document(spec, env)
    assert yaml.safe_load(text)["version"] == 0.2
    # No interpolation or directive starts in it: Terraform would read it as one.
    assert "${" not in text and "%{" not in text


@pytest.mark.parametrize("service", SERVICES)
def test_buildspec_variables_name_the_service_folder_and_only_the_record_step_names_the_tag_parameter(service: str) -> None:
    assert buildspec("prod", service)["env"]["variables"] == {"SERVICE_DIR": f"services/{service}"}
    record = record_buildspec_document(spec_of("prod", service), env_of("prod"))
    # The prefix (infra.naming): `prod` in the default workspace, `prod-<workspace>` elsewhere.
    assert record["env"]["variables"] == {"IMAGE_TAG_PARAMETER": f"/ecs-platform/${{local.name_prefix}}/{service}/image-tag"}


def test_the_build_folder_is_the_manifest_folder_whatever_the_service_name(tmp_path: Path) -> None:
    """Issue #13 (3): a manifest whose `name` differs from its folder builds from its folder."""
    spec = dataclasses.replace(spec_of("dev", "web"), name="storefront", directory=tmp_path / "services" / "shop")
    document = buildspec_document(spec, env_of("dev"))
    assert document["env"]["variables"]["SERVICE_DIR"] == "services/shop"
    assert trigger_file_paths(spec) == ["services/shop/**"]


@pytest.mark.parametrize("service", SERVICES)
def test_buildspec_tests_before_it_builds_and_builds_before_it_pushes(service: str) -> None:
    document = buildspec("dev", service)
    steps = commands(document)
    login = index_of(steps, "aws ecr get-login-password")
    tag = index_of(steps, "CODEBUILD_RESOLVED_SOURCE_VERSION")
    tests = index_of(steps, "python -m pip install -r requirements.txt pytest && python -m pytest -q tests")
    build = index_of(steps, "docker build -f Dockerfile -t \"$REPOSITORY_URI:$IMAGE_TAG\" .")
    push = index_of(steps, "docker push")
    definitions = index_of(steps, "> \"$CODEBUILD_SRC_DIR/imagedefinitions.json\"")
    assert login < tests < build < push < definitions
    assert tag < build
    assert "cut -c 1-12" in steps[tag]
    assert 'cd "$CODEBUILD_SRC_DIR/$SERVICE_DIR"' in steps[tests]
    # The build never records the tag Terraform deploys from (issue #13 (1)): the record step does,
    # after the deployment.
    assert not [step for step in steps if "ssm" in step]
    # A failed phase aborts the build, and post_build refuses to run after a failure.
    for phase in ("install", "pre_build", "build"):
        assert document["phases"][phase]["on-failure"] == "ABORT"
    assert document["phases"]["post_build"]["commands"][0] == 'test "$CODEBUILD_BUILD_SUCCEEDING" = "1"'
    # Rolling in dev: the ECS action's imagedefinitions.json (and imageDetail.json, which a
    # promotion reads).
    assert document["artifacts"] == {"files": ["imagedefinitions.json", "imageDetail.json"]}


@pytest.mark.parametrize("service", SERVICES)
def test_image_definitions_name_the_container(service: str) -> None:
    steps = commands(buildspec("dev", service))
    write = steps[index_of(steps, "> \"$CODEBUILD_SRC_DIR/imagedefinitions.json\"")]
    template = write.split("'")[1]
    assert json.loads(template % "IMAGE") == [{"name": service, "imageUri": "IMAGE"}]


# --- CodeBuild ---------------------------------------------------------------------
@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_codebuild_project_builds_with_its_own_role_and_repository_and_the_platform_key(
    synth: Synth, env: str, service: str
) -> None:
    stack = synth.stack(f"{env}-{service}")
    project = by_path(stack, "aws_codebuild_project", "pipeline/build")
    assert project["name"] == f"{env}-{service}"
    assert project["source"]["type"] == "CODEPIPELINE"
    assert jsondoc(project["source"]["buildspec"]) == buildspec_document(spec_of(env, service), env_of(env))
    assert project["artifacts"] == {"type": "CODEPIPELINE"}
    environment = project["environment"]
    assert (environment["type"], environment["image"]) == ("LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0")
    assert environment["privileged_mode"] is True
    variables = {v["name"]: v["value"] for v in environment["environment_variable"]}
    # The image goes to the service's own repository, in its own stack.
    assert variables["REPOSITORY_URI"] == ref(stack, "aws_ecr_repository", "registry/repository", "repository_url")
    # Blue/green (prod-web): the family whose latest revision becomes taskdef.json.
    blue_green = spec_of(env, service).deployment.blue_green
    assert set(variables) == ({"REPOSITORY_URI", "TASK_FAMILY"} if blue_green else {"REPOSITORY_URI"})
    key = platform_ref(synth, env, "aws_kms_key", "key/key", "arn")
    assert platform_value(synth, env, project["encryption_key"]) == key
    # It runs as the service's own build role, trusted by CodeBuild.
    assert project["service_role"] == ref(stack, "aws_iam_role", "iam/build", "arn")
    assert by_path(stack, "aws_iam_role", "iam/build")["name"] == f"{env}-{service}-build"
    logs = project["logs_config"]
    assert logs["cloudwatch_logs"] == {
        "status": "ENABLED",
        "group_name": ref(stack, "aws_cloudwatch_log_group", "pipeline/build-logs", "name"),
        "stream_name": "build",
    }
    assert logs["s3_logs"] == {"status": "DISABLED"}
    group = resources(stack, "aws_cloudwatch_log_group")[logical_id(stack, "aws_cloudwatch_log_group", "pipeline/build-logs")]
    assert group["name"] == f"/codebuild/{env}-{service}"
    assert platform_value(synth, env, group["kms_key_id"]) == key


def test_build_role_can_do_what_its_buildspec_does_on_its_own_things_only(synth: Synth) -> None:
    """The buildspec logs in to ECR, asks whether the tag exists (DescribeImages), pushes to the
    service's repository and exchanges artifacts with the pipeline. All of it in one policy of
    the service's stack, and nothing about the deployed-tag parameter."""
    stack = synth.stack("dev-web")
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy").values() if p["role"] == ref(stack, "aws_iam_role", "iam/build", "id")]
    document = data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]
    statements = {s["sid"]: (s["actions"], s["resources"]) for s in document["statement"]}
    repository = ref(stack, "aws_ecr_repository", "registry/repository", "arn")
    key = platform_ref(synth, "dev", "aws_kms_key", "key/key", "arn")
    artifacts = platform_ref(synth, "dev", "aws_s3_bucket", "storage/artifacts/bucket", "arn")
    assert statements["EcrLogin"] == (["ecr:GetAuthorizationToken"], ["*"])
    actions, resources_ = statements["PushPullOwnImage"]
    assert {"ecr:DescribeImages", "ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart"} <= set(actions)
    assert resources_ == [repository]
    actions, resources_ = statements["PlatformKey"]
    assert actions == ["kms:Decrypt", "kms:GenerateDataKey"] and [platform_value(synth, "dev", r) for r in resources_] == [key]
    assert not [a for a, _ in statements.values() for action in a if action.startswith("ssm:")]
    (objects,) = statements["Artifacts"][1]
    assert objects.endswith("/*") and platform_value(synth, "dev", objects.removesuffix("/*")) == artifacts
    (log_group,) = statements["WriteBuildLogs"][1]
    assert log_group.endswith(":log-group:/codebuild/dev-web:*")
    assert set(statements) == {
        "WriteBuildLogs", "EcrLogin", "PushPullOwnImage", "Artifacts", "ArtifactsBucket", "PlatformKey"
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_only_the_record_step_may_write_the_deployed_tag_and_it_runs_after_the_deployment(synth: Synth, env: str) -> None:
    """Issue #13 (1): the tag Terraform deploys from is written after Approval and Deploy, by a
    project whose role can do nothing else, from the artifact the deploy action rolled out."""
    stack = synth.stack(f"{env}-web")
    assert list(stages(stack))[-2:] == ["Deploy", "Record"]
    (record,) = stages(stack)["Record"]
    assert (record["provider"], record["input_artifacts"]) == ("CodeBuild", ["build"])
    project = by_path(stack, "aws_codebuild_project", "pipeline/record")
    assert record["configuration"]["ProjectName"] == ref(stack, "aws_codebuild_project", "pipeline/record", "name")
    # The action names the parameter it records (one record project serves every environment a
    # promoting pipeline deploys: tests/test_rollouts.py).
    assert jsondoc(record["configuration"]["EnvironmentVariables"]) == [
        {"name": "IMAGE_TAG_PARAMETER", "value": f"/ecs-platform/{env}/web/image-tag", "type": "PLAINTEXT"}
    ]
    assert project["name"] == f"{env}-web-record"
    assert project["service_role"] == ref(stack, "aws_iam_role", "iam/record", "arn")
    assert "privileged_mode" not in project["environment"]
    document = record_buildspec_document(spec_of(env, "web"), env_of(env))
    written = json.dumps(jsondoc(project["source"]["buildspec"]), sort_keys=True)
    assert naming.in_default(written, env) == naming.in_default(json.dumps(document, sort_keys=True), env)
    steps = document["phases"]["build"]["commands"]
    write = steps[index_of(steps, "aws ssm put-parameter")]
    assert '--type String' in write and "--overwrite" in write
    assert index_of(steps, "imagedefinitions.json") < index_of(steps, "aws ssm put-parameter")
    writers = set()
    for policy in resources(stack, "aws_iam_role_policy").values():
        document_ = data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]
        if any(a.startswith("ssm:Put") for s in document_["statement"] for a in s["actions"]):
            writers.add(policy["role"])
    assert writers == {ref(stack, "aws_iam_role", "iam/record", "id")}


# --- CodePipeline ------------------------------------------------------------------
def stages(stack: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {stage["name"]: stage["action"] for stage in only(stack, "aws_codepipeline")["stage"]}


@pytest.mark.parametrize(
    "env, expected",
    [("dev", ["Source", "Build", "Deploy", "Record"]), ("prod", ["Source", "Build", "Approval", "Deploy", "Record"])],
)
@pytest.mark.parametrize("service", SERVICES)
def test_pipeline_stages_and_approval_only_in_production(synth: Synth, env: str, expected: list[str], service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    pipeline = only(stack, "aws_codepipeline")
    assert pipeline["name"] == f"{env}-{service}"
    assert pipeline["pipeline_type"] == "V2"
    assert list(stages(stack)) == expected
    # It runs as the service's own pipeline role.
    assert pipeline["role_arn"] == ref(stack, "aws_iam_role", "iam/pipeline", "arn")
    assert by_path(stack, "aws_iam_role", "iam/pipeline")["name"] == f"{env}-{service}-pipeline"
    (store,) = pipeline["artifact_store"]
    assert platform_value(synth, env, store["location"]) == platform_ref(
        synth, env, "aws_s3_bucket", "storage/artifacts/bucket", "id"
    )
    assert store["type"] == "S3"
    assert store["encryption_key"]["type"] == "KMS"
    assert platform_value(synth, env, store["encryption_key"]["id"]) == platform_ref(synth, env, "aws_kms_key", "key/key", "arn")

    (build,) = stages(stack)["Build"]
    assert (build["provider"], build["input_artifacts"], build["output_artifacts"]) == ("CodeBuild", ["source"], ["build"])
    assert build["configuration"] == {"ProjectName": ref(stack, "aws_codebuild_project", "pipeline/build", "name")}
    (deploy,) = stages(stack)["Deploy"]
    if spec_of(env, service).deployment.blue_green:
        # prod-web: CodeDeploy's action (tests/test_blue_green.py has the rest).
        assert (deploy["category"], deploy["provider"], deploy["input_artifacts"]) == ("Deploy", "CodeDeployToECS", ["build"])
        return
    assert (deploy["category"], deploy["provider"], deploy["input_artifacts"]) == ("Deploy", "ECS", ["build"])
    config = deploy["configuration"]
    assert config == {
        "ClusterName": config["ClusterName"],
        "ServiceName": ref(stack, "aws_ecs_service", "service/service", "name"),
        "FileName": "imagedefinitions.json",
    }
    # The environment's cluster, named in the platform's contract.
    assert platform_value(synth, env, config["ClusterName"]) == platform_ref(synth, env, "aws_ecs_cluster", "cluster/cluster", "name")
    assert only(synth.stack(f"{env}-platform"), "aws_ecs_cluster")["name"] == env


@pytest.mark.parametrize("service", SERVICES)
def test_dev_pipeline_starts_from_a_zip_in_the_artifacts_bucket(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    (source,) = stages(stack)["Source"]
    assert (source["provider"], source["output_artifacts"]) == ("S3", ["source"])
    config = source["configuration"]
    assert config["S3ObjectKey"] == f"sources/dev/{service}.zip"
    assert config["PollForSourceChanges"] == "false"
    assert platform_value(synth, "dev", config["S3Bucket"]) == platform_ref(
        synth, "dev", "aws_s3_bucket", "storage/artifacts/bucket", "id"
    )
    assert "trigger" not in only(stack, "aws_codepipeline")


@pytest.mark.parametrize("service", SERVICES)
def test_prod_pipeline_is_triggered_only_by_pushes_to_its_own_folder(synth: Synth, service: str) -> None:
    stack = synth.stack(f"prod-{service}")
    (source,) = stages(stack)["Source"]
    assert source["provider"] == "CodeStarSourceConnection"
    config = source["configuration"]
    assert config["FullRepositoryId"] == "example/ecs-platform"
    assert config["BranchName"] == "main"
    assert config["DetectChanges"] == "false"
    assert config["ConnectionArn"].startswith("arn:aws:codestar-connections:us-east-1:123456789012:connection/")
    (trigger,) = only(stack, "aws_codepipeline")["trigger"]
    assert trigger["provider_type"] == "CodeStarSourceConnection"
    git = trigger["git_configuration"]
    assert git["source_action_name"] == source["name"]
    assert git["push"] == [
        {"branches": {"includes": ["main"]}, "file_paths": {"includes": [f"services/{service}/**"]}}
    ]
    (approval,) = stages(stack)["Approval"]
    assert (approval["category"], approval["provider"]) == ("Approval", "Manual")


@pytest.mark.parametrize("service", SERVICES)
def test_pipeline_role_may_tag_the_task_definitions_its_deploy_registers(synth: Synth, service: str) -> None:
    """AWS CodePipeline User Guide, "Amazon ECS deploy action reference", service role permissions:
    the deploy action registers a revision copying the service's task definition, tags included,
    which needs ecs:TagResource on the task definition with ecs:CreateAction = RegisterTaskDefinition."""
    stack = synth.stack(f"dev-{service}")
    assert only(stack, "aws_ecs_task_definition")  # the service's task definition ...
    assert stack["provider"]["aws"][0]["default_tags"][0]["tags"]  # ... is tagged by the provider
    policy = by_path(stack, "aws_iam_role_policy", "iam/pipeline-policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "iam/pipeline", "id")
    document = data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]
    tagging = [s for s in document["statement"] if "ecs:TagResource" in s["actions"]]
    assert tagging, "no statement allows ecs:TagResource"
    (statement,) = tagging
    assert all(":task-definition/" in r for r in statement["resources"])
    assert {"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RegisterTaskDefinition"]} in statement["condition"]
