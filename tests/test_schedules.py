"""Scheduled scaling against the service's counts, per environment (issue #13 (4))."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError
from tests.config_builder import Project

API = """\
kind = "backend"
port = 8081
cpu = 256
memory = 512
desired_count = 1
min_count = 1
max_count = 4

[scaling]
cpu_target = 50

[[scaling.schedules]]
name = "night"
expression = "cron(0 20 * * ? *)"
min_count = 1
max_count = 2
"""


def project(tmp_path: Path, manifest: str) -> Project:
    """dev and prod, and one service `api` with `manifest` as its service.toml."""
    return Project(tmp_path).without_service("web").env("prod").manifest("api", manifest)


def api(built: Project, env: str):  # type: ignore[no-untyped-def]
    (spec,) = built.load(environments=[env]).services[env]
    return spec


def test_fails_when_an_environment_raises_min_count_above_a_schedules_floor(tmp_path: Path) -> None:
    built = project(tmp_path, API + "\n[overrides.prod]\nmin_count = 3\nmax_count = 10\ndesired_count = 3\n")
    assert api(built, "dev").scaling.schedules[0].min_count == 1
    with pytest.raises(ConfigError) as info:
        built.load(environments=["prod"])
    assert str(info.value).startswith("services/api/service.toml: scaling.schedules[0].min_count: min_count 1 is below the service's min_count 3")


def test_an_environment_sets_its_own_schedules_and_keeps_the_other_scaling_keys(tmp_path: Path) -> None:
    override = """
[overrides.prod]
min_count = 3
max_count = 10
desired_count = 3

[overrides.prod.scaling]
schedules = [{ name = "night", expression = "cron(0 20 * * ? *)", min_count = 3, max_count = 6 }]
"""
    built = project(tmp_path, API + override)
    prod, dev = api(built, "prod"), api(built, "dev")
    assert [(s.name, s.min_count, s.max_count) for s in prod.scaling.schedules] == [("night", 3, 6)]
    assert [(s.name, s.min_count, s.max_count) for s in dev.scaling.schedules] == [("night", 1, 2)]
    assert prod.scaling.cpu_target == dev.scaling.cpu_target == 50


def test_a_schedule_may_raise_the_ceiling_for_a_peak(tmp_path: Path) -> None:
    built = project(tmp_path, API.replace("min_count = 1\nmax_count = 2\n", "min_count = 2\nmax_count = 12\n"))
    assert api(built, "dev").scaling.schedules[0].max_count == 12
