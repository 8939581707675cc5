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

# The list lives with the infrastructure that uses it (local mode of the provider).
from infra.local_endpoints import ENDPOINT_SERVICES  # noqa: E402


def provider_endpoints(url: str) -> dict[str, str]:
    """``{key: url}`` for the provider ``endpoints`` block."""
    return {key: url for key in ENDPOINT_SERVICES}


def provider_config(url: str, region: str = "us-east-1", skip_requesting_account_id: bool = False) -> dict[str, Any]:
    """Provider arguments that make hashicorp/aws talk to localaws.

    Returned in the Terraform-JSON shape (``endpoints`` is a one-element list);
    with CDKTF pass ``endpoints=[provider_endpoints(url)]`` etc. to ``AwsProvider``.

    ``skip_requesting_account_id`` defaults to False on purpose: moto's STS answers
    GetCallerIdentity (account 123456789012), and without a known account id the
    provider renders ``referenced_security_group_id`` of
    ``aws_vpc_security_group_{ingress,egress}_rule`` as ``"123456789012/sg-..."``
    (permanent drift) and cannot build ARNs that need the account id. See FINDINGS.md.
    """
    return {
        "region": region,
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "skip_requesting_account_id": skip_requesting_account_id,
        "s3_use_path_style": True,
        "endpoints": [provider_endpoints(url)],
    }
