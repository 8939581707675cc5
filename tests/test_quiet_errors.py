"""A configuration error is one line, whichever way the synthesis is run: `python main.py`,
`make synth`, or the cdktf CLI from the project (`npx cdktf`: tools/cdktf, which `make install`
links into node_modules/.bin).

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


# The variables the CLI would otherwise read from a prepared shell: the test's runs start without
# them, as a new user's shell does.
CLI_SETTINGS = ("CHECKPOINT_DISABLE", "DISABLE_VERSION_CHECK", "CDKTF_LOG_FILE_DIRECTORY", "CI")


def _plain_env(**extra: str) -> dict[str, str]:
    env = _env(**extra)
    for name in CLI_SETTINGS:
        if name not in extra:
            env.pop(name, None)
    return env


def test_the_projects_cdktf_command_is_tools_cdktf() -> None:
    """`npx cdktf` runs node_modules/.bin/cdktf, which `make install` links to tools/cdktf."""
    installed = ROOT / "node_modules" / ".bin" / "cdktf"
    assert installed.resolve() == (ROOT / "tools" / "cdktf").resolve(), f"{installed} is not tools/cdktf: run make install"


@pytest.mark.parametrize("command", [["node_modules/.bin/cdktf", "synth"], ["npx", "--no-install", "cdktf", "synth"]], ids=["bin", "npx"])
def test_cdktf_synth_from_the_project_prints_the_one_line_and_exits_2_without_network_chatter(broken: Path, command: list[str]) -> None:
    """In a shell nobody prepared: no escape codes, no second copy, no telemetry error."""
    result = subprocess.run(command, cwd=broken, env=_plain_env(), capture_output=True, text=True, timeout=600)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", ERROR + "\n")
    assert not (broken / "cdktf.out").exists()


@pytest.mark.terraform  # the cdktf CLI starts node and runs terraform version: ~5 s on a busy machine
def test_cdktf_synth_of_a_good_configuration_runs_the_cli_quietly_offline(project_copy: Path) -> None:
    """The check passes, the pinned CLI synthesizes: its summary, and not a word about the network
    (CI=1 as in a pipeline's log; in a terminal the CLI draws its spinner there instead)."""
    for name in (".venv", "node_modules"):
        (project_copy / name).symlink_to(ROOT / name)
    result = subprocess.run(["node_modules/.bin/cdktf", "synth"], cwd=project_copy, env=_plain_env(CI="1"), capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Generated Terraform code for the stacks" in output
    assert "[ERROR]" not in output and "checkpoint" not in output.lower() and "ENOTFOUND" not in output, output
    assert not ESCAPE.search(output), repr(output)
    assert (project_copy / "cdktf.out" / "stacks" / "dev-web" / "cdk.tf.json").is_file()


def test_tf_env_puts_the_projects_cdktf_first_on_path(broken: Path) -> None:
    shown = subprocess.run(["make", "-s", "-o", "install", "tf-env"], cwd=broken, env=_env(), capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    result = subprocess.run(["sh", "-c", shown.stdout + "\ncommand -v cdktf"], cwd=broken, env=_plain_env(), capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == str(broken / "node_modules" / ".bin" / "cdktf"), result
