"""The one table of package versions the synthesis speed-ups were verified with.

Each speed-up relies on private details of some of these packages (jsii's runtime
internals, the generated shape of the provider's Python and JavaScript index files). It is installed only when every package it relies on
has exactly the version below; otherwise it stays off and says so in one line
(``speedups: <name> off: ...``), and the synthesis runs the stock way, slower but correct.

After an upgrade: run ``tests/test_speedups.py`` (byte-identical output with and without
the speed-ups, every fallback line) with the new versions written here, then
``make bench`` to see that each speed-up still earns its place (README, "Synthesis speed").
"""

from __future__ import annotations

import importlib.metadata

# distribution name -> the version verified (node 20 ran the kernel). No speed-up relies on
# cdktf's internals any more, so a cdktf upgrade turns none off; tests/test_speedups.py
# still fails until the table names the installed versions, so that it is re-verified.
VERIFIED: dict[str, str] = {
    "jsii": "1.142.0",
    "cdktf": "0.21.0",
    "cdktf-cdktf-provider-aws": "20.1.0",
}


def installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def mismatch(distributions: tuple[str, ...]) -> str | None:
    """None when each distribution has its verified version installed, else why not."""
    for name in distributions:
        if name not in VERIFIED:
            raise KeyError(f"{name} has no verified version in infra/speedups/versions.py")
        found = installed(name)
        if found != VERIFIED[name]:
            return f"{name} {found or '(not installed)'} is installed, verified with {VERIFIED[name]} (infra/speedups/versions.py)"
    return None
