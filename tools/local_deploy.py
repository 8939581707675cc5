"""Deploy an environment to moto on loopback, and take it down again.

    python -m tools.local_deploy deploy [--env dev]    # make local-deploy
    python -m tools.local_deploy destroy [--env dev]   # make local-destroy

`deploy` starts the emulator (pid, port and log under .local/), synthesizes the
environment in local mode (every AWS endpoint of the provider points at the emulator)
into .local/cdktf.out, applies the platform stack and then the service stacks, and
prints the ALB's DNS name and the service URLs. State files live in .local/ too.
`destroy` destroys the service stacks, then the platform, and stops the emulator.
The same functions drive the end-to-end test (tests/test_e2e.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ".local"
TERRAFORM_TIMEOUT = 900  # seconds per terraform command; RDS alone takes ~80 s on moto


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class Result:
    stack: str
    seconds: float
    output: str


def log(message: str) -> None:
    print(message, flush=True)


def synthesize(root: Path, outdir: Path, *, endpoint: str, env_name: str) -> list[str]:
    """Synthesize one environment in local mode; returns the stack names, platform first."""
    # A fresh folder: stacks of removed services must not linger (their state does, in
    # the state folder, until they are destroyed).
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        CDKTF_OUTDIR=str(outdir),
        PLATFORM_ENVIRONMENTS=env_name,
        PLATFORM_LOCAL_ENDPOINT=endpoint,
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    result = subprocess.run([sys.executable, "-O", "main.py"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise DeployError(f"synthesis failed:\n{result.stderr[-4000:]}")
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir() if (p / "cdk.tf.json").is_file())
    platform = f"{env_name}-platform"
    if platform not in stacks:
        raise DeployError(f"synthesis produced no {platform} stack")
    return [platform] + [s for s in stacks if s != platform]


def terraform(stack_dir: Path, *args: str, check: bool = True, timeout: int = TERRAFORM_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_INPUT="0")
    result = subprocess.run(
        ["terraform", *args, "-no-color"], cwd=stack_dir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise DeployError(f"terraform {args[0]} failed in {stack_dir.name}:\n{(result.stdout + result.stderr)[-6000:]}")
    return result


def init(stack_dir: Path) -> None:
    terraform(stack_dir, "init", "-input=false")


def apply(stack_dir: Path) -> Result:
    start = time.monotonic()
    init(stack_dir)
    result = terraform(stack_dir, "apply", "-auto-approve", "-input=false")
    return Result(stack_dir.name, time.monotonic() - start, result.stdout)


def destroy(stack_dir: Path) -> Result:
    start = time.monotonic()
    init(stack_dir)
    result = terraform(stack_dir, "destroy", "-auto-approve", "-input=false")
    return Result(stack_dir.name, time.monotonic() - start, result.stdout)


def plan_changes(stack_dir: Path, *args: str) -> list[dict[str, object]]:
    """The resource changes a fresh plan proposes (empty when the stack has converged);
    `args` are more plan options, such as `-var name=value`."""
    init(stack_dir)
    planned = terraform(
        stack_dir, "plan", "-input=false", "-out=converge.tfplan", "-detailed-exitcode", *args, check=False
    )
    if planned.returncode not in (0, 2):  # 2: the plan has changes
        raise DeployError(f"terraform plan failed in {stack_dir.name}:\n{(planned.stdout + planned.stderr)[-6000:]}")
    shown = terraform(stack_dir, "show", "-json", "converge.tfplan")
    plan = json.loads(shown.stdout)
    return [
        change
        for change in plan.get("resource_changes", [])
        if change["change"]["actions"] not in (["no-op"], ["read"])
    ]


def plan_exit_code(stack_dir: Path) -> int:
    """`terraform plan -detailed-exitcode`: 0 nothing to do, 2 changes (resources or outputs)."""
    init(stack_dir)
    planned = terraform(stack_dir, "plan", "-input=false", "-detailed-exitcode", "-lock=false", check=False)
    if planned.returncode not in (0, 2):
        raise DeployError(f"terraform plan failed in {stack_dir.name}:\n{(planned.stdout + planned.stderr)[-6000:]}")
    return planned.returncode


def outputs(stack_dir: Path) -> dict[str, object]:
    result = terraform(stack_dir, "output", "-json")
    return {name: value["value"] for name, value in json.loads(result.stdout or "{}").items()}


def run_parallel(fn: Callable[[Path], Result], dirs: Iterable[Path], workers: int = 3) -> list[Result]:
    dirs = list(dirs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, dirs))


def waves(stacks_dir: Path, stacks: Sequence[str]) -> list[list[str]]:
    """`stacks` in dependency order, as groups that may run side by side: the platform, then
    the services, a backend after the services named in its `allow_from` (it adds rules to
    their security groups). The dependencies are CDKTF's, from the synthesized manifest."""
    manifest = json.loads((stacks_dir.parent / "manifest.json").read_text())
    wanted = set(stacks)
    needs = {s: set(manifest["stacks"].get(s, {}).get("dependencies", [])) & wanted for s in stacks}
    order: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(wanted):
        ready = sorted(s for s in wanted - done if needs[s] <= done)
        if not ready:
            raise DeployError(f"circular stack dependencies among {sorted(wanted - done)}")
        order.append(ready)
        done |= set(ready)
    return order


