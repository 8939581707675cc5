"""Synthesis benchmark: wall time and peak memory of the app, what each speed-up saves, targets.

    python -m tools.bench [--runs N] [--target-runs N] [--only figures,savings,targets]   # make bench

Each case runs in a fresh process (as `cdktf synth` would), N times, the cases of a group
in turn (A B C A B C ...) so that a machine slowing down hurts them alike; the median wall
time counts, and CPU time (user + system of Python and the kernel) is shown beside it as
the figure a busy machine disturbs least. A saving is the median over the rounds of
(case - all) / all, each round's two runs made one after the other. Peak memory is the
largest sum of resident memory over the whole process tree (Python plus the node process
that runs the jsii kernel), sampled every 20 ms.

figures   floor    cdktf + the provider assembly + one resource, with the same speed-ups:
                   what any synthesis costs
          app      the default app (`python -O main.py`: every environment, three services)
          10, 50   the same with generated services added, in a temporary copy
savings   the default app, the edit loop (web alone in dev, as in the targets) and a fleet of
          10 services (`parallel` runs only from a weight the default app does not reach) with all
          speed-ups, with none, and with each one removed alone (PLATFORM_SPEEDUPS=all,-<name>;
          `-O` by running without it; the compiled -O bytecode by reading no *.opt-1.pyc from
          site-packages); a speed-up earns its place with at least 10% of the app's, the edit loop's
          or the fleet's time, or of the app's peak memory
targets   issue #11: one service stack alone (PLATFORM_SERVICES=web PLATFORM_ENVIRONMENTS=dev)
          at 3 and at 50 services, all of dev at 50 services; the ratios against the targets,
          each the median over the rounds of the two cases' ratio in that round (paired, as a
          saving is: a drift in the machine's speed between rounds cancels out).
          They mean something only where main.py honours PLATFORM_SERVICES: when it does
          not (it synthesizes the whole environment), the bench says so instead of a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.speedups import NAMES, SWITCH  # noqa: E402  (standard library only at import)
from tools import bytecode  # noqa: E402  (standard library only at import)

FLOOR = """\
import sys
sys.path.insert(0, {root!r})
from infra import speedups
SPEEDUPS = speedups.install(sys.argv[2])  # the same speed-ups as the app
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket

app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "floor")
AwsProvider(stack, "aws", region="us-east-1")
S3Bucket(stack, "bucket", bucket="floor-bucket")
app.synth()
SPEEDUPS.before_exit()
"""

# Runs a script as `python -O <script>` would, but as if `make install` had not compiled the
# optimized bytecode (tools/bytecode.py): no *.opt-1.pyc is read from site-packages (pip
# writes none there, so these are exactly the files it compiled) nor from the project's own
# packages beside the script and, as where PYTHONDONTWRITEBYTECODE is set, none is written.
# The standard library keeps its own.
NO_OPT_BYTECODE = """\
import _frozen_importlib_external as external, os, runpy, site, sys
PROJECT = os.path.dirname(os.path.abspath(sys.argv[1]))
COMPILED = tuple(p.rstrip(os.sep) + os.sep for p in site.getsitepackages())
COMPILED += tuple(os.path.join(PROJECT, name) + os.sep for name in {packages!r})
cache_from_source = external.cache_from_source
def without_compiled_bytecode(path, *args, **kwargs):
    if path.startswith(COMPILED):
        raise NotImplementedError  # importlib then compiles the source and caches nothing
    return cache_from_source(path, *args, **kwargs)
external.cache_from_source = without_compiled_bytecode
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""

KINDS = (
    ("web", 'port = 8080\n[routes]\npaths = ["/{name}/*"]\n'),
    ("backend", "port = 8081\n"),
    ("worker", "port = 8082\n"),
)

FLEET = 10  # services in the savings group's third case: weight 30, two processes (parallel)
EARNS = 0.10  # a speed-up stays where it saves at least this share of the app's time or memory
PER_SERVICE_MS = 150  # issue #11: no more per added service than before the split


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


