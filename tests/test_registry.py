"""ECR: one hardened repository per service, lifecycle policy, production protection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Synth, by_path, resources

SERVICES = ("api", "web", "worker")
# env: (deletion_protection, images kept); dev.toml turns protection on as well.
ENVS = {"dev": (True, 20), "prod": (True, 50)}


def ref(stack: dict[str, Any], type_: str, suffix: str, attr: str) -> str:
    (logical_id,) = [k for k, v in resources(stack, type_).items() if v["//"]["metadata"]["path"].endswith(suffix)]
    return f"${{{type_}.{logical_id}.{attr}}}"


@pytest.mark.parametrize("env", sorted(ENVS))
def test_one_repository_per_service_keyed_by_name(synth: Synth, env: str) -> None:
    stack = synth.stack(f"{env}-platform")
    repositories = resources(stack, "aws_ecr_repository")
    assert sorted(r["//"]["metadata"]["path"].rsplit("/", 1)[1] for r in repositories.values()) == list(SERVICES)
    assert sorted(r["name"] for r in repositories.values()) == [f"{env}/{s}" for s in SERVICES]


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("service", SERVICES)
def test_repository_is_immutable_scanned_and_encrypted_with_the_platform_key(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    protected, _ = ENVS[env]
    repository = by_path(stack, "aws_ecr_repository", f"/registry/{service}")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == {"scan_on_push": True}
    assert repository["encryption_configuration"] == [
        {"encryption_type": "KMS", "kms_key": ref(stack, "aws_kms_key", "/key/key", "arn")}
    ]
    assert repository["force_delete"] is (not protected)
    if protected:
        assert repository["lifecycle"] == {"prevent_destroy": True}
    else:
        assert "lifecycle" not in repository


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("service", SERVICES)
def test_lifecycle_policy_expires_untagged_and_keeps_the_last_images(synth: Synth, env: str, service: str) -> None:
    stack = synth.stack(f"{env}-platform")
    _, keep = ENVS[env]
    policy = by_path(stack, "aws_ecr_lifecycle_policy", f"/registry/{service}-lifecycle")
    assert policy["repository"] == ref(stack, "aws_ecr_repository", f"/registry/{service}", "name")
    rules = sorted(json.loads(policy["policy"])["rules"], key=lambda r: r["rulePriority"])
    assert [r["selection"] for r in rules] == [
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
    ]
    assert all(r["action"] == {"type": "expire"} for r in rules)
    # ECR requires the "any" rule to carry the highest priority number.
    assert rules[-1]["selection"]["tagStatus"] == "any"


def test_registry_methods() -> None:
    from cdktf import Testing, TerraformStack

    from infra.config import load_app
    from infra.platform.encryption import PlatformKey
    from infra.service.registry import Registry
    from tests.conftest import ROOT

    app_spec = load_app(ROOT, environments=["dev"])
    env = app_spec.environments[0]
    stack = TerraformStack(Testing.app(), "registry")
    registry = Registry(stack, "registry", env=env, services=app_spec.services["dev"], key=PlatformKey(stack, "key", env=env))
    assert registry.repository_name("api") == "dev/api"
    assert registry.repository_url("api").startswith("${TfToken[")
    assert registry.repository_arn("api") != registry.repository_arn("web")
    with pytest.raises(KeyError, match="known: api, web, worker"):
        registry.repository_url("nope")


def test_unprotected_environment_can_delete_repositories() -> None:
    import dataclasses

    from cdktf import Testing, TerraformStack

    from infra.config import load_app
    from infra.platform.encryption import PlatformKey
    from infra.service.registry import Registry
    from tests.conftest import ROOT

    app_spec = load_app(ROOT, environments=["dev"])
    env = dataclasses.replace(app_spec.environments[0], deletion_protection=False)
    stack = TerraformStack(Testing.app(), "registry")
    Registry(stack, "registry", env=env, services=app_spec.services["dev"], key=PlatformKey(stack, "key", env=env))
    repositories = json.loads(Testing.synth(stack))["resource"]["aws_ecr_repository"].values()
    assert repositories and all(r["force_delete"] is True and "lifecycle" not in r for r in repositories)
