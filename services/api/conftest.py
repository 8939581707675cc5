"""Make ``api_app`` importable however pytest is started
(``pytest services/`` from the repo root, or ``pytest`` inside services/api),
and give the api's tests a real MySQL-compatible server and an emulated Secrets Manager.

The server is Debian's ``mariadb-server`` (``mariadbd`` + ``mariadb-install-db``), started
once per test session (per xdist worker) and only when a test asks for it: a throw-away
data directory, a free loopback TCP port, its own socket and pid file (no clash with a
system server), ``--no-defaults`` (no /etc/mysql/my.cnf), real authentication (never
``--skip-grant-tables``). Each test gets its own database and user, so tests can change
passwords without disturbing each other. A missing server fails the tests: CI must not
skip them in silence.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_SERVICE_DIR = str(Path(__file__).resolve().parent)
if _SERVICE_DIR not in sys.path:
    sys.path.insert(0, _SERVICE_DIR)

_SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec")
_INSTALL_HINT = "install Debian's mariadb-server (apt-get install -y mariadb-server); .ci/run does it in CI"
START_TIMEOUT_SECONDS = 30


def _find(*names: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Linux: the server gets SIGTERM if pytest dies without running its teardown (SIGKILL).
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class MariaDBServer:
    port: int
    socket_path: str
    host: str = "127.0.0.1"
    _accounts: list[str] = field(default_factory=list)

    def admin(self):
        """A root connection over the server's own socket (root has no password there)."""
        import pymysql

        return pymysql.connect(unix_socket=self.socket_path, user="root", autocommit=True)

    def execute(self, sql: str, params=None) -> list[tuple]:
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def kill_connections(self, user: str) -> int:
        """Drop every connection of ``user``, as a password change plus a fail-over would."""
        ids = self.execute("SELECT id FROM information_schema.processlist WHERE user = %s", (user,))
        for (conn_id,) in ids:
            with contextlib.suppress(Exception):
                self.execute(f"KILL CONNECTION {int(conn_id)}")
        return len(ids)


def _start_server(workdir: Path) -> tuple[subprocess.Popen, MariaDBServer]:
    server_bin = _find("mariadbd", "mysqld")
    install_db = _find("mariadb-install-db", "mysql_install_db")
    if server_bin is None or install_db is None:
        pytest.fail(
            "the api's database tests need a MySQL-compatible server (mariadbd or mysqld, and "
            f"mariadb-install-db) on this machine: {_INSTALL_HINT}",
            pytrace=False,
        )
    # mariadbd refuses to run as root unless told so explicitly.
    user = ["--user=root"] if os.geteuid() == 0 else []
    datadir = workdir / "data"
    install = subprocess.run(
        [install_db, "--no-defaults", f"--datadir={datadir}", "--auth-root-authentication-method=normal",
         "--skip-test-db", *user],
        capture_output=True, text=True, timeout=120,
    )
    if install.returncode != 0:
        pytest.fail(f"mariadb-install-db failed ({install.returncode}):\n{install.stdout}\n{install.stderr}", pytrace=False)

    port = _free_loopback_port()
    server = MariaDBServer(port=port, socket_path=str(workdir / "mysqld.sock"))
    error_log = workdir / "error.log"
    process = subprocess.Popen(
        [
            server_bin, "--no-defaults", f"--datadir={datadir}", *user,
            "--bind-address=127.0.0.1", f"--port={port}", f"--socket={server.socket_path}",
            f"--pid-file={workdir / 'mysqld.pid'}", f"--tmpdir={workdir}", f"--log-error={error_log}",
            # 'app'@'%' must match 127.0.0.1, and no host name look-ups on loopback.
            "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            server.execute("SELECT 1")
            return process, server
        except Exception as exc:  # not up yet
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                log = error_log.read_text(errors="replace")[-3000:] if error_log.exists() else ""
                pytest.fail(f"{server_bin} did not start on 127.0.0.1:{port} ({exc}):\n{log}", pytrace=False)
            time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def mariadb_server():
    """A MariaDB server on loopback for this test session; stopped and deleted whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix="api-mariadb-"))  # short: socket paths are limited
    process = None
    try:
        process, server = _start_server(workdir)
        yield server
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class DatabaseAccount:
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)


@pytest.fixture
def db_account(mariadb_server):
    """A fresh database and a user with a random password that owns it (like RDS's master user)."""
    suffix = secrets.token_hex(4)
    account = DatabaseAccount(
        host=mariadb_server.host,
        port=mariadb_server.port,
        database=f"app_{suffix}",
        user=f"app_{suffix}",
        password=secrets.token_urlsafe(16),
    )
    mariadb_server.execute(f"CREATE DATABASE `{account.database}`")
    # With parameters, PyMySQL formats the statement with %: the host wildcard is '%%' there.
    mariadb_server.execute(f"CREATE USER `{account.user}`@'%%' IDENTIFIED BY %s", (account.password,))
    mariadb_server.execute(f"GRANT ALL PRIVILEGES ON `{account.database}`.* TO `{account.user}`@'%'")
    yield account
    mariadb_server.kill_connections(account.user)
    mariadb_server.execute(f"DROP USER IF EXISTS `{account.user}`@'%'")
    mariadb_server.execute(f"DROP DATABASE IF EXISTS `{account.database}`")


@pytest.fixture
def secrets_manager(monkeypatch):
    """Secrets Manager emulated in-process by moto: the app reads it through boto3 as on AWS."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        import boto3

        yield boto3.client("secretsmanager", region_name="us-east-1")
