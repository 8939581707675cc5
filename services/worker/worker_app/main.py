"""Entry point: ``python -m worker_app``."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from .config import ConfigError, load_config
from .consumer import Worker
from .health import start_health_server
from .logging_setup import configure_logging

SERVICE = "worker"
log = logging.getLogger("worker_app")


def install_signal_handlers(stop_event: threading.Event) -> None:
    """SIGTERM (ECS stop) / SIGINT: finish the current batch, then exit."""

    def _handle(signum, _frame):
        log.info("shutdown requested; finishing current batch", extra={"signal": signum})
        stop_event.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)


def build_sqs_client(region: str | None):
    import boto3
    from botocore.config import Config as BotoConfig

    # boto3 honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS natively (LocalStack, moto).
    # read_timeout must exceed the 20 s long poll.
    return boto3.client(
        "sqs",
        region_name=region,
        config=BotoConfig(read_timeout=30, connect_timeout=5, retries={"mode": "standard"}),
    )


def main() -> int:
    configure_logging(SERVICE)
    try:
        config = load_config()
    except ConfigError as exc:
        log.critical("invalid configuration: %s", exc)
        return 2
    configure_logging(SERVICE, config.log_level)

    stop_event = threading.Event()
    install_signal_handlers(stop_event)
    health = start_health_server(config.health_port)
    try:
        worker = Worker(
            build_sqs_client(config.region),
            config.queue_url,
            wait_time_seconds=config.wait_time_seconds,
            max_messages=config.max_messages,
            visibility_timeout_seconds=config.visibility_timeout_seconds,
        )
        worker.run(stop_event)
    finally:
        health.shutdown()
        health.server_close()
    log.info("exiting cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
