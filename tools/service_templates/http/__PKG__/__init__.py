"""__NAME__: an HTTP service on port __PORT__ (made by `make service`; grow it from here).

    GET __HEALTH__   200 {"status": "ok"}: the load balancer's and the task's health check
    GET /            200 {"service": "__NAME__", ...}; also under /__NAME__/ for a web service,
                     whose load-balancer route forwards /__NAME__ and /__NAME__/* unchanged

Configuration comes from environment variables only (the manifest's [environment] and
[secrets]); LOG_LEVEL sets the log level. Logs are one JSON object per line on stdout.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from flask import Flask, jsonify

SERVICE = "__NAME__"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"level": record.levelname, "service": SERVICE, "message": record.getMessage()})


def configure_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("LOG_LEVEL", "info")).upper())


def create_app() -> Flask:
    configure_logging()
    app = Flask(SERVICE)

    @app.get("__HEALTH__")
    def health():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    @app.get("/")
    @app.get(f"/{SERVICE}")
    @app.get(f"/{SERVICE}/")
    def index():  # type: ignore[no-untyped-def]
        return jsonify(service=SERVICE, message=f"hello from {SERVICE}")

    return app
