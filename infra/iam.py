"""IAM building blocks shared by the platform and the service stacks.

Every policy is a `DataAwsIamPolicyDocument` (Terraform renders and normalizes the JSON), one
inline policy per role and purpose. AWS-managed policies are never attached: they are
broader than needed, and the emulator only knows them behind a special flag.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy

ECS_TASKS = "ecs-tasks.amazonaws.com"
ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
ECR_PUSH = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
# ECS Exec's and Session Manager's channels: no resource-level permissions (AWS requires "*").
SSM_CHANNEL_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


# Older SSM agents and Run Command poll through ec2messages (no resource-level permissions).
EC2_MESSAGES_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]


def session_manager_statements(instance_arns: str) -> list[DataAwsIamPolicyDocumentStatement]:
    """What the SSM agent on an EC2 instance needs for Session Manager, written out (the
    session part of AmazonSSMManagedInstanceCore) instead of attaching the AWS-managed
    policy. AWS docs, "Step 2: Verify or add instance permissions for Session Manager".

    The agent registers the instance it runs on (`instance_arns`: this account's instance
    ARNs); the channel and message actions have no resource-level permissions: AWS requires
    "*" for them."""
    return [
        statement("RegisterWithSsm", ["ssm:UpdateInstanceInformation"], [instance_arns]),
        statement("SessionChannels", SSM_CHANNEL_ACTIONS, ["*"]),
        statement("AgentMessages", EC2_MESSAGES_ACTIONS, ["*"]),
    ]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition] = (),
) -> DataAwsIamPolicyDocumentStatement:
    return DataAwsIamPolicyDocumentStatement(
        sid=sid, actions=sorted(actions), resources=list(resources), condition=list(conditions) or None
    )


def condition(test: str, variable: str, values: Sequence[str]) -> DataAwsIamPolicyDocumentStatementCondition:
    return DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))


def ecr_login() -> DataAwsIamPolicyDocumentStatement:
    # GetAuthorizationToken is account-wide: AWS supports no resource but "*" for it.
    return statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"])


def service_role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    principal: str,
    source_account: str | None = None,
    permissions_boundary: str | None = None,
) -> IamRole:
    """A role trusted by one AWS service principal (no policies yet: see `inline_policy`)."""
    trust = DataAwsIamPolicyDocument(
        scope,
        f"{id_}-trust",
        statement=[
            DataAwsIamPolicyDocumentStatement(
                actions=["sts:AssumeRole"],
                # One identifier renders as a plain string principal (moto requires that for
                # CodePipeline; it is what AWS stores anyway).
                principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[principal])],
                # Confused-deputy guard: only this account's service may assume the role.
                condition=[condition("StringEquals", "aws:SourceAccount", [source_account])] if source_account else None,
            )
        ],
    )
    return IamRole(
        scope, id_, name=name, assume_role_policy=trust.json, permissions_boundary=permissions_boundary
    )


def inline_policy(
    scope: Construct,
    id_: str,
    *,
    role: IamRole,
    name: str,
    statements: Sequence[DataAwsIamPolicyDocumentStatement],
) -> IamRolePolicy:
    document = DataAwsIamPolicyDocument(scope, f"{id_}-document", statement=list(statements))
    return IamRolePolicy(scope, id_, name=name, role=role.id, policy=document.json)
