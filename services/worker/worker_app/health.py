"""Tiny stdlib HTTP server for the container health check (no Flask needed)."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("worker_app.health")


class _HealthHandler(BaseHTTPRequestHandler):
    server_version = "worker-health"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path.split("?", 1)[0] == "/health":
            self._send(200, {"status": "ok", "service": "worker"})
        else:
            self._send(404, {"error": "not_found", "message": f"no route for {self.path}"})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        # Health checks run every few seconds; keep them out of INFO logs.
        log.debug("health request", extra={"detail": fmt % args})


def start_health_server(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve GET /health on a daemon thread; call ``.shutdown()`` to stop."""
    server = ThreadingHTTPServer((host, port), _HealthHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="health-server", daemon=True)
    thread.start()
    log.info("health server listening", extra={"port": server.server_address[1]})
    return server
