"""The environment's customer-managed KMS key: logs, buckets, ECR, SNS, SQS and RDS use it.

The key policy names the account and the AWS services that encrypt with it on our
behalf; `Resource: "*"` in a key policy means "this key", which is why it appears here.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey

from infra.specs import EnvironmentSpec

KEY_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
]
KEY_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
# Services that encrypt with the key directly (not through a caller's grant).
SERVICE_PRINCIPALS = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com"]


class PlatformKey(Construct):
    """Typed outputs: `arn`, `key_id`, `account_id`, `partition`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec) -> None:
        super().__init__(scope, id_)
        identity = DataAwsCallerIdentity(self, "account")
        partition = DataAwsPartition(self, "partition")
        self.account_id = identity.account_id
        self.partition = partition.partition
        root = f"arn:{partition.partition}:iam::{identity.account_id}:root"
        autoscaling_role = (
            f"arn:{partition.partition}:iam::{identity.account_id}:role/aws-service-role/"
            "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        )
        policy = DataAwsIamPolicyDocument(
            self,
            "policy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="AccountAdministers",
                    actions=KEY_ADMIN_ACTIONS + KEY_USE_ACTIONS + ["kms:CreateGrant"],
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[root])],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogs",
                    actions=KEY_USE_ACTIONS,
                    resources=["*"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"logs.{env.region}.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="kms:EncryptionContext:aws:logs:arn",
                            values=[f"arn:{partition.partition}:logs:{env.region}:{identity.account_id}:*"],
                        )
                    ],
                ),
                # EC2 Auto Scaling launches the ECS capacity with root volumes encrypted
                # by this key, acting through its service-linked role.
                DataAwsIamPolicyDocumentStatement(
                    sid="AutoScalingUsesKeyForVolumes",
                    actions=KEY_USE_ACTIONS,
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[autoscaling_role])],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="AutoScalingGrantsForVolumes",
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[autoscaling_role])],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="Bool", variable="kms:GrantIsForAWSResource", values=["true"]
                        )
                    ],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="AlarmAndTopicServices",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=SERVICE_PRINCIPALS)],
                ),
            ],
        )
        key = KmsKey(
            self,
            "key",
            description=f"ecs-platform {env.name}: logs, buckets, images, topics, queues, database",
            enable_key_rotation=True,
            deletion_window_in_days=30 if env.production else 7,
            policy=policy.json,
        )
        KmsAlias(self, "alias", name=f"alias/ecs-platform-{env.name}", target_key_id=key.key_id)
        self.arn = key.arn
        self.key_id = key.key_id
