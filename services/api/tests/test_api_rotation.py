"""The database password rotates under a running app (RDS-managed master secret, every 7 days
by default): the app re-reads the secret from Secrets Manager (moto) and reconnects to a real
server (MariaDB on loopback, see conftest). A password that is simply wrong fails cleanly."""

import json
import logging
import secrets

import botocore.client
import pymysql
import pytest

from api_app import create_app


@pytest.fixture(autouse=True)
def _restore_root_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def secret_json(account, password=None):
    return json.dumps({"username": account.user, "password": password or account.password})


@pytest.fixture
def secret_arn(secrets_manager, db_account):
    # RDS names its managed secrets rds!db-<uuid>; the value has at least username and password.
    return secrets_manager.create_secret(Name="rds!db-0123", SecretString=secret_json(db_account))["ARN"]


@pytest.fixture
def app_env(monkeypatch, db_account, secret_arn):
    """The environment ECS gives the api: DB_SECRET injected at start, DB_SECRET_ARN to re-read it."""
    env = {
        "DB_HOST": db_account.host,
        "DB_PORT": str(db_account.port),
        "DB_NAME": db_account.database,
        "DB_SECRET": secret_json(db_account),
        "DB_SECRET_ARN": secret_arn,
        "DB_CONNECT_TIMEOUT_SECONDS": "3",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def calls(monkeypatch):
    """Counts connection attempts to the server and Secrets Manager reads."""
    counts = {"connect": 0, "GetSecretValue": 0}
    connect, api_call = pymysql.connect, botocore.client.BaseClient._make_api_call

    def counting_connect(*args, **kwargs):
        counts["connect"] += 1
        return connect(*args, **kwargs)

    def counting_api_call(self, operation, params):
        counts[operation] = counts.get(operation, 0) + 1
        return api_call(self, operation, params)

    monkeypatch.setattr(pymysql, "connect", counting_connect)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting_api_call)
    return counts


def rotate(server, account, secrets_manager, arn, *, stage="AWSCURRENT"):
    """What RDS's managed rotation does: a new password in the secret and on the server."""
    new_password = secrets.token_urlsafe(16)
    secrets_manager.put_secret_value(
        SecretId=arn, SecretString=secret_json(account, new_password), VersionStages=[stage]
    )
    server.execute(f"ALTER USER `{account.user}`@'%%' IDENTIFIED BY %s", (new_password,))
    server.kill_connections(account.user)  # and whatever the app held open must reconnect
    return new_password


def log_records(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def rotation_lines(records):
    return [r for r in records if "rejected" in r["message"]]


def test_the_app_keeps_answering_when_the_password_rotates(
    mariadb_server, db_account, secrets_manager, secret_arn, app_env, calls, capsys
):
    client = create_app().test_client()
    assert client.post("/items", json={"name": "before"}).status_code == 201
    assert calls["GetSecretValue"] == 0  # the value ECS injected is enough until it is refused

    rotate(mariadb_server, db_account, secrets_manager, secret_arn)
    capsys.readouterr()

    resp = client.get("/items")
    assert resp.status_code == 200, resp.get_json()
    assert [i["name"] for i in resp.get_json()["items"]] == ["before"]
    assert calls["GetSecretValue"] == 1
    (line,) = rotation_lines(log_records(capsys))
    assert line["level"] == "WARNING" and db_account.password not in json.dumps(line)

    # Later requests use the new password straight away: no more reads, no more warnings.
    assert client.post("/items", json={"name": "after"}).status_code == 201
    assert client.get("/ready").status_code == 200
    assert calls["GetSecretValue"] == 1
    assert rotation_lines(log_records(capsys)) == []


def test_the_app_keeps_answering_during_the_rotation_window(
    mariadb_server, db_account, secrets_manager, secret_arn, app_env
):
    # Between changing the password on the server and moving AWSCURRENT, the new value is
    # only in AWSPENDING (Secrets Manager's single-user rotation strategy).
    client = create_app().test_client()
    assert client.get("/ready").status_code == 200
    rotate(mariadb_server, db_account, secrets_manager, secret_arn, stage="AWSPENDING")
    assert client.post("/items", json={"name": "mid-rotation"}).status_code == 201


def test_the_secret_is_read_from_secrets_manager_when_only_its_arn_is_given(
    monkeypatch, mariadb_server, db_account, secrets_manager, secret_arn, app_env, calls
):
    monkeypatch.delenv("DB_SECRET")
    client = create_app().test_client()
    assert calls["GetSecretValue"] == 0  # nothing is read at start: /health needs no database
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    rotate(mariadb_server, db_account, secrets_manager, secret_arn)
    assert client.get("/ready").status_code == 200
    assert calls["GetSecretValue"] == 2


def test_a_wrong_password_fails_cleanly_without_endless_retries(
    monkeypatch, db_account, secrets_manager, secret_arn, app_env, calls, capsys
):
    wrong = secret_json(db_account, "not-the-password")
    secrets_manager.put_secret_value(SecretId=secret_arn, SecretString=wrong)
    monkeypatch.setenv("DB_SECRET", wrong)
    client = create_app().test_client()
    capsys.readouterr()

    for _ in range(2):
        before = dict(calls)
        resp = client.get("/items")
        assert resp.status_code == 503
        assert resp.get_json()["error"] == "database_unavailable"
        # One attempt with the refused password, one fresh read of the secret (AWSCURRENT,
        # then AWSPENDING in case a rotation is half-way), no second attempt with the same
        # value, and no loop.
        assert calls["connect"] - before["connect"] == 1
        assert calls["GetSecretValue"] - before["GetSecretValue"] == 2
        records = log_records(capsys)
        assert len(rotation_lines(records)) == 1
        assert "not-the-password" not in json.dumps(records)


def test_without_the_secret_arn_a_rotated_password_is_a_clean_503(
    monkeypatch, mariadb_server, db_account, secrets_manager, secret_arn, app_env, calls, capsys
):
    monkeypatch.delenv("DB_SECRET_ARN")
    client = create_app().test_client()
    assert client.get("/ready").status_code == 200
    rotate(mariadb_server, db_account, secrets_manager, secret_arn)
    capsys.readouterr()
    assert client.get("/items").status_code == 503
    assert calls["GetSecretValue"] == 0
    (line,) = rotation_lines(log_records(capsys))
    assert "DB_SECRET_ARN" in line["message"]


def test_requests_refused_together_share_one_read_of_the_secret(
    mariadb_server, db_account, secrets_manager, secret_arn, app_env, calls
):
    from concurrent.futures import ThreadPoolExecutor

    app = create_app()
    assert app.test_client().get("/ready").status_code == 200
    rotate(mariadb_server, db_account, secrets_manager, secret_arn)
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: app.test_client().get("/items").status_code, range(8)))
    assert statuses == [200] * 8
    assert calls["GetSecretValue"] == 1
