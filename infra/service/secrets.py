"""Where a service's secrets come from: the ARN ECS reads (`valueFrom`) and the ARN its
execution role may read. Pure functions of the manifest's references.

ECS accepts a Secrets Manager secret's partial ARN (without the random suffix AWS appends to
the name) and an SSM parameter's ARN ("Pass sensitive data to an Amazon ECS container",
Amazon ECS Developer Guide); IAM needs the suffix matched ("-??????").
"""

from __future__ import annotations

from infra.arns import Arns
from infra.config.specs import SecretRef


def value_from(ref: SecretRef, arns: Arns) -> str:
    if ref.arn is not None:
        return ref.arn
    if ref.kind == "ssm":
        return arns.parameter(ref.name)
    return arns.secret(ref.name)


def policy_resource(ref: SecretRef, arns: Arns) -> str:
    if ref.kind != "secretsmanager":
        return value_from(ref, arns)
    if ref.arn is None:
        # Any of the random suffixes Secrets Manager appends to the name.
        return f"{arns.secret(ref.name)}-??????"
    # arn:...:secret:<name>[:<json key>:<stage>:<version>]: the policy names the secret.
    return ":".join(ref.arn.split(":")[:7])
