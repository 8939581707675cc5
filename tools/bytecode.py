"""Compile the optimized bytecode (`python -O`, *.opt-1.pyc) of every package a synthesis imports.

    python -m tools.bytecode              # the dependencies: `make install`, after pipenv sync
    python -m tools.bytecode --project    # the project's own packages (infra/): `make install`,
                                          # again whenever one of their sources changed
    python -m tools.bytecode --project DIR   # ... of a copy of the project (tools/bench.py)

cdktf.json runs the app as `python -O main.py`, which reads `*.opt-1.pyc` files. pip writes
only the unoptimized ones, and where PYTHONDONTWRITEBYTECODE is set (as on our machines)
Python never caches its own -O compile either: every synthesis would compile the provider
bindings it uses from source again, about 3 s of a 5 s synthesis. The whole provider package
is compiled, not only the modules used today, so a construct that starts using another
resource type is fast too (about 30 s, once per install).

The same holds for the project's own modules (`infra/`, ~45 of them for one service stack):
compiled from source on every synthesis, ~60-80 ms of CPU, all of it on the path of the edit
loop (`make synth SERVICES=web ENVS=dev`), which the bench's floor does not pay. Python checks
each cached file against its source's modification time and size ("Cached bytecode
invalidation", https://peps.python.org/pep-0552/), so a module edited since is compiled from
source again for that run, never read stale; `make install` recompiles once a source changed.
main.py itself is a script: Python never caches a script's bytecode.
"""

from __future__ import annotations

import compileall
import os
import sys
import sysconfig
from pathlib import Path

PROVIDER = "cdktf_cdktf_provider_aws"
ROOT = Path(__file__).resolve().parent.parent
# The project's own packages a synthesis imports (main.py imports them; tests/test_bytecode.py
# checks this list against what a synthesis imports from the project).
PROJECT_PACKAGES: tuple[str, ...] = ("infra",)


def synthesis_roots() -> set[Path]:
    """The top-level package folders (or single-file modules) in site-packages a synthesis imports."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    return {site / PROVIDER} | {
        site / path.relative_to(site).parts[0] for path in _imported_files() if path.is_relative_to(site)
    }


def project_roots(project: Path = ROOT) -> list[Path]:
    """The project's own package folders a synthesis imports, in `project` (this one or a copy)."""
    return [project / name for name in PROJECT_PACKAGES]


def _imported_files() -> list[Path]:
    """Every module file a synthesis imports (as main.py: the speed-ups, then the constructs)."""
    from infra import speedups

    # As main.py does (the speed-ups import modules of their own, e.g. jsii's process provider).
    speedups.install(os.environ.get(speedups.SWITCH, "all"))
    import infra.app  # noqa: F401  (imports cdktf, constructs, jsii and the provider modules the constructs use)

    files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    return [Path(file).resolve() for file in files if file]


def compile_roots(roots: list[Path] | set[Path]) -> bool:
    ok = True
    for root in sorted(roots):
        if root.is_dir():
            ok &= bool(compileall.compile_dir(root, optimize=1, workers=0, quiet=1))
        elif root.suffix == ".py":
            ok &= bool(compileall.compile_file(root, optimize=1, quiet=1))
    return ok


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--project"] and len(args) <= 2:
        return 0 if compile_roots(project_roots(Path(args[1]).resolve() if len(args) == 2 else ROOT)) else 1
    if args:
        print("usage: python -m tools.bytecode [--project [DIR]]", file=sys.stderr)
        return 2
    return 0 if compile_roots(synthesis_roots()) else 1


if __name__ == "__main__":
    sys.exit(main())
