"""Shared fixtures: one synthesis of the default app per test session."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import speedups

ROOT = Path(__file__).resolve().parent.parent
# The configuration the construct tests synthesize: the tests' own, not the samples.
FIXTURE = ROOT / "tests" / "fixtures" / "app"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Before any test module imports jsii or the provider, as main.py does; the switch as main.py
# reads it, but the cyclic GC stays on in a test process that lives for many synths.
speedups.install(os.environ.get(speedups.SWITCH, "all") + ",-gc")


class Synth:
    """The synthesized JSON of every stack, read once."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.stacks: dict[str, dict[str, Any]] = {
            path.parent.name: json.loads(path.read_text()) for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
        }

    def stack(self, name: str) -> dict[str, Any]:
        return self.stacks[name]

    def stack_dir(self, name: str) -> Path:
        return self.outdir / "stacks" / name


def resources(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """The resources of one Terraform type in a stack, by logical id."""
    return stack.get("resource", {}).get(type_, {})


def data_sources(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return stack.get("data", {}).get(type_, {})


def only(stack: dict[str, Any], type_: str) -> dict[str, Any]:
    items = resources(stack, type_)
    assert len(items) == 1, f"expected exactly one {type_}, found {sorted(items)}"
    return next(iter(items.values()))


def by_path(stack: dict[str, Any], type_: str, suffix: str) -> dict[str, Any]:
    """The resource of `type_` whose construct path ends with `suffix`."""
    found = [r for r in resources(stack, type_).values() if r["//"]["metadata"]["path"].endswith(suffix)]
    assert len(found) == 1, f"expected one {type_} at */{suffix}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from infra.app import build_app
    from infra.config import load_app

    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    build_app(load_app(FIXTURE), outdir=str(outdir)).synth()
    return Synth(outdir)


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for terraform subprocesses: the provider mirror when TF_PROVIDER_MIRROR is set."""
    from tools.terraformrc import write

    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    mirror = os.environ.get("TF_PROVIDER_MIRROR")
    if mirror:
        env["TF_CLI_CONFIG_FILE"] = str(write(tmp_path_factory.mktemp("tf") / "terraformrc", mirror))
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH")
    return env


@pytest.fixture()
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's code with the tests' configuration (FIXTURE), no caches."""
    yield copy_project(tmp_path / "project")


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("main.py", "cdktf.json"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for name in ("infra", "tools"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("environments", "services"):
        shutil.copytree(FIXTURE / name, target / name, ignore=ignore)
    return target


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the end-to-end test first: it mostly waits on the emulator, and with two
    workers (pytest.ini) the rest of the suite then runs beside it instead of after it."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("e2e") else 1)
