"""Gunicorn settings for __NAME__ on ECS: /tmp is the only writable path (read-only root
filesystem), and SIGTERM lets in-flight requests finish within the task's stop timeout."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '__PORT__')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_tmp_dir = "/tmp"
control_socket_disable = True
timeout = 30
graceful_timeout = 25  # below ECS's default stopTimeout of 30 s
keepalive = 75  # longer than the load balancer's idle timeout (60 s): no 502 on a reused connection
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
