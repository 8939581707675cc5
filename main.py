"""Entry point for `cdktf synth` / `python main.py`: load the configuration, build, synthesize.

Environment variables (read here, at the edge, and nowhere else):
  PLATFORM_ENVIRONMENTS     comma-separated environment names to synthesize (default: all)
  PLATFORM_LOCAL_ENDPOINT   http://127.0.0.1:<port>: point every AWS API at a local emulator
  PLATFORM_SYNTH_PROCESSES  how many environments to synthesize side by side, each in its own
                            process (default: one per environment, at most one per core;
                            1 = everything in this process; see infra/parallel_synth.py)
  CDKTF_OUTDIR              where to write (default: cdktf.out; `cdktf synth` sets its own)

cdktf.json runs it as `python -O main.py`: the provider bindings type-check every call
with typeguard under `__debug__` (a third of construction time); configuration is
validated once by infra.config, and the output is identical either way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import infra  # noqa: F401  (installs the synthesis speed-ups before anything loads jsii or the provider)
from infra.config import ConfigError, load_app

ROOT = Path(__file__).resolve().parent


def main() -> int:
    envs = [name.strip() for name in os.environ.get("PLATFORM_ENVIRONMENTS", "").split(",") if name.strip()]
    try:
        spec = load_app(ROOT, environments=envs or None, local_endpoint=os.environ.get("PLATFORM_LOCAL_ENDPOINT") or None)
        processes = _processes(os.environ.get("PLATFORM_SYNTH_PROCESSES"), len(spec.environments))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outdir = os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    if processes > 1:
        from infra.parallel_synth import synthesize_in_parallel

        return synthesize_in_parallel(
            [sys.executable, *(["-O"] if sys.flags.optimize else []), str(Path(__file__).resolve())],
            environ=os.environ,
            environments=[env.name for env in spec.environments],
            outdir=Path(outdir),
            processes=processes,
        )
    from infra.app import build_app

    Path(outdir).parent.mkdir(parents=True, exist_ok=True)
    build_app(spec, outdir=outdir).synth()
    return 0


def _processes(value: str | None, environments: int) -> int:
    if value is None or not value.strip():
        return min(environments, os.cpu_count() or 1)
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError("PLATFORM_SYNTH_PROCESSES", "", f"{value!r} must be a whole number of processes, 1 or more")
    return min(environments, int(value))


if __name__ == "__main__":
    sys.exit(main())
