"""One run of the cleanup: delete expired items in batches until none is left, the time budget
is spent, or a stop was requested (SIGTERM: the task is being stopped)."""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .store import ItemStore

log = logging.getLogger("cleanup_app")


@dataclass(frozen=True)
class Result:
    deleted: int  # items deleted (dry run: items that would be)
    batches: int
    cutoff: _dt.datetime | None  # None: there was no table to clean
    complete: bool  # no expired item is left (or the dry run counted them all)
    stopped: bool = False  # a stop was requested before the end

    def summary(self) -> dict[str, object]:
        return {
            "deleted": self.deleted,
            "batches": self.batches,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "complete": self.complete,
            "stopped": self.stopped,
        }


def run_cleanup(
    store: ItemStore,
    *,
    retention_days: int,
    batch_size: int,
    budget_seconds: float,
    dry_run: bool = False,
    stop_requested: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    if not store.table_exists():
        # The api creates its table on first use: nothing to clean yet is not a failure.
        log.info("no items table yet; nothing to clean")
        return Result(deleted=0, batches=0, cutoff=None, complete=True)
    cutoff = store.cutoff(retention_days)
    if dry_run:
        expired = store.count_expired(cutoff)
        log.info("dry run: items that would be deleted", extra={"expired": expired, "cutoff": cutoff.isoformat()})
        return Result(deleted=expired, batches=0, cutoff=cutoff, complete=True)
    deadline = clock() + budget_seconds
    deleted = batches = 0
    while True:
        if stop_requested():
            return Result(deleted=deleted, batches=batches, cutoff=cutoff, complete=False, stopped=True)
        if clock() >= deadline:
            log.warning(
                "time budget spent before every expired item was deleted; the next run continues",
                extra={"deleted": deleted, "budget_seconds": budget_seconds},
            )
            return Result(deleted=deleted, batches=batches, cutoff=cutoff, complete=False)
        count = store.delete_expired(cutoff, batch_size)
        batches += 1
        deleted += count
        log.debug("batch deleted", extra={"batch": batches, "count": count})
        if count < batch_size:
            return Result(deleted=deleted, batches=batches, cutoff=cutoff, complete=True)
