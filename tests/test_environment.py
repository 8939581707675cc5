"""`make plan/deploy/destroy ENV=...` (tools/environment.py): the order, the plan table, the
first failure named with Terraform's error, the confirmation, the exit codes.

The orchestration runs against a fake `terraform` on PATH (a script that records each call
and answers as a stack is told to), over stacks written by hand: no provider, no synthesis, a
second per test. What it says about Terraform's own output (the plan JSON, the diagnostics,
`Apply complete!`) is checked on that output as Terraform 1.11 writes it, and, with the real
binary, in tests/test_environment_terraform.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import environment
from tools.environment import PlanCounts, StackRun, count_changes, first_error, plan_table
from tests.conftest import ROOT

# --- counting a plan ------------------------------------------------------------------------


def change(actions: list[str], *, mode: str = "managed", importing: bool = False, previous: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": "aws_x.y", "mode": mode, "change": {"actions": actions}}
    if importing:
        entry["change"]["importing"] = {"id": "i-1"}
    if previous:
        entry["previous_address"] = previous
    return entry


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([change(["create"]), change(["create"])], PlanCounts(add=2)),
        ([change(["update"])], PlanCounts(change=1)),
        ([change(["delete"])], PlanCounts(destroy=1)),
        # A replacement, either order, counts as one add and one destroy, as Terraform's Plan: line does.
        ([change(["delete", "create"]), change(["create", "delete"])], PlanCounts(add=2, destroy=2, replaced=2)),
        ([change(["read"], mode="data"), change(["no-op"])], PlanCounts()),
        ([change(["no-op"], importing=True), change(["update"], importing=True)], PlanCounts(change=1, imported=2)),
        ([change(["no-op"], previous="aws_x.old")], PlanCounts(moved=1)),
        ([change(["forget"])], PlanCounts(forgotten=1)),
    ],
    ids=["create", "update", "delete", "replace", "reads-and-no-ops", "imports", "moves", "forget"],
)
def test_a_plan_is_counted_as_terraform_counts_it(changes: list[dict[str, Any]], expected: PlanCounts) -> None:
    assert count_changes({"resource_changes": changes}) == expected


def test_outputs_that_change_alone_are_noted() -> None:
    counts = count_changes({"resource_changes": [], "output_changes": {"url": {"actions": ["update"]}, "id": {"actions": ["no-op"]}}})
    assert counts.outputs and counts.note() == "outputs change"


def test_the_plan_table_has_a_row_per_stack_a_total_and_says_what_replaced_means() -> None:
    runs = [
        StackRun("dev-platform", counts=PlanCounts(), had_state=True),
        StackRun("dev-web", counts=PlanCounts(add=3, change=1, destroy=2, replaced=2), had_state=True),
        StackRun("dev-api", skipped="dev-web not deployed in workspace default yet"),
        StackRun("dev-worker", error=environment.DeployError("boom")),
        StackRun("dev-shop", counts=PlanCounts(add=30), had_state=False),
    ]
    lines = plan_table(runs)
    assert lines[0].split() == ["stack", "to", "add", "to", "change", "to", "destroy", "note"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert rows["dev-platform"].split() == ["dev-platform", "0", "0", "0"]
    assert rows["dev-web"].split() == ["dev-web", "3", "1", "2", "2", "replaced"]
    assert rows["dev-api"].split()[:4] == ["dev-api", "-", "-", "-"] and "not planned: dev-web not deployed" in rows["dev-api"]
    assert rows["dev-worker"].split()[1:] == ["-", "-", "-", "FAILED", "(below)"]
    assert rows["dev-shop"].split() == ["dev-shop", "30", "0", "0", "not", "deployed", "yet"]
    assert rows["total"].split() == ["total", "33", "1", "2"]
    assert "replaced resource counts once" in lines[-1]
    for header in ("to add", "to change", "to destroy"):  # each number ends under its header's end
        end = lines[0].index(header) + len(header)
        assert all(row[end - 1] in "0123456789-" and row[end : end + 1] in ("", " ") for row in rows.values()), header


# --- Terraform's diagnostics --------------------------------------------------------------------
PRECONDITION = """
Planning failed. Terraform encountered an error while generating this plan.

Error: Resource precondition failed

  on cdk.tf.json line 3, in resource.terraform_data.a.lifecycle.precondition[0]:
   3:  "resource": {"terraform_data": {"a": {"input": "x"}}}
    ├────────────────
    │ var.fail is true

