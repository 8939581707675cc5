"""Plan, deploy or destroy one environment: its stacks with Terraform, in dependency order.

    make plan    ENV=dev [WORKSPACE=pr-42] [SERVICES=web,api] [LOCAL=1]
    make deploy  ENV=dev [WORKSPACE=pr-42] [SERVICES=web,api] [LOCAL=1]
    make destroy ENV=dev [WORKSPACE=pr-42] [SERVICES=web,api] [LOCAL=1] [AUTO_APPROVE=1]

    python -m tools.environment {plan,deploy,destroy} --env dev [--workspace pr-42]
        [--services web,api] [--local] [--auto-approve] [--no-synth]

Each command first synthesizes the environment (main.py, as `make synth ENVS=dev` does:
into a fresh folder, then into cdktf.out/ in place, so each stack folder keeps Terraform's
`.terraform/`, lock file and plans), then runs Terraform in every stack folder: `init`,
`workspace select -or-create` (the workspace, `default` unless WORKSPACE or TF_WORKSPACE
names one; the cloud backend has one HCP Terraform workspace per stack and takes only
`default`), then the command. The order is the one CDKTF records in the manifest: the platform
first, then the services, a backend after the callers named in its `allow_from` (it adds
rules to their security groups); each stack starts as soon as the stacks it waits for are done,
up to three side by side.

- `plan` plans every stack (`terraform plan -out`, read back with `terraform show -json`) and
  ends with one table: stack, to add, to change, to destroy. A replaced resource counts once
  in "to add" and once in "to destroy", as in Terraform's own `Plan:` line; the note column
  says how many were replaced, imported or moved. A stack whose dependency has no state yet
  in the workspace is not planned (its remote-state read would fail): the note says so.
  A failed plan does not stop the others.
- `deploy` applies them (`terraform apply -auto-approve`), one progress line per stack with
  its time, and stops at the first failure, naming the stack and Terraform's error: nothing
  more starts, the stacks already running finish.
- `destroy` asks for the environment's name as confirmation (AUTO_APPROVE=1 skips it), then
  destroys in reverse order, services first, and stops at the first failure.

SERVICES=web,api restricts a command to those services' stacks (the platform is left alone).
`--local` (LOCAL=1) does the same against the emulator of `make local-deploy` (moto on
loopback, its state and stacks under .local/): `deploy` starts it if it is not running.
Terraform's full output of each stack goes to <state>/logs/<env>/<stack>.<command>.log
(.build/ or .local/); a failure prints the first error Terraform reported.

Exit codes:
  0  done (`plan`: whether or not it found changes)
  1  Terraform failed on a stack (named, with its error), or the synthesis crashed
  2  the command line or the configuration is wrong (one line: file, field, message)
  3  `destroy` was not confirmed: nothing was destroyed

tools/local_deploy.py (`make local-deploy`) and the end-to-end test (tests/test_e2e.py) run
`Environment` as `make deploy LOCAL=1` does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE = ".local"  # the emulator's pid, port and log, its stacks and their state
TERRAFORM_TIMEOUT = 900  # seconds per terraform command on the emulator (RDS alone takes ~80 s)
AWS_TIMEOUT = 4 * 3600  # on AWS a Multi-AZ database or a NAT gateway takes many minutes
PLAN_FILE = "environment.tfplan"
WORKERS = 3  # stacks of one step side by side: each mostly waits on the AWS API

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_CONFIRMED = 0, 1, 2, 3


class DeployError(RuntimeError):
    """A synthesis or a Terraform command failed. `stack` names the stack (None for the
    synthesis), `reason` is the short cause to print, `output` Terraform's whole output."""

    def __init__(self, message: str, *, stack: str | None = None, reason: str = "", output: str = "", exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.stack = stack
        self.reason = reason or message
        self.output = output
        self.exit_code = exit_code


@dataclass(frozen=True)
class Result:
    stack: str
    seconds: float
    output: str


def log(message: str) -> None:
    print(message, flush=True)


# --- synthesis ------------------------------------------------------------------------------
def synthesize(
    root: Path,
    outdir: Path,
    *,
    env_name: str,
    endpoint: str | None = None,
    services: Sequence[str] = (),
    prune: bool = True,
) -> list[str]:
    """Synthesize one environment (or only the stacks of `services`) with main.py into a fresh
    folder, then install it into `outdir` in place (tools.stacks.install: each stack folder
    keeps Terraform's own files). With `endpoint`, every AWS API of the provider points at the
    emulator there. `prune` removes the folders of the environment's stacks that no longer
    exist. Returns the synthesized stacks, platform first. A configuration error raises
    DeployError with exit code 2 and main.py's one-line message."""
    from tools.stacks import install

    fresh = outdir.parent / ".build" / f"synth-{env_name}"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CDKTF_OUTDIR=str(fresh), PLATFORM_ENVIRONMENTS=env_name, PLATFORM_SERVICES=",".join(services))
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.pop("PLATFORM_LOCAL_ENDPOINT", None)
    if endpoint:
        env["PLATFORM_LOCAL_ENDPOINT"] = endpoint
    result = subprocess.run([sys.executable, "-O", "main.py"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    for line in result.stderr.splitlines():  # the load's warnings ("warning: file: field: ...")
        if result.returncode == 0 and line.strip():
            print(line, file=sys.stderr)
    if result.returncode != 0:
        shutil.rmtree(fresh, ignore_errors=True)
        text = result.stderr.strip() or result.stdout.strip()
        if result.returncode == 2:  # main.py: the configuration is wrong, one line says where
            raise DeployError(text, reason=text, exit_code=EXIT_USAGE)
        raise DeployError(f"synthesis failed (main.py exited {result.returncode}):\n{text[-4000:]}", output=text)
    names = install(fresh, outdir, prune=prune)
    platform = f"{env_name}-platform"
    return [s for s in names if s == platform] + [s for s in names if s != platform]


# --- terraform ------------------------------------------------------------------------------
def terraform_env() -> dict[str, str]:
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_INPUT="0")
    # The workspace is selected in each stack folder (`workspace select`); TF_WORKSPACE would
    # override that selection and make `workspace select` fail.
    env.pop("TF_WORKSPACE", None)
    return env


def terraform(stack_dir: Path, *args: str, check: bool = True, timeout: int = TERRAFORM_TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["terraform", *args, "-no-color"], cwd=stack_dir, env=terraform_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        raise DeployError(
            f"terraform {args[0]} did not finish within {timeout} s in {stack_dir.name}",
            stack=stack_dir.name,
            reason=f"terraform {args[0]} did not finish within {timeout} s",
            output=output,
        ) from None
    if check and result.returncode != 0:
        output = result.stdout + result.stderr
        raise DeployError(
            f"terraform {args[0]} failed in {stack_dir.name}:\n{output[-6000:]}",
            stack=stack_dir.name,
            reason=f"terraform {args[0]} failed: {first_error(output)}",
            output=output,
        )
    return result


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def init(stack_dir: Path, timeout: int = TERRAFORM_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return terraform(stack_dir, "init", "-input=false", timeout=timeout)


def _plan(stack_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`terraform plan -detailed-exitcode` with `args` (which name it), initializing the folder
    first only where it needs it: a folder Terraform has not initialized, or a plan that stops
    asking for `terraform init` (a new provider or backend setting). Each init costs a second
    or two, and a re-planned stack seldom needs one."""
    if not (stack_dir / ".terraform").is_dir():
        init(stack_dir)
    planned = terraform(stack_dir, "plan", *args, check=False)
    if planned.returncode == 1 and "terraform init" in planned.stderr:
        init(stack_dir)
        planned = terraform(stack_dir, "plan", *args, check=False)
    if planned.returncode not in (0, 2):  # -detailed-exitcode: 2 is a plan with changes
        raise DeployError(f"terraform plan failed in {stack_dir.name}:\n{(planned.stdout + planned.stderr)[-6000:]}", stack=stack_dir.name)
    return planned


def plan_changes(stack_dir: Path, *args: str) -> list[dict[str, Any]]:
    """The resource changes a fresh plan proposes (empty when the stack has converged);
    `args` are more plan options, such as `-var name=value`."""
    planned = _plan(stack_dir, "-input=false", "-out=converge.tfplan", "-detailed-exitcode", *args)
    if planned.returncode == 0:  # nothing to do: no need to read the plan back (`show` loads the provider's schema, seconds)
        return []
    shown = terraform(stack_dir, "show", "-json", "converge.tfplan")
    plan = json.loads(shown.stdout)
    return [change for change in plan.get("resource_changes", []) if change["change"]["actions"] not in (["no-op"], ["read"])]


def plan_exit_code(stack_dir: Path, *args: str) -> int:
    """`terraform plan -detailed-exitcode`: 0 nothing to do, 2 changes (resources or outputs);
    `args` are more plan options, such as `-refresh=false`."""
    return _plan(stack_dir, "-input=false", "-detailed-exitcode", "-lock=false", *args).returncode


def outputs(stack_dir: Path) -> dict[str, object]:
    result = terraform(stack_dir, "output", "-json")
    return {name: value["value"] for name, value in json.loads(result.stdout or "{}").items()}


def run_parallel(fn: Callable[[Path], Result], dirs: Iterable[Path], workers: int = WORKERS) -> list[Result]:
    dirs = list(dirs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, dirs))


def dependencies(stacks_dir: Path, stacks: Sequence[str]) -> dict[str, set[str]]:
    """Each stack's dependencies among `stacks`, as CDKTF recorded them in the manifest."""
    manifest = json.loads((stacks_dir.parent / "manifest.json").read_text())
    wanted = set(stacks)
    return {s: set(manifest["stacks"].get(s, {}).get("dependencies", [])) & wanted for s in stacks}


def waves(stacks_dir: Path, stacks: Sequence[str]) -> list[list[str]]:
    """`stacks` in dependency order, as groups that may run side by side: the platform, then
    the services, a backend after the services named in its `allow_from` (it adds rules to
    their security groups). The dependencies are CDKTF's, from the synthesized manifest."""
    needs = dependencies(stacks_dir, stacks)
    wanted = set(stacks)
    order: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(wanted):
        ready = sorted(s for s in wanted - done if needs[s] <= done)
        if not ready:
            raise DeployError(f"circular stack dependencies among {sorted(wanted - done)}")
        order.append(ready)
        done |= set(ready)
    return order


R = TypeVar("R")


def reverse(needs: dict[str, set[str]]) -> dict[str, set[str]]:
    """The dependencies of a destroy: a stack goes once every stack that needs it has gone."""
    return {stack: {other for other, wanted in needs.items() if stack in wanted} for stack in needs}


def run_graph(
    needs: dict[str, set[str]],
    fn: Callable[[str], R],
    *,
    failed: Callable[[R], bool] = lambda result: False,
    done: Callable[[R], None] = lambda result: None,
    workers: int = WORKERS,
) -> tuple[list[R], list[str]]:
    """`fn` on every stack of `needs`, each as soon as the stacks it needs are done: not when
    its whole wave is done, so a backend waiting only for its caller's stack does not wait for
    a slow job stack beside that caller. Up to `workers` side by side (each mostly waits on the
    AWS API). After a failure (an exception, or `failed(result)`) nothing more starts; the
    running ones finish. Returns the results in the order they finished and the stacks never
    started; an exception is raised again once the running ones have finished."""
    results: list[R] = []
    finished: set[str] = set()
    running: dict[Future[R], str] = {}
    waiting = dict(needs)
    error: BaseException | None = None
    stop = False
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            if not stop:
                for stack in sorted(s for s, wanted in waiting.items() if wanted <= finished):
                    running[pool.submit(fn, stack)] = stack
                    del waiting[stack]
            if not running:
                break
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(ready, key=lambda f: running[f]):
                stack = running.pop(future)
                try:
                    result = future.result()
                except BaseException as exc:  # noqa: BLE001 (raised again below, once the others are done)
                    error, stop = error or exc, True
                    continue
                results.append(result)
                done(result)
                if failed(result):
                    stop = True
                else:
                    finished.add(stack)
    if error is not None:
        raise error
    return results, sorted(waiting)


# --- what Terraform says --------------------------------------------------------------------
_BOX = re.compile(r"^[╷╵]\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def first_error(output: str, limit: int = 400) -> str:
    """The first error of a Terraform run on one line: its summary, then the first paragraph
    of its detail, and the resource it concerns (`with aws_x.y`). Terraform writes each
    diagnostic as `Error: <summary>`, a blank line, indented context (`with ...`, `on file
    line n`, the source and the values), a blank line, the detail; with colour, inside a box
    of `╷ │ ╵`. Without any `Error:` line: the last non-empty lines."""
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    lines = [line[2:] if line.startswith("│ ") else ("" if line == "│" or _BOX.match(line) else line) for line in lines]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), None)
    if start is None:
        tail = [line.strip() for line in lines if line.strip()][-2:]
        return _clip(" ".join(tail) or "no output", limit)
    summary = lines[start][len("Error: ") :].strip()
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith(("Error: ", "Warning: ")):
            break
        body.append(line)
    paragraphs: list[list[str]] = [[]]
    for line in body:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    address = next((m.group(1) for p in paragraphs for line in p if (m := re.match(r"^\s+with ([^,]+),", line))), None)
    detail = next((p for p in paragraphs if p and not p[0][:1].isspace()), [])
    text = summary if not detail else f"{summary.rstrip('.:')}: {' '.join(line.strip() for line in detail)}"
    if address:
        text += f" ({address})"
    return _clip(text, limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_COUNTS = re.compile(r"(?:Apply|Destroy) complete! Resources: ([^.]*)\.")


def applied_counts(output: str) -> str:
    """`3 added, 1 changed, 0 destroyed` from `terraform apply`/`destroy` (empty if absent)."""
    found = _COUNTS.findall(output)
    return found[-1] if found else ""


@dataclass
class PlanCounts:
    """What one stack's plan does, as Terraform counts it in its `Plan:` line."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    replaced: int = 0
    imported: int = 0
    moved: int = 0
    forgotten: int = 0
    outputs: bool = False

    def note(self) -> str:
        parts = [
            f"{n} {word}"
            for n, word in ((self.replaced, "replaced"), (self.imported, "imported"), (self.moved, "moved"), (self.forgotten, "forgotten"))
            if n
        ]
        if self.outputs and not (self.add or self.change or self.destroy):
            parts.append("outputs change")
        return ", ".join(parts)


def count_changes(plan: dict[str, Any]) -> PlanCounts:
    """Count a `terraform show -json` plan: creates as add, updates as change, deletes as
    destroy, and a replacement (delete+create, either order) as one add and one destroy, as
    Terraform's summary line does. Data-source reads and no-ops count nothing; a no-op that
    imports or moves a resource is noted."""
    counts = PlanCounts()
    for change in plan.get("resource_changes", []):
        if change.get("mode", "managed") != "managed":
            continue
        actions = change["change"]["actions"]
        if change["change"].get("importing"):
            counts.imported += 1
        if change.get("previous_address") and change["previous_address"] != change.get("address"):
            counts.moved += 1
        if actions == ["create"]:
            counts.add += 1
        elif actions == ["update"]:
            counts.change += 1
        elif actions == ["delete"]:
            counts.destroy += 1
        elif sorted(actions) == ["create", "delete"]:
            counts.add += 1
            counts.destroy += 1
            counts.replaced += 1
        elif actions == ["forget"]:
            counts.forgotten += 1
    counts.outputs = any(c["actions"] != ["no-op"] for c in plan.get("output_changes", {}).values())
    return counts


def _module_resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found += _module_resources(child)
    return found


# --- one environment ------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Where and what: the project, the environment, its synthesized stacks (`outdir`), the
    folder for logs (`state_dir`), the workspace, the services, the emulator's endpoint."""

    root: Path
    env: str
    outdir: Path
    state_dir: Path
    workspace: str = "default"
    services: tuple[str, ...] = ()
    endpoint: str | None = None
    timeout: int = AWS_TIMEOUT

    @property
    def stacks_dir(self) -> Path:
        return self.outdir / "stacks"

    @property
    def where(self) -> str:
        place = f" on the emulator ({self.endpoint})" if self.endpoint else ""
        return f"{self.env} (workspace {self.workspace}){place}"

    def log_file(self, stack: str, action: str) -> Path:
        return self.state_dir / "logs" / self.env / f"{stack}.{action}.log"


@dataclass
class StackRun:
    stack: str
    seconds: float = 0.0
    output: str = ""
    counts: PlanCounts | None = None
    had_state: bool | None = None  # plan: whether the workspace held any resource of the stack
    applied: str = ""
    error: DeployError | None = None
    skipped: str = ""


def backend_of(stack_dir: Path) -> str:
    """`local`, `s3` or `cloud`: the stack's backend as synthesized."""
    block = json.loads((stack_dir / "cdk.tf.json").read_text()).get("terraform", {})
    if "cloud" in block:
        return "cloud"
    return next(iter(block.get("backend", {"local": {}})))


def _prepare(target: Target, stack_dir: Path, out: list[str]) -> None:
    out.append(init(stack_dir, target.timeout).stdout)
    if backend_of(stack_dir) != "cloud":
        selected = terraform(stack_dir, "workspace", "select", "-or-create=true", target.workspace, timeout=target.timeout)
        out.append(selected.stdout)


def _step(target: Target, stack: str, action: str) -> StackRun:
    """One stack: init, select the workspace, then plan / apply / destroy. Never raises: a
    failure is returned in `error`, with everything Terraform wrote kept for the log."""
    stack_dir = target.stacks_dir / stack
    run = StackRun(stack)
    out: list[str] = []
    start = time.monotonic()
    try:
        _prepare(target, stack_dir, out)
        if action == "plan":
            # Before the plan, which fails when the stack reads a platform that has no state.
            run.had_state = has_resources(terraform(stack_dir, "state", "pull", timeout=target.timeout).stdout)
            planned = terraform(stack_dir, "plan", "-input=false", f"-out={PLAN_FILE}", timeout=target.timeout)
            out.append(planned.stdout + planned.stderr)
            run.counts = count_changes(json.loads(terraform(stack_dir, "show", "-json", PLAN_FILE, timeout=target.timeout).stdout))
        else:
            verb = "apply" if action == "deploy" else "destroy"
            done = terraform(stack_dir, verb, "-auto-approve", "-input=false", timeout=target.timeout)
            out.append(done.stdout + done.stderr)
            run.applied = applied_counts(done.stdout)
    except DeployError as exc:
        out.append(exc.output)
        run.error = exc
    run.seconds = time.monotonic() - start
    run.output = "\n".join(part for part in out if part)
    log_file = target.log_file(stack, action)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(run.output)
    return run


def has_resources(state: str) -> bool:
    """Whether a state (`terraform state pull`: empty without one) holds a managed resource."""
    return any(r.get("mode") == "managed" for r in (json.loads(state).get("resources", []) if state.strip() else []))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class Environment:
    """Runs one command over the stacks of one target, printing as it goes."""

    def __init__(self, target: Target, stacks: Sequence[str], *, out: Callable[[str], None] = log) -> None:
        self.target = target
        self.stacks = list(stacks)
        self.needs = dependencies(target.stacks_dir, self.stacks)
        self.order = waves(target.stacks_dir, self.stacks)
        self.width = max((len(s) for s in self.stacks), default=5)
        self.out = out

    def _line(self, run: StackRun, verb: str) -> None:
        name = f"{run.stack:<{self.width}}"
        if run.skipped:
            self.out(f"    {name}  not planned: {run.skipped}")
        elif run.error:
            self.out(f"    {name}  FAILED after {duration(run.seconds)}")
        else:
            extra = f" ({run.applied})" if run.applied else ""
            self.out(f"    {name}  {verb} in {duration(run.seconds)}{extra}")

    def _failure(self, run: StackRun, action: str, left: Sequence[str]) -> None:
        reason = run.error.reason if run.error else "failed"
        log_file = _relative(self.target.log_file(run.stack, action), self.target.root)
        self.out(f"error: {run.stack}: {reason}")
        self.out(f"       full output: {log_file}")
        if left:
            self.out(f"       not {'destroyed' if action == 'destroy' else 'applied'}: {', '.join(left)}")

    def plan(self) -> int:
        self.out(f"==> planning {_count(len(self.stacks), 'stack')} of {self.target.where}")
        runs: dict[str, StackRun] = {}
        blocked: dict[str, set[str]] = {}  # the undeployed stacks that keep a stack from planning

        def plan_one(stack: str) -> StackRun:  # its dependencies' runs are in `runs` by now (run_graph)
            blocked[stack] = set().union(*({d} if runs[d].had_state is False else blocked[d] for d in self.needs[stack]))
            missing = sorted(blocked[stack])
            if missing:
                return StackRun(stack, skipped=f"{', '.join(missing)} not deployed in workspace {self.target.workspace} yet")
            return _step(self.target, stack, "plan")

        def planned(run: StackRun) -> None:
            runs[run.stack] = run
            self._line(run, "planned")

        run_graph(self.needs, plan_one, done=planned)  # a failed plan does not stop the others
        for line in plan_table([runs[s] for s in self.stacks]):
            self.out(line)
        failed = [runs[s] for s in self.stacks if runs[s].error]
        for run in failed:
            self._failure(run, "plan", [])
        if not failed:
            plan_path = _relative(self.target.stacks_dir, self.target.root)
            self.out(f"Saved plans: {plan_path}/<stack>/{PLAN_FILE} (terraform -chdir=... show {PLAN_FILE} for the details)")
        return EXIT_FAILED if failed else EXIT_OK

    def apply(self, action: str) -> int:
        """`deploy` (dependency order) or `destroy` (reverse), each stack as soon as the stacks
        it waits for are done, stopping at the first failure."""
        order = self.order if action == "deploy" else list(reversed(self.order))
        verb = "applied" if action == "deploy" else "destroyed"
        flat = ", then ".join(", ".join(wave) for wave in order)
        self.out(f"==> {'deploying' if action == 'deploy' else 'destroying'} {_count(len(self.stacks), 'stack')} of {self.target.where}: {flat}")
        start = time.monotonic()
        needs = self.needs if action == "deploy" else reverse(self.needs)
        runs, left = run_graph(
            needs, lambda stack: _step(self.target, stack, action), failed=lambda run: run.error is not None, done=lambda run: self._line(run, verb)
        )
        failed = [run for run in runs if run.error]
        if failed:
            for n, run in enumerate(failed):
                self._failure(run, action, left if n == len(failed) - 1 else [])
            return EXIT_FAILED
        self.out(f"==> {verb} {_count(len(self.stacks), 'stack')} of {self.target.where} in {duration(time.monotonic() - start)}")
        return EXIT_OK


def plan_table(runs: Sequence[StackRun]) -> list[str]:
    """The plan summary: one row per stack, a total, and what the counts mean."""
    headers = ("stack", "to add", "to change", "to destroy", "note")
    rows: list[tuple[str, ...]] = []
    total = PlanCounts()
    for run in runs:
        if run.counts is None:
            note = "FAILED (below)" if run.error else f"not planned: {run.skipped}"
            rows.append((run.stack, "-", "-", "-", note))
            continue
        c = run.counts
        total.add, total.change, total.destroy = total.add + c.add, total.change + c.change, total.destroy + c.destroy
        note = ", ".join(part for part in ("not deployed yet" if run.had_state is False else "", c.note()) if part)
        rows.append((run.stack, str(c.add), str(c.change), str(c.destroy), note))
    rows.append(("total", str(total.add), str(total.change), str(total.destroy), ""))
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(4)]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in (1, 2, 3)]
        return ("  ".join(cells) + ("  " + row[4] if row[4] else "")).rstrip()

    lines = [fmt(headers), *(fmt(row) for row in rows)]
    lines.append('A replaced resource counts once in "to add" and once in "to destroy", as in Terraform\'s "Plan:" line.')
    return lines


# --- the command ------------------------------------------------------------------------------
def _confirm(target: Target, order: list[list[str]], read: Callable[[str], str]) -> bool:
    flat = ", then ".join(", ".join(wave) for wave in reversed(order))
    print(f"This destroys every resource of {target.where}: {flat}.", flush=True)
    try:
        answer = read(f"Type the environment's name ({target.env}) to confirm: ")
    except EOFError:
        answer = ""
    return answer.strip() == target.env


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def local_endpoint(state_dir: Path, *, start: bool) -> str | None:
    """The emulator's URL: the running one of `state_dir`, or (with `start`) a new one."""
    from localaws import start_detached, status

    running = status(state_dir)
    if running or not start:
        return running
    endpoint = start_detached(state_dir)
    log(f"==> moto is listening on {endpoint} (log: {_relative(state_dir / 'moto.log', ROOT)})")
    return endpoint


def run(
    action: str,
    *,
    root: Path,
    env: str,
    workspace: str = "default",
    services: Sequence[str] = (),
    local: bool = False,
    auto_approve: bool = False,
    synth: bool = True,
    read: Callable[[str], str] = input,
) -> int:
    """Plan, deploy or destroy `env`; returns the exit code (module docstring)."""
    if not env:
        known = ", ".join(sorted(p.stem for p in (root / "environments").glob("*.toml")))
        print(f"error: ENV: name the environment, e.g. ENV=dev (environments/: {known})", file=sys.stderr)
        return EXIT_USAGE
    if shutil.which("terraform") is None:
        print("error: terraform is not on PATH (make doctor checks the tools)", file=sys.stderr)
        return EXIT_USAGE
    state_dir = root / LOCAL_STATE if local else root / ".build"
    outdir = root / LOCAL_STATE / "cdktf.out" if local else root / "cdktf.out"
    endpoint = None
    if local:
        endpoint = local_endpoint(root / LOCAL_STATE, start=action == "deploy")
        if endpoint is None:
            print("error: the emulator is not running (make local-deploy starts it)", file=sys.stderr)
            return EXIT_USAGE
    target = Target(
        root=root,
        env=env,
        outdir=outdir,
        state_dir=state_dir,
        workspace=workspace or "default",
        services=tuple(services),
        endpoint=endpoint,
        timeout=TERRAFORM_TIMEOUT if local else AWS_TIMEOUT,
    )
    try:
        stacks = _stacks(target, action, synth=synth)
    except DeployError as exc:
        print(exc.reason if exc.exit_code == EXIT_USAGE else f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not stacks:
        print(f"error: no stacks of {env} in {_relative(outdir, root)}/ (make synth ENVS={env})", file=sys.stderr)
        return EXIT_USAGE
    cloud = [s for s in stacks if backend_of(target.stacks_dir / s) == "cloud"]
    if cloud and target.workspace != "default":
        print(
            f"error: environments/{env}.toml: backend.type: cloud maps each stack to one HCP Terraform workspace; "
            f"WORKSPACE={target.workspace} needs a local or s3 backend",
            file=sys.stderr,
        )
        return EXIT_USAGE
    environment = Environment(target, stacks)
    if action == "plan":
        return environment.plan()
    if action == "destroy" and not auto_approve and not _confirm(target, environment.order, read):
        print("Not confirmed: nothing was destroyed.", file=sys.stderr)
        return EXIT_NOT_CONFIRMED
    code = environment.apply(action)
    if code == EXIT_OK and action == "deploy" and local:
        for line in emulator_report(target, stacks):
            log(line)
    return code


def _stacks(target: Target, action: str, *, synth: bool) -> list[str]:
    """The stacks to work on, platform first: synthesized now, or (`synth=False`) as they are
    in the manifest. `destroy` keeps the folders of stacks no longer in the configuration, so
    a removed service is destroyed with the rest."""
    if synth:
        synthesized = synthesize(
            target.root,
            target.outdir,
            env_name=target.env,
            endpoint=target.endpoint,
            services=target.services,
            prune=not target.services and action != "destroy",
        )
        if action != "destroy":
            return synthesized
    manifest_path = target.outdir / "manifest.json"
    known = json.loads(manifest_path.read_text())["stacks"] if manifest_path.is_file() else {}
    present = sorted(s for s in known if s.startswith(f"{target.env}-") and (target.stacks_dir / s / "cdk.tf.json").is_file())
    if target.services:
        wanted = [f"{target.env}-{name}" for name in target.services]
        unknown = [w for w in wanted if w not in present]
        if unknown:
            raise DeployError(
                f"error: SERVICES: {target.env} has no stack {unknown[0]} in {_relative(target.outdir, target.root)}/",
                exit_code=EXIT_USAGE,
            )
        present = wanted
    platform = f"{target.env}-platform"
    return [s for s in present if s == platform] + sorted(s for s in present if s != platform)


# --- the emulator's honest report -------------------------------------------------------------
# What a reader looks for among a stack's resources, and the attribute that names each one.
KEY_RESOURCES = {
    "aws_vpc": ("VPC", "cidr_block"),
    "aws_lb": ("load balancer", "name"),
    "aws_ecs_cluster": ("ECS cluster", "name"),
    "aws_db_instance": ("database", "identifier"),
    "aws_ecs_service": ("ECS service", "name"),
    "aws_ecr_repository": ("ECR repository", "name"),
    "aws_sqs_queue": ("queue", "name"),
    "aws_codepipeline": ("pipeline", "name"),
    "aws_scheduler_schedule": ("schedule", "schedule_expression"),  # a job has no URL: its schedule
}


def created(stack_dir: Path) -> tuple[int, list[str]]:
    """How many resources the stack's state holds, and the key ones by their AWS names."""
    state = json.loads(terraform(stack_dir, "show", "-json").stdout or "{}")
    resources = [r for r in _module_resources(state.get("values", {}).get("root_module", {})) if r.get("mode") == "managed"]
    named = []
    for kind, (label, attribute) in KEY_RESOURCES.items():
        for resource in resources:
            if resource["type"] == kind:
                named.append(f"{label} {resource.get('values', {}).get(attribute) or resource['name']}")
    return len(resources), named


def emulator_report(target: Target, stacks: Sequence[str]) -> list[str]:
    """What a local deploy made, said as it is: moto answers the AWS APIs and keeps what
    Terraform created, but runs nothing, so no URL answers."""
    lines = [
        "The emulator answers AWS API calls and keeps what Terraform created, but runs nothing: no container",
        "starts, and the load balancer and the service URLs do not answer. Created, per stack:",
    ]
    for stack in stacks:
        count, named = created(target.stacks_dir / stack)
        lines.append(f"  {stack:<{max(len(s) for s in stacks)}}  {count:>3} resources" + (f": {', '.join(named)}" if named else ""))
    stacks_dir = _relative(target.stacks_dir, target.root)
    lines.append(f"Look closer: terraform -chdir={stacks_dir}/<stack> state list, or an AWS client with --endpoint-url {target.endpoint}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.environment",
        description="Plan, deploy or destroy one environment's stacks in dependency order (see the module's docstring).",
    )
    parser.add_argument("action", choices=("plan", "deploy", "destroy"))
    parser.add_argument("--env", default="", help="the environment (environments/<env>.toml)")
    parser.add_argument("--workspace", default="", help="Terraform workspace (default: $TF_WORKSPACE or default)")
    parser.add_argument("--services", default="", help="only these services' stacks, comma-separated")
    parser.add_argument("--local", action="store_true", help="against the emulator of make local-deploy (.local/)")
    parser.add_argument("--auto-approve", action="store_true", help="destroy without asking")
    parser.add_argument("--no-synth", action="store_true", help="use the stacks already synthesized")
    args = parser.parse_args(argv)
    try:
        return run(
            args.action,
            root=ROOT,
            env=args.env.strip(),
            workspace=args.workspace.strip() or os.environ.get("TF_WORKSPACE", "") or "default",
            services=_names(args.services),
            local=args.local,
            auto_approve=args.auto_approve,
            synth=not args.no_synth,
        )
    except KeyboardInterrupt:
        print("interrupted: Terraform was asked to stop; a stack may hold a lock or be half applied", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
