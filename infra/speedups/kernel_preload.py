"""Preload kernel_preload.js into the jsii kernel (node): speed-up ``kernel_lazy_index``.

The kernel is a child process of this one, started at the first assembly load (the first
``<package>._jsii`` import), and inherits this process's environment then: ``--require``
in NODE_OPTIONS runs kernel_preload.js before the kernel's own code (that file says what
it does). Too late once the kernel runs: then nothing changes and install() says so.
"""

from __future__ import annotations

import os
import sys

PRELOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_preload.js")
FLAG = f'--require "{PRELOAD}"'


def kernel_running() -> bool:
    # jsii starts node when the first generated `_jsii` module loads its assembly.
    return any(name.endswith("._jsii") for name in sys.modules)


def install(enabled: bool) -> str | None:
    """Make the kernel start with the preload if `enabled`, and without it if not.

    None when that holds, else why not. Not enabled, a preload this process inherited
    (a parent installed it) is taken out again, so each process's own switch decides.
    """
    options = os.environ.get("NODE_OPTIONS", "")
    if kernel_running():
        if enabled:
            return "the jsii kernel was already running (install() must come before the first jsii import)"
        return None  # too late to change the running kernel either way
    if enabled:
        if FLAG not in options:
            os.environ["NODE_OPTIONS"] = f"{options} {FLAG}".strip()
        return None
    stripped = " ".join(options.replace(FLAG, " ").split())
    if stripped != options:
        if stripped:
            os.environ["NODE_OPTIONS"] = stripped
        else:
            del os.environ["NODE_OPTIONS"]
    return None
