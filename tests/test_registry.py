"""ECR: each service stack owns one hardened repository, with a lifecycle policy and
production protection; the platform holds none."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURE, Synth, by_path, in_default, jsondoc, load_stack, only, platform_value, ref, resources

SERVICES = ("api", "web", "worker")
# env: (deletion_protection, images kept); dev.toml turns protection on as well.
ENVS = {"dev": (True, 20), "prod": (True, 50)}


@pytest.mark.parametrize("env", sorted(ENVS))
def test_each_service_stack_owns_its_repository_and_the_platform_none(synth: Synth, env: str) -> None:
    assert not resources(synth.stack(f"{env}-platform"), "aws_ecr_repository")
    assert not resources(synth.stack(f"{env}-platform"), "aws_ecr_lifecycle_policy")
    for service in SERVICES:
        repository = only(synth.stack(f"{env}-{service}"), "aws_ecr_repository")
        assert repository["name"] == f"{env}/{service}"  # the name it had in the platform
        assert repository["//"]["metadata"]["path"] == f"{env}-{service}/service/registry/repository"


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("service", SERVICES)
def test_repository_is_immutable_scanned_and_encrypted_with_the_platform_key(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    protected, _ = ENVS[env]
    repository = only(stack, "aws_ecr_repository")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == {"scan_on_push": True}
    (encryption,) = repository["encryption_configuration"]
    assert encryption["encryption_type"] == "KMS"
    platform = synth.stack(f"{env}-platform")
    assert platform_value(synth, env, encryption["kms_key"]) == ref(platform, "aws_kms_key", "/key/key", "arn")
    assert repository["force_delete"] is (not protected)
    if protected:
        assert repository["lifecycle"] == {"prevent_destroy": True}
    else:
        assert "lifecycle" not in repository


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("service", SERVICES)
def test_lifecycle_policy_expires_untagged_and_keeps_the_last_images(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-{service}")
    _, keep = ENVS[env]
    policy = only(stack, "aws_ecr_lifecycle_policy")
    assert policy["repository"] == ref(stack, "aws_ecr_repository", "/registry/repository", "name")
    rules = sorted(json.loads(policy["policy"])["rules"], key=lambda r: r["rulePriority"])
    assert [r["selection"] for r in rules] == [
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
    ]
    assert all(r["action"] == {"type": "expire"} for r in rules)
    # ECR requires the "any" rule to carry the highest priority number.
    assert rules[-1]["selection"]["tagStatus"] == "any"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_pulls_and_builds_with_its_own_repository(synth: Synth, service: str) -> None:
    stack = synth.stack(f"dev-{service}")
    # The service's own container is first, its sidecars follow.
    container = jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])[0]
    # `<repository>@<digest>` or `<repository>:<tag>` (infra.service.variables).
    assert container["image"].startswith(ref(stack, "aws_ecr_repository", "/registry/repository", "repository_url") + "${startswith(")
    exec_policy = by_path(stack, "aws_iam_role_policy", "/iam/exec-policy")
    document = stack["data"]["aws_iam_policy_document"][exec_policy["policy"].split(".")[2]]
    pull = [s["resources"] for s in document["statement"] if s.get("sid") == "PullOwnImage"]
    assert pull == [[ref(stack, "aws_ecr_repository", "/registry/repository", "arn")]]


def _repository_stack(env_changes: dict[str, Any]) -> dict[str, Any]:
    """The Repository construct alone in a bare stack: it needs a key ARN and the specs, nothing of the platform."""
    from cdktf import Testing

    from infra.config import load_app
    from infra.service.registry import Repository
    from infra.stacks import EnvironmentStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    env = dataclasses.replace(app_spec.environments[0], **env_changes)
    (api,) = [s for s in app_spec.services["dev"] if s.name == "api"]
    # An environment's stack: it holds the names (infra.naming) every named resource is built from.
    stack = EnvironmentStack(Testing.app(), "registry", env=env, local=None, component="api")
    repository = Repository(stack, "registry", env=env, spec=api, kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k")
    assert repository.name == "${local.name_prefix}/api"
    return in_default(json.loads(Testing.synth(stack)))


def test_repository_construct_stands_alone() -> None:
    out = _repository_stack({})
    repository = only(out, "aws_ecr_repository")
    assert repository["name"] == "dev/api"
    assert repository["encryption_configuration"] == [
        {"encryption_type": "KMS", "kms_key": "arn:aws:kms:us-east-1:123456789012:key/k"}
    ]
    assert repository["force_delete"] is False and repository["lifecycle"] == {"prevent_destroy": True}


def test_unprotected_environment_can_delete_repositories() -> None:
    out = _repository_stack({"deletion_protection": False})
    repositories = out["resource"]["aws_ecr_repository"].values()
    assert repositories and all(r["force_delete"] is True and "lifecycle" not in r for r in repositories)


def test_external_images_get_no_repository_build_or_pipeline(tmp_path: Path) -> None:
    from cdktf import App

    from infra.config import load_app
    from infra.config.specs import ImageSource
    from infra.service.stack import ServiceStack

    app_spec = load_app(FIXTURE, environments=["dev"])
    (env,) = app_spec.environments
    (web,) = [s for s in app_spec.services["dev"] if s.name == "web"]
    external = dataclasses.replace(
        web, image=dataclasses.replace(web.image, source=ImageSource.EXTERNAL, uri="public.ecr.aws/nginx/nginx:1.27")
    )
    app = App(outdir=str(tmp_path))
    ServiceStack(app, "dev-web", env=env, service=external, local=None)
    app.synth()
    stack = load_stack(tmp_path / "stacks" / "dev-web" / "cdk.tf.json")
    for type_ in ("aws_ecr_repository", "aws_ecr_lifecycle_policy", "aws_codebuild_project", "aws_codepipeline"):
        assert not resources(stack, type_), type_
    container = jsondoc(only(stack, "aws_ecs_task_definition")["container_definitions"])[0]
    assert container["image"] == "public.ecr.aws/nginx/nginx:1.27"
    roles = sorted(r["name"] for r in resources(stack, "aws_iam_role").values())
    assert roles == ["dev-web-exec", "dev-web-task"]
    assert "ecr:" not in json.dumps(stack.get("data", {}).get("aws_iam_policy_document", {}))