The thing cannot be done: set fail to false.
Second line of detail.
"""

RESOURCE_ERROR = """
aws_ecs_service.web: Creating...
╷
│ Error: creating ECS Service (dev-web): operation error ECS: CreateService, https response error StatusCode: 400, InvalidParameterException: The target group does not have an associated load balancer.
│ 
│   with aws_ecs_service.web,
│   on cdk.tf.json line 812, in resource.aws_ecs_service.web:
│  812:       },
│ 
╵
╷
│ Error: second error
╵
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PRECONDITION, "Resource precondition failed: The thing cannot be done: set fail to false. Second line of detail."),
        (
            RESOURCE_ERROR,
            "creating ECS Service (dev-web): operation error ECS: CreateService, https response error StatusCode: 400, "
            "InvalidParameterException: The target group does not have an associated load balancer. (aws_ecs_service.web)",
        ),
        ("\x1b[31mError: \x1b[0mInvalid workspace name\n\nWorkspace feature-x cannot hold a copy of dev-web.\n", "Invalid workspace name: Workspace feature-x cannot hold a copy of dev-web."),
        ("some output\nexit status 137\n\n", "some output exit status 137"),
    ],
    ids=["no-colour", "boxed-with-resource", "ansi", "no-error-line"],
)
def test_the_first_error_is_its_summary_detail_and_resource_on_one_line(output: str, expected: str) -> None:
    assert first_error(output) == expected


def test_apply_and_destroy_counts_come_from_terraforms_last_line() -> None:
    assert environment.applied_counts("...\nApply complete! Resources: 3 added, 1 changed, 0 destroyed.\n") == "3 added, 1 changed, 0 destroyed"
    assert environment.applied_counts("Destroy complete! Resources: 32 destroyed.\n") == "32 destroyed"
    assert environment.applied_counts("nothing") == ""


# --- the orchestration, against a fake terraform ------------------------------------------------
FAKE_TERRAFORM = r'''#!{python}
"""A stand-in for terraform: records each call, answers as FAKE_TF_CONFIG tells each stack."""
import json, os, pathlib, sys
args = [a for a in sys.argv[1:] if a != "-no-color"]
stack = pathlib.Path.cwd().name
config = json.loads(pathlib.Path(os.environ["FAKE_TF_CONFIG"]).read_text())
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps([stack, *args]) + "\n")
command = args[0]
if command in config.get("slow", {{}}).get(stack, []):  # seconds before it answers
    import time; time.sleep(config["slow"][stack][command])
if command in config.get("fail", {{}}).get(stack, []):
    sys.stderr.write("\nError: " + config["errors"][stack] + "\n\n  with aws_thing.main,\n  on cdk.tf.json line 1:\n\nThe detail.\n")
    sys.exit(1)
if command == "state":
    empty = stack in config.get("empty", [])
    print("" if empty else json.dumps({{"resources": [{{"mode": "managed", "type": "aws_vpc", "name": "main"}}]}}))
elif command == "show":
    print(json.dumps(config.get("plans", {{}}).get(stack, {{"resource_changes": []}})))
elif command == "apply":
    print("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
elif command == "destroy":
    print("Destroy complete! Resources: 2 destroyed.")
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps([stack, "done", *args]) + "\n")
'''


