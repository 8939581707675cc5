"""Synthesis benchmark: wall time and peak memory, app vs floor, 3 vs 10 vs 50 services.

    python -m tools.bench [--runs N]      # make bench

Each case runs in a fresh process (as `cdktf synth` would), N times; the best wall time
counts. Peak memory is the largest sum of resident memory over the whole process tree
(Python plus the node process that runs the jsii kernel), sampled every 20 ms.

  app      the default app: every environment, the three sample services
  floor    cdktf + the provider assembly + one resource: what any synthesis costs
  10, 50   the default app with generated services added, in a temporary copy
  stock    the default app with the import and kernel speed-ups off (PLATFORM_FAST_IMPORTS=0): what a
           stock CDKTF Python app of ours costs; shown for reference, not part of the ratios
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """\
import gc, sys
gc.disable()  # as main.py runs
sys.path.insert(0, {root!r})
import infra  # the same speed-ups as the app
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "floor")
AwsProvider(stack, "aws", region="us-east-1")
S3Bucket(stack, "bucket", bucket="floor-bucket")
app.synth()
gc.freeze()
"""

KINDS = (
    ("web", 'port = 8080\n[routes]\npaths = ["/{name}/*"]\n'),
    ("backend", "port = 8081\n"),
    ("worker", "port = 8082\n"),
)

TARGETS = {"app/floor": 1.5, "50/3 services": 1.3, "peak MB": 700}


def _tree_rss_kb(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree) of one run."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return wall, peak / 1024


def best(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    results = [measure(cmd, cwd, env) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def project_with_services(target: Path, count: int) -> Path:
    """A copy of the project with generated services added up to `count` in all."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("infra", "environments", "services"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    shutil.copy2(ROOT / "main.py", target / "main.py")
    existing = len([p for p in (target / "services").iterdir() if (p / "service.toml").is_file()])
    for i in range(count - existing):
        kind, extra = KINDS[i % len(KINDS)]
        name = f"gen{i:02d}"
        folder = target / "services" / name
        folder.mkdir()
        (folder / "service.toml").write_text(
            f'kind = "{kind}"\ncpu = 256\nmemory = 512\n' + extra.format(name=name)
        )
        (folder / "Dockerfile").write_text("FROM scratch\n")  # the loader refuses an ecr service without one
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=ROOT / ".build" / "bench.json")
    args = parser.parse_args(argv)
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    env.pop("PLATFORM_ENVIRONMENTS", None)
    env.pop("PLATFORM_LOCAL_ENDPOINT", None)
    py = sys.executable
    rows: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        floor_script = work / "floor.py"
        floor_script.write_text(FLOOR.format(root=str(ROOT)))
        # -O as cdktf.json runs the app: it drops the bindings' per-call runtime type checks.
        rows["floor"] = best([py, "-O", str(floor_script), str(work / "floor.out")], work, env, args.runs)
        rows["app (3 services)"] = best(
            [py, "-O", "main.py"], ROOT, dict(env, CDKTF_OUTDIR=str(work / "app.out")), args.runs
        )
        for count in (10, 50):
            copy = project_with_services(work / f"p{count}", count)
            rows[f"app ({count} services)"] = best(
                [py, "-O", "main.py"], copy, dict(env, CDKTF_OUTDIR=str(work / f"p{count}.out")), args.runs
            )
        stock = best(
            [py, "-O", "main.py"], ROOT, dict(env, CDKTF_OUTDIR=str(work / "stock.out"), PLATFORM_FAST_IMPORTS="0"), 1
        )
    base = len([p for p in (ROOT / "services").iterdir() if (p / "service.toml").is_file()])
    per_service_ms = (rows["app (50 services)"][0] - rows["app (3 services)"][0]) / (50 - base) * 1000
    ratios = {
        "app/floor": rows["app (3 services)"][0] / rows["floor"][0],
        "50/3 services": rows["app (50 services)"][0] / rows["app (3 services)"][0],
        "peak MB": max(mb for _, mb in rows.values()),
    }
    print(f"{'case':<20} {'wall s':>8} {'peak MB':>8}")
    for name, (wall, mb) in rows.items():
        print(f"{name:<20} {wall:>8.2f} {mb:>8.0f}")
    print(f"{'stock app (ref.)':<20} {stock[0]:>8.2f} {stock[1]:>8.0f}   PLATFORM_FAST_IMPORTS=0 (only -O left), 1 run")
    print(f"each added service: {per_service_ms:.0f} ms (its stack in both environments, and its platform parts)")
    print()
    ok = True
    for name, value in ratios.items():
        target = TARGETS[name]
        passed = value <= target
        ok &= passed
        print(f"{name:<20} {value:>8.2f}   target <= {target}   {'ok' if passed else 'MISSED'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": args.runs, "cases": rows, "stock": stock, "per_service_ms": per_service_ms, "ratios": ratios}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
