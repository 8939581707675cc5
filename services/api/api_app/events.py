"""Order events on the api's SNS topic "orders" (``publish = ["orders"]`` in service.toml).

The platform gives the container the topic's ARN as TOPIC_ORDERS_ARN and the task role
``sns:Publish`` on exactly that topic (and the key use an encrypted topic needs). Each event is
one message: the body ``{"type": <event>, ...}`` (what a subscriber with raw message delivery
gets as its SQS message body), and the message attribute ``event`` (what subscribers filter
on, e.g. the worker's ``filter = { event = ["order.created"] }``).

Without TOPIC_ORDERS_ARN (a local run) events are dropped, with a debug log line.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

log = logging.getLogger("api_app.events")

ORDER_CREATED = "order.created"


class EventPublisher(Protocol):
    def publish(self, event: str, payload: dict[str, Any]) -> None: ...


def message(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The SNS Publish parameters of one event (without the topic)."""
    return {
        "Message": json.dumps({"type": event, **payload}, separators=(",", ":")),
        "MessageAttributes": {"event": {"DataType": "String", "StringValue": event}},
    }


class SnsEventPublisher:
    """Publishes to one SNS topic through boto3 (the task role's credentials on ECS)."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            # The topic's Region is in its ARN: arn:aws:sns:<region>:<account>:<name>
            client = boto3.client("sns", region_name=topic_arn.split(":")[3])
        self.topic_arn = topic_arn
        self.client = client

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        response = self.client.publish(TopicArn=self.topic_arn, **message(event, payload))
        log.info("event published", extra={"event": event, "message_id": response.get("MessageId")})


class NullEventPublisher:
    def publish(self, event: str, payload: dict[str, Any]) -> None:
        log.debug("no topic configured; event dropped", extra={"event": event})


class InMemoryEventPublisher:
    """For tests: keeps what was published."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def publish(self, event: str, payload: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("the topic is not reachable")
        self.events.append((event, payload))