class FakeProject:
    """A project folder holding synthesized stacks of `dev` and a fake terraform first on PATH."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, stacks: dict[str, list[str]], backend: str = "local") -> None:
        self.root = root
        (root / "environments").mkdir(parents=True)
        (root / "environments" / "dev.toml").write_text("")
        out = root / "cdktf.out"
        manifest = {"stacks": {}}
        for name, needs in stacks.items():
            (out / "stacks" / name).mkdir(parents=True)
            block = {"cloud": {"organization": "o"}} if backend == "cloud" else {"backend": {backend: {}}}
            (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"terraform": block}))
            manifest["stacks"][name] = {"name": name, "dependencies": needs}
        (out / "manifest.json").write_text(json.dumps(manifest))
        bin_dir = root / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "terraform"
        fake.write_text(FAKE_TERRAFORM.format(python=sys.executable))
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        self.config_file, self.log_file = root / "fake.json", root / "calls.log"
        self.configure()
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_TF_CONFIG", str(self.config_file))
        monkeypatch.setenv("FAKE_TF_LOG", str(self.log_file))
        monkeypatch.delenv("TF_WORKSPACE", raising=False)

    def configure(self, **config: Any) -> None:
        self.config_file.write_text(json.dumps(config))

    def calls(self, command: str | None = None) -> list[list[str]]:
        if not self.log_file.exists():
            return []
        calls = [json.loads(line) for line in self.log_file.read_text().splitlines()]
        return [c for c in calls if (command is None and c[1] != "done") or c[1] == command]

    def events(self, command: str) -> list[tuple[str, str]]:
        """(stack, "start" or "done") of each `command` call, in the order they happened."""
        calls = [json.loads(line) for line in self.log_file.read_text().splitlines()]
        return [(c[0], "done" if c[1] == "done" else "start") for c in calls if c[1] == command or c[1:3] == ["done", command]]

    def run(self, action: str, capsys: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[int, str]:
        code = environment.run(action, root=self.root, env="dev", synth=False, **kwargs)
        out = capsys.readouterr()
        return code, out.out + out.err


DEV = {"dev-platform": [], "dev-web": ["dev-platform"], "dev-worker": ["dev-platform"], "dev-api": ["dev-platform", "dev-web"]}


def test_deploy_applies_the_platform_first_and_a_backend_after_its_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    code, out = project.run("deploy", capsys)
    assert code == 0, out
    applied = [stack for stack, *_ in project.calls("apply")]
    assert applied[0] == "dev-platform" and set(applied[1:3]) == {"dev-web", "dev-worker"} and applied[3] == "dev-api"
    # Each stack: init, the workspace (created when missing), then the command.
    assert sorted(project.calls("workspace")) == sorted([s, "workspace", "select", "-or-create=true", "default"] for s in DEV)
    assert all(project.calls().index(["dev-web", "init", "-input=false"]) < project.calls().index(c) for c in project.calls() if c[0] == "dev-web" and c[1] != "init")
    lines = out.splitlines()
    progress = [line.split()[0] for line in lines if line.startswith("    ")]
    assert sorted(progress) == sorted(DEV) and progress[0] == "dev-platform" and progress.index("dev-web") < progress.index("dev-api")
    assert all("applied in" in line and "(2 added, 0 changed, 0 destroyed)" in line for line in lines if line.startswith("    "))
    assert lines[-1].startswith("==> applied 4 stacks of dev (workspace default) in ")


def test_deploy_stops_at_the_first_failure_and_names_the_stack_and_terraforms_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    project.configure(fail={"dev-web": ["apply"]}, errors={"dev-web": "creating ECS Service (dev-web): InvalidParameterException: no."})
    code, out = project.run("deploy", capsys)
    assert code == 1
    assert "dev-api" not in [stack for stack, *_ in project.calls("apply")]  # after web: never started
    assert any(line.split()[:3] == ["dev-web", "FAILED", "after"] for line in out.splitlines())
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors == ["error: dev-web: terraform apply failed: creating ECS Service (dev-web): InvalidParameterException: no: The detail. (aws_thing.main)"]
    assert "full output: .build/logs/dev/dev-web.deploy.log" in out
    assert "not applied: dev-api" in out
    assert "Error: creating ECS Service" in (tmp_path / ".build" / "logs" / "dev" / "dev-web.deploy.log").read_text()


def test_destroy_goes_in_reverse_order_after_the_environments_name_is_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    asked: list[str] = []
    code, out = project.run("destroy", capsys, read=lambda prompt: asked.append(prompt) or "dev")
    assert code == 0, out
    assert asked == ["Type the environment's name (dev) to confirm: "]
    assert "This destroys every resource of dev (workspace default): dev-api, then dev-web, dev-worker, then dev-platform." in out
    events = project.events("destroy")
    assert events.index(("dev-api", "done")) < events.index(("dev-web", "start"))  # a backend before its caller
    assert events[-2:] == [("dev-platform", "start"), ("dev-platform", "done")]  # the platform after every service


def test_each_stack_starts_as_soon_as_the_stacks_it_waits_for_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """api waits for web (its caller) and the platform, not for the slow worker beside web;
    in a destroy, web waits for api only, not for the slow worker."""
    project = FakeProject(tmp_path, monkeypatch, DEV)
    project.configure(slow={"dev-worker": {"apply": 2, "destroy": 2}})
    code, out = project.run("deploy", capsys)
    assert code == 0, out
    events = project.events("apply")
    assert events.index(("dev-api", "done")) < events.index(("dev-worker", "done")), events
    progress = [line.split()[0] for line in out.splitlines() if line.startswith("    ")]
    assert progress[-1] == "dev-worker"  # one line per stack as it finishes
    code, out = project.run("destroy", capsys, auto_approve=True)
    assert code == 0, out
    events = project.events("destroy")
    # web goes once api (which names it) has gone, while the worker is still being destroyed.
    assert events.index(("dev-web", "start")) < events.index(("dev-worker", "done")), events
    assert events[-1] == ("dev-platform", "done"), events


def test_a_plan_initializes_only_a_folder_that_needs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-planning an initialized stack runs no `terraform init` (seconds each, dozens in the
    end-to-end test); a folder never initialized, or a plan that asks for it, gets one."""
    project = FakeProject(tmp_path, monkeypatch, DEV)
    web = tmp_path / "cdktf.out" / "stacks" / "dev-web"
    assert environment.plan_exit_code(web) == 0
    assert [c[1] for c in project.calls()] == ["init", "plan"]
    (web / ".terraform").mkdir()
    assert environment.plan_exit_code(web, "-refresh=false") == 0
    assert [c[1] for c in project.calls()] == ["init", "plan", "plan"]
    project.configure(fail={"dev-web": ["plan"]}, errors={"dev-web": 'Backend initialization required, please run "terraform init"'})
    with pytest.raises(environment.DeployError):
        environment.plan_exit_code(web)
    assert [c[1] for c in project.calls()] == ["init", "plan", "plan", "plan", "init", "plan"]


