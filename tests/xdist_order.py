"""The order `make test` runs in: the end-to-end test first, alone on its worker.

It takes most of the suite's time, mostly waiting on the emulator and Terraform's provider,
so with two workers (pytest.ini) the rest of the suite runs beside it on the other worker.
Stock pytest-xdist `loadfile` (whole files per worker: module fixtures stay shared) does
not do that: with its default `--loadscope-reorder` the files with most tests go first, so
the one-test end-to-end file started minutes late, and it hands a worker its next file as
soon as two tests or fewer are pending, so a file waited behind the end-to-end test and ran
after everything else; and a worker holding one test does not start it before it holds a
second one or is told to shut down. pytest.ini turns the reordering off; tests/conftest.py sorts the
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
    """`loadfile`, with the end-to-end test alone on its worker, started at once.

    A worker runs a test only once it holds the next one too (pytest-xdist needs the next
    item for fixture teardown) or once it is told to shut down: a worker holding only the
    one-test end-to-end file sat idle until the other worker had run everything else. So the
    worker that gets the end-to-end file is told to shut down right away: it runs that file
    and ends, and the other worker runs the rest beside it."""
    from xdist.scheduler import LoadFileScheduling

    class EndToEndAlone(LoadFileScheduling):
        def _runs_end_to_end(self, node: Any) -> bool:
            return any(scope in E2E_FILES for scope in self.assigned_work.get(node, {}))

        def _reschedule(self, node: Any) -> None:
            if self._runs_end_to_end(node):
                # Nothing else for this worker: the stock schedule() hands every worker a
                # second file before the shutdown below, which that file would then wait for.
                return
            super()._reschedule(node)

        def schedule(self) -> None:
            super().schedule()
            for node in self.nodes:
                if self._runs_end_to_end(node) and not node.shutting_down:
                    node.shutdown()

    return EndToEndAlone(config, log)
