"""Public web front end (behind the ALB, container port 8080)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request

from .config import Config, load_config
from .logging_setup import configure_logging
from .upstream import ApiClient, UpstreamError

SERVICE = "web"
log = logging.getLogger("web_app")

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ECS platform sample</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
  <h1>Hello from the web service</h1>
  <p>Greeting from the internal api service: <strong id="greeting">loading&hellip;</strong></p>
  <script>
    fetch("/api/greeting")
      .then(r => r.json())
      .then(d => { document.getElementById("greeting").textContent = d.message || d.error; })
      .catch(e => { document.getElementById("greeting").textContent = "error: " + e; });
  </script>
</body>
</html>
"""


def create_app(config: Config | None = None, api_client: ApiClient | None = None) -> Flask:
    """Application factory; gunicorn runs ``web_app:create_app()``.

    Configuration is read (and validated) here, so a bad environment fails the
    container at start-up with a message naming the variable.
    """
    config = config or load_config()
    configure_logging(SERVICE, config.log_level)
    api = api_client or ApiClient(config.api_url, config.api_timeout_seconds)

    app = Flask(__name__)
    app.json.sort_keys = False

    @app.before_request
    def _start_timer() -> None:
        g.start = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        duration_ms = (time.perf_counter() - g.get("start", time.perf_counter())) * 1000
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "remote_addr": request.headers.get("X-Forwarded-For", request.remote_addr),
                "trace_id": request.headers.get("X-Amzn-Trace-Id"),
            },
        )
        return response

    @app.get("/health")
    def health():
        # Liveness only: never touches downstreams.
        return jsonify(status="ok", service=SERVICE)

    @app.get("/ready")
    def ready():
        try:
            api.get_json("/health")
        except UpstreamError as exc:
            return jsonify(status="unavailable", service=SERVICE, error=str(exc)), 503
        return jsonify(status="ready", service=SERVICE)

    @app.get("/")
    def index():
        return Response(INDEX_HTML, mimetype="text/html")

    @app.get("/api/greeting")
    def greeting():
        trace = request.headers.get("X-Amzn-Trace-Id")
        try:
            data = api.greeting(headers={"X-Amzn-Trace-Id": trace} if trace else None)
        except UpstreamError as exc:
            log.warning("api call failed", extra={"error": str(exc)})
            return (
                jsonify(
                    error="bad_gateway",
                    message=f"could not get a greeting from the api service: {exc}",
                ),
                502,
            )
        return jsonify(message=data["message"], source="api")

    @app.errorhandler(404)
    def not_found(_exc):
        return jsonify(error="not_found", message=f"no route for {request.path}"), 404

    @app.errorhandler(405)
    def method_not_allowed(_exc):
        return jsonify(error="method_not_allowed", message=f"{request.method} not allowed"), 405

    log.info("web service configured", extra={"api_url": config.api_url})
    return app