@pytest.mark.parametrize("answer", ["yes", "", EOFError], ids=["yes-is-not-the-name", "empty", "no-input"])
def test_destroy_without_the_environments_name_destroys_nothing_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: object
) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)

    def read(prompt: str) -> str:
        if answer is EOFError:
            raise EOFError
        return str(answer)

    code, out = project.run("destroy", capsys, read=read)
    assert code == 3
    assert project.calls() == []
    assert "Not confirmed: nothing was destroyed." in out


def test_auto_approve_destroys_without_asking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    code, _ = project.run("destroy", capsys, auto_approve=True, read=lambda prompt: pytest.fail("asked"))
    assert code == 0
    assert len(project.calls("destroy")) == 4


def test_plan_ends_with_the_table_and_does_not_plan_stacks_whose_platform_has_no_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    project.configure(empty=["dev-platform"], plans={"dev-platform": {"resource_changes": [change(["create"])] * 108}})
    code, out = project.run("plan", capsys)
    assert code == 0, out
    assert [stack for stack, *_ in project.calls("plan")] == ["dev-platform"]
    progress, table = out.split("\nstack ", 1)
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert rows["dev-platform"].split() == ["dev-platform", "108", "0", "0", "not", "deployed", "yet"]
    for stack in ("dev-web", "dev-worker", "dev-api"):  # each would fail on the platform's missing state
        assert rows[stack].split()[1:4] == ["-", "-", "-"]
        assert rows[stack].endswith("not planned: dev-platform not deployed in workspace default yet")
        assert any(line.split()[0] == stack and line.endswith("not planned: dev-platform not deployed in workspace default yet") for line in progress.splitlines()[1:])
    assert rows["total"].split() == ["total", "108", "0", "0"]


def test_a_failed_plan_does_not_stop_the_others_and_the_command_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    project.configure(
        fail={"dev-worker": ["plan"]},
        errors={"dev-worker": "Invalid value for variable"},
        plans={"dev-web": {"resource_changes": [change(["update"]), change(["delete", "create"])]}},
    )
    code, out = project.run("plan", capsys)
    assert code == 1
    assert sorted(stack for stack, *_ in project.calls("plan")) == sorted(DEV)
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("dev-")}
    assert rows["dev-web"] == ["dev-web", "1", "1", "1", "1", "replaced"]
    assert rows["dev-worker"][1:] == ["-", "-", "-", "FAILED", "(below)"]
    assert "error: dev-worker: terraform plan failed: Invalid value for variable: The detail. (aws_thing.main)" in out


def test_a_workspace_is_selected_or_created_in_every_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    code, out = project.run("plan", capsys, workspace="pr-42")
    assert code == 0, out
    assert sorted(project.calls("workspace")) == sorted([s, "workspace", "select", "-or-create=true", "pr-42"] for s in DEV)
    assert "planning 4 stacks of dev (workspace pr-42)" in out


