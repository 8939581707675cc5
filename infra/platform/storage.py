"""The environment's buckets: `logs` (ALB and S3 access logs) and `artifacts` (pipelines).

The logs bucket uses SSE-S3 because ALB access-log delivery supports nothing else;
everything else is encrypted with the platform key.
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)

from infra.platform.bucket import SecureBucket
from infra.platform.encryption import PlatformKey
from infra.config.specs import EnvironmentSpec
from infra import naming
from infra.naming import Names

ALB_LOG_PREFIX = "alb"


class Storage(Construct):
    """Typed outputs: `logs_bucket_name`, `logs_bucket_arn`, `alb_log_prefix`,
    `artifacts_bucket_name`, `artifacts_bucket_arn`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, key: PlatformKey) -> None:
        super().__init__(scope, id_)
        elb_account = DataAwsElbServiceAccount(self, "elb-account")
        names = Names.of(self)
        logs_name = names.name("ecs-platform-{prefix}-logs-{account}", naming.S3_BUCKET, account=key.account_id)
        logs_arn = key.arns.bucket(logs_name)
        deliver_alb_logs = DataAwsIamPolicyDocumentStatement(
            sid="AlbAccessLogDelivery",
            actions=["s3:PutObject"],
            resources=[f"{logs_arn}/{ALB_LOG_PREFIX}/AWSLogs/{key.account_id}/*"],
            principals=[
                DataAwsIamPolicyDocumentStatementPrincipals(type="AWS", identifiers=[elb_account.arn]),
            ],
        )
        deliver_s3_logs = DataAwsIamPolicyDocumentStatement(
            sid="S3ServerAccessLogDelivery",
            actions=["s3:PutObject"],
            resources=[f"{logs_arn}/*"],
            principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["logging.s3.amazonaws.com"])],
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[key.account_id]
                )
            ],
        )
        self.logs = SecureBucket(
            self,
            "logs",
            name=logs_name,
            protect=env.deletion_protection,
            kms_key_arn=None,
            expire_days=env.load_balancer.access_log_retention_days,
            extra_policy_statements=[deliver_alb_logs, deliver_s3_logs],
        )
        self.artifacts = SecureBucket(
            self,
            "artifacts",
            name=names.name("ecs-platform-{prefix}-artifacts-{account}", naming.S3_BUCKET, account=key.account_id),
            protect=env.deletion_protection,
            kms_key_arn=key.arn,
            expire_days=90,
            access_log_bucket=self.logs,
        )
        self.logs_bucket_name = self.logs.name
        self.logs_bucket_arn = self.logs.arn
        self.alb_log_prefix = ALB_LOG_PREFIX
        self.artifacts_bucket_name = self.artifacts.name
        self.artifacts_bucket_arn = self.artifacts.arn
