"""Entry point for `cdktf synth` / `python main.py`: load the configuration, build, synthesize.

Environment variables (read here, at the edge, and nowhere else):
  PLATFORM_ENVIRONMENTS    comma-separated environment names to synthesize (default: all)
  PLATFORM_SERVICES        comma-separated service names: synthesize only their stacks, without
                           the platform stacks (a service stack needs nothing of its platform)
  PLATFORM_LOCAL_ENDPOINT  http://127.0.0.1:<port>: point every AWS API at a local emulator
  CDKTF_OUTDIR             where to write (default: cdktf.out; `cdktf synth` sets its own)
  PLATFORM_SPEEDUPS        which synthesis speed-ups to install (default: all; `none`, or e.g.
                           `all,-fast_kernel`; see infra/speedups/)
  PLATFORM_SYNTH_STACKS    internal: set by this file for its second process (speed-up
                           `parallel`), the stacks that process builds

`python main.py --check` only loads the configuration: exit 2 with the one error line, else 0
and nothing written (tools/cdktf, the project's cdktf command, runs it before the CLI).

cdktf.json runs it as `python -O main.py`: the provider bindings type-check every call
with typeguard under `__debug__` (a third of construction time); configuration is
validated once by infra.config, and the output is identical either way.

The other speed-ups are installed by one call below, before anything imports jsii.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infra import speedups
from infra.speedups import parallel, report

CHECK = sys.argv[1:] == ["--check"]

try:  # first: the speed-ups act on the first import of jsii, the provider and the project's modules
    # A check starts no jsii kernel (kernel_prestart would start one to load the assemblies).
    SPEEDUPS = speedups.install("none" if CHECK else os.environ.get("PLATFORM_SPEEDUPS", "all"))
except ValueError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

# While the kernel loads its assemblies (speed-up kernel_prestart), import and run the loader.
from infra.config import ConfigError, load_app  # noqa: E402
from infra.config.loader import printed_warnings  # noqa: E402
from infra.config.specs import AppSpec  # noqa: E402

ROOT = Path(__file__).resolve().parent


def main() -> int:
    envs = _names("PLATFORM_ENVIRONMENTS")
    services = _names("PLATFORM_SERVICES")
    try:
        spec = load_app(ROOT, environments=envs or None, local_endpoint=os.environ.get("PLATFORM_LOCAL_ENDPOINT") or None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if services:
        known = {s.name for specs in spec.services.values() for s in specs}
        unknown = [name for name in services if name not in known]
        if unknown:
            print(f"error: services/: has no service {unknown[0]!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
            return 2
    if CHECK:
        return 0
    from infra.stack_plan import plan_stacks

    outdir = os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    planned = plan_stacks(spec, services=services or None, platform=not services)
    mine = _names(parallel.STACKS_VARIABLE)  # set only in the second process (speed-up parallel)
    split = None
    if not mine:
        parts = parallel.split([(p.name, p.weight) for p in planned]) if "parallel" in SPEEDUPS else [[p.name for p in planned]]
        mine = parts[0]
        if len(parts) > 1:  # first, so that it builds while this process does
            split = parallel.Split(parts[1], main=Path(__file__), outdir=outdir)
    try:
        return _synth(spec, services, outdir, only=set(mine), split=split,
                      dependencies={p.name: p.dependencies for p in planned})
    finally:
        if split is not None:
            split.close()


def _synth(
    spec: AppSpec, services: list[str], outdir: str, *, only: set[str], split: parallel.Split | None,
    dependencies: dict[str, tuple[str, ...]],
) -> int:
    """Build the stacks named in `only` and write them; with a second process, into a folder of
    their own, moved into `outdir` with the second's once both are written."""
    from infra.app import build_app

    Path(outdir).parent.mkdir(parents=True, exist_ok=True)
    # cdktf's App creates <outdir>/stacks when it is built: removed again if building fails.
    made_by_app = [path for path in (Path(outdir), Path(outdir) / "stacks") if not path.exists()]

    def unmake() -> None:
        for path in reversed(made_by_app):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()

    try:
        app = build_app(spec, outdir=str(split.first) if split else outdir, services=services or None,
                        platform=not services, only=only)
    except ConfigError as exc:  # found while building: an `[[imports]]` address the stack lacks
        unmake()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.synth()
    if split is not None:
        # Nothing reaches `outdir` unless both halves were built and written.
        code = split.wait(set(printed_warnings(spec.warnings)) | set(report.printed()))
        if code != 0:
            return code
        split.write(outdir, dependencies=dependencies)
    return 0


def _names(variable: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]


if __name__ == "__main__":
    if sys.argv[1:] and not CHECK:
        print(f"error: main.py: unknown arguments {' '.join(sys.argv[1:])!r} (only --check)", file=sys.stderr)
        sys.exit(2)
    code = main()
    SPEEDUPS.before_exit()
    sys.exit(code)
