"""The environment's alarm topic: every platform and service alarm notifies it.

The topic is encrypted with the platform key (whose policy lets CloudWatch use it) and
its policy lets CloudWatch alarms of this account publish. E-mail subscribers come from
`observability.alarm_emails`; each subscription's construct id is a hash of its address,
so adding or removing one address never replaces the others.
"""

from __future__ import annotations

import hashlib

from constructs import Construct

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription

from infra.addresses import named
from infra import naming
from infra.naming import Names
from infra.platform.encryption import PlatformKey
from infra.config.specs import EnvironmentSpec


def subscription_id(address: str) -> str:
    """A construct id that depends only on the (case-folded) address."""
    return "email-" + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:10]


class AlarmTopic(Construct):
    """Typed outputs: `topic_arn`, `topic_name`."""

    def __init__(self, scope: Construct, id_: str, *, env: EnvironmentSpec, key: PlatformKey) -> None:
        super().__init__(scope, id_)
        topic = SnsTopic(self, "topic", name=Names.of(self).name("{prefix}-alarms", naming.SNS_TOPIC), kms_master_key_id=key.arn)
        publish = DataAwsIamPolicyDocument(
            self,
            "policy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchAlarmsPublish",
                    actions=["sns:Publish"],
                    resources=[topic.arn],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=["cloudwatch.amazonaws.com"])
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[key.account_id]
                        )
                    ],
                )
            ],
        )
        named(publish, "topic_policy")
        SnsTopicPolicy(self, "topic-policy", arn=topic.arn, policy=publish.json)
        addresses = {subscription_id(a): a for a in env.observability.alarm_emails}
        for sub_id, address in sorted(addresses.items()):
            SnsTopicSubscription(self, sub_id, topic_arn=topic.arn, protocol="email", endpoint=address)
        self.topic_arn = topic.arn
        self.topic_name = topic.name