def test_services_restrict_the_command_to_their_stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    code, _ = project.run("deploy", capsys, services=["api", "web"])
    assert code == 0
    assert [stack for stack, *_ in project.calls("apply")] == ["dev-web", "dev-api"]
    code, out = project.run("deploy", capsys, services=["shop"])
    assert code == 2
    assert out.strip() == "error: SERVICES: dev has no stack dev-shop in cdktf.out/"


def test_the_cloud_backend_takes_only_the_default_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, {"dev-platform": []}, backend="cloud")
    code, out = project.run("plan", capsys, workspace="pr-42")
    assert code == 2 and project.calls() == []
    assert "backend.type: cloud maps each stack to one HCP Terraform workspace; WORKSPACE=pr-42 needs a local or s3 backend" in out
    code, out = project.run("plan", capsys)
    assert code == 0, out
    assert project.calls("workspace") == []  # HCP Terraform names the workspace itself


def test_without_terraform_or_an_environment_it_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project = FakeProject(tmp_path, monkeypatch, DEV)
    assert environment.run("plan", root=project.root, env="", synth=False) == 2
    assert capsys.readouterr().err.strip() == "error: ENV: name the environment, e.g. ENV=dev (environments/: dev)"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert environment.run("plan", root=project.root, env="dev", synth=False) == 2
    assert capsys.readouterr().err.strip() == "error: terraform is not on PATH (make doctor checks the tools)"


def test_a_configuration_error_stops_make_plan_with_its_one_line(project_copy: Path) -> None:
    """Through the synthesis, as `make plan ENV=dev` runs it: exit 2, main.py's line, nothing else."""
    web = project_copy / "services" / "web" / "service.toml"
    web.write_text(web.read_text().replace("memory = 512", "memory = 4096", 1))
    env = dict(os.environ, PYTHONPATH=str(project_copy))
    result = subprocess.run(
        [sys.executable, "-m", "tools.environment", "plan", "--env", "dev"], cwd=project_copy, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["error: services/web/service.toml: memory: 4096 is not valid with cpu=256 on Fargate (valid: 512, 1024, 2048)"]
    assert not (project_copy / "cdktf.out").exists()


def test_local_deploy_and_destroy_are_the_environments_commands_on_the_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make local-deploy` / `local-destroy` stay thin uses of tools.environment (local mode;
    destroy without asking, then the emulator stops), and the end-to-end test's functions are
    the module's own."""
    import localaws
    from tools import local_deploy

    calls: list[tuple[str, dict[str, Any]]] = []
    stopped: list[Path] = []
    monkeypatch.setattr(environment, "run", lambda action, **kwargs: calls.append((action, kwargs)) or 0)
    monkeypatch.setattr(localaws, "status", lambda state_dir: "http://127.0.0.1:4566")
    monkeypatch.setattr(localaws, "stop_detached", lambda state_dir: stopped.append(Path(state_dir)))
    assert local_deploy.main(["deploy"]) == 0
    assert local_deploy.main(["destroy", "--env", "dev"]) == 0
    assert calls == [
        ("deploy", {"root": ROOT, "env": "dev", "local": True}),
        ("destroy", {"root": ROOT, "env": "dev", "local": True, "auto_approve": True}),
    ]
    assert stopped == [ROOT / ".local"]
    assert capsys.readouterr().out.splitlines() == ["Take it down with: make local-destroy", "==> stopped moto"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (["ENV=dev"], ["plan", "--env", "dev", "--workspace", "", "--services", ""]),
        (
            ["ENV=dev", "WORKSPACE=pr-1", "SERVICES=web,api", "LOCAL=1", "AUTO_APPROVE=1"],
            ["plan", "--env", "dev", "--workspace", "pr-1", "--services", "web,api", "--local", "--auto-approve"],
        ),
        (["ENV=prod", "LOCAL=0", "AUTO_APPROVE=no"], ["plan", "--env", "prod", "--workspace", "", "--services", ""]),
    ],
    ids=["env", "every-option", "off-values"],
)
def test_make_passes_its_variables_to_the_module(variables: list[str], expected: list[str]) -> None:
    """`make plan ENV=... WORKSPACE=... SERVICES=... LOCAL=1 AUTO_APPROVE=1` (dry run: printed, not run)."""
    import shlex

    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "SERVICES", "ENV", "WORKSPACE", "LOCAL", "AUTO_APPROVE")}
    shown = subprocess.run(["make", "-n", "-o", "install", "plan", *variables], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    words = shlex.split(shown.stdout.replace("\\\n", " "))
    assert words[words.index("tools.environment") + 1 :] == expected