class Case:
    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], outdir: Path | None = None) -> None:
        self.cmd, self.cwd, self.env, self.outdir = cmd, cwd, env, outdir
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.peak_mb = 0.0

    def run(self) -> None:
        if self.outdir is not None:
            shutil.rmtree(self.outdir, ignore_errors=True)
        start = time.monotonic()
        proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Memory is sampled every 20 ms on a second thread; the wall time is taken when the
        # process ends, not at the next sample (which added 0-20 ms to each run).
        peaks = [0]
        ended = threading.Event()

        def sample() -> None:
            while not ended.wait(0.02):
                peaks[0] = max(peaks[0], _tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        pid, status, usage = os.wait4(proc.pid, 0)  # usage includes the reaped kernel
        wall = time.monotonic() - start
        ended.set()
        sampler.join()
        peak = peaks[0]
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"error: {' '.join(self.cmd)} failed:\n{stderr[-2000:]}")
        if "speedups: " in stderr:  # a fallback: the figures would not be what they say
            print(f"warning: {' '.join(self.cmd)}:\n{stderr.strip()}", file=sys.stderr)
        self.walls.append(wall)
        self.cpus.append(usage.ru_utime + usage.ru_stime)
        self.peak_mb = max(self.peak_mb, peak / 1024)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    def ratio(self, reference: "Case", figure: str = "walls") -> float:
        """Median over the rounds of this case's figure over the reference's, each round's two
        runs made one after the other."""
        pairs = zip(getattr(self, figure), getattr(reference, figure))
        return statistics.median(mine / theirs for mine, theirs in pairs)

    def saving(self, reference: "Case", figure: str = "walls") -> float:
        """Median over the rounds of (this - reference) / reference: what the reference saves."""
        return self.ratio(reference, figure) - 1

    def stacks(self) -> int:
        return len(list((self.outdir / "stacks").iterdir())) if self.outdir and (self.outdir / "stacks").is_dir() else 0


def run_in_turn(cases: dict[str, Case], runs: int) -> dict[str, Case]:
    for _ in range(runs):
        for case in cases.values():
            case.run()
    return cases


