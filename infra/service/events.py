"""Events between services: the SNS topics a service publishes, and a worker's subscriptions.

    publisher  `publish = ["orders"]`, in its own stack:
        aws_sns_topic.orders                 `<prefix>-<service>-orders`, encrypted with the platform key
        TOPIC_ORDERS_ARN                     the topic's ARN in the container (infra.service.composer)
        sns:Publish on exactly its topics    and the key use a publisher needs (infra.service.roles)
        aws_cloudwatch_metric_alarm.orders_delivery_failed   deliveries SNS gave up on
    subscriber `subscribe = [{ topic = "api.orders", filter = {...} }]`, a worker, in its own stack:
        aws_sns_topic_subscription.api_orders   its queue, the filter policy, raw message delivery
        the queue's `policy`                    sqs:SendMessage from SNS, only for the subscribed topics

The topic belongs to the publisher's stack; the subscription and the queue policy to the
subscriber's (with the policy of its queue). The subscriber's stack never reads the publisher's: the topic's ARN follows
from the naming rules (`arn:<partition>:sns:<region>:<account>:<prefix>-<publisher>-<topic>`,
partition and account from the stack's data sources, `<prefix>` the same workspace's), so
each stack still synthesizes alone and a new subscriber changes no other stack. The loader
refuses a subscription to a topic no service publishes.

Order: the publisher first. Its stack is a dependency of the subscriber's (infra.app), so
`cdktf deploy` and `make local-deploy` apply it first. A subscriber applied on its own before
its publisher plans normally and stops at the subscription (SNS answers NotFound); applying
the subscriber again after the publisher completes it. That
is also the first deploy when the publisher is a backend whose `allow_from` names the
subscriber (its stack needs the subscriber's security group first): no order satisfies both,
the dependency is left out and the loader warns (`publisher_dependencies`).
Destroying a publisher's stack deletes its topic and with it the topic's subscriptions
(SNS); the subscriber's next plan re-creates them once the publisher is back.

Encryption: the topic and the worker's queue use the platform's customer managed key. Its key
policy (infra.platform.encryption, statement "AlarmAndTopicServices") lets the SNS service
principal use it, which SNS needs to deliver into an encrypted queue (AWS docs, "Amazon SQS
Key management", Configure KMS permissions for AWS services:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html);
the publisher's task role gets kms:GenerateDataKey and kms:Decrypt on the key (AWS docs, "Key
management" in the Amazon SNS Developer Guide: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
which the key policy's account statement lets IAM grant.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from infra import naming
from infra.addresses import address_name, named
from infra.arns import Arns
from infra.config.specs import SubscriptionSpec, TopicSpec
from infra.expressions import jsonencode
from infra.iam import condition
from infra.naming import Names

SNS = "sns.amazonaws.com"
ALARM_PERIOD = 300


def topic_name(service: str, topic: str) -> str:
    """The AWS name of a service's topic, `<prefix>-<service>-<topic>` (a template of `Names.name`):
    the publisher names its topic with it, a subscriber finds the topic by it."""
    return f"{{prefix}}-{service}-{topic}"


class ServiceTopics(Construct):
    """The topics a service publishes. Typed outputs: `arns` (topic name -> ARN, in `publish` order)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        service: str,
        topics: Sequence[TopicSpec],
        kms_key_arn: str,
        alarm_topic_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        self.arns: dict[str, str] = {}
        for spec in topics:
            name = names.name(topic_name(service, spec.name), naming.SNS_TOPIC)
            # SSE with the platform key (AWS docs, "Encryption at rest" in the Amazon SNS
            # Developer Guide: https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html).
            topic = named(SnsTopic(self, spec.name, name=name, kms_master_key_id=kms_key_arn), address_name(spec.name))
            self.arns[spec.name] = topic.arn
            # SNS counts the messages it could not deliver to a subscriber (for an SQS endpoint:
            # after its retries, or at once for a client-side error such as a queue policy or
            # key that refuses SNS): AWS docs, "Monitoring Amazon SNS topics using CloudWatch",
            # https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html.
            alarm = CloudwatchMetricAlarm(
                self,
                f"{spec.name}-delivery-failed",
                alarm_name=names.name(f"{topic_name(service, spec.name)}-delivery-failed", naming.ALARM),
                alarm_description=f"{service}: messages of topic {spec.name} SNS failed to deliver to a subscriber",
                namespace="AWS/SNS",
                metric_name="NumberOfNotificationsFailed",
                dimensions={"TopicName": topic.name},
                statistic="Sum",
                period=ALARM_PERIOD,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                treat_missing_data="notBreaching",
                alarm_actions=[alarm_topic_arn],
                ok_actions=[alarm_topic_arn],
            )
            named(alarm, f"{address_name(spec.name)}_delivery_failed")


class QueueSubscriptions(Construct):
    """A worker's queue subscribed to other services' topics, built in two steps: the queue's
    policy first (`queue_policy`, a JSON document the queue carries: infra.service.queue), then
    `subscribe(queue)`. Typed outputs: `topic_arns` and `subscriptions` (by `<publisher>.<topic>`).

    The policy is the queue's own `policy` argument rather than an `aws_sqs_queue_policy`: the
    provider waits for every SQS attribute change to propagate, so a separate resource would add
    that wait to each apply and destroy of the worker (about 25 s on the emulator)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        subscriptions: Sequence[SubscriptionSpec],
        queue_name: str,
        arns: Arns,
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        self._specs = tuple(subscriptions)
        self.topic_arns = {
            f"{s.service}.{s.topic}": arns.arn("sns", names.name(topic_name(s.service, s.topic), naming.SNS_TOPIC))
            for s in subscriptions
        }
        # The queue accepts messages from SNS only on behalf of the subscribed topics (AWS docs,
        # "Subscribing an Amazon SQS queue to an Amazon SNS topic", and the confused-deputy
        # guard aws:SourceArn: https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html).
        # One statement for every topic: SQS allows 20 statements in a queue policy
        # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-subscribe-queue-sns-topic.html).
        # The queue's ARN from its name: the queue itself takes this document.
        queue_arn = arns.queue(names.name(queue_name, naming.SQS_QUEUE))
        document = DataAwsIamPolicyDocument(
            self,
            "queue-policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="SubscribedTopicsDeliver",
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[SNS])],
                    actions=["sqs:SendMessage"],
                    resources=[queue_arn],
                    condition=[condition("ArnEquals", "aws:SourceArn", sorted(self.topic_arns.values()))],
                )
            ],
        )
        named(document, "queue_policy")
        self.queue_policy = document.json
        self.subscriptions: dict[str, SnsTopicSubscription] = {}

    def subscribe(self, queue: SqsQueue) -> None:
        """One subscription per topic, to `queue` (which carries `queue_policy`)."""
        for s in self._specs:
            reference = f"{s.service}.{s.topic}"
            subscription = SnsTopicSubscription(
                self,
                reference,
                topic_arn=self.topic_arns[reference],
                protocol="sqs",
                endpoint=queue.arn,
                # AWS docs, "Amazon SNS raw message delivery": the message as published is the
                # SQS body, without SNS's JSON envelope; at most 10 message attributes travel
                # with it (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html).
                raw_message_delivery=s.raw_message_delivery,
                # AWS docs, "Amazon SNS subscription filter policies" (checked at load,
                # infra.config.sns_filter): https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html.
                filter_policy=jsonencode(dict(s.filter_policy), scope=self) if s.filter_policy else None,
                filter_policy_scope=s.filter_scope if s.filter_policy else None,
            )
            self.subscriptions[reference] = named(subscription, address_name(f"{s.service}_{s.topic}"))
