"""A private S3 bucket with the platform's defaults, used for every bucket we create.

Public access blocked, ACLs disabled (bucket-owner-enforced), versioning, default
encryption (KMS when a key is given; SSE-S3 where the writing service supports
nothing else, as ALB access logs), a lifecycle that expires old data and incomplete
uploads, a TLS-only bucket policy, access logging to a log bucket when given, and with
deletion protection `prevent_destroy` (and no force_destroy), so a config change cannot
delete it or its objects.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)

from infra.addresses import namespace


class SecureBucket(Construct):
    """Typed outputs: `name` (bucket id), `arn`, `bucket` (the S3Bucket resource)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        protect: bool,
        kms_key_arn: str | None,
        expire_days: int,
        access_log_bucket: "SecureBucket | None" = None,
        extra_policy_statements: Sequence[DataAwsIamPolicyDocumentStatement] = (),
    ) -> None:
        super().__init__(scope, id_)
        namespace(self)  # two buckets in one stack: aws_s3_bucket.logs_bucket, aws_s3_bucket.artifacts_bucket
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=name,
            force_destroy=not protect,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
        self.name = self.bucket.id
        self.arn = self.bucket.arn
        S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        by_default = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
            )
            if kms_key_arn
            else S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(sse_algorithm="AES256")
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default, bucket_key_enabled=bool(kms_key_arn)
                )
            ],
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-data",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expire_days)],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=30)
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )
        policy = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=["s3:*"],
                    resources=[self.bucket.arn, f"{self.bucket.arn}/*"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="Bool", variable="aws:SecureTransport", values=["false"]
                        )
                    ],
                ),
                *extra_policy_statements,
            ],
        )
        self.policy = S3BucketPolicy(self, "policy", bucket=self.bucket.id, policy=policy.json)
        if access_log_bucket is not None:
            # S3 checks the target's policy when logging is switched on: create it first.
            S3BucketLoggingA(
                self,
                "access-logging",
                bucket=self.bucket.id,
                target_bucket=access_log_bucket.name,
                target_prefix=f"s3/{name}/",
                depends_on=[access_log_bucket.policy],
            )
