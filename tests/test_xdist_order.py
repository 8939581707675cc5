"""`make test`'s order (tests/xdist_order.py) on a suite of its own: an end-to-end file of one
slow test and six quick files, two workers, as pytest.ini runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

RECORD = """
import json, os, time
def record(name, seconds):
    start = time.monotonic()
    time.sleep(seconds)
    with open(os.environ["ORDER_LOG"], "a") as log:
        log.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"], start, time.monotonic()]) + "\\n")
"""


def test_the_end_to_end_test_starts_first_and_nothing_waits_behind_it(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "record.py").write_text(RECORD)
    (tests / "conftest.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        "from tests.xdist_order import pytest_xdist_make_scheduler, run_end_to_end_first\n"
        "def pytest_collection_modifyitems(config, items):\n    run_end_to_end_first(items)\n"
    )
    (tests / "test_e2e.py").write_text("import pytest\nfrom record import record\npytestmark = pytest.mark.e2e\n"
                                       "def test_e2e():\n    record('e2e', 4)\n")
    for name in "abcdef":  # more tests per file than the end-to-end file: reordering would put them first
        (tests / f"test_{name}.py").write_text(
            "from record import record\n" + "".join(f"def test_{i}():\n    record('{name}{i}', 0.2)\n" for i in range(3))
        )
    ini = (ROOT / "pytest.ini").read_text().replace("testpaths = tests services", "testpaths = tests")
    (tmp_path / "pytest.ini").write_text(ini)
    log = tmp_path / "order.jsonl"
    env = dict(os.environ, ORDER_LOG=str(log), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    (e2e,) = [r for r in runs if r[0] == "e2e"]
    others = [r for r in runs if r[0] != "e2e"]
    assert len(others) == 18
    # It started with the first of the others, not once they were done (a worker holding one
    # test waits for a second one or its shutdown before it starts it).
    assert e2e[2] - min(r[2] for r in others) < 1.5, runs
    # Every other file ran on the other worker: none was queued behind the end-to-end test (stock
    # loadfile gives its worker a second file), and none ran before it there (with the stock
    # reordering, the files of three tests went first and the end-to-end file last).
    assert {r[1] for r in others} == {"gw0", "gw1"} - {e2e[1]}, runs