def deploy_all(stacks_dir: Path, stacks: Sequence[str]) -> list[Result]:
    """In dependency order; the stacks of one wave side by side."""
    results = []
    for wave in waves(stacks_dir, stacks):
        log(f"==> applying {', '.join(wave)}")
        for result in run_parallel(apply, (stacks_dir / s for s in wave)):
            log(f"    {result.stack}: {result.seconds:.0f} s")
            results.append(result)
    return results


def destroy_all(stacks_dir: Path, stacks: Sequence[str]) -> list[Result]:
    """Reverse dependency order: the service stacks (callers last), then the platform."""
    results = []
    for wave in reversed(waves(stacks_dir, stacks)):
        log(f"==> destroying {', '.join(wave)}")
        results += run_parallel(destroy, (stacks_dir / s for s in wave))
    return results


def report(stacks_dir: Path, stacks: Sequence[str]) -> list[str]:
    lines = []
    platform = outputs(stacks_dir / stacks[0])
    lines.append(f"ALB DNS name: {platform.get('alb_dns_name')}")
    for stack in stacks[1:]:
        out = outputs(stacks_dir / stack)
        lines.append(f"{stack}: {out.get('url') or out.get('schedule') or '(no URL)'}")  # a job: its schedule
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from localaws import start_detached, status, stop_detached

    parser = argparse.ArgumentParser(prog="python -m tools.local_deploy")
    parser.add_argument("action", choices=("deploy", "destroy"))
    parser.add_argument("--env", default="dev")
    args = parser.parse_args(argv)
    state_dir = ROOT / STATE_DIR
    outdir = state_dir / "cdktf.out"
    stacks_dir = outdir / "stacks"
    try:
        if args.action == "deploy":
            endpoint = start_detached(state_dir)
            log(f"==> moto is listening on {endpoint} (log: {STATE_DIR}/moto.log)")
            stacks = synthesize(ROOT, outdir, endpoint=endpoint, env_name=args.env)
            start = time.monotonic()
            deploy_all(stacks_dir, stacks)
            log(f"==> applied {len(stacks)} stacks in {time.monotonic() - start:.0f} s")
            for line in report(stacks_dir, stacks):
                log(line)
            log("Take it down with: make local-destroy")
        else:
            endpoint = status(state_dir)
            if endpoint is None:
                log("moto is not running; nothing to destroy")
                return 0
            stacks = sorted(p.name for p in stacks_dir.iterdir()) if stacks_dir.is_dir() else []
            platform = f"{args.env}-platform"
            if platform in stacks:
                destroy_all(stacks_dir, [platform] + [s for s in stacks if s != platform and s.startswith(f"{args.env}-")])
            stop_detached(state_dir)
            log("==> destroyed and stopped moto")
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
