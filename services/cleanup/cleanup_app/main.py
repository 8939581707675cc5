"""The run: configuration, signals, the cleanup, one summary line, an exit code.

Exit codes (ECS records the job container's; the platform's failed-runs rule reports any
nonzero one):
    0    done: every expired item deleted, or the time budget was spent (the next run
         continues: a warning, not a failure)
    1    the database failed (unreachable, refused, an SQL error)
    2    the configuration is invalid
    143  stopped by SIGTERM (the platform's deadline, or `aws ecs stop-task`) after the batch
         in flight
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping

from .config import Config, ConfigError, load_config
from .job import run_cleanup
from .logging_setup import configure_logging
from .store import ItemStore, MySQLItemStore, StoreError

SERVICE = "cleanup"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_STOPPED = 0, 1, 2, 128 + signal.SIGTERM
log = logging.getLogger("cleanup_app")


def mysql_store(config: Config) -> ItemStore:
    return MySQLItemStore(
        host=config.db_host,
        port=config.db_port,
        user=config.db_user,
        password=config.db_password,
        database=config.db_name,
        connect_timeout=config.connect_timeout_seconds,
    )


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM (ECS stops the task) / SIGINT: finish the batch in flight, then exit."""

    def _handle(signum, _frame):  # type: ignore[no-untyped-def]
        log.warning("stop requested; ending after the current batch", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)


def main(env: Mapping[str, str] | None = None, store_factory: Callable[[Config], ItemStore] = mysql_store) -> int:
    configure_logging(SERVICE)
    try:
        config = load_config(env)
    except ConfigError as exc:
        log.critical("invalid configuration: %s", exc)
        return EXIT_CONFIG
    configure_logging(SERVICE, config.log_level)
    stop = threading.Event()
    install_signal_handlers(stop)
    started = time.monotonic()
    store = None
    try:
        store = store_factory(config)
        result = run_cleanup(
            store,
            retention_days=config.retention_days,
            batch_size=config.batch_size,
            budget_seconds=config.budget_seconds,
            dry_run=config.dry_run,
            stop_requested=stop.is_set,
        )
    except StoreError as exc:
        log.error("cleanup failed", extra={"error": str(exc), "duration_s": round(time.monotonic() - started, 3)})
        return EXIT_FAILED
    finally:
        if store is not None:
            store.close()
    log.info(
        "cleanup finished",
        extra={
            **result.summary(),
            "retention_days": config.retention_days,
            "dry_run": config.dry_run,
            "duration_s": round(time.monotonic() - started, 3),
        },
    )
    return EXIT_STOPPED if result.stopped else EXIT_OK
