"""Start the jsii kernel and load its assemblies on a second thread while the app does its
own Python work (speed-up ``kernel_prestart``).

Why this exists
---------------
The first ``import cdktf`` (and of the provider package) starts the jsii kernel (node) and
has it load three assemblies: constructs, cdktf and the provider's. With the other
speed-ups that is about 0.3 s of node work during which Python only waits for the answers;
the bench's floor is mostly that. An app does Python work before its first construct that
needs no jsii at all: ours reads and validates its configuration (pydantic, about
0.15-0.25 s of CPU). One after the other the two add up; on two cores they overlap.

How it works
------------
``install()`` starts one thread that starts the kernel and sends it the three ``load``
requests, exactly those the generated ``<package>/_jsii/__init__.py`` modules send
(``jsii.JSIIAssembly.load("cdktf", "0.21.0", ..., "cdktf@0.21.0.jsii.tgz")``: read from those
files, in their dependency order). The thread imports no Python module: the packages' own
imports happen later, on the caller's thread, as without this speed-up.

When the caller then imports cdktf, each generated module asks jsii to load its assembly
again (``Kernel.load``), which the kernel would answer from what it already has (it checks
name and version, and extracts nothing). Such a load, of an assembly handed to the thread,
returns at once instead: the caller's imports go on (cdktf's, the provider modules', its own,
all Python work) while the kernel is still loading. Its first real request waits for the
thread (below). Only then is a load the thread did not complete (it failed, or the kernel
did not start) sent as the caller's own, in the order the caller asked, and it raises there
as it would have at the import: the same error, at the first construct instead of the
import.

The kernel is one process spoken to over one pipe, one request at a time, so no other thread
may use it while the thread does: every request goes through jsii's
``ProcessProvider._process`` (which also starts the process on first use), and that property
is wrapped to wait for the thread first, on any thread but the prestart's own. The caller
therefore never sees a half-started kernel, and the kernel receives its requests from one
thread at a time: the three loads, then the caller's requests as before, less the repeated
loads (tests/test_speedups.py checks the output byte for byte).

Python's imports are left alone on purpose: two threads importing the same jsii-generated
package are not safe (``publication.publish()`` puts the package's public module in
``sys.modules`` before it has copied anything into it, ``__path__`` and ``__spec__``
included, so a second thread can find an empty package there).

``wait()`` joins the thread (``Installed.before_exit()`` calls it, so a process that exits
early, on a configuration error, still stops node cleanly).

It relies on jsii's private ``ProcessProvider._process`` and on the generated ``_jsii``
modules' shape, so ``infra.speedups`` installs it only with the versions of versions.py, and
``install()`` checks both; otherwise it stays off and says why in one line. Too late once the
kernel runs (a jsii module was imported before ``install()``): nothing is started, and
``install()`` says so.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
import threading
from typing import Any

NAME = "kernel_prestart"
# The packages whose assemblies are loaded, in dependency order (each `_jsii` module imports
# the `_jsii` modules of those before it).
PACKAGES: tuple[str, ...] = ("constructs", "cdktf", "cdktf_cdktf_provider_aws")
# The one call in a generated `<package>/_jsii/__init__.py` that loads its assembly.
_LOAD_CALL = re.compile(
    r'^__jsii_assembly__ = jsii\.JSIIAssembly\.load\(\s*"([^"]+)", "([^"]+)", __name__\[0:-6\], "([^"/\\]+)"\s*\)$',
    re.MULTILINE,
)

_thread: threading.Thread | None = None
_done = threading.Event()
_handed: set[tuple[str, str]] = set()  # (assembly, version) the thread loads
_loaded: set[tuple[str, str]] = set()  # ... and those it has loaded
_deferred: list[tuple[str, str, str]] = []  # loads the caller asked for before the thread was done
_lock = threading.Lock()


def kernel_running() -> bool:
    # jsii starts node when the first generated `_jsii` module loads its assembly.
    return any(name.endswith("._jsii") for name in sys.modules)


def install() -> str | None:
    """Start the kernel and its loads on a thread (once per process). None when started, else why not."""
    global _thread
    if _thread is not None:
        return None
    if kernel_running():
        return "the jsii kernel was already running (install() must come before the first jsii import)"
    try:
        from jsii._kernel import Kernel
        from jsii._kernel.providers.process import ProcessProvider
        from jsii._runtime import kernel
    except ImportError as exc:
        return f"cannot import the jsii runtime ({exc})"
    process = ProcessProvider.__dict__.get("_process")
    if not isinstance(process, property) or process.fget is None:
        return "jsii has no ProcessProvider._process property"
    if not callable(Kernel.__dict__.get("load")):
        return "jsii has no Kernel.load"
    loads = []
    for package in PACKAGES:
        request = _load_request(package)
        if isinstance(request, str):
            return request
        loads.append(request)
    _handed.update((name, version) for name, version, _ in loads)
    load = Kernel.load
    ProcessProvider._process = property(_waiting(process.fget, lambda *request: load(kernel, *request)), doc=process.__doc__)  # type: ignore[assignment]
    Kernel.load = _not_again(load)  # type: ignore[method-assign]
    _thread = threading.Thread(target=_load_all, args=(kernel, loads), name=NAME)
    _thread.start()
    return None


def wait() -> None:
    """Return once the thread (if any) is done."""
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join()


def _load_request(package: str) -> tuple[str, str, str] | str:
    """(assembly name, version, tarball path) as `package`'s `_jsii` module loads it, or why not."""
    spec = importlib.machinery.PathFinder.find_spec(package)  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        return f"{package} is not installed as a package"
    folder = os.path.join(list(spec.submodule_search_locations)[0], "_jsii")
    try:
        with open(os.path.join(folder, "__init__.py"), encoding="utf-8") as file:
            source = file.read()
    except OSError as exc:
        return f"cannot read {package}/_jsii/__init__.py ({exc.strerror})"
    calls = _LOAD_CALL.findall(source)
    if len(calls) != 1:
        return f"{package}/_jsii/__init__.py does not load one assembly the generated way"
    name, version, filename = calls[0]
    return name, version, os.path.join(folder, filename)


def _not_again(load: Any) -> Any:
    """Kernel.load: an assembly handed to the thread is not sent again by another thread."""

    def _load(self: Any, name: str, version: str, tarball: str) -> None:
        if (name, version) in _handed and _thread is not threading.current_thread():
            with _lock:
                if not _done.is_set():
                    _deferred.append((name, version, tarball))  # settled at the first real request
                    return None
            if (name, version) in _loaded:
                return None
        return load(self, name, version, tarball)

    return _load


def _waiting(fget: Any, load: Any) -> Any:
    def _process(self: Any) -> Any:
        if _thread is not threading.current_thread():
            if not _done.is_set():
                wait()
            if _deferred:
                with _lock:
                    deferred = [request for request in _deferred if request[:2] not in _loaded]
                    _deferred.clear()
                for request in deferred:  # what the thread did not load: the caller's own loads, now
                    load(*request)  # jsii's own Kernel.load, back through here (nothing deferred now)
                    _loaded.add(request[:2])
        return fget(self)  # jsii's: starts the kernel on first use

    return _process


def _load_all(kernel: Any, loads: list[tuple[str, str, str]]) -> None:
    try:
        for name, version, tarball in loads:
            kernel.load(name, version, tarball)
            _loaded.add((name, version))
    except Exception:  # noqa: BLE001 - the caller's own load is sent again, and raises there
        pass
    finally:
        with _lock:
            _done.set()
