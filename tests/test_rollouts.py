"""Safe rollouts and build once, promote (issue #15, items 7 and 8).

    rolling       the ECS service fails and rolls back a deployment on its own alarms
    blue/green    CodeDeploy: the service's controller, a second target group behind the
                  platform's test listener, the deployment group, its role, the pipeline's
                  CodeDeployToECS action and the files the build hands it
    promotion     `[pipeline] promote_from`: one pipeline per service in the home environment
                  builds once, deploys the upstream environment, then the same digest

The tests' configuration (tests/fixtures/app) has prod's web on blue/green; a second, small
configuration (`variants`) has dev promoted to prod, web on blue/green in both,
per-environment `[deployment]` values and a job (built once and promoted like a service: its
Deploy registers a revision of each environment's family). The shell the buildspecs run is run
here too, against stand-ins for `aws` and `docker`, so the digest checks are tested by what they do.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import load_app
from infra.config.specs import DeploymentStrategy
from infra.service.buildspec import (
    appspec_document,
    buildspec_document,
    promote_buildspec_document,
    record_buildspec_document,
)
from tests.config_builder import BACKEND, ENV, JOB, WEB, WORKER, Project
from tests.conftest import (
    ROOT,
    Synth,
    by_path,
    data_sources,
    env_of,
    jsondoc,
    only,
    platform_ref,
    platform_value,
    ref,
    resources,
    spec_of,
)

REMOTE = "${data.terraform_remote_state.platform.outputs.%s}"
PARTITION = "${data.aws_partition.partition.partition}"
ACCOUNT = "${data.aws_caller_identity.account.account_id}"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def arn(service: str, resource: str, *, regional: bool = True) -> str:
    return f"arn:{PARTITION}:{service}:{'us-east-1' if regional else ''}:{ACCOUNT}:{resource}"


def statements(stack: dict[str, Any], suffix: str) -> dict[str, dict[str, Any]]:
    (document,) = [
        d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith(suffix)
    ]
    return {s["sid"]: s for s in document["statement"]}


def stages(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {stage["name"]: stage["action"][0] for stage in only(stack, "aws_codepipeline")["stage"]}


# ---------------------------------------------------------------------------------
# rolling: the ECS deployment alarms (the tests' configuration, dev)
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "service, purposes",
    [("web", ["http-5xx", "unhealthy-hosts"]), ("api", ["cpu-high", "memory-high"]), ("worker", ["cpu-high", "memory-high"])],
)
def test_a_rolling_service_fails_and_rolls_back_a_deployment_on_its_own_alarms(synth: Synth, service: str, purposes: list[str]) -> None:
    stack = synth.stack(f"dev-{service}")
    ecs = only(stack, "aws_ecs_service")
    names = ecs["alarms"]["alarm_names"]
    assert names == [ref(stack, "aws_cloudwatch_metric_alarm", f"alarms/{p}", "alarm_name") for p in purposes]
    assert [by_path(stack, "aws_cloudwatch_metric_alarm", f"alarms/{p}")["alarm_name"] for p in purposes] == [
        f"dev-{service}-{p}" for p in purposes
    ]
    assert (ecs["alarms"]["enable"], ecs["alarms"]["rollback"]) == (True, True)
    # Next to the circuit breaker: either one fails the deployment, both roll it back.
    assert ecs["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert spec_of("dev", service).deployment.rollback_alarms == tuple(purposes)


def test_the_unhealthy_hosts_alarm_watches_the_target_group_for_three_minutes(synth: Synth) -> None:
    stack = synth.stack("dev-web")
    alarm = by_path(stack, "aws_cloudwatch_metric_alarm", "alarms/unhealthy-hosts")
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum")
    assert (alarm["period"], alarm["evaluation_periods"], alarm["threshold"]) == (60, 3, 0)
    assert alarm["dimensions"]["TargetGroup"] == ref(stack, "aws_lb_target_group", "route/target-group", "arn_suffix")
    assert platform_value(synth, "dev", alarm["dimensions"]["LoadBalancer"]) == platform_ref(synth, "dev", "aws_lb", "alb/alb", "arn_suffix")


# ---------------------------------------------------------------------------------
# blue/green: the tests' configuration, prod's web
# ---------------------------------------------------------------------------------
def test_the_platform_publishes_a_test_listener_open_to_the_admin_network_only(synth: Synth) -> None:
    stack = synth.stack("prod-platform")
    listener = by_path(stack, "aws_lb_listener", "/alb/test")
    spec = env_of("prod").load_balancer
    assert (listener["port"], listener["protocol"]) == (8443, "HTTPS")
    assert (listener["certificate_arn"], listener["ssl_policy"]) == (spec.certificate_arn, spec.ssl_policy)
    assert listener["default_action"][0]["fixed_response"]["status_code"] == "404"
    assert stack["output"]["test_listener_arn"]["value"] == ref(stack, "aws_lb_listener", "/alb/test", "arn")
    rules = [
        r
        for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
        if r["from_port"] == 8443
    ]
    assert [(r["cidr_ipv4"], r["security_group_id"]) for r in rules] == [
        ("198.51.100.0/24", ref(stack, "aws_security_group", "/security/alb", "id"))
    ]
    # dev sets no test_listener_port: no listener, no rule, no output.
    dev = synth.stack("dev-platform")
    assert len(resources(dev, "aws_lb_listener")) == 2 and "test_listener_arn" not in dev["output"]


def test_blue_green_adds_a_second_target_group_behind_the_test_listener(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    blue = by_path(stack, "aws_lb_target_group", "route/target-group")
    green = by_path(stack, "aws_lb_target_group", "route/second-target-group")
    assert (blue["name"], green["name"]) == ("prod-web", "prod-web-g")
    same = ("port", "protocol", "target_type", "vpc_id", "health_check", "deregistration_delay")
    assert {k: green[k] for k in same} == {k: blue[k] for k in same}
    production = by_path(stack, "aws_lb_listener_rule", "route/listener-rule")
    test = by_path(stack, "aws_lb_listener_rule", "route/test-listener-rule")
    assert platform_value(synth, "prod", test["listener_arn"]) == platform_ref(synth, "prod", "aws_lb_listener", "/alb/test", "arn")
    assert (test["priority"], test["condition"]) == (production["priority"], production["condition"])
    # The new task set starts in the group the test listener forwards to; CodeDeploy then owns
    # which group each rule forwards to.
    assert production["action"][0]["target_group_arn"] == ref(stack, "aws_lb_target_group", "route/target-group", "arn")
    assert test["action"][0]["target_group_arn"] == ref(stack, "aws_lb_target_group", "route/second-target-group", "arn")
    assert production["lifecycle"] == test["lifecycle"] == {"ignore_changes": ["action"]}
    assert set(resources(stack, "aws_lb_target_group")) == {"web", "web_green"}
    assert set(resources(stack, "aws_lb_listener_rule")) == {"web", "web_test"}


def test_the_deployment_group_moves_traffic_between_the_two_groups_and_rolls_back_on_the_alarms(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    application = only(stack, "aws_codedeploy_app")
    assert (application["name"], application["compute_platform"]) == ("prod-web", "ECS")
    group = only(stack, "aws_codedeploy_deployment_group")
    assert group["app_name"] == ref(stack, "aws_codedeploy_app", "blue-green/application", "name")
    assert group["deployment_group_name"] == "prod-web"
    assert group["deployment_style"] == {"deployment_option": "WITH_TRAFFIC_CONTROL", "deployment_type": "BLUE_GREEN"}
    assert group["deployment_config_name"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["ecs_service"]["service_name"] == ref(stack, "aws_ecs_service", "service/service", "name")
    assert platform_value(synth, "prod", group["ecs_service"]["cluster_name"]) == platform_ref(synth, "prod", "aws_ecs_cluster", "cluster/cluster", "name")
    pair = group["load_balancer_info"]["target_group_pair_info"]
    assert pair["prod_traffic_route"]["listener_arns"] == [REMOTE % "listener_arn"]
    assert pair["test_traffic_route"]["listener_arns"] == [REMOTE % "test_listener_arn"]
    assert pair["target_group"] == [
        {"name": ref(stack, "aws_lb_target_group", "route/target-group", "name")},
        {"name": ref(stack, "aws_lb_target_group", "route/second-target-group", "name")},
    ]
    alarms = [ref(stack, "aws_cloudwatch_metric_alarm", f"alarms/{p}", "alarm_name") for p in ("http-5xx", "unhealthy-hosts")]
    assert group["alarm_configuration"] == {"alarms": alarms, "enabled": True}
    assert group["auto_rollback_configuration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    config = group["blue_green_deployment_config"]
    assert config["deployment_ready_option"] == {"action_on_timeout": "CONTINUE_DEPLOYMENT"}
    # termination_wait = 15 under [overrides.prod.deployment] in the tests' web manifest.
    assert config["terminate_blue_instances_on_deployment_success"] == {"action": "TERMINATE", "termination_wait_time_in_minutes": 15}
    assert group["service_role_arn"] == ref(stack, "aws_iam_role", "blue-green/codedeploy", "arn")
    assert group["depends_on"] == ["aws_iam_role_policy.codedeploy_policy"]


def test_the_load_balancer_alarms_of_a_blue_green_service_watch_both_target_groups(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    groups = [ref(stack, "aws_lb_target_group", f"route/{g}", "arn_suffix") for g in ("target-group", "second-target-group")]
    for purpose, function, metric in (("http-5xx", "SUM", "HTTPCode_Target_5XX_Count"), ("unhealthy-hosts", "MAX", "UnHealthyHostCount")):
        alarm = by_path(stack, "aws_cloudwatch_metric_alarm", f"alarms/{purpose}")
        queries = {q["id"]: q for q in alarm["metric_query"]}
        assert queries["total"]["expression"] == f"{function}([tg1, tg2])" and queries["total"]["return_data"] is True
        assert [queries[i]["metric"]["dimensions"]["TargetGroup"] for i in ("tg1", "tg2")] == groups
        assert {queries[i]["metric"]["metric_name"] for i in ("tg1", "tg2")} == {metric}
        assert "metric_name" not in alarm and "dimensions" not in alarm


def test_the_codedeploy_role_reaches_only_its_own_service_rules_alarms_and_revisions(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    role = by_path(stack, "aws_iam_role", "blue-green/codedeploy")
    assert role["name"] == "prod-web-codedeploy" and "permissions_boundary" not in role
    (trust,) = [d for d in data_sources(stack, "aws_iam_policy_document").values() if d["//"]["metadata"]["path"].endswith("/codedeploy-trust")][0]["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["codedeploy.amazonaws.com"]}]
    assert trust["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [ACCOUNT]}]
    found = statements(stack, "blue-green/codedeploy-policy-document")
    service = arn("ecs", "service/prod/prod-web")
    assert found["OwnService"]["resources"] == [service]
    assert found["CreateOwnTaskSets"]["condition"] == [{"test": "ArnEquals", "variable": "ecs:service", "values": [service]}]
    assert found["DeleteOwnTaskSets"]["resources"] == [arn("ecs", "task-set/prod/prod-web/*")]
    assert found["MoveOwnTraffic"] == {
        "sid": "MoveOwnTraffic",
        "actions": ["elasticloadbalancing:ModifyRule"],
        "resources": [ref(stack, "aws_lb_listener_rule", f"route/{r}", "arn") for r in ("listener-rule", "test-listener-rule")],
    }
    assert found["WatchOwnAlarms"]["resources"] == [
        ref(stack, "aws_cloudwatch_metric_alarm", f"alarms/{p}", "arn") for p in ("http-5xx", "unhealthy-hosts")
    ]
    assert found["ReadRevision"]["resources"] == [f"{REMOTE % 'artifacts_bucket_arn'}/*"]
    assert found["RevisionKey"]["resources"] == [REMOTE % "kms_key_arn"]
    assert found["PassOwnTaskRoles"]["resources"] == [ref(stack, "aws_iam_role", f"iam/{k}", "arn") for k in ("exec", "task")]
    assert not [a for s in found.values() for a in s["actions"] if a.startswith(("lambda:", "sns:")) or a == "ecs:UpdateService"]
    assert not resources(stack, "aws_iam_role_policy_attachment")


def test_the_pipeline_deploys_a_blue_green_service_through_codedeploy(synth: Synth) -> None:
    stack = synth.stack("prod-web")
    deploy = stages(stack)["Deploy"]
    assert (deploy["provider"], deploy["input_artifacts"]) == ("CodeDeployToECS", ["build"])
    assert deploy["configuration"] == {
        "ApplicationName": "prod-web",
        "DeploymentGroupName": "prod-web",
        "TaskDefinitionTemplateArtifact": "build",
        "TaskDefinitionTemplatePath": "taskdef.json",
        "AppSpecTemplateArtifact": "build",
        "AppSpecTemplatePath": "appspec.yaml",
        "Image1ArtifactName": "build",
        "Image1ContainerName": "IMAGE1_NAME",
    }
    # Its names are the deployment group's (the stack's own resources).
    assert only(stack, "aws_codedeploy_deployment_group")["deployment_group_name"] == deploy["configuration"]["DeploymentGroupName"]
    build = by_path(stack, "aws_codebuild_project", "pipeline/build")
    variables = {v["name"]: v["value"] for v in build["environment"]["environment_variable"]}
    assert variables["TASK_FAMILY"] == only(stack, "aws_ecs_task_definition")["family"] == "prod-web"
    document = buildspec_document(spec_of("prod", "web"), env_of("prod"))
    assert document["artifacts"]["files"] == ["imagedefinitions.json", "imageDetail.json", "taskdef.json", "appspec.yaml"]
    policy = statements(stack, "iam/pipeline-policy-document")
    assert policy["RegisterRevisions"]["resources"] == [arn("codedeploy", "application:prod-web")]
    assert policy["ReadDeploymentConfig"]["resources"] == [arn("codedeploy", "deploymentconfig:CodeDeployDefault.ECSAllAtOnce")]
    assert statements(stack, "iam/build-policy-document")["ReadTaskDefinitions"]["actions"] == ["ecs:DescribeTaskDefinition"]


def test_the_appspec_names_the_container_and_port_the_target_groups_send_traffic_to() -> None:
    spec = spec_of("prod", "web")
    assert appspec_document(spec) == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {"TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}},
                }
            }
        ],
    }


# ---------------------------------------------------------------------------------
# The buildspecs' shell, run against stand-ins for aws and docker
# ---------------------------------------------------------------------------------
FAKE_AWS = r'''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
log = os.environ["FAKE_LOG"]
open(log, "a").write("aws " + " ".join(args) + "\n")
if args[:2] == ["ecr", "get-login-password"]:
    print("token")
elif args[:2] == ["ecr", "describe-images"]:
    if "--query" not in args and os.environ.get("FAKE_TAG_EXISTS") != "1":
        sys.exit(254)
    print(os.environ["FAKE_DIGEST"])
elif args[:2] == ["ecs", "describe-task-definition"]:
    print(json.dumps({"family": "prod-web", "taskDefinitionArn": "arn:x", "revision": 7, "status": "ACTIVE",
                      "compatibilities": ["FARGATE"], "registeredAt": "t", "registeredBy": "me",
                      "requiresAttributes": [], "cpu": "256",
                      "containerDefinitions": [{"name": "web", "image": "repo@sha256:old"}]}))
'''
FAKE_DOCKER = '#!/bin/sh\necho "docker $*" >> "$FAKE_LOG"\n'


def run_phases(document: dict[str, Any], phases: list[str], workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The commands of `phases` in one bash with `set -e`, as CodeBuild runs them (one shell;
    `on-failure: ABORT`), with `aws` and `docker` replaced by stand-ins that log their calls."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("aws", FAKE_AWS.replace("python3", sys.executable, 1).replace("/usr/bin/env ", "")), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    if not (bin_dir / "python3").exists():
        (bin_dir / "python3").symlink_to(sys.executable)
    script = "set -e\n" + "\n".join(c for p in phases for c in document["phases"][p]["commands"]) + "\n"
    full = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CODEBUILD_SRC_DIR": str(workdir), "FAKE_LOG": str(workdir / "calls.log"),
            "CODEBUILD_BUILD_SUCCEEDING": "1", "AWS_REGION": "us-east-1", **env}
    return subprocess.run(["bash", "-c", script], cwd=workdir, env=full, capture_output=True, text=True, timeout=60)


def test_the_build_hands_over_the_image_by_digest_and_the_blue_green_templates(tmp_path: Path) -> None:
    document = buildspec_document(spec_of("prod", "web"), env_of("prod"))
    result = run_phases(
        {"phases": {"post": {"commands": document["phases"]["post_build"]["commands"][2:]}}},
        ["post"],
        tmp_path,
        {"REPOSITORY_URI": "1.dkr.ecr.us-east-1.amazonaws.com/prod/web", "REPOSITORY_NAME": "prod/web", "IMAGE_TAG": "3f2c1a9b7d4e",
         "FAKE_DIGEST": DIGEST, "TASK_FAMILY": "prod-web"},
    )
    assert result.returncode == 0, result.stderr
    uri = f"1.dkr.ecr.us-east-1.amazonaws.com/prod/web@{DIGEST}"
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [{"name": "web", "imageUri": uri}]
    assert json.loads((tmp_path / "imageDetail.json").read_text()) == {"ImageURI": uri, "ImageTags": ["3f2c1a9b7d4e"]}
    template = json.loads((tmp_path / "taskdef.json").read_text())
    # What RegisterTaskDefinition refuses is gone; the image is the action's placeholder.
    assert template == {"family": "prod-web", "cpu": "256", "containerDefinitions": [{"name": "web", "image": "<IMAGE1_NAME>"}]}
    assert yaml.safe_load((tmp_path / "appspec.yaml").read_text()) == appspec_document(spec_of("prod", "web"))
    assert "aws ecs describe-task-definition --task-definition prod-web --query taskDefinition" in (tmp_path / "calls.log").read_text()


def test_the_build_stops_when_ecr_reports_no_digest(tmp_path: Path) -> None:
    document = buildspec_document(spec_of("dev", "web"), env_of("dev"))
    result = run_phases(
        {"phases": {"post": {"commands": document["phases"]["post_build"]["commands"][2:]}}},
        ["post"],
        tmp_path,
        {"REPOSITORY_URI": "r/dev/web", "REPOSITORY_NAME": "dev/web", "IMAGE_TAG": "t", "FAKE_DIGEST": "None"},
    )
    assert result.returncode != 0
    assert not (tmp_path / "imagedefinitions.json").exists()


def test_the_record_step_writes_the_digest_it_deployed(tmp_path: Path) -> None:
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "web", "imageUri": f"r/prod/web@{DIGEST}"}]))
    document = record_buildspec_document(spec_of("prod", "web"), env_of("prod"))
    result = run_phases(document, ["build"], tmp_path, {"IMAGE_TAG_PARAMETER": "/ecs-platform/prod/web/image-tag"})
    assert result.returncode == 0, result.stderr
    assert f"aws ssm put-parameter --name /ecs-platform/prod/web/image-tag --value {DIGEST} --type String --overwrite" in (
        tmp_path / "calls.log"
    ).read_text()
    # A tag is never recorded: only a digest.
    (tmp_path / "imagedefinitions.json").write_text(json.dumps([{"name": "web", "imageUri": "r/prod/web:latest"}]))
    assert run_phases(document, ["build"], tmp_path, {"IMAGE_TAG_PARAMETER": "/p"}).returncode != 0


# ---------------------------------------------------------------------------------
# Build once, promote: a small configuration, dev promoted to prod
# ---------------------------------------------------------------------------------
def variants_project(tmp_path: Path) -> Project:
    project = Project(tmp_path)
    # A year of logs, as the tests' configuration keeps (Checkov's CKV_AWS_338).
    observability = {"log_retention_days": 365}
    project.env(load_balancer={"test_listener_port": 8443}, observability=observability)
    project.env(
        "prod",
        ENV,
        load_balancer={"test_listener_port": 8443},
        observability=observability,
        pipeline={"promote_from": "dev", "manual_approval": True},
    )
    project.service("web", WEB, deployment={"strategy": "blue_green"})
    project.service(
        "api",
        BACKEND,
        desired_count=2,
        allow_from=["web"],
        deployment={"rollback_alarms": ["memory-high"], "min_healthy_percent": 50},
        overrides={"prod": {"deployment": {"min_healthy_percent": 100, "max_percent": 150}}},
    )
    project.service("jobs", WORKER, deployment={"rollback_alarms": False})
    project.service("cleanup", JOB)  # a scheduled job: built once in dev, promoted to prod
    return project


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from infra.app import build_app

    root = tmp_path_factory.mktemp("variants")
    outdir = root / "cdktf.out"
    build_app(variants_project(root).load(), outdir=str(outdir)).synth()
    return Synth(outdir)


def test_promote_from_links_both_environments_and_keeps_their_own_deployment_values(tmp_path: Path) -> None:
    app = variants_project(tmp_path).load()
    dev, prod = app.environments
    assert (dev.pipeline.promoted_to.name, dev.pipeline.promote_from) == ("prod", None)
    assert (prod.pipeline.promote_from.name, prod.pipeline.promoted_to) == ("dev", None)
    api = {env: next(s for s in app.services[env] if s.name == "api").deployment for env in ("dev", "prod")}
    assert (api["dev"].min_healthy_percent, api["dev"].max_percent) == (50, 200)
    assert (api["prod"].min_healthy_percent, api["prod"].max_percent) == (100, 150)
    assert api["prod"].rollback_alarms == ("memory-high",)  # merged key by key over the manifest's
    web = next(s for s in app.services["prod"] if s.name == "web")
    assert web.upstream_strategy is DeploymentStrategy.BLUE_GREEN
    # Naming only prod still links dev (both files are read).
    (only_prod,) = variants_project(tmp_path / "again").load(environments=["prod"]).environments
    assert only_prod.pipeline.promote_from.name == "dev"


def test_rollback_alarms_follow_the_manifest_per_environment(variants: Synth) -> None:
    api = only(variants.stack("dev-api"), "aws_ecs_service")
    assert api["alarms"]["alarm_names"] == [ref(variants.stack("dev-api"), "aws_cloudwatch_metric_alarm", "alarms/memory-high", "alarm_name")]
    assert (api["deployment_minimum_healthy_percent"], api["deployment_maximum_percent"]) == (50, 200)
    prod_api = only(variants.stack("prod-api"), "aws_ecs_service")
    assert (prod_api["deployment_minimum_healthy_percent"], prod_api["deployment_maximum_percent"]) == (100, 150)
    # rollback_alarms = false: no alarms block, the circuit breaker stays.
    jobs = only(variants.stack("dev-jobs"), "aws_ecs_service")
    assert "alarms" not in jobs and jobs["deployment_circuit_breaker"] == {"enable": True, "rollback": True}


@pytest.mark.parametrize("service", ["web", "api", "jobs", "cleanup"])
def test_the_promoted_environment_has_no_pipeline_of_its_own(variants: Synth, service: str) -> None:
    stack = variants.stack(f"dev-{service}")
    for type_ in ("aws_codepipeline", "aws_codebuild_project"):
        assert not resources(stack, type_)
    roles = {r["name"] for r in resources(stack, "aws_iam_role").values()}
    assert not [r for r in roles if r.endswith(("-build", "-record", "-pipeline", "-promote", "-deploy"))]
    # It keeps its repository and the parameter the home pipeline records its digest in.
    assert only(stack, "aws_ecr_repository")["name"] == f"dev/{service}"
    assert only(stack, "aws_ssm_parameter")["name"] == f"/ecs-platform/dev/{service}/image-tag"


def test_one_job_pipeline_builds_once_registers_dev_then_promotes_the_digest_to_prod(variants: Synth) -> None:
    """A job follows the services' model: prod's stack holds its one pipeline; each Deploy runs
    the job's one deploy project with its environment's family and repository as the action's
    EnvironmentVariables (a job has no ECS service: it registers a revision of the family)."""
    stack = variants.stack("prod-cleanup")
    found = stages(stack)
    assert list(found) == ["Source", "Build", "Deploy-dev", "Record-dev", "Approval", "Promote", "Deploy-prod", "Record-prod"]
    assert found["Approval"]["configuration"] == {"CustomData": "Promote the cleanup image running in dev to prod?"}
    assert not [a for a in found.values() if a["provider"] in ("ECS", "CodeDeployToECS")]
    repository_url = ref(stack, "aws_ecr_repository", "registry/repository", "repository_url")[2:-1]
    dev_repository = f'${{element(split("/", {repository_url}), 0)}}/dev/cleanup'
    # The build pushes into dev's repository, as a service's does.
    build = by_path(stack, "aws_codebuild_project", "pipeline/build")
    assert {v["name"]: v["value"] for v in build["environment"]["environment_variable"]} == {"REPOSITORY_URI": dev_repository}
    # One deploy project for both environments: the action names the environment, not the project.
    deploy = by_path(stack, "aws_codebuild_project", "pipeline/deploy")
    assert deploy["name"] == "prod-cleanup-deploy"
    assert deploy["service_role"] == ref(stack, "aws_iam_role", "iam/deploy", "arn")
    assert "environment_variable" not in deploy["environment"]
    project = ref(stack, "aws_codebuild_project", "pipeline/deploy", "name")
    for stage, artifact, family, repository in (
        ("Deploy-dev", "build", "dev-cleanup", dev_repository),
        ("Deploy-prod", "promoted", "prod-cleanup", f"${{{repository_url}}}"),
    ):
        action = found[stage]
        assert (action["provider"], action["category"], action["name"]) == ("CodeBuild", "Build", "RegisterRevision")
        assert action["input_artifacts"] == [artifact]
        assert action["configuration"]["ProjectName"] == project
        assert jsondoc(action["configuration"]["EnvironmentVariables"]) == [
            {"name": "FAMILY", "value": family, "type": "PLAINTEXT"},
            {"name": "REPOSITORY_URI", "value": repository, "type": "PLAINTEXT"},
        ]
    # dev's digest is recorded from the build's artifact, prod's from the promotion's.
    for env, artifact in (("dev", "build"), ("prod", "promoted")):
        assert found[f"Record-{env}"]["input_artifacts"] == [artifact]
        assert jsondoc(found[f"Record-{env}"]["configuration"]["EnvironmentVariables"])[0]["value"] == f"/ecs-platform/{env}/cleanup/image-tag"
    assert (found["Promote"]["input_artifacts"], found["Promote"]["output_artifacts"]) == (["build"], ["promoted"])
    promote = by_path(stack, "aws_codebuild_project", "pipeline/promote")
    assert promote["name"] == "prod-cleanup-promote" and promote["service_role"] == ref(stack, "aws_iam_role", "iam/promote", "arn")
    assert {v["name"]: v["value"] for v in promote["environment"]["environment_variable"]} == {"REPOSITORY_URI": f"${{{repository_url}}}"}
    roles = {r["name"] for r in resources(stack, "aws_iam_role").values()}
    assert {f"prod-cleanup-{purpose}" for purpose in ("build", "record", "pipeline", "deploy", "promote")} <= roles


def test_the_job_deploy_role_reaches_exactly_both_families_and_both_environments_roles(variants: Synth) -> None:
    stack = variants.stack("prod-cleanup")
    deploy = statements(stack, "iam/deploy-policy-document")
    assert deploy["TagRegisteredRevisions"]["resources"] == [
        arn("ecs", "task-definition/dev-cleanup:*"),
        arn("ecs", "task-definition/prod-cleanup:*"),
    ]
    assert deploy["TagRegisteredRevisions"]["condition"] == [
        {"test": "StringEquals", "variable": "ecs:CreateAction", "values": ["RegisterTaskDefinition"]}
    ]
    assert deploy["PassOwnTaskRoles"]["actions"] == ["iam:PassRole"]
    assert deploy["PassOwnTaskRoles"]["resources"] == [
        arn("iam", "role/dev-cleanup-exec", regional=False),
        arn("iam", "role/dev-cleanup-task", regional=False),
        ref(stack, "aws_iam_role", "iam/exec", "arn"),
        ref(stack, "aws_iam_role", "iam/task", "arn"),
    ]
    assert deploy["PassOwnTaskRoles"]["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}
    ]
    actions = {a for statement in deploy.values() for a in statement["actions"]}
    assert not {"ecs:UpdateService", "ecs:RunTask", "ssm:PutParameter"} & actions
    assert not [a for a in actions if a.startswith("ecr:")]
    # The dev names follow the naming scheme, workspace-aware (never dev's state).
    raw = variants.raw("prod-cleanup")
    assert raw["locals"]["dev_name_prefix"] == '${terraform.workspace == "default" ? "dev" : "dev-${local.workspace}"}'
    assert "dev-platform" not in json.dumps(raw.get("data", {}).get("terraform_remote_state", {}))
    # The record role writes both parameters; the pipeline role starts the deploy and promote
    # projects and deploys no ECS service.
    assert statements(stack, "iam/record-policy-document")["RecordDeployedTag"]["resources"] == [
        arn("ssm", "parameter/ecs-platform/dev/cleanup/image-tag"),
        arn("ssm", "parameter/ecs-platform/prod/cleanup/image-tag"),
    ]
    pipeline = statements(stack, "iam/pipeline-policy-document")
    assert pipeline["RunOwnBuilds"]["resources"][-1] == arn("codebuild", "project/prod-cleanup-promote")
    assert pipeline["RunOwnDeployBuild"]["resources"] == [arn("codebuild", "project/prod-cleanup-deploy")]
    assert not [a for st in pipeline.values() for a in st["actions"] if a.startswith(("ecs:", "iam:"))]
    promote = statements(stack, "iam/promote-policy-document")
    assert promote["PullUpstreamImage"]["resources"] == [arn("ecr", "repository/dev/cleanup")]
    assert statements(stack, "iam/build-policy-document")["PushPullOwnImage"]["resources"] == [arn("ecr", "repository/dev/cleanup")]


def test_one_pipeline_builds_once_deploys_dev_then_promotes_the_digest_to_prod(variants: Synth) -> None:
    stack = variants.stack("prod-web")
    found = stages(stack)
    assert list(found) == ["Source", "Build", "Deploy-dev", "Record-dev", "Approval", "Promote", "Deploy-prod", "Record-prod"]
    assert found["Approval"]["configuration"] == {"CustomData": "Promote the web image running in dev to prod?"}
    # The build pushes into dev's repository, in this stack's registry (one account and Region).
    build = by_path(stack, "aws_codebuild_project", "pipeline/build")
    variables = {v["name"]: v["value"] for v in build["environment"]["environment_variable"]}
    repository_url = ref(stack, "aws_ecr_repository", "registry/repository", "repository_url")[2:-1]
    assert variables == {"REPOSITORY_URI": f'${{element(split("/", {repository_url}), 0)}}/dev/web', "TASK_FAMILY": "dev-web"}
    # dev first, through its own CodeDeploy deployment group (named by the naming scheme).
    assert found["Deploy-dev"]["provider"] == "CodeDeployToECS"
    assert (found["Deploy-dev"]["configuration"]["ApplicationName"], found["Deploy-dev"]["configuration"]["DeploymentGroupName"]) == ("dev-web", "dev-web")
    assert found["Deploy-dev"]["input_artifacts"] == ["build"]
    assert jsondoc(found["Record-dev"]["configuration"]["EnvironmentVariables"])[0]["value"] == "/ecs-platform/dev/web/image-tag"
    # After the approval: the promotion's artifact, never the build's, reaches prod.
    assert (found["Promote"]["input_artifacts"], found["Promote"]["output_artifacts"]) == (["build"], ["promoted"])
    assert found["Deploy-prod"]["input_artifacts"] == ["promoted"]
    assert found["Deploy-prod"]["configuration"]["TaskDefinitionTemplateArtifact"] == "promoted"
    assert found["Record-prod"]["input_artifacts"] == ["promoted"]
    assert jsondoc(found["Record-prod"]["configuration"]["EnvironmentVariables"])[0]["value"] == "/ecs-platform/prod/web/image-tag"
    promote = by_path(stack, "aws_codebuild_project", "pipeline/promote")
    assert promote["name"] == "prod-web-promote" and promote["service_role"] == ref(stack, "aws_iam_role", "iam/promote", "arn")
    assert promote["environment"]["privileged_mode"] is True
    assert {v["name"]: v["value"] for v in promote["environment"]["environment_variable"]} == {
        "REPOSITORY_URI": f"${{{repository_url}}}",
        "TASK_FAMILY": "prod-web",
    }
    assert found["Promote"]["configuration"] == {"ProjectName": ref(stack, "aws_codebuild_project", "pipeline/promote", "name")}


def test_a_rolling_upstream_is_deployed_by_the_ecs_action_named_by_the_naming_scheme(variants: Synth) -> None:
    stack = variants.stack("prod-api")
    found = stages(stack)
    assert found["Deploy-dev"]["provider"] == "ECS"
    assert found["Deploy-dev"]["configuration"] == {"ClusterName": "dev", "ServiceName": "dev-api", "FileName": "imagedefinitions.json"}
    assert found["Deploy-prod"]["configuration"]["ServiceName"] == ref(stack, "aws_ecs_service", "service/service", "name")
    assert platform_value(variants, "prod", found["Deploy-prod"]["configuration"]["ClusterName"]).startswith("${aws_ecs_cluster.")
    assert found["Deploy-prod"]["input_artifacts"] == ["promoted"]


def test_the_home_roles_reach_the_upstream_environment_by_name_and_nothing_more(variants: Synth) -> None:
    stack = variants.stack("prod-api")
    own_repository = ref(stack, "aws_ecr_repository", "registry/repository", "arn")
    dev_repository = arn("ecr", "repository/dev/api")
    assert statements(stack, "iam/build-policy-document")["PushPullOwnImage"]["resources"] == [dev_repository]
    promote = statements(stack, "iam/promote-policy-document")
    assert promote["PullUpstreamImage"]["resources"] == [dev_repository]
    assert not [a for a in promote["PullUpstreamImage"]["actions"] if a in ("ecr:PutImage", "ecr:InitiateLayerUpload")]
    assert promote["PushOwnImage"]["resources"] == [own_repository]
    assert statements(stack, "iam/record-policy-document")["RecordDeployedTag"]["resources"] == [
        arn("ssm", "parameter/ecs-platform/dev/api/image-tag"),
        arn("ssm", "parameter/ecs-platform/prod/api/image-tag"),
    ]
    pipeline = statements(stack, "iam/pipeline-policy-document")
    assert pipeline["DeployOwnService"]["resources"] == [arn("ecs", "service/dev/dev-api"), arn("ecs", "service/prod/prod-api")]
    assert pipeline["RunOwnBuilds"]["resources"][-1] == arn("codebuild", "project/prod-api-promote")
    assert pipeline["PassOwnTaskRoles"]["resources"] == [
        arn("iam", "role/dev-api-exec", regional=False),
        arn("iam", "role/dev-api-task", regional=False),
        ref(stack, "aws_iam_role", "iam/exec", "arn"),
        ref(stack, "aws_iam_role", "iam/task", "arn"),
    ]
    assert pipeline["ListClusterTasks"]["condition"][0]["values"] == [arn("ecs", "cluster/dev"), arn("ecs", "cluster/prod")]


def test_a_promoted_blue_green_service_lets_codedeploy_read_the_home_pipelines_revision(variants: Synth) -> None:
    stack = variants.stack("dev-web")
    found = statements(stack, "blue-green/codedeploy-policy-document")
    assert found["ReadRevision"]["resources"] == [f"arn:{PARTITION}:s3:::ecs-platform-prod-artifacts-{ACCOUNT}/*"]
    assert found["RevisionKey"]["resources"] == [arn("kms", "key/*")]
    assert found["RevisionKey"]["condition"] == [
        {"test": "ForAnyValue:StringEquals", "variable": "kms:ResourceAliases", "values": ["alias/ecs-platform-prod"]}
    ]
    # The names come from the other environment's prefix, workspace-aware, never from its state.
    raw = variants.raw("dev-web")
    assert raw["locals"]["prod_name_prefix"] == '${terraform.workspace == "default" ? "prod" : "prod-${local.workspace}"}'
    assert "prod-platform" not in json.dumps(raw.get("data", {}).get("terraform_remote_state", {}))
    assert variants.raw("prod-web")["locals"]["dev_name_prefix"] == '${terraform.workspace == "default" ? "dev" : "dev-${local.workspace}"}'


def test_the_promotion_copies_the_same_digest_or_stops(tmp_path: Path) -> None:
    document = promote_buildspec_document(spec_of("prod", "api"), env_of("prod"))
    source = f"1.dkr.ecr.us-east-1.amazonaws.com/dev/api@{DIGEST}"
    detail = json.dumps({"ImageURI": source, "ImageTags": ["3f2c1a9b7d4e"]})
    (tmp_path / "imageDetail.json").write_text(detail)
    env = {"REPOSITORY_URI": "1.dkr.ecr.us-east-1.amazonaws.com/prod/api", "FAKE_DIGEST": DIGEST}
    result = run_phases(document, ["pre_build", "build", "post_build"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls.log").read_text()
    assert f"docker pull {source}" in calls
    assert f"docker tag {source} 1.dkr.ecr.us-east-1.amazonaws.com/prod/api:3f2c1a9b7d4e" in calls
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [
        {"name": "api", "imageUri": f"1.dkr.ecr.us-east-1.amazonaws.com/prod/api@{DIGEST}"}
    ]
    # ECR reports another digest after the push: nothing is handed to prod's deployment.
    other = tmp_path / "other"
    other.mkdir()
    (other / "imageDetail.json").write_text(detail)
    result = run_phases(document, ["pre_build", "build", "post_build"], other, {**env, "FAKE_DIGEST": "sha256:" + "f" * 64})
    assert result.returncode != 0
    assert json.loads((other / "imageDetail.json").read_text())["ImageURI"] == source  # untouched
    assert not (other / "imagedefinitions.json").exists()
    # A tag instead of a digest is never promoted.
    tagged = tmp_path / "tagged"
    tagged.mkdir()
    (tagged / "imageDetail.json").write_text(json.dumps({"ImageURI": "r/dev/api:latest", "ImageTags": ["latest"]}))
    assert run_phases(document, ["pre_build"], tagged, env).returncode != 0


# ---------------------------------------------------------------------------------
# Terraform itself and Checkov on the promoting stacks
# ---------------------------------------------------------------------------------
@pytest.mark.terraform
def test_the_promoting_stacks_validate_and_pass_checkov(variants: Synth, terraform_env: dict[str, str], tmp_path: Path) -> None:
    from tests.test_checkov import STATE_ONLY_BLOCKS, _accepted

    names = ["dev-web", "prod-web", "prod-api", "dev-cleanup", "prod-cleanup"]
    for name in names:
        workdir = tmp_path / name
        shutil.copytree(variants.stack_dir(name), workdir)
        for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = subprocess.run(["terraform", *args], cwd=workdir, env=terraform_env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    scanned = tmp_path / "scan"
    for name in names:
        (scanned / name).mkdir(parents=True)
        readable = {k: v for k, v in variants.stacks[name].items() if k not in STATE_ONLY_BLOCKS}
        (scanned / name / "cdk.tf.json").write_text(json.dumps(readable))
    checkov = Path(sys.executable).with_name("checkov")
    result = subprocess.run(
        [str(checkov), "-d", str(scanned), "--config-file", str(ROOT / ".checkov.yaml"), "-o", "json", "--quiet"],
        capture_output=True, text=True, timeout=900,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
        # With its stack: a finding accepted only where a resource type holds (a job's schedule).
        if not _accepted(c["check_id"], c["resource"], variants.stacks[Path(c["file_path"]).parent.name])
    ]
    assert sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports) == 0
    assert not failed, failed


def test_account_id_pins_the_providers_account_except_on_the_emulator(tmp_path: Path) -> None:
    from cdktf import Testing

    from infra.stacks import EnvironmentStack

    project = Project(tmp_path).env(account_id="111111111111")
    (env,) = project.load().environments
    assert env.account_id == "111111111111"
    stack = EnvironmentStack(Testing.app(), "dev-x", env=env, local=None, component="x")
    (provider,) = json.loads(Testing.synth(stack))["provider"]["aws"]
    assert provider["allowed_account_ids"] == ["111111111111"]
    # The emulator answers as its own account: a local deployment drops the pin.
    (local,) = project.load(local_endpoint="http://127.0.0.1:4566").environments
    assert local.account_id is None
