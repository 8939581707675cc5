"""Load the jsii assemblies on a second thread while the app does its own Python work
(speed-up ``kernel_prestart``).

Why this exists
---------------
Importing ``cdktf`` and the provider package starts the jsii kernel (node) and has it load
three assemblies (constructs, cdktf, the provider's). With the other speed-ups that is about
0.3 s of node work during which Python only waits for the answers: the bench's floor is mostly
that. An app does Python work before its first construct that needs no jsii at all; ours
reads and validates the configuration (pydantic, about 0.15-0.25 s of CPU). Sequentially the
two add up; on two cores they can overlap.

How it works
------------
``install()`` starts one thread that imports ``cdktf`` and the provider package (``PACKAGES``),
which is what loads the assemblies. The caller goes on with
its own work. Its first ``import cdktf`` (or of a provider module) finds the module being
imported by the thread and waits on Python's per-module import lock until the thread has
finished it, so nothing is ever used half-loaded, and no jsii call is made from two threads
at once: the thread's import is over before the caller's first construct. Nothing else
changes: the same modules are imported, once, and the kernel receives the same requests in
the same order (tests/test_speedups.py checks the output byte for byte).

The thread imports only what the first ``import cdktf`` would have imported anyway. That
set shares no module with the configuration's imports (pydantic, tomllib, the project's
config package) but a few standard-library ones, none of them in an import cycle, so
Python's import locks cannot deadlock.

An import that fails on the thread is dropped: the caller's own import of the same module
runs it again and raises there, as it would have without this speed-up. The thread is not a
daemon: the interpreter waits for it before running the atexit handlers that stop the
kernel, so a process that exits early (a configuration error) still stops node cleanly;
``wait()`` joins it explicitly (``Installed.before_exit()`` calls it).

Nothing to gain when the caller's first statement after ``install()`` imports cdktf (the
bench's floor): it then waits for the thread instead of importing itself. Too late when the
kernel is already running (a jsii module was imported before ``install()``): then nothing is
started, and install() says so.
"""

from __future__ import annotations

import importlib
import sys
import threading

NAME = "kernel_prestart"
# What the thread imports, in order: cdktf loads the constructs and cdktf assemblies, a
# provider package its own (with fast_imports, only the package's head: no submodule).
PACKAGES: tuple[str, ...] = ("cdktf", "cdktf_cdktf_provider_aws")

_thread: threading.Thread | None = None


def kernel_running() -> bool:
    # jsii starts node when the first generated `_jsii` module loads its assembly.
    return any(name.endswith("._jsii") for name in sys.modules)


def install() -> str | None:
    """Start loading the assemblies on a thread (once per process). None when started, else why not."""
    global _thread
    if _thread is not None:
        return None
    if kernel_running():
        return "the jsii kernel was already running (install() must come before the first jsii import)"
    _thread = threading.Thread(target=_import_all, name=NAME)
    _thread.start()
    return None


def wait() -> None:
    """Return once the thread (if any) has finished its imports."""
    if _thread is not None:
        _thread.join()


def _import_all() -> None:
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the caller's own import raises it again, where it belongs
            return
