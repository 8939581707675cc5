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
imports happen later, on the caller's thread, as without this speed-up. When the caller
then imports cdktf, the generated modules send their ``load`` requests again, and the
kernel answers each from what it already loaded (it checks the name and version and
extracts nothing).

The kernel is one process spoken to over one pipe, one request at a time, so no other thread
may use it while the thread does: every request goes through jsii's
``ProcessProvider._process`` (which also starts the process on first use), and that property
is wrapped to wait for the thread first, on any thread but the prestart's own. The caller
therefore never sees a half-started kernel, and the kernel receives the same requests in the
same order from one thread at a time (tests/test_speedups.py checks the output byte for byte).

Python's imports are left alone on purpose: two threads importing the same jsii-generated
package are not safe (``publication.publish()`` puts the package's public module in
``sys.modules`` before it has copied anything into it, ``__path__`` and ``__spec__``
included, so a second thread can find an empty package there).

A failure on the thread (node missing, an assembly that does not load) is dropped; the
caller's own import of the package sends the same request and raises there, as it would
have without this speed-up. ``wait()`` joins the thread (``Installed.before_exit()`` calls
it, so a process that exits early, on a configuration error, still stops node cleanly).

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
        from jsii._kernel.providers.process import ProcessProvider
        from jsii._runtime import kernel
    except ImportError as exc:
        return f"cannot import the jsii runtime ({exc})"
    process = ProcessProvider.__dict__.get("_process")
    if not isinstance(process, property) or process.fget is None:
        return "jsii has no ProcessProvider._process property"
    loads = []
    for package in PACKAGES:
        request = _load_request(package)
        if isinstance(request, str):
            return request
        loads.append(request)
    ProcessProvider._process = property(_waiting(process.fget), doc=process.__doc__)  # type: ignore[assignment]
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


def _waiting(fget: Any) -> Any:
    def _process(self: Any) -> Any:
        if not _done.is_set() and _thread is not threading.current_thread():
            wait()
        return fget(self)

    return _process


def _load_all(kernel: Any, loads: list[tuple[str, str, str]]) -> None:
    try:
        for name, version, tarball in loads:
            kernel.load(name, version, tarball)
    except Exception:  # noqa: BLE001 - the caller's own import sends the same request and raises there
        pass
    finally:
        _done.set()
