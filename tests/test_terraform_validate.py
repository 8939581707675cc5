"""`terraform init -backend=false` + `terraform validate` on every synthesized stack.

Runs the real provider (through the mirror when TF_PROVIDER_MIRROR is set), so schema
errors that the bindings let through are caught before anyone plans.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Synth

pytestmark = pytest.mark.terraform


def _validate(stack_dir: Path, workdir: Path, env: dict[str, str]) -> tuple[str, int, str]:
    shutil.copytree(stack_dir, workdir)
    output = []
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
        result = subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
        output.append(result.stdout + result.stderr)
        if result.returncode != 0:
            return stack_dir.name, result.returncode, "\n".join(output)
    return stack_dir.name, 0, "\n".join(output)


def test_every_stack_validates(synth: Synth, terraform_env: dict[str, str], tmp_path: Path) -> None:
    names = sorted(synth.stacks)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: _validate(synth.stack_dir(n), tmp_path / n, terraform_env), names))
    failures = {name: out for name, code, out in results if code != 0}
    assert not failures, "\n\n".join(f"== {name}\n{out}" for name, out in failures.items())
    assert len(results) == len(names) >= 8
