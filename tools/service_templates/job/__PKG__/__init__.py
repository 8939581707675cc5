"""__NAME__: a scheduled job (made by `make service`; grow it from here).

EventBridge Scheduler starts one task per run (`schedule` in service.toml). `run` does the
work and returns; the process's exit code is the run's result: 0 done, 1 failed (the job's
run-failed alarm fires; Scheduler does not re-run a task that ran). The platform sets
JOB_TIMEOUT_SECONDS to the manifest's `timeout` and stops the task then, so `run` gets a
deadline and should stop starting new work after it. Logs are one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable

SERVICE = "__NAME__"
log = logging.getLogger(SERVICE)


def run(deadline: float, clock: Callable[[], float] = time.monotonic) -> int:
    """The job's work; returns how many items it handled. Check `clock() < deadline` between
    items and stop when it is not: the task is stopped at the timeout anyway."""
    handled = 0
    for _item in ():  # replace with the job's work, e.g. rows to delete, files to move
        if clock() >= deadline:
            break
        handled += 1
    return handled


def main(environ: dict[str, str] | None = None, clock: Callable[[], float] = time.monotonic) -> int:
    env = dict(os.environ if environ is None else environ)
    logging.basicConfig(stream=sys.stdout, level=env.get("LOG_LEVEL", "info").upper(), format="%(message)s", force=True)
    try:
        timeout = int(env.get("JOB_TIMEOUT_SECONDS", "3600"))
    except ValueError:
        log.error(json.dumps({"event": "bad_config", "message": "JOB_TIMEOUT_SECONDS is not a whole number"}))
        return 1
    started = clock()
    # Leave a margin before the platform stops the task, to finish the item at hand.
    deadline = started + max(timeout - 30, timeout * 0.9)
    try:
        handled = run(deadline, clock)
    except Exception:  # noqa: BLE001 - any failure is a failed run
        log.exception("run failed")
        return 1
    log.info(json.dumps({"event": "done", "handled": handled, "seconds": round(clock() - started, 3)}))
    return 0
