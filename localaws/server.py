"""Run moto (server mode) on loopback with our shim layer in front of it.

Public API
----------
* :class:`LocalAWS` -- an in-process, threaded server (``start()`` / ``stop()`` /
  ``reset()``, ``url``, ``port``).
* :func:`running` -- context manager yielding the endpoint URL; always stops the
  server, even if the body raises. Meant for pytest fixtures.
* :func:`build_app` -- the WSGI app (moto's dispatcher wrapped in
  :class:`localaws.shims.ShimMiddleware`).
* :func:`serve_forever` -- foreground server (used by ``python -m localaws serve``).
* :func:`start_detached` / :func:`stop_detached` -- background process managed via
  ``<dir>/moto.pid`` / ``<dir>/moto.port`` / ``<dir>/moto.log``.
* :func:`wait_until_ready` -- poll the health endpoint.

The server only ever binds to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

# Must be set before moto's IAM backend is first created: AWS-managed policies
# (arn:aws:iam::aws:policy/...) only exist in moto when this is true, and our
# infrastructure attaches several of them (e.g. AmazonECSTaskExecutionRolePolicy).
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
# Dummy credentials/region for anything in this process that builds a boto client.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from werkzeug.serving import BaseWSGIServer, make_server  # noqa: E402

# One request at a time. moto's backends are not thread-safe: under Terraform's parallel
# requests we saw "dictionary changed size during iteration" (HTTP 500) and a retried
# CreateSecurityGroup answered "already exists". Each request takes milliseconds and the
# provider's time goes into its own waits, so serializing costs almost nothing.
THREADED = False

from .shims import AppAutoScalingTagStore, ShimMiddleware, apply_moto_patches  # noqa: E402

LOOPBACK = "127.0.0.1"
HEALTH_PATH = "/__localaws__/health"
PID_FILE = "moto.pid"
PORT_FILE = "moto.port"
LOG_FILE = "moto.log"

log = logging.getLogger("localaws")


class _HealthMiddleware:
    """Answers ``GET /__localaws__/health`` (readiness probe); everything else passes."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps({"status": "ok", "pid": os.getpid()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


def build_app(tag_store: AppAutoScalingTagStore | None = None) -> Callable[..., Any]:
    """moto's domain dispatcher, wrapped in the shim and health middlewares."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    apply_moto_patches()
    moto_app = DomainDispatcherApplication(create_backend_app)
    return _HealthMiddleware(ShimMiddleware(moto_app, tag_store))


def _check_host(host: str) -> None:
    if host != LOOPBACK:
        raise ValueError(f"localaws binds to loopback only ({LOOPBACK}), not {host!r}")


class LocalAWS:
    """In-process moto server on ``127.0.0.1`` (``port=0`` picks a free port)."""

    def __init__(self, port: int = 0, host: str = LOOPBACK, quiet: bool = True):
        _check_host(host)
        self.host = host
        self._requested_port = port
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.tag_store = AppAutoScalingTagStore()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        if self._quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = build_app(self.tag_store)
        self._server = make_server(self.host, self._requested_port, app, threaded=THREADED)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"localaws-{self.port}", daemon=True
        )
        self._thread.start()
        wait_until_ready(self.url, timeout=10)
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def reset(self) -> None:
        """Forget all emulated resources (moto state is process-global) and shim state."""
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()
        self.tag_store.clear()

    def __enter__(self) -> "LocalAWS":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def running(port: int = 0, reset: bool = True) -> Iterator[str]:
    """Start an in-process server, yield its endpoint URL, always stop it.

    moto's state is process-global: with ``reset=True`` (default) all emulated
    resources are wiped when the block exits, so the next ``running()`` in the same
    process (e.g. the next test module) starts empty.
    """
    server = LocalAWS(port=port)
    try:
        yield server.start()
    finally:
        try:
            if reset:
                server.reset()
        finally:
            server.stop()


def wait_until_ready(url: str, timeout: float = 30.0) -> None:
    """Poll ``<url>/__localaws__/health`` until it answers 200 or *timeout* passes."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"localaws at {url} did not become ready within {timeout}s: {last}")


def serve_forever(port: int = 0, host: str = LOOPBACK, port_file: str | os.PathLike[str] | None = None) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    _check_host(host)
    app = build_app()
    server = make_server(host, port, app, threaded=THREADED)
    url = f"http://{host}:{server.server_port}"

    def _stop(signum: int, frame: Any) -> None:
        # shutdown() blocks until serve_forever returns, so do it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if port_file:
        tmp = Path(f"{port_file}.tmp")
        tmp.write_text(f"{server.server_port}\n")
        tmp.replace(port_file)
    print(f"localaws: moto listening on {url} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print("localaws: stopped", flush=True)


# ---------------------------------------------------------------------------------------
# Detached process management (python -m localaws start/stop)
# ---------------------------------------------------------------------------------------


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own un-reaped child) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_localaws(pid: int) -> bool:
    """Guard against signalling an unrelated process that reused a stale pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return _pid_alive(pid)
    return b"localaws" in cmdline


def status(state_dir: str | os.PathLike[str]) -> str | None:
    """Endpoint URL of the detached server in *state_dir* if it is running, else None."""
    d = Path(state_dir)
    pid, port = _read_int(d / PID_FILE), _read_int(d / PORT_FILE)
    if pid and port and _pid_alive(pid) and _is_localaws(pid):
        return f"http://{LOOPBACK}:{port}"
    return None


def start_detached(state_dir: str | os.PathLike[str], port: int = 0, timeout: float = 60.0) -> str:
    """Start a background server; write moto.pid / moto.port / moto.log in *state_dir*.

    Returns the endpoint URL once it answers. If one is already running there, returns
    its URL (idempotent).
    """
    d = Path(state_dir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    existing = status(d)
    if existing:
        wait_until_ready(existing, timeout=timeout)
        return existing
    for name in (PID_FILE, PORT_FILE):
        (d / name).unlink(missing_ok=True)

    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, "-m", "localaws", "serve", "--port", str(port), "--port-file", str(d / PORT_FILE)]
    with open(d / LOG_FILE, "ab") as logf:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detach from our terminal / process group
            close_fds=True,
            env=env,
            cwd=str(d),
        )
    (d / PID_FILE).write_text(f"{proc.pid}\n")

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            (d / PID_FILE).unlink(missing_ok=True)
            raise RuntimeError(f"localaws server exited with {proc.returncode}; see {d / LOG_FILE}")
        actual = _read_int(d / PORT_FILE)
        if actual:
            url = f"http://{LOOPBACK}:{actual}"
            wait_until_ready(url, timeout=max(1.0, deadline - time.monotonic()))
            return url
        time.sleep(0.1)
    stop_detached(d)
    raise TimeoutError(f"localaws server did not start within {timeout}s; see {d / LOG_FILE}")


def stop_detached(state_dir: str | os.PathLike[str], timeout: float = 10.0) -> bool:
    """Stop the background server of *state_dir*. Idempotent; returns True if one was stopped."""
    d = Path(state_dir)
    pid = _read_int(d / PID_FILE)
    stopped = False
    if pid and _pid_alive(pid) and _is_localaws(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    for name in (PID_FILE, PORT_FILE):
        (d / name).unlink(missing_ok=True)
    return stopped
