"""One private ECR repository per service, named `<env>/<service>`.

Tags are immutable (a tag always names the same image, so a deployment can be traced and
rolled back), images are scanned on push and encrypted with the platform key. A lifecycle
policy expires untagged images after a week and keeps the last `registry.keep_images`.
With deletion protection (the default in production) a repository holding images
cannot be deleted by Terraform (`force_delete = false`) and the resource itself has
`prevent_destroy`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)

from infra.encryption import PlatformKey
from infra.config.specs import EnvironmentSpec, ServiceSpec

UNTAGGED_EXPIRY_DAYS = 7


def repository_name(env_name: str, service: str) -> str:
    return f"{env_name}/{service}"


def lifecycle_policy(keep_images: int) -> str:
    """The ECR lifecycle policy text (ECR's own JSON format, not an IAM policy)."""
    rules = [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_EXPIRY_DAYS,
            },
            "action": {"type": "expire"},
        },
        {
            # A rule with tagStatus "any" must have the highest rulePriority number.
            "rulePriority": 2,
            "description": f"Keep the last {keep_images} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


class Registry(Construct):
    """Typed outputs, per service name: `repository_url(name)`, `repository_arn(name)`,
    `repository_name(name)` (the plain `<env>/<service>` string)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: EnvironmentSpec,
        services: Sequence[ServiceSpec],
        key: PlatformKey,
    ) -> None:
        super().__init__(scope, id_)
        self._repositories: dict[str, EcrRepository] = {}
        self._names: dict[str, str] = {}
        policy = lifecycle_policy(env.registry.keep_images)
        for service in services:
            name = repository_name(env.name, service.name)
            repository = EcrRepository(
                self,
                service.name,
                name=name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
                encryption_configuration=[EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=key.arn)],
                force_delete=not env.deletion_protection,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if env.deletion_protection else None,
            )
            EcrLifecyclePolicy(self, f"{service.name}-lifecycle", repository=repository.name, policy=policy)
            self._repositories[service.name] = repository
            self._names[service.name] = name

    def _repository(self, service: str) -> EcrRepository:
        try:
            return self._repositories[service]
        except KeyError:
            raise KeyError(f"no repository for service {service!r} (known: {', '.join(sorted(self._repositories))})") from None

    def repository_url(self, service: str) -> str:
        return self._repository(service).repository_url

    def repository_arn(self, service: str) -> str:
        return self._repository(service).arn

    def repository_name(self, service: str) -> str:
        self._repository(service)
        return self._names[service]