def project_with_services(target: Path, count: int) -> Path:
    """A copy of the project with generated services added up to `count` in all, its own
    modules' bytecode compiled as `make install` compiles the project's (tools/bytecode.py)."""
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
    if not bytecode.compile_roots(bytecode.project_roots(target)):
        raise SystemExit(f"error: could not compile the bytecode of {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--runs", type=int, default=4)
    # The targets compare sub-second runs whose ratio swings by about 0.1 from run to run on
    # these shared machines: more rounds, so that the median says where the loop stands.
    parser.add_argument("--target-runs", type=int, default=10)
    parser.add_argument("--only", default="figures,savings,targets", help="comma-separated groups to run")
    parser.add_argument("--json", type=Path, default=ROOT / ".build" / "bench.json")
    args = parser.parse_args(argv)
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    for name in ("PLATFORM_ENVIRONMENTS", "PLATFORM_SERVICES", "PLATFORM_LOCAL_ENDPOINT", SWITCH):
        env.pop(name, None)
    py = sys.executable
    base = len([p for p in (ROOT / "services").iterdir() if (p / "service.toml").is_file()])
    report: dict[str, object] = {"runs": args.runs, "target_runs": args.target_runs}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        projects = {base: ROOT}

        def project(count: int) -> Path:
            if count not in projects:
                projects[count] = project_with_services(work / f"p{count}", count)
            return projects[count]

        def app(label: str, count: int = base, flags: tuple[str, ...] = ("-O",), speedups: str = "all",
                prefix: tuple[str, ...] = (), **extra: str) -> Case:
            out = work / "out" / label.replace(" ", "_").replace("/", "_")
            return Case([py, *flags, *prefix, "main.py"], project(count),
                        dict(env, CDKTF_OUTDIR=str(out), **{SWITCH: speedups}, **extra), out)

        if "figures" in groups:
            floor_script = work / "floor.py"
            floor_script.write_text(FLOOR.format(root=str(ROOT)))
            # -O as cdktf.json runs the app: it drops the bindings' per-call runtime type checks.
            cases = run_in_turn({
                "floor": Case([py, "-O", str(floor_script), str(work / "floor.out"), "all"], work, env),
                f"app ({base} services)": app("app"),
                "app (10 services)": app("app10", 10),
                "app (50 services)": app("app50", 50),
            }, args.runs)
            print(f"{'case':<22} {'wall s':>8} {'CPU s':>7} {'peak MB':>8}")
            for name, case in cases.items():
                print(f"{name:<22} {case.wall:>8.2f} {case.cpu:>7.2f} {case.peak_mb:>8.0f}")
            per_service_ms = (cases["app (50 services)"].wall - cases[f"app ({base} services)"].wall) / (50 - base) * 1000
            passed = per_service_ms <= PER_SERVICE_MS
            ok &= passed
            print(f"each added service: {per_service_ms:.0f} ms (its stacks in both environments)"
                  f"   target <= {PER_SERVICE_MS} ms   {'ok' if passed else 'MISSED'}")
            print(f"app/floor: {cases[f'app ({base} services)'].wall / cases['floor'].wall:.2f}"
                  f"   50/{base} services: {cases['app (50 services)'].wall / cases[f'app ({base} services)'].wall:.2f}")
            print()
            report["figures"] = {name: {"wall": c.wall, "cpu": c.cpu, "peak_mb": c.peak_mb} for name, c in cases.items()}
            report["per_service_ms"] = per_service_ms

        if "savings" in groups:
            no_bytecode = work / "no_opt_bytecode.py"
            no_bytecode.write_text(NO_OPT_BYTECODE.format(packages=bytecode.PROJECT_PACKAGES))

            def variants_of(kind: str, count: int = base, **extra: str) -> dict[str, Case]:
                cases = {"all": app(f"{kind}_all", count, **extra)}
                for name in NAMES:
                    label = f"{kind}_no_{name}"
                    cases[f"-{name}"] = app(label, count, speedups=f"all,-{name}", **extra)
                cases["-O"] = app(f"{kind}_no_O", count, flags=(), **extra)
                cases["-bytecode"] = app(f"{kind}_no_bytecode", count, prefix=(str(no_bytecode),), **extra)
                return cases

            variants = variants_of("app")
            # The edit loop (issue #11): one service stack alone, what `make synth SERVICES=web ENVS=dev` runs.
            loop = variants_of("loop", PLATFORM_SERVICES="web", PLATFORM_ENVIRONMENTS="dev")
            # A fleet: `parallel` engages only from a weight the default app does not reach
            # (infra/speedups/parallel.py, MIN_WEIGHT), so what it saves is measured where it runs.
            fleet = variants_of("fleet", FLEET)
            # Each case's figures and savings under one key prefix, as the JSON report has them.
            groups_by_prefix = {"": variants, "loop_": loop, "fleet_": fleet}
            run_in_turn({f"{prefix}{k}": v for prefix, group in groups_by_prefix.items() for k, v in group.items()}, args.runs)
            none = run_in_turn({"none": app("none", flags=(), speedups="none")}, 1)["none"]
            full, loop_full, fleet_full = (group["all"] for group in groups_by_prefix.values())
            print(f"the default app ({base} services, 2 environments), the edit loop (web alone, dev) and a fleet"
                  f" ({FLEET} services, 2 environments), `python -O main.py`, {args.runs} runs each:")
            print(f"{'speed-ups':<25} {'wall s':>7} {'CPU s':>6} {'peak MB':>8}   {'saves: wall':>11} {'CPU':>5} {'MB':>5}"
                  f"   {'loop: wall':>10} {'CPU':>5}   {'fleet: wall':>11} {'CPU':>5}   verdict")
            print(f"{'all':<25} {full.wall:>7.2f} {full.cpu:>6.2f} {full.peak_mb:>8.0f}   {'':>11} {'':>5} {'':>5}"
                  f"   {loop_full.wall:>9.2f}s {loop_full.cpu:>4.2f}s   {fleet_full.wall:>10.2f}s {fleet_full.cpu:>4.2f}s")
            savings = {}
            for label, case in variants.items():
                if label == "all":
                    continue
                shares = {prefix: (group[label].saving(group["all"]), group[label].saving(group["all"], "cpus"))
                          for prefix, group in groups_by_prefix.items()}
                saves_mb = case.peak_mb - full.peak_mb
                earns = any(wall >= EARNS for wall, _ in shares.values()) or saves_mb >= EARNS * full.peak_mb
                entry = {"peak_mb": case.peak_mb, "saves_mb": saves_mb, "earns": earns}
                for prefix, group in groups_by_prefix.items():
                    entry |= {f"{prefix}wall": group[label].wall, f"{prefix}cpu": group[label].cpu,
                              f"{prefix}saves_wall_share": shares[prefix][0], f"{prefix}saves_cpu_share": shares[prefix][1]}
                savings[label[1:]] = entry
                columns = "   ".join(f"{wall:>{width}.0%} {cpu:>5.0%}" + (f" {saves_mb:>5.0f}" if not prefix else "")
                                       for (prefix, (wall, cpu)), width in zip(shares.items(), (10, 10, 11)))
                print(f"{'all but ' + label[1:]:<25} {case.wall:>7.2f} {case.cpu:>6.2f} {case.peak_mb:>8.0f}   {columns}   "
                      f"{'earns its place' if earns else 'BELOW 10% of time and memory'}")
            print(f"{'none (stock, no -O)':<25} {none.wall:>7.2f} {none.cpu:>6.2f} {none.peak_mb:>8.0f}   "
                  f"{none.wall / full.wall - 1:>10.0%} {none.cpu / full.cpu - 1:>5.0%} {none.peak_mb - full.peak_mb:>5.0f}   1 run")
            print()
            report["savings"] = {"all": {f"{prefix}{figure}": getattr(group["all"], figure)
                                         for prefix, group in groups_by_prefix.items() for figure in ("wall", "cpu")}
                                 | {"peak_mb": full.peak_mb},
                                 "removed": savings, "none": {"wall": none.wall, "cpu": none.cpu, "peak_mb": none.peak_mb}}

        if "targets" in groups:
            alone = {"PLATFORM_SERVICES": "web", "PLATFORM_ENVIRONMENTS": "dev"}
            floor_script = work / "floor.py"
            floor_script.write_text(FLOOR.format(root=str(ROOT)))
            cases = run_in_turn({
                "floor": Case([py, "-O", str(floor_script), str(work / "floor.out"), "all"], work, env),
                f"web alone, {base} services": app("alone3", **alone),
                "web alone, 50 services": app("alone50", 50, **alone),
                "all of dev, 50 services": app("dev50", 50, PLATFORM_ENVIRONMENTS="dev"),
            }, args.target_runs)
            print(f"issue #11 targets (dev only), {args.target_runs} rounds:")
            print(f"{'case':<26} {'wall s':>8} {'CPU s':>7} {'peak MB':>8} {'stacks':>7}")
            for name, case in cases.items():
                print(f"{name:<26} {case.wall:>8.2f} {case.cpu:>7.2f} {case.peak_mb:>8.0f} {case.stacks() or '':>7}")
            floor, alone3, alone50, dev50 = cases.values()
            honoured = 0 < alone50.stacks() < dev50.stacks()
            ratios = {
                "alone@50 / floor": (alone50.ratio(floor), 1.5),
                f"alone@50 / alone@{base}": (alone50.ratio(alone3), 1.2),
                "alone@50 / dev@50": (alone50.ratio(dev50), 0.7),
            }
            for name, (value, target) in ratios.items():
                if honoured:
                    passed = value <= target
                    ok &= passed
                    verdict = "ok" if passed else "MISSED"
                else:
                    verdict = "n/a: main.py does not honour PLATFORM_SERVICES (it synthesized all of dev)"
                print(f"{name:<26} {value:>8.2f}   target <= {target}   {verdict}")
            report["targets"] = {"cases": {n: {"wall": c.wall, "cpu": c.cpu, "peak_mb": c.peak_mb, "stacks": c.stacks()}
                                           for n, c in cases.items()},
                                 "honoured": honoured, "ratios": {n: v for n, (v, _) in ratios.items()}}
    peaks = [c["peak_mb"] for group in ("figures",) for c in report.get(group, {}).values()]  # type: ignore[union-attr]
    peaks += [c["peak_mb"] for c in report.get("targets", {}).get("cases", {}).values()]  # type: ignore[union-attr]
    if peaks:
        passed = max(peaks) <= 700
        ok &= passed
        print(f"{'peak memory, any case':<26} {max(peaks):>8.0f}   target <= 700 MB   {'ok' if passed else 'MISSED'}"
              "   (with the speed-ups)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
