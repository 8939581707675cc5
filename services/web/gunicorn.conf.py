"""Gunicorn settings for the web service container.

Designed for ECS with ``readonlyRootFilesystem: true``: the only writable path is
/tmp (a volume mounted by the task definition), so the worker heartbeat files go
there and gunicorn's control socket (default under $HOME) is disabled.
SIGTERM from ECS makes gunicorn stop accepting connections and let in-flight
requests finish for up to ``graceful_timeout`` seconds (keep it below the
task's stopTimeout, 30 s by default).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_tmp_dir = "/tmp"
control_socket_disable = True
timeout = 30
graceful_timeout = 25
keepalive = 75  # longer than the ALB idle timeout (60 s) to avoid 502s on reuse
forwarded_allow_ips = "*"  # only the ALB can reach the task (security groups)
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "web_app.logging_setup.JsonFormatter", "service": "web"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        # The app writes its own JSON line per request; silence the duplicate.
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["stdout"], "level": "INFO"},
}
