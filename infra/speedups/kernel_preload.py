"""Preload kernel_preload.js into the jsii kernel (node), with the parts selected.

The kernel is a child process of this one, started at the first assembly load (the first
``<package>._jsii`` import), and inherits this process's environment then: ``--require``
in NODE_OPTIONS runs kernel_preload.js before the kernel's own code, and
PLATFORM_SPEEDUPS_KERNEL tells it which parts to apply (kernel_preload.js says what each
does). Too late once the kernel runs: then nothing changes and install() says so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

PRELOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_preload.js")
PARTS_VARIABLE = "PLATFORM_SPEEDUPS_KERNEL"  # set here, read by kernel_preload.js only
PARTS = {"kernel_lazy_index": "lazy_index", "kernel_no_stacks": "no_token_stacks"}


def kernel_running() -> bool:
    # jsii starts node when the first generated `_jsii` module loads its assembly.
    return any(name.endswith("._jsii") for name in sys.modules)


def install(names: Iterable[str]) -> str | None:
    """Make the kernel start with the parts `names` selects, and only those.

    None when that holds, else why not. With no names, a preload this process inherited
    (a parent installed it) is taken out again, so each process's own switch decides.
    """
    parts = sorted({PARTS[name] for name in names})
    flag = f'--require "{PRELOAD}"'
    options = os.environ.get("NODE_OPTIONS", "")
    if kernel_running():
        if parts:
            return "the jsii kernel was already running (install() must come before the first jsii import)"
        return None  # too late to change the running kernel either way
    if not parts:
        stripped = " ".join(options.replace(flag, " ").split())
        if stripped != options:
            if stripped:
                os.environ["NODE_OPTIONS"] = stripped
            else:
                del os.environ["NODE_OPTIONS"]
        os.environ.pop(PARTS_VARIABLE, None)
        return None
    if flag not in options:
        os.environ["NODE_OPTIONS"] = f"{options} {flag}".strip()
    os.environ[PARTS_VARIABLE] = ",".join(parts)
    return None
