"""The environment's customer-managed KMS key: logs, buckets, ECR, SNS, SQS and RDS use it.

The key policy names the account and the AWS services that encrypt with it on our
behalf; `Resource: "*"` in a key policy means "this key", which is why it appears here.

With EC2 capacity, the policy also names the EC2 Auto Scaling service-linked role that
launches the container instances with root volumes encrypted by this key. AWS refuses a
key policy whose principal does not exist, and a fresh account has no such role until its
first Auto Scaling group. So the environment creates its own: a service-linked role with a
custom suffix, `AWSServiceRoleForAutoScaling_<env>-ecs` (AWS docs, "Service-linked roles
for Amazon EC2 Auto Scaling": a custom-suffix role has the default role's permissions and
is named on the Auto Scaling group). The key depends on it, the Auto Scaling group uses it,
and it exists whatever the account already has: no clash with the account's default role,
or with another environment in the same account.

This is the one policy not built with DataAwsIamPolicyDocument: Checkov's IAM checks
(CKV_AWS_109/111/356) read every policy-document data source as an identity policy and
flag `Resource: "*"`, which in a key policy cannot be anything else. The same statements,
as a Python structure, go to `aws_kms_key.policy` through `Fn.jsonencode`.
"""

from __future__ import annotations

from cdktf import Fn
from constructs import Construct

from cdktf_cdktf_provider_aws.iam_service_linked_role import IamServiceLinkedRole
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey

from infra import naming
from infra.arns import Arns
from infra.config.specs import EnvironmentSpec
from infra.naming import Names

KEY_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
]
KEY_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
# Services that encrypt with the key directly (not through a caller's grant).
SERVICE_PRINCIPALS = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com"]
AUTOSCALING_SERVICE = "autoscaling.amazonaws.com"


# AWS docs, "Service-linked roles for Amazon EC2 Auto Scaling": a custom-suffix role is
# named AWSServiceRoleForAutoScaling_<suffix>, under the path aws-service-role/<service>/.
# An account-wide name, so the suffix carries the workspace like every other name.
AUTOSCALING_ROLE = "AWSServiceRoleForAutoScaling_{suffix}"
AUTOSCALING_ROLE_SUFFIX = "{prefix}-ecs"


class PlatformKey(Construct):
    """Typed outputs: `arn`, `key_id`, `account_id`, `partition`, `arns` (the account's ARN
    builder, from the data sources this construct adds)."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec) -> None:
        super().__init__(scope, id_)
        self.arns = arns = Arns.of(self, region=env.region)
        self.account_id = arns.account_id
        self.partition = arns.partition
        root = arns.account_root()
        names = Names.of(self)
        ec2 = env.cluster.ec2
        self.autoscaling_role: IamServiceLinkedRole | None = None
        if ec2.enabled:
            self.autoscaling_role = IamServiceLinkedRole(
                self,
                "autoscaling-role",
                aws_service_name=AUTOSCALING_SERVICE,
                custom_suffix=AUTOSCALING_ROLE_SUFFIX.format(prefix=naming.PREFIX),
                description=f"{env.name}: launches the ECS capacity (volumes encrypted with the platform key)",
            )
        # The role's ARN as IAM reports it: the same text as one built from its name (in the
        # default workspace too, so the key policy of a deployed key does not change), and
        # the copy's own role in another workspace.
        autoscaling_role = ""
        if self.autoscaling_role is not None:
            names.name(AUTOSCALING_ROLE.format(suffix=AUTOSCALING_ROLE_SUFFIX), naming.IAM_ROLE)
            autoscaling_role = self.autoscaling_role.arn
        def allow(sid: str, actions: list[str], principal: dict[str, object], condition: dict | None = None) -> dict:
            statement: dict[str, object] = {
                "Sid": sid, "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*",
            }
            if condition:
                statement["Condition"] = condition
            return statement

        policy = {
            "Version": "2012-10-17",
            "Statement": [
                allow("AccountAdministers", KEY_ADMIN_ACTIONS + KEY_USE_ACTIONS + ["kms:CreateGrant"], {"AWS": root}),
                allow(
                    "CloudWatchLogs",
                    KEY_USE_ACTIONS,
                    {"Service": f"logs.{env.region}.amazonaws.com"},
                    {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                arns.arn("logs", "*")
                            )
                        }
                    },
                ),
                allow("AlarmAndTopicServices", ["kms:Decrypt", "kms:GenerateDataKey*"], {"Service": SERVICE_PRINCIPALS}),
            ],
        }
        if ec2.enabled:
            # AWS docs, "Required AWS KMS key policy for use with encrypted volumes" (EC2 Auto
            # Scaling User Guide): EC2 Auto Scaling launches the ECS capacity with root
            # volumes encrypted by this key, acting through its service-linked role.
            policy["Statement"][2:2] = [
                allow("AutoScalingUsesKeyForVolumes", KEY_USE_ACTIONS, {"AWS": autoscaling_role}),
                allow(
                    "AutoScalingGrantsForVolumes",
                    ["kms:CreateGrant"],
                    {"AWS": autoscaling_role},
                    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ]
        key = KmsKey(
            self,
            "key",
            description=f"ecs-platform {env.name}: logs, buckets, images, topics, queues, database",
            enable_key_rotation=True,
            deletion_window_in_days=30 if env.production else 7,
            policy=Fn.jsonencode(policy),
            # AWS refuses a key policy naming a principal that does not exist yet.
            depends_on=[self.autoscaling_role] if self.autoscaling_role else None,
        )
        KmsAlias(self, "alias", name=names.name("alias/ecs-platform-{prefix}", naming.KMS_ALIAS), target_key_id=key.key_id)
        self.arn = key.arn
        self.key_id = key.key_id
