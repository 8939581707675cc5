"""__NAME__: a worker that consumes its SQS queue (made by `make service`; grow it from here).

It long-polls QUEUE_URL (set by the platform), calls `handle` with each message's JSON body
and deletes the message when `handle` returns. When `handle` raises, the message stays: SQS
offers it again after the queue's visibility timeout, and after `max_receive_count` receives
it goes to the dead-letter queue. SIGTERM (ECS stopping the task) finishes the current batch
and exits. A health endpoint answers GET __HEALTH__ on port __PORT__ for the task's health check.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE = "__NAME__"
log = logging.getLogger(SERVICE)
QUEUE_URL = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/[0-9]{12}/[A-Za-z0-9_-]+(\.fifo)?$")


def handle(body: Any) -> None:
    """The work for one message. Raise to have it retried (and dead-lettered in the end)."""
    log.info(json.dumps({"event": "handled", "body_type": type(body).__name__}))


def consume_once(sqs: Any, queue_url: str, handler: Callable[[Any], None] = handle) -> int:
    """One long poll: handle each message, delete the handled ones; returns how many."""
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=20)
    handled = 0
    for message in response.get("Messages", []):
        try:
            handler(json.loads(message["Body"]))
        except Exception:  # noqa: BLE001 - any failure leaves the message for a retry
            log.exception("message %s failed; SQS retries it", message.get("MessageId"))
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1
    return handled


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        ok = self.path == "__HEALTH__"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if ok else b'{"error": "not found"}')

    def log_message(self, *args: Any) -> None:  # health checks every 30 s are not news
        pass


def serve_health(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("0.0.0.0", port), Health)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def main(environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    logging.basicConfig(stream=sys.stdout, level=env.get("LOG_LEVEL", "info").upper(), format="%(message)s")
    queue_url = env.get("QUEUE_URL", "")
    match = QUEUE_URL.match(queue_url)
    if not match:
        log.error("QUEUE_URL must be an SQS queue URL, got %r", queue_url)
        return 2
    import boto3

    sqs = boto3.client("sqs", region_name=match.group(1))
    serve_health(int(env.get("PORT", "__PORT__")))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        consume_once(sqs, queue_url)
    return 0
