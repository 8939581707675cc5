"""Compile the optimized bytecode (`python -O`, *.opt-1.pyc) of every package a synthesis imports.

    python -m tools.bytecode      # part of `make install`, after pipenv sync

cdktf.json runs the app as `python -O main.py`, which reads `*.opt-1.pyc` files. pip writes
only the unoptimized ones, and where PYTHONDONTWRITEBYTECODE is set (as on our machines)
Python never caches its own -O compile either: every synthesis would compile the provider
bindings it uses from source again, about 3 s of a 5 s synthesis. The whole provider package
is compiled, not only the modules used today, so a construct that starts using another
resource type is fast too (about 30 s, once per install).
"""

from __future__ import annotations

import compileall
import os
import sys
import sysconfig
from pathlib import Path

PROVIDER = "cdktf_cdktf_provider_aws"


def synthesis_roots() -> set[Path]:
    """The top-level package folders (or single-file modules) in site-packages a synthesis imports."""
    from infra import speedups

    # As main.py does (the speed-ups import modules of their own, e.g. jsii's process provider).
    speedups.install(os.environ.get(speedups.SWITCH, "all"))
    import infra.app  # noqa: F401  (imports cdktf, constructs, jsii and the provider modules the constructs use)

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    roots = {site / PROVIDER}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(site):
            roots.add(site / path.relative_to(site).parts[0])
    return roots


def main() -> int:
    ok = True
    for root in sorted(synthesis_roots()):
        if root.is_dir():
            ok &= compileall.compile_dir(root, optimize=1, workers=0, quiet=1)
        elif root.suffix == ".py":
            ok &= compileall.compile_file(root, optimize=1, quiet=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
