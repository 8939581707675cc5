"""MySQLItemRepository against a fake PyMySQL module (no driver or server needed)."""

import datetime as dt
import sys
import types

import pytest

from api_app.repository import MySQLItemRepository, RepositoryError


class FakeMySQLError(Exception):
    pass


class FakeCursor:
    def __init__(self, db):
        self.db = db
        self.lastrowid = None
        self._result = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=()):
        self.db.statements.append(" ".join(sql.split()))
        if self.db.fail_queries:
            raise FakeMySQLError("Lost connection to MySQL server during query")
        if sql.startswith("INSERT"):
            self.db.rows.append((len(self.db.rows) + 1, params[0], dt.datetime(2024, 1, 1, 12, 0)))
            self.lastrowid = len(self.db.rows)
        elif "WHERE id" in sql:
            self._result = [r for r in self.db.rows if r[0] == params[0]]
        elif sql.startswith("SELECT id"):
            self._result = self.db.rows[: params[0]]
        elif sql.startswith("SELECT 1"):
            self._result = [(1,)]

    def fetchall(self):
        return list(self._result)

    def fetchone(self):
        return self._result[0] if self._result else None


class FakeConnection:
    def __init__(self, db):
        self.db = db
        self.closed = False

    def cursor(self):
        return FakeCursor(self.db)

    def close(self):
        self.closed = True
        self.db.closed += 1


class FakeDB:
    def __init__(self):
        self.rows = []
        self.statements = []
        self.connect_kwargs = None
        self.refuse = False
        self.fail_queries = False
        self.closed = 0
        self.opened = 0


@pytest.fixture
def db(monkeypatch):
    state = FakeDB()

    def connect(**kwargs):
        state.connect_kwargs = kwargs
        if state.refuse:
            raise FakeMySQLError("Can't connect to MySQL server on 'db' (timed out)")
        state.opened += 1
        return FakeConnection(state)

    fake = types.ModuleType("pymysql")
    fake.connect = connect
    fake.MySQLError = FakeMySQLError
    monkeypatch.setitem(sys.modules, "pymysql", fake)
    return state


def make_repo():
    return MySQLItemRepository("db.internal", 3306, "admin", "pw", "app", connect_timeout=3)


def test_add_and_list_create_schema_once_and_close_connections(db):
    repo = make_repo()
    item = repo.add_item("widget")
    assert (item.id, item.name) == (1, "widget")
    assert item.created_at.startswith("2024-01-01T12:00:00")
    assert [i.name for i in repo.list_items(10)] == ["widget"]
    creates = [s for s in db.statements if s.startswith("CREATE TABLE IF NOT EXISTS items")]
    assert len(creates) == 1
    assert db.opened == db.closed == 2
    assert db.connect_kwargs["connect_timeout"] == 3
    assert db.connect_kwargs["database"] == "app"


def test_parameters_are_bound_not_interpolated(db):
    make_repo().add_item("x'); DROP TABLE items; --")
    assert all("DROP" not in s for s in db.statements)


def test_connection_failure_becomes_repository_error(db):
    db.refuse = True
    with pytest.raises(RepositoryError, match="cannot connect"):
        make_repo().ping()


def test_query_failure_becomes_repository_error_and_closes(db):
    db.fail_queries = True
    with pytest.raises(RepositoryError):
        make_repo().list_items()
    assert db.opened == db.closed == 1


def test_ping(db):
    make_repo().ping()
    assert "SELECT 1" in db.statements
