"""A worker's SQS queue `<env>-<service>` and its dead-letter queue `<env>-<service>-dlq`.

Both are encrypted with the platform key. The DLQ keeps messages 14 days (the SQS maximum:
time to inspect and redrive) and accepts messages only from its own queue. `policy`: the
queue's access policy, when other services' topics deliver to it (infra.service.events).
"""

from __future__ import annotations

from constructs import Construct

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_redrive_allow_policy import SqsQueueRedriveAllowPolicy

from infra import naming
from infra.arns import Arns
from infra.naming import Names
from infra.config.specs import QueueSpec
from infra.expressions import jsonencode

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
DATA_KEY_REUSE_SECONDS = 300


class ServiceQueues(Construct):
    """Typed outputs: `queue` and `dead_letter_queue` (SqsQueue)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        spec: QueueSpec,
        kms_key_arn: str,
        arns: Arns,
        policy: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        names = Names.of(self)
        queue_name = names.name(name, naming.SQS_QUEUE)
        self.dead_letter_queue = SqsQueue(
            self,
            "dlq",
            name=names.name(f"{name}-dlq", naming.SQS_QUEUE),
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=queue_name,
            visibility_timeout_seconds=spec.visibility_timeout,
            message_retention_seconds=spec.retention_seconds,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS,
            redrive_policy=jsonencode(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": spec.max_receive_count}
            ),
            policy=policy,
        )
        # Separate resource: inline on the DLQ it would reference the queue, which references
        # the DLQ (a cycle). The queue's ARN is built from its name, not read from the queue:
        # the provider holds each of these three resources until SQS reads back the attributes
        # it set (~25 s each against the emulator, localaws/FINDINGS.md), and a reference made
        # them one chain (DLQ, then queue, then this). Now this and the queue go side by side
        # once the DLQ exists. An allow list names queues by ARN; a source queue is checked
        # against it when it names this DLQ ("Using dead-letter queues in Amazon SQS", SQS
        # Developer Guide), and either order leaves the same policy in place.
        SqsQueueRedriveAllowPolicy(
            self,
            "dlq-redrive-allow",
            queue_url=self.dead_letter_queue.url,
            redrive_allow_policy=jsonencode(
                {"redrivePermission": "byQueue", "sourceQueueArns": [arns.queue(queue_name)]}, scope=self
            ),
        )
