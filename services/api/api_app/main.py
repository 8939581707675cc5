"""Internal api service (reached through Cloud Map, container port 8081)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request

from .config import Config, load_config
from .credentials import credentials_from_config
from .events import ORDER_CREATED, EventPublisher, NullEventPublisher, SnsEventPublisher
from .logging_setup import configure_logging
from .repository import ItemRepository, MySQLItemRepository, RepositoryError

SERVICE = "api"
MAX_NAME_LENGTH = 100
MAX_BODY_BYTES = 16 * 1024
log = logging.getLogger("api_app")


def _bad_request(message: str):
    return jsonify(error="bad_request", message=message), 400


def create_app(
    config: Config | None = None,
    repository: ItemRepository | None = None,
    events: EventPublisher | None = None,
) -> Flask:
    """Application factory; gunicorn runs ``api_app:create_app()``.

    With no arguments the configuration is read and validated from the
    environment and items are stored in MySQL, with the credentials of the
    RDS-managed secret (re-read when the password rotates, see
    api_app.credentials). A new item is an order: an ``order.created`` event goes to the
    TOPIC_ORDERS_ARN topic (api_app.events). Tests pass a fake repository and publisher.
    """
    if repository is None:
        config = config or load_config()
        repository = MySQLItemRepository(
            host=config.db_host,
            port=config.db_port,
            database=config.db_name,
            connect_timeout=config.db_connect_timeout_seconds,
            # DB_SECRET, re-read from DB_SECRET_ARN when RDS has rotated the password.
            credentials=credentials_from_config(config),
        )
    if events is None:
        topic = config.orders_topic_arn if config else None
        events = SnsEventPublisher(topic) if topic else NullEventPublisher()
    configure_logging(SERVICE, config.log_level if config else "INFO")
    repo = repository
    publisher = events

    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

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
                "remote_addr": request.remote_addr,
                "trace_id": request.headers.get("X-Amzn-Trace-Id"),
            },
        )
        return response

    @app.errorhandler(RepositoryError)
    def _db_unavailable(exc: RepositoryError):
        log.error("database error", extra={"error": str(exc)})
        return jsonify(error="database_unavailable", message="the database is not reachable"), 503

    @app.errorhandler(404)
    def _not_found(_exc):
        return jsonify(error="not_found", message=f"no route for {request.path}"), 404

    @app.errorhandler(405)
    def _method_not_allowed(_exc):
        return jsonify(error="method_not_allowed", message=f"{request.method} not allowed"), 405

    @app.errorhandler(413)
    def _too_large(_exc):
        return jsonify(error="payload_too_large", message=f"body over {MAX_BODY_BYTES} bytes"), 413

    @app.get("/health")
    def health():
        # Liveness only: never touches the database.
        return jsonify(status="ok", service=SERVICE)

    @app.get("/ready")
    def ready():
        try:
            repo.ping()
        except RepositoryError as exc:
            log.warning("not ready", extra={"error": str(exc)})
            return jsonify(status="unavailable", service=SERVICE, checks={"database": "down"}), 503
        return jsonify(status="ready", service=SERVICE, checks={"database": "ok"})

    @app.get("/greeting")
    def greeting():
        # Used by web's /api/greeting; deliberately independent of the database.
        return jsonify(message="Hello from the api service!", service=SERVICE)

    @app.get("/items")
    def list_items():
        raw = request.args.get("limit", "100")
        try:
            limit = int(raw)
        except ValueError:
            return _bad_request(f"query parameter 'limit' must be an integer, got {raw!r}")
        if not 1 <= limit <= 1000:
            return _bad_request("query parameter 'limit' must be between 1 and 1000")
        return jsonify(items=[item.to_dict() for item in repo.list_items(limit)])

    @app.post("/items")
    def create_item():
        body = request.get_json(silent=True)
        if body is None:
            return _bad_request(
                "request body must be valid JSON with Content-Type: application/json, "
                'e.g. {"name": "widget"}'
            )
        if not isinstance(body, dict):
            return _bad_request('request body must be a JSON object, e.g. {"name": "widget"}')
        if "name" not in body:
            return _bad_request("field 'name' is required")
        name = body["name"]
        if not isinstance(name, str):
            return _bad_request("field 'name' must be a string")
        name = name.strip()
        if not name:
            return _bad_request("field 'name' must not be empty")
        if len(name) > MAX_NAME_LENGTH:
            return _bad_request(
                f"field 'name' must be at most {MAX_NAME_LENGTH} characters, got {len(name)}"
            )
        item = repo.add_item(name)
        try:
            publisher.publish(ORDER_CREATED, item.to_dict())
        except Exception as exc:  # noqa: BLE001 - the item is stored; the event is best effort
            log.error("order event not published", extra={"item_id": item.id, "error": f"{type(exc).__name__}: {exc}"})
        return jsonify(item.to_dict()), 201, {"Location": f"/items/{item.id}"}

    log.info("api service configured", extra={"db_host": config.db_host if config else None})
    return app
