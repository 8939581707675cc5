"""One security-group rule: one TCP port, in or out, to or from a CIDR block or another group.

Shared by the platform's groups and each service's own group. Rules are separate
`aws_vpc_security_group_ingress_rule` / `egress_rule` resources, never inline blocks, so a
service stack can add a rule to a platform group without the platform's plan changing.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule


def ingress(scope: Construct, id_: str, *, group_id: str, port: int, description: str,
            cidr: str | None = None, from_group_id: str | None = None) -> VpcSecurityGroupIngressRule:
    return VpcSecurityGroupIngressRule(
        scope, id_, security_group_id=group_id, ip_protocol="tcp", from_port=port, to_port=port,
        cidr_ipv4=cidr, referenced_security_group_id=from_group_id, description=description,
    )


def egress(scope: Construct, id_: str, *, group_id: str, port: int, description: str,
           cidr: str | None = None, to_group_id: str | None = None) -> VpcSecurityGroupEgressRule:
    return VpcSecurityGroupEgressRule(
        scope, id_, security_group_id=group_id, ip_protocol="tcp", from_port=port, to_port=port,
        cidr_ipv4=cidr, referenced_security_group_id=to_group_id, description=description,
    )
