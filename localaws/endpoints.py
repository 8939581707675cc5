"""Provider ``endpoints`` block keys (hashicorp/aws 5.100.0) that must point at moto.

Key names were checked against ``terraform providers schema -json`` for
registry.terraform.io/hashicorp/aws 5.100.0 (``provider.block.block_types.endpoints``).
Only the canonical key of each service is listed -- the provider also accepts
aliases (``applicationautoscaling`` for ``appautoscaling``,
``elasticloadbalancingv2`` for ``elbv2``, ``cloudwatchlogs`` for ``logs``,
``eventbridge`` for ``events`` ...), but setting an alias *and* its canonical key
is an error, so use exactly these.
"""

from __future__ import annotations

from typing import Any

ENDPOINT_SERVICES: tuple[str, ...] = (
    "acm",
    "appautoscaling",
    "autoscaling",
    "cloudwatch",
    "codebuild",
    "codepipeline",
    "codestarconnections",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "servicediscovery",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
)


def provider_endpoints(url: str) -> dict[str, str]:
    """``{key: url}`` for the provider ``endpoints`` block."""
    return {key: url for key in ENDPOINT_SERVICES}


def provider_config(url: str, region: str = "us-east-1") -> dict[str, Any]:
    """Provider arguments that make hashicorp/aws talk to localaws (Terraform JSON / CDKTF kwargs shape)."""
    return {
        "region": region,
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "skip_requesting_account_id": True,
        "s3_use_path_style": True,
        "endpoints": [provider_endpoints(url)],
    }
