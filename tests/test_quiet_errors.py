"""A configuration error is one line, whichever way the synthesis is run: `python main.py`,
`make synth`, or the cdktf CLI from the project (in the shell `make -s tf-env` prepares).

Each runs in a copy of the project with the tests' configuration and one invalid value; the
copy links the installed .venv/ and node_modules/ and is never installed into (`make -o
install`: a test must not reinstall the shared environments).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

ERROR = "error: services/web/service.toml: memory: 4096 is not valid with cpu=256 on Fargate (valid: 512, 1024, 2048)"
ESCAPE = re.compile(r"\x1b")


@pytest.fixture()
def broken(project_copy: Path) -> Path:
    """The project copy with web's memory invalid for its CPU, ready for make and cdktf."""
    web = project_copy / "services" / "web" / "service.toml"
    web.write_text(web.read_text().replace("memory = 512", "memory = 4096", 1))
    for name in ("Makefile", "Pipfile", "Pipfile.lock", "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, project_copy / name)
    for name in (".venv", "node_modules"):
        (project_copy / name).symlink_to(ROOT / name)
    return project_copy


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    for name in ("PLATFORM_ENVIRONMENTS", "PLATFORM_SERVICES", "CDKTF_OUTDIR", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).is_file():
        env.pop("TF_CLI_CONFIG_FILE")  # a dangling one makes terraform warn on every call (make doctor says so)
    return env


def test_python_main_py_prints_one_line_and_exits_2(broken: Path) -> None:
    result = subprocess.run([str(broken / ".venv" / "bin" / "python"), "main.py"], cwd=broken, env=_env(), capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", ERROR + "\n")
    assert not (broken / "cdktf.out").exists()


def test_make_synth_prints_the_one_line_and_makes_own_status_line_and_exits_2(broken: Path) -> None:
    (broken / "cdktf.out").mkdir()
    (broken / "cdktf.out" / "kept").write_text("a synthesis from before")
    result = subprocess.run(["make", "-o", "install", "synth"], cwd=broken, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    # The configuration's line once, then GNU make's own status line for a failed recipe.
    assert lines[0] == ERROR and len(lines) == 2 and re.fullmatch(r"make: \*\*\* \[Makefile:\d+: synth\] Error 2", lines[1]), lines
    assert sorted(p.name for p in (broken / "cdktf.out").iterdir()) == ["kept"]  # nothing half-written


@pytest.mark.terraform  # the cdktf CLI starts node and runs terraform version: ~10 s on a busy machine
def test_cdktf_synth_from_the_project_shows_the_line_once_without_escape_codes_or_network_chatter(broken: Path) -> None:
    shown = subprocess.run(["make", "-s", "-o", "install", "tf-env"], cwd=broken, env=_env(), capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    exported = dict(
        pair.split("=", 1) for line in shown.stdout.splitlines() if line.startswith("export ") for pair in line[len("export ") :].split()
    )
    assert {"CHECKPOINT_DISABLE", "DISABLE_VERSION_CHECK", "CDKTF_LOG_FILE_DIRECTORY"} <= set(exported)
    # CI=1 as in a pipeline's log (in a terminal the CLI draws its spinner there instead).
    env = _env(**exported, CI="1")
    result = subprocess.run([str(broken / "node_modules" / ".bin" / "cdktf"), "synth"], cwd=broken, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0  # the cdktf CLI exits 1 on any failed synthesis
    assert output.count("services/web/service.toml") == 1, output
    assert ERROR in output
    assert not ESCAPE.search(output), repr(output)
    assert "[ERROR]" not in output and "checkpoint" not in output.lower() and "ENOTFOUND" not in output
    assert not (broken / "cdktf.out").exists()
