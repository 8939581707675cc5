"""The permissions boundary of every task role: `<env>-task-boundary`.

A task role's effective permissions are the intersection of its own policies and this
boundary (AWS IAM User Guide, "Permissions boundaries for IAM entities"), so whatever a
service manifest asks for in `[[permissions]]`, its tasks can never act outside this list:
data-plane actions on this account's resources in this region, plus the actions that have
no resource-level permissions and only accept "*". No IAM, no organizations, no network or
key administration, nothing in another account.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.arns import Arns
from infra.config import iam_actions
from infra.config.specs import EnvironmentSpec
from infra.iam import condition, statement


class TaskRoleBoundary(Construct):
    """Typed outputs: `arn`, `name`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, arns: Arns) -> None:
        super().__init__(scope, id_)
        a = arns
        statements = [
            statement(
                "Queues",
                [
                    "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage", "sqs:SendMessage",
                ],
                [a.arn("sqs", "*")],
            ),
            statement("Topics", ["sns:GetTopicAttributes", "sns:Publish"], [a.arn("sns", "*")]),
            statement(
                "Tables",
                [
                    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
                    "dynamodb:UpdateItem",
                ],
                [a.arn("dynamodb", "table/*")],
            ),
            statement(
                "Objects",
                [
                    "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketLocation", "s3:GetObject",
                    "s3:GetObjectVersion", "s3:ListBucket", "s3:ListMultipartUploadParts", "s3:PutObject",
                ],
                [f"arn:{a.partition}:s3:::*"],
                # Bucket ARNs carry no account: only buckets of this account.
                [condition("StringEquals", "aws:ResourceAccount", [a.account_id])],
            ),
            statement(
                "Secrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], [a.arn("secretsmanager", "secret:*")]
            ),
            statement(
                "Parameters", ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], [a.arn("ssm", "parameter/*")]
            ),
            statement(
                "Keys",
                ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"],
                [a.arn("kms", "key/*")],
            ),
            statement("Logs", ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"], [a.arn("logs", "log-group:*")]),
            # EFS volumes ([[volumes]]): mount and write through an access point; never root.
            statement(
                "FileSystems",
                ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                [a.arn("elasticfilesystem", "file-system/*")],
            ),
            statement("Events", ["events:PutEvents"], [a.arn("events", "event-bus/*")]),
            statement("StateMachines", ["states:DescribeExecution", "states:StartExecution"], [a.arn("states", "*")]),
            statement("Functions", ["lambda:InvokeFunction"], [a.arn("lambda", "function:*")]),
            statement("Email", ["ses:SendEmail", "ses:SendRawEmail"], [a.arn("ses", "identity/*")]),
            # Actions without resource-level permissions (infra/config/iam_actions.py): "*" is
            # the only resource IAM accepts for them.
            statement("NoResourceLevel", sorted(iam_actions.NO_RESOURCE_LEVEL_NAMES), ["*"]),
        ]
        document = named(DataAwsIamPolicyDocument(self, "document", statement=statements), "task_boundary")
        self.name = Names.of(self).name("{prefix}-task-boundary", naming.IAM_POLICY)
        policy = IamPolicy(
            self,
            "policy",
            name=self.name,
            description=f"{env.name}: the most any ECS task role may do (permissions boundary)",
            policy=document.json,
        )
        named(policy, "task_boundary")
        self.arn = policy.arn
