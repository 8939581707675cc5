"""`make service NAME=... KIND=...` (tools/scaffold.py): a new service folder that loads,
synthesizes and passes its own tests as written, and refusals that write nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.app import build_app
from infra.config import load_app
from tests.conftest import ROOT
from tools import scaffold


def make_service(project: Path, name: str, kind: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.scaffold", name, kind], cwd=project, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("kind", sorted(scaffold.KINDS))
def test_a_new_service_loads_synthesizes_and_passes_its_own_tests(project_copy: Path, kind: str) -> None:
    name = f"new-{kind}"
    result = make_service(project_copy, name, kind)
    assert result.returncode == 0, result.stderr
    folder = project_copy / "services" / name
    assert {"service.toml", "Dockerfile", ".dockerignore", "requirements.txt", "conftest.py"} <= {p.name for p in folder.iterdir()}

    # The manifest as the loader reads it: the kind asked for, every default documented.
    (spec,) = [s for s in load_app(project_copy, environments=["dev"]).services["dev"] if s.name == name]
    assert spec.kind.value == kind and spec.health_check.path == "/health"
    assert (folder / spec.build.test_command.split()[-1]).is_dir()  # the pipeline's test command finds the tests

    # Its stack synthesizes alone (the platform's contract by name), with a task on the manifest's port.
    out = project_copy / "out"
    build_app(load_app(project_copy, environments=["dev"]), outdir=str(out), services=[name], platform=False).synth()
    stack = json.loads((out / "stacks" / f"dev-{name}" / "cdk.tf.json").read_text())
    assert f"{scaffold.KINDS[kind][1]}" in json.dumps(stack["resource"]["aws_ecs_task_definition"])

    # Its tests pass as written, started the way `make test` starts them (from the repository root).
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", f"services/{name}"],
        cwd=project_copy, capture_output=True, text=True, timeout=300, env=env,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("web", "web", "error: services/web: already exists; choose another NAME"),
        ("Billing", "web", "error: NAME: 'Billing' is not a service name (lower-case letters, digits and '-', 2-21 characters, starting with a letter, not ending with '-')"),
        ("billing-", "web", "error: NAME: 'billing-' is not a service name (lower-case letters, digits and '-', 2-21 characters, starting with a letter, not ending with '-')"),
        ("platform", "web", "error: NAME: 'platform' is reserved (the stack <env>-platform is the platform's)"),
        ("billing", "cron", "error: KIND: 'cron' is not a kind of service (one of: web, backend, worker)"),
        ("", "web", "error: NAME: missing (make service NAME=billing KIND=web)"),
    ],
)
def test_fails_when_the_name_or_kind_is_refused_and_writes_nothing(project_copy: Path, name: str, kind: str, message: str) -> None:
    before = sorted(p.relative_to(project_copy) for p in (project_copy / "services").rglob("*"))
    result = make_service(project_copy, name, kind)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message]
    assert sorted(p.relative_to(project_copy) for p in (project_copy / "services").rglob("*")) == before


def test_the_templates_use_the_projects_pinned_runtime() -> None:
    """The templates pin what the samples pin: one set of versions to update."""
    for template, sample in (("http", "web"), ("worker", "worker")):
        pins = lambda path: [l for l in path.read_text().splitlines() if "==" in l]  # noqa: E731
        assert pins(scaffold.TEMPLATES / template / "requirements.txt") == pins(ROOT / "services" / sample / "requirements.txt")
