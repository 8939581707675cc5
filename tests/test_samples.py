"""The sample configuration under environments/ and services/: it loads, and `python main.py`
synthesizes every stack of it. (The construct tests use their own configuration,
tests/fixtures/app/.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra.config import load_app
from tests.conftest import ROOT


def test_the_samples_load_and_synthesize(tmp_path: Path) -> None:
    app = load_app(ROOT)
    names = {f"{env.name}-{part}" for env in app.environments for part in ("platform", *(s.name for s in app.services[env.name]))}
    env = dict(os.environ, CDKTF_OUTDIR=str(tmp_path / "out"), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    result = subprocess.run([sys.executable, "-O", "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    written = {p.parent.name for p in (tmp_path / "out" / "stacks").glob("*/cdk.tf.json")}
    assert written == names
    for name in written:
        assert json.loads((tmp_path / "out" / "stacks" / name / "cdk.tf.json").read_text())["resource"]
