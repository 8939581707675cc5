"""The one line a speed-up prints when it falls back (stderr, once per speed-up and reason)."""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()
_printed: list[str] = []


def off(name: str, why: str) -> None:
    """Say that speed-up `name` is off (or partly off) and why; the synthesis goes on the stock way."""
    line = f"speedups: {name} off: {why}"
    with _lock:
        if line in _printed:
            return
        _printed.append(line)
    print(line, file=sys.stderr, flush=True)


def printed() -> list[str]:
    """The lines printed so far in this process (for tests and status)."""
    with _lock:
        return list(_printed)
