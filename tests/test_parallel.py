"""Speed-up `parallel`: an app of many stacks is built and written by two processes.

What Terraform and the cdktf CLI see must not change: the same files, byte for byte, and the
same manifest (every stack, each with the stacks it is applied after, although a dependency
may have been built by the other process). An error in either half is one line, exit 2, and
nothing written; what the first process printed is not printed twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.speedups import parallel
from infra.stack_plan import PLATFORM_WEIGHT, PlannedStack, plan_stacks
from infra.config import load_app
from tests.conftest import ROOT
from tests.config_builder import BACKEND, Project


# main.py as cdktf.json runs it, recording the second process it starts (if any): the
# stacks it was given, in the file named by RECORD.
RUN = """
import json, os, runpy, subprocess, sys
given = []
class Recording(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        if "PLATFORM_SYNTH_STACKS" in (kwargs.get("env") or {}):
            given.append(kwargs["env"]["PLATFORM_SYNTH_STACKS"])
        super().__init__(args, *rest, **kwargs)
subprocess.Popen = Recording
sys.argv = ["main.py"]
try:
    runpy.run_path("main.py", run_name="__main__")
finally:
    with open(os.environ["RECORD"], "w") as record:
        json.dump(given, record)
"""


def _run(root: Path, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str | None]]:
    record = tmp_path / "record.json"
    environ = {k: v for k, v in os.environ.items() if k != "PLATFORM_SPEEDUPS"}
    environ.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", RECORD=str(record), **env)
    result = subprocess.run([sys.executable, "-O", "-c", RUN], cwd=root, capture_output=True, text=True, timeout=600, env=environ)
    return result, json.loads(record.read_text())


def _fleet(tmp_path: Path) -> Project:
    """One environment and just enough services to share: the platform weighs five, each service one."""
    project = Project(tmp_path)
    for i in range(1, parallel.MIN_WEIGHT - PLATFORM_WEIGHT):
        project.service(f"svc{i}", BACKEND)
    return project


def _split(planned: list[PlannedStack]) -> list[list[str]]:
    """How `main.py` shares these stacks between the processes."""
    return parallel.split([(p.name, p.weight) for p in planned])


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- sharing the stacks --------------------------------------------------------------------------
def test_a_small_app_is_not_shared() -> None:
    assert parallel.split([("dev-platform", 5), ("dev-web", 1), ("dev-api", 1)]) == [["dev-platform", "dev-web", "dev-api"]]


def test_the_default_app_is_built_by_one_process() -> None:
    # Two processes measured 4-8% faster on it for 40% more CPU and twice the memory
    # (infra/speedups/parallel.py): below the 10% a speed-up must earn.
    planned = plan_stacks(load_app(ROOT))
    assert len(planned) == 10
    assert _split(planned) == [[p.name for p in planned]]


def test_a_fleet_at_the_threshold_is_shared_and_one_service_lighter_is_not(tmp_path: Path) -> None:
    shared = plan_stacks(_fleet(tmp_path).load())
    assert sum(p.weight for p in shared) == parallel.MIN_WEIGHT and shared[-1].weight == 1
    alone = shared[:-1]
    assert len(_split(shared)) == 2
    assert len(_split(alone)) == 1


def test_stacks_are_shared_by_weight_and_keep_their_order() -> None:
    stacks = [("dev-platform", 5)] + [(f"dev-s{i}", 1) for i in range(8)] + [("prod-platform", 5)] + [(f"prod-s{i}", 1) for i in range(8)]
    first, second = parallel.split(stacks)
    assert sorted(first + second) == sorted(name for name, _ in stacks)
    order = [name for name, _ in stacks]
    assert first == sorted(first, key=order.index) and second == sorted(second, key=order.index)
    weight = dict(stacks)
    # The second process starts later and loads everything again: it gets that much less.
    assert sum(weight[n] for n in first) - sum(weight[n] for n in second) == pytest.approx(parallel.CHILD_START, abs=1)
    # Both platforms go to the first process, so the second imports no platform module.
    assert {"dev-platform", "prod-platform"} <= set(first)


def test_one_usable_cpu_turns_it_off_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert parallel.install() == "this process may use 1 CPU; two processes would take turns on it"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert parallel.install() is None


# -- main.py ---------------------------------------------------------------------------------------
def test_two_processes_write_what_one_writes(tmp_path: Path) -> None:
    project = _fleet(tmp_path).env("prod")
    halves = _split(plan_stacks(project.load()))
    # A service of the first half applied after one of the second (allow_from): a dependency
    # across the halves, which neither process's own manifest can record.
    late, early = (next(n[len("dev-"):] for n in half if n.startswith("dev-svc")) for half in halves)
    project.service(late, allow_from=[early])
    root = project.write_runnable()
    assert _split(plan_stacks(project.load())) == halves

    shared, given = _run(root, tmp_path, CDKTF_OUTDIR=str(tmp_path / "shared"))
    alone, given_alone = _run(root, tmp_path, CDKTF_OUTDIR=str(tmp_path / "alone"), PLATFORM_SPEEDUPS="all,-parallel")

    assert shared.returncode == 0 and alone.returncode == 0, shared.stderr + alone.stderr
    assert given == [",".join(halves[1])] and given_alone == []
    assert _tree(tmp_path / "shared") == _tree(tmp_path / "alone")
    manifest = json.loads((tmp_path / "shared" / "manifest.json").read_text())
    assert manifest["stacks"][f"dev-{late}"]["dependencies"] == ["dev-platform", f"dev-{early}"]
    assert shared.stderr == alone.stderr == ""
    assert not list(tmp_path.glob(".synth-parts-*"))


def test_a_warning_is_printed_once(tmp_path: Path) -> None:
    root = _fleet(tmp_path).env(database={"engine_version": "8.0.40"}).write_runnable()
    result, given = _run(root, tmp_path, CDKTF_OUTDIR=str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert len(given) == 1
    assert result.stderr.startswith("warning: environments/dev.toml: database.engine_version: '8.0.40'")
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("half", [0, 1])
def test_fails_when_either_half_meets_an_error_and_writes_nothing(tmp_path: Path, half: int) -> None:
    project = _fleet(tmp_path)
    planned = plan_stacks(project.load())
    halves = _split(planned)
    failing = next(p for p in planned if p.name in halves[half] and p.service is not None)
    project.service(failing.service.name, imports=[{"to": "aws_s3_bucket.nothing", "id": "bucket"}])
    root = project.write_runnable()
    out = tmp_path / "out"
    sentinel = out / "stacks" / "keep" / "cdk.tf.json"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text('{"untouched": true}')

    result, given = _run(root, tmp_path, CDKTF_OUTDIR=str(out))

    assert result.returncode == 2
    assert len(given) == 1
    assert result.stderr == (
        f"error: services/{failing.service.name}/service.toml: imports[0].to: no resource aws_s3_bucket.nothing in "
        f"{failing.name} (it has no aws_s3_bucket resource)\n"
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["stacks", "stacks/keep", "stacks/keep/cdk.tf.json"]
    assert not list(tmp_path.glob(".synth-parts-*"))
