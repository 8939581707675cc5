"""Message handlers. A handler raising any exception leaves the message on the
queue: SQS redelivers it after the visibility timeout and, after the queue's
maxReceiveCount, moves it to the dead-letter queue."""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

log = logging.getLogger("worker_app.processor")


class InvalidMessage(ValueError):
    """The message body cannot be processed (bad JSON, unknown type, missing field)."""


def _require_id(msg: dict[str, Any]) -> str:
    item_id = msg.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)) or item_id == "":
        raise InvalidMessage("field 'id' (string or integer) is required")
    return str(item_id)


def handle_resize(msg: dict[str, Any]) -> dict[str, Any]:
    item_id = _require_id(msg)
    width = msg.get("width", 256)
    height = msg.get("height", 256)
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
            raise InvalidMessage(f"field '{name}' must be an integer between 1 and 10000")
    # A real worker would fetch the object, resize it and store the result here.
    return {"id": item_id, "width": width, "height": height}


def handle_ping(msg: dict[str, Any]) -> dict[str, Any]:
    return {"pong": True}


def handle_order_created(msg: dict[str, Any]) -> dict[str, Any]:
    """The api's order event (its topic "orders", subscribed in service.toml with raw message
    delivery, so the body is the event as published: {"type": "order.created", "id": ...})."""
    item_id = _require_id(msg)
    # A real worker would fulfil the order here (reserve stock, send the confirmation).
    return {"id": item_id, "status": "accepted"}


HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "resize": handle_resize,
    "ping": handle_ping,
    "order.created": handle_order_created,
}


def process_message(body: str) -> dict[str, Any]:
    """Parse and dispatch one message body; return the handler's result."""
    try:
        msg = json.loads(body)
    except ValueError as exc:
        raise InvalidMessage(f"body is not valid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise InvalidMessage("body must be a JSON object")
    msg_type = msg.get("type")
    handler = HANDLERS.get(msg_type) if isinstance(msg_type, str) else None
    if handler is None:
        raise InvalidMessage(f"unknown message type {msg_type!r}; expected one of {sorted(HANDLERS)}")
    return handler(msg)
