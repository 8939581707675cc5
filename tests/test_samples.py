"""The sample configuration under environments/ and services/: it loads, and `python main.py`
synthesizes every stack of it. (The construct tests use their own configuration,
tests/fixtures/app/.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import load_app
from tests.conftest import ROOT
from tools import cost, readme_block


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python main.py` on the samples: the synthesized output folder."""
    out = tmp_path_factory.mktemp("samples") / "out"
    env = dict(os.environ, CDKTF_OUTDIR=str(out), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    result = subprocess.run([sys.executable, "-O", "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_the_samples_load_and_synthesize(samples: Path) -> None:
    app = load_app(ROOT)
    names = {f"{env.name}-{part}" for env in app.environments for part in ("platform", *(s.name for s in app.services[env.name]))}
    written = {p.parent.name for p in (samples / "stacks").glob("*/cdk.tf.json")}
    assert written == names
    for name in written:
        assert json.loads((samples / "stacks" / name / "cdk.tf.json").read_text())["resource"]


def test_the_readme_cost_table_is_what_make_cost_says_of_the_samples(samples: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    rendered = readme_block.render(readme, cost.BEGIN, cost.END, cost.readme_table(samples))
    assert rendered == readme, "README.md: the cost table is stale; run make synth && python -m tools.cost --readme"
