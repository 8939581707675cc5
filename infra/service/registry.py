"""The service's private ECR repository, named `<env>/<service>` (owned by its stack).

Tags are immutable (a tag always names the same image, so a deployment can be traced and
rolled back), images are scanned on push and encrypted with the platform key. A lifecycle
policy expires untagged images after a week and keeps the last `registry.keep_images`.
With deletion protection (the default in production) a repository holding images
cannot be deleted by Terraform (`force_delete = false`) and the resource itself has
`prevent_destroy`.
"""

from __future__ import annotations

import json
from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.config.specs import EnvironmentSpec, ServiceSpec

UNTAGGED_EXPIRY_DAYS = 7


def repository_name(service: str) -> str:
    """`{prefix}/<service>` (a template of `infra.naming.Names.name`)."""
    return f"{{prefix}}/{service}"


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


class Repository(Construct):
    """The service's ECR repository `<env>/<service>` and its lifecycle policy.

    Typed outputs: `name` (the plain string), `arn`, `url`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, spec: ServiceSpec, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        self.name = Names.of(self).name(repository_name(spec.name), naming.ECR_REPOSITORY)
        repository = EcrRepository(
            self,
            "repository",
            name=self.name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=kms_key_arn)],
            force_delete=not env.deletion_protection,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if env.deletion_protection else None,
        )
        named(repository, spec.name)
        named(
            EcrLifecyclePolicy(self, "lifecycle", repository=repository.name, policy=lifecycle_policy(env.registry.keep_images)),
            spec.name,
        )
        self.arn = repository.arn
        self.url = repository.repository_url
