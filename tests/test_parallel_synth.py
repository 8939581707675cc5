"""Environments synthesized side by side (infra/parallel_synth.py) give exactly one App's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.parallel_synth import stable_stringify, synthesize_in_parallel
from tests.conftest import ROOT, Synth


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.timeout(300)
def test_main_synthesizes_each_environment_in_its_own_process_byte_identical(synth: Synth, tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir), PLATFORM_SYNTH_PROCESSES="2")
    env.pop("PLATFORM_ENVIRONMENTS", None)
    proc = subprocess.run([sys.executable, "-O", "main.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    merged, single = _files(outdir), _files(synth.outdir)
    assert sorted(merged) == sorted(single)
    assert "manifest.json" in merged
    for name in single:
        assert merged[name] == single[name], name
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]  # the per-process folders are gone


# A stand-in for main.py: writes what one App would for the environment it is given.
FAKE_SYNTH = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    env = os.environ["PLATFORM_ENVIRONMENTS"]
    if env in os.environ.get("FAIL", "").split(","):
        sys.exit(7)
    out = Path(os.environ["CDKTF_OUTDIR"])
    (out / "stacks" / f"{env}-platform").mkdir(parents=True)
    (out / "stacks" / f"{env}-platform" / "cdk.tf.json").write_text(json.dumps({"env": env}))
    stack = {"name": f"{env}-platform", "annotations": [], "dependencies": []}
    (out / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": {f"{env}-platform": stack}}))
    """
)


def _run_fake(tmp_path: Path, outdir: Path, fail: str = "") -> int:
    script = tmp_path / "fake_synth.py"
    script.write_text(FAKE_SYNTH)
    return synthesize_in_parallel(
        [sys.executable, str(script)],
        environ=dict(os.environ, FAIL=fail),
        environments=["dev", "prod"],
        outdir=outdir,
        processes=2,
    )


def test_merge_keeps_other_files_in_a_stack_folder(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    init = outdir / "stacks" / "dev-platform" / ".terraform" / "terraform.tfstate"
    init.parent.mkdir(parents=True)
    init.write_text("from terraform init")
    assert _run_fake(tmp_path, outdir) == 0
    assert init.read_text() == "from terraform init"
    assert json.loads((outdir / "stacks" / "prod-platform" / "cdk.tf.json").read_text()) == {"env": "prod"}
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == ["dev-platform", "prod-platform"] and manifest["version"] == "0.21.0"


def test_fails_when_one_environment_fails_and_leaves_the_output_as_it_was(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    (outdir / "stacks").mkdir(parents=True)
    (outdir / "manifest.json").write_text("previous")
    assert _run_fake(tmp_path, outdir, fail="prod") == 7
    assert (outdir / "manifest.json").read_text() == "previous"
    assert list((outdir / "stacks").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake_synth.py", "out"]


def test_stable_stringify_writes_like_json_stable_stringify() -> None:
    assert stable_stringify({"b": [], "a": {"y": [1, "x"], "x": {}}}) == (
        '{\n  "a": {\n    "x": {\n    },\n    "y": [\n      1,\n      "x"\n    ]\n  },\n  "b": [\n  ]\n}'
    )


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_fails_when_synth_processes_is_not_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    env = dict(os.environ, PLATFORM_SYNTH_PROCESSES=value, CDKTF_OUTDIR=str(tmp_path / "out"))
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: PLATFORM_SYNTH_PROCESSES: {value!r} must be a whole number of processes, 1 or more"
    assert not (tmp_path / "out").exists()
