import json
import logging

import pytest

from api_app import Config, ConfigError, InMemoryItemRepository, create_app, load_config


@pytest.fixture
def repo():
    return InMemoryItemRepository()


@pytest.fixture
def client(repo):
    return create_app(repository=repo).test_client()


@pytest.fixture(autouse=True)
def _restore_root_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_health_does_not_touch_the_database():
    client = create_app(repository=InMemoryItemRepository(fail=True)).test_client()
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "service": "api"}


def test_ready_checks_the_database(client):
    assert client.get("/ready").status_code == 200
    down = create_app(repository=InMemoryItemRepository(fail=True)).test_client()
    resp = down.get("/ready")
    assert resp.status_code == 503
    assert resp.get_json()["checks"] == {"database": "down"}


def test_greeting(client):
    resp = client.get("/greeting")
    assert resp.status_code == 200
    assert isinstance(resp.get_json()["message"], str)


def test_items_roundtrip(client):
    assert client.get("/items").get_json() == {"items": []}
    resp = client.post("/items", json={"name": "  widget  "})
    assert resp.status_code == 201
    created = resp.get_json()
    assert created["name"] == "widget"
    assert resp.headers["Location"] == f"/items/{created['id']}"
    client.post("/items", json={"name": "gadget"})
    names = [i["name"] for i in client.get("/items").get_json()["items"]]
    assert names == ["widget", "gadget"]
    assert len(client.get("/items?limit=1").get_json()["items"]) == 1


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"data": "{not json", "content_type": "application/json"}, "valid JSON"),
        ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, "valid JSON"),
        ({"json": ["name"]}, "JSON object"),
        ({"json": {}}, "'name' is required"),
        ({"json": {"title": "x"}}, "'name' is required"),
        ({"json": {"name": 42}}, "must be a string"),
        ({"json": {"name": "   "}}, "must not be empty"),
        ({"json": {"name": "x" * 101}}, "at most 100 characters"),
    ],
)
def test_post_items_validation(client, repo, kwargs, fragment):
    resp = client.post("/items", **kwargs)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "bad_request"
    assert fragment in body["message"]
    assert repo.list_items() == []


def test_name_of_exactly_100_chars_is_accepted(client):
    assert client.post("/items", json={"name": "x" * 100}).status_code == 201


@pytest.mark.parametrize("limit", ["abc", "0", "1001"])
def test_list_items_validates_limit(client, limit):
    assert client.get(f"/items?limit={limit}").status_code == 400


def test_database_failure_is_503_json():
    client = create_app(repository=InMemoryItemRepository(fail=True)).test_client()
    for resp in (client.get("/items"), client.post("/items", json={"name": "x"})):
        assert resp.status_code == 503
        assert resp.get_json()["error"] == "database_unavailable"


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").get_json()["error"] == "not_found"
    assert client.delete("/items").get_json()["error"] == "method_not_allowed"


def test_one_json_log_line_per_request(repo, capsys):
    client = create_app(repository=repo).test_client()
    capsys.readouterr()
    client.post("/items", json={"name": "logged"})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["service"], record["method"], record["path"], record["status"]) == (
        "api",
        "POST",
        "/items",
        201,
    )


# --- configuration -------------------------------------------------------------

GOOD_ENV = {
    "DB_HOST": "db.internal",
    "DB_NAME": "app",
    "DB_SECRET": json.dumps({"username": "admin", "password": "s3cr3t!"}),
}


def test_config_from_env_with_defaults():
    cfg = load_config(GOOD_ENV)
    assert cfg == Config(
        db_host="db.internal", db_name="app", db_user="admin", db_password="s3cr3t!"
    )
    assert cfg.db_port == 3306
    assert "s3cr3t!" not in repr(cfg)


@pytest.mark.parametrize("missing", ["DB_HOST", "DB_NAME", "DB_SECRET"])
def test_config_names_missing_variable(missing):
    env = {k: v for k, v in GOOD_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(env)


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_config_rejects_bad_port(port):
    with pytest.raises(ConfigError, match="DB_PORT"):
        load_config({**GOOD_ENV, "DB_PORT": port})


@pytest.mark.parametrize(
    "secret",
    ["not json", "[]", '{"username": "admin"}', '{"password": "p"}', '{"username": "", "password": "p"}'],
)
def test_config_rejects_bad_secret_without_leaking_it(secret):
    with pytest.raises(ConfigError, match="DB_SECRET") as info:
        load_config({**GOOD_ENV, "DB_SECRET": secret})
    if len(secret) > 3:
        assert secret not in str(info.value)


def test_create_app_without_arguments_validates_environment(monkeypatch):
    for name in ("DB_HOST", "DB_NAME", "DB_SECRET", "DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="DB_HOST"):
        create_app()
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    # No connection is attempted at start-up, so liveness works without a DB.
    assert create_app().test_client().get("/health").status_code == 200


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0123-AbCdEf"


def test_config_takes_the_secret_arn_with_or_without_the_injected_value():
    cfg = load_config({**GOOD_ENV, "DB_SECRET_ARN": SECRET_ARN})
    assert (cfg.db_user, cfg.db_secret_arn) == ("admin", SECRET_ARN)
    only_arn = {k: v for k, v in GOOD_ENV.items() if k != "DB_SECRET"}
    cfg = load_config({**only_arn, "DB_SECRET_ARN": SECRET_ARN})
    assert (cfg.db_user, cfg.db_password, cfg.db_secret_arn) == (None, None, SECRET_ARN)


@pytest.mark.parametrize("arn", ["arn:aws:ssm:eu-west-1:123456789012:parameter/x", "not a name"])
def test_config_rejects_a_bad_secret_arn(arn):
    with pytest.raises(ConfigError, match="DB_SECRET_ARN"):
        load_config({**GOOD_ENV, "DB_SECRET_ARN": arn})
