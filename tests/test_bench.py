"""tools/bench.py: how a case is timed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tools.bench import Case


def test_a_runs_wall_time_ends_when_the_process_does(tmp_path: Path) -> None:
    """The memory sampler runs every 20 ms; the wall time must not wait for its next sample
    (it did: every run of a process that ends at once measured 20 ms or more)."""
    case = Case(["/bin/true"], tmp_path, dict(os.environ))
    for _ in range(5):
        case.run()
    assert min(case.walls) < 0.015, case.walls


def test_peak_memory_is_still_sampled_while_the_process_runs(tmp_path: Path) -> None:
    script = "b = b\"x\" * (64 * 1024 * 1024); import time; time.sleep(0.3)"
    case = Case([sys.executable, "-c", script], tmp_path, dict(os.environ))
    case.run()
    assert case.peak_mb > 60 and 0.3 <= case.walls[0] < 5
