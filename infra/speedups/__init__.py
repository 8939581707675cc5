"""Synthesis speed-ups: installed by one explicit call, before anything imports jsii or the
project's own modules.

    from infra import speedups
    SPEEDUPS = speedups.install(os.environ.get("PLATFORM_SPEEDUPS", "all"))   # main.py
    ...
    SPEEDUPS.before_exit()

Importing ``infra`` (or this package) changes nothing; ``install()`` does, and only for
the speed-ups its argument names. Each speed-up leaves the synthesized files
byte-identical (tests/test_speedups.py) and is kept only where ``make bench`` measures it
earning at least 10% of the synthesis time of the default app or of the edit loop (one
service stack alone, issue #11), or a clear memory gain (README, "Synthesis speed"):

  fast_imports       Python imports only the provider submodules used; the provider
                     package's ``__init__`` imports all 2,135; each distribution's
                     version is looked up once (fast_imports.py)
  kernel_lazy_index  the jsii kernel (node) does the same with the provider's
                     ``lib/index.js`` (kernel_preload.js, preloaded through NODE_OPTIONS)
  fast_kernel        jsii's per-call Python work done directly, a construct's path known
                     from its create request (``construct_path``, ``construct_scopes``:
                     infra.addresses and infra.naming ask them before the kernel), and the
                     kernel started without jsii's relay process (fast_kernel.py)
  gc                 no cyclic garbage collection during the short synthesis process,
                     which would walk the large provider bindings again and again;
                     ``before_exit()`` freezes so the interpreter's last collection is spared
  parallel           with two CPUs, an app of many stacks is built and written by two
                     processes, half of the stacks each; the first merges the manifests
                     (parallel.py; main.py runs it)
  kernel_prestart    the kernel starts and loads its assemblies on a second thread while
                     the app reads and validates its configuration (kernel_prestart.py);
                     installed last, once the others are in place for the kernel's start

Two more are how the app is run and installed, not something a process can switch on:
``python -O`` (cdktf.json; the bindings' per-call typeguard checks run only under
``__debug__``) and the compiled ``-O`` bytecode of the dependencies and of the project's own
``infra/`` (``make install`` runs tools/bytecode.py). tools/bench.py measures them by running
without them.

Measured and removed, below the bar: a kernel preload that made cdktf record no JavaScript
creation stack per token (1-6% of the default app), and ``project_bytecode``, which kept the
compiled bytecode of the project's own modules where PYTHONDONTWRITEBYTECODE is set by
overriding that variable at run time (1% of the app, 6% of the edit loop); ``make install``
now compiles that bytecode instead, with the dependencies'.

The switch
----------
One comma-separated list, read left to right: ``all`` (the default), ``none``, a name
(turn it on) or ``-name`` (turn it off); a list that starts with ``-name`` starts from
``all``. So ``all,-fast_kernel`` or ``-fast_kernel`` is everything but fast_kernel, and
``none,gc`` or ``gc`` only the GC switch. ``main.py`` reads it from ``PLATFORM_SPEEDUPS``
(the only place reading environment variables); tools and tests read it for their own runs.

Fallbacks
---------
A speed-up is installed only when the packages it relies on have the versions in
versions.py (the one version table) and have the shape it expects; otherwise it stays
off and prints one line to stderr, ``speedups: <name> off: <why>``, and the synthesis
runs the stock way (slower, same output). A speed-up the switch turns off prints nothing.

This package imports only the standard library at import time.
"""

from __future__ import annotations

import gc as _gc
from dataclasses import dataclass, field

from infra.speedups import fast_imports, fast_kernel, kernel_preload, kernel_prestart, parallel, report, versions

SWITCH = "PLATFORM_SPEEDUPS"

# A construct's path, and its scopes, without asking the kernel, where the fast kernel knows
# them (else None).
construct_path = fast_kernel.construct_path
construct_scopes = fast_kernel.construct_scopes

# Each speed-up and the distributions (versions.VERIFIED) it relies on, in install order.
REQUIRES: dict[str, tuple[str, ...]] = {
    "fast_imports": ("jsii", "cdktf-cdktf-provider-aws"),
    "kernel_lazy_index": ("cdktf-cdktf-provider-aws",),
    "fast_kernel": ("jsii",),
    "gc": (),
    "parallel": (),
    "kernel_prestart": ("jsii", "cdktf", "cdktf-cdktf-provider-aws"),
}
NAMES: tuple[str, ...] = tuple(REQUIRES)


def parse(spec: str) -> frozenset[str]:
    """The speed-ups a switch value selects (see the module doc); ValueError on an unknown name."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    selected: set[str] = set(NAMES) if not items or items[0].startswith("-") else set()
    for item in items:
        name = item[1:] if item.startswith("-") else item
        if name == "all":
            selected = set() if item.startswith("-") else set(NAMES)
        elif name == "none" and not item.startswith("-"):
            selected = set()
        elif name in REQUIRES:
            (selected.discard if item.startswith("-") else selected.add)(name)
        else:
            raise ValueError(
                f"{SWITCH}: unknown speed-up {name!r} in {spec!r} "
                f"(known: all, none, {', '.join(NAMES)}; '-name' turns one off)"
            )
    return frozenset(selected)


@dataclass(frozen=True)
class Installed:
    """What install() did: the speed-ups on, and why each selected one is off."""

    active: frozenset[str]
    off: dict[str, str] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.active

    def before_exit(self) -> None:
        """Call last thing before the process exits (main.py does)."""
        kernel_prestart.wait()  # an early exit (a configuration error) may come before its loads end
        if "gc" in self.active:
            # Everything left is about to be freed by exit; spare the final collection.
            _gc.freeze()


def install(spec: str = "all") -> Installed:
    """Install the speed-ups `spec` selects (idempotent per speed-up).

    Call it before the first import of jsii, cdktf or a provider: the kernel speed-ups
    act when the kernel starts, the import speed-up at the provider's first import.
    """
    selected = parse(spec)
    active: set[str] = set()
    off: dict[str, str] = {}
    for name in NAMES:
        if name not in selected:
            continue
        why = versions.mismatch(REQUIRES[name]) or _install_one(name)
        if why:
            off[name] = why
            report.off(name, why)
        else:
            active.add(name)
    if "kernel_lazy_index" not in active:
        kernel_preload.install(False)  # takes out a preload inherited from a parent process
    return Installed(frozenset(active), off)


def _install_one(name: str) -> str | None:
    """Install one speed-up; None when it is on, else why it is off."""
    if name == "fast_imports":
        return fast_imports.install()
    if name == "kernel_lazy_index":
        return kernel_preload.install(True)
    if name == "fast_kernel":
        return fast_kernel.install()
    if name == "gc":
        _gc.disable()
        return None
    if name == "parallel":
        return parallel.install()
    if name == "kernel_prestart":
        return kernel_prestart.install()
    raise ValueError(f"unknown speed-up {name!r}")
