"""SQS long-polling consumer loop."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from .processor import process_message

log = logging.getLogger("worker_app.consumer")


@dataclass(frozen=True)
class BatchResult:
    received: int
    succeeded: int
    failed: int


class Worker:
    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        *,
        wait_time_seconds: int = 20,
        max_messages: int = 10,
        visibility_timeout_seconds: int | None = None,
        processor: Callable[[str], Any] = process_message,
        error_backoff_seconds: float = 5.0,
    ) -> None:
        self.sqs = sqs_client
        self.queue_url = queue_url
        self.wait_time_seconds = wait_time_seconds
        self.max_messages = max_messages
        self.visibility_timeout_seconds = visibility_timeout_seconds
        self.processor = processor
        self.error_backoff_seconds = error_backoff_seconds
        self.last_poll_monotonic: float | None = None

    def poll_once(self) -> BatchResult:
        """Receive one batch (long poll), process it, delete what succeeded."""
        params: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": self.max_messages,
            "WaitTimeSeconds": self.wait_time_seconds,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }
        if self.visibility_timeout_seconds is not None:
            params["VisibilityTimeout"] = self.visibility_timeout_seconds
        messages = self.sqs.receive_message(**params).get("Messages", [])
        self.last_poll_monotonic = time.monotonic()

        done: list[dict[str, str]] = []
        failed = 0
        for msg in messages:
            started = time.perf_counter()
            receive_count = msg.get("Attributes", {}).get("ApproximateReceiveCount")
            try:
                result = self.processor(msg["Body"])
            except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
                failed += 1
                log.warning(
                    "message failed; left on the queue for redelivery",
                    extra={
                        "message_id": msg["MessageId"],
                        "receive_count": receive_count,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
                continue
            done.append({"Id": str(len(done)), "ReceiptHandle": msg["ReceiptHandle"]})
            log.info(
                "message processed",
                extra={
                    "message_id": msg["MessageId"],
                    "receive_count": receive_count,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "result": result,
                },
            )

        if done:
            resp = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
            for failure in resp.get("Failed", []):
                log.error("could not delete processed message", extra={"failure": failure})
        return BatchResult(received=len(messages), succeeded=len(done), failed=failed)

    def run(self, stop_event: threading.Event) -> None:
        """Poll until ``stop_event`` is set; the current batch is always finished."""
        log.info(
            "worker started",
            extra={"queue_url": self.queue_url, "wait_time_seconds": self.wait_time_seconds},
        )
        while not stop_event.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                log.error("SQS call failed; backing off", extra={"error": str(exc)})
                stop_event.wait(self.error_backoff_seconds)
        log.info("worker stopped")
