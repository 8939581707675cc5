"""What the services' images install is what their tests ran with.

Each service folder is its own Docker build context, so the samples and the `make service`
templates each carry a Dockerfile and a requirements.txt. These tests keep those copies from
drifting apart: one base image everywhere, on the Python the project runs, and every package
the project's lock holds pinned at the lock's version (the apps' tests run in that
environment), so an image never ships a library its tests did not run against.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERFILES = sorted([*ROOT.glob("services/*/Dockerfile"), *ROOT.glob("tools/service_templates/*/Dockerfile")])
REQUIREMENTS = sorted([*ROOT.glob("services/*/requirements.txt"), *ROOT.glob("tools/service_templates/*/requirements.txt")])
BASE_IMAGE = re.compile(r"^ARG PYTHON_IMAGE=(\S+)$", re.M)
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$", re.M)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_image_builds_from_one_base_image_on_the_projects_python() -> None:
    assert len(DOCKERFILES) >= 7  # four samples and three templates
    bases = {_name(path): BASE_IMAGE.findall(path.read_text()) for path in DOCKERFILES}
    assert all(len(found) == 1 for found in bases.values()), bases
    assert len({found[0] for found in bases.values()}) == 1, bases
    (image,) = {found[0] for found in bases.values()}
    assert image.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}."), image
    for path in DOCKERFILES:  # each stage starts from that argument, not from an image of its own
        froms = re.findall(r"^FROM (\S+)", path.read_text(), re.M)
        assert froms and set(froms) == {"${PYTHON_IMAGE}"}, (_name(path), froms)


def _lock() -> dict[str, str]:
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    return {name.lower(): entry["version"].lstrip("=") for section in ("default", "develop") for name, entry in lock[section].items()}


@pytest.mark.parametrize("path", REQUIREMENTS, ids=_name)
def test_an_images_packages_are_pinned_at_the_versions_its_tests_run_with(path: Path) -> None:
    lock = _lock()
    pins = {name.lower(): version for name, version in PIN.findall(path.read_text())}
    differ = {name: (version, lock[name]) for name, version in pins.items() if name in lock and lock[name] != version}
    assert not differ, f"{_name(path)} pins (image, Pipfile.lock): {differ}"


def test_a_package_pinned_by_several_images_has_one_version() -> None:
    seen: dict[str, dict[str, str]] = {}
    for path in REQUIREMENTS:
        for name, version in PIN.findall(path.read_text()):
            seen.setdefault(name.lower(), {})[_name(path)] = version
    differ = {name: where for name, where in seen.items() if len(set(where.values())) > 1}
    assert not differ, differ
