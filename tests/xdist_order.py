"""The order `make test` runs in: the end-to-end test first, alone on its worker.

It takes most of the suite's time, mostly waiting on the emulator and Terraform's provider,
so with two workers (pytest.ini) the rest of the suite runs beside it on the other worker.
Stock pytest-xdist `loadfile` (whole files per worker: module fixtures stay shared) does
not do that: with its default `--loadscope-reorder` the files with most tests go first, so
the one-test end-to-end file started minutes late, and it hands a worker its next file as
soon as two tests or fewer are pending, so a file waited behind the end-to-end test and ran
after everything else. pytest.ini turns the reordering off; tests/conftest.py sorts the
end-to-end test first and uses the scheduler below. tests/test_xdist_order.py checks both
on a small suite of its own.
"""

from __future__ import annotations

from typing import Any

import pytest

# The files of the end-to-end test (marker e2e), as xdist names a file's scope.
E2E_FILES = ("tests/test_e2e.py",)


def run_end_to_end_first(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: 0 if item.get_closest_marker("e2e") else 1)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`loadfile`, with nothing queued behind the end-to-end test on its worker."""
    from xdist.scheduler import LoadFileScheduling

    class EndToEndAlone(LoadFileScheduling):
        def _reschedule(self, node: Any) -> None:
            running = self.assigned_work.get(node, {})
            if any(scope in E2E_FILES and not all(unit.values()) for scope, unit in running.items()):
                return  # nothing more for this worker until the end-to-end test is done
            super()._reschedule(node)

    return EndToEndAlone(config, log)
