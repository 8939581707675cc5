"""Item storage behind a small interface, so tests can use an in-memory fake."""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from .errors import RepositoryError

log = logging.getLogger("api_app")


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ItemRepository(Protocol):
    def list_items(self, limit: int = 100) -> list[Item]: ...

    def add_item(self, name: str) -> Item: ...

    def ping(self) -> None:
        """Raise RepositoryError if the store is not usable."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


class InMemoryItemRepository:
    """Thread-safe fake used by the tests (and handy for local experiments)."""

    def __init__(self, fail: bool = False) -> None:
        self._items: list[Item] = []
        self._lock = threading.Lock()
        self.fail = fail

    def _check(self) -> None:
        if self.fail:
            raise RepositoryError("in-memory repository configured to fail")

    def list_items(self, limit: int = 100) -> list[Item]:
        self._check()
        with self._lock:
            return list(self._items[:limit])

    def add_item(self, name: str) -> Item:
        self._check()
        with self._lock:
            item = Item(id=len(self._items) + 1, name=name, created_at=_now())
            self._items.append(item)
            return item

    def ping(self) -> None:
        self._check()


SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


# ER_ACCESS_DENIED_ERROR: the server refused the user name / password (a rotated password).
ACCESS_DENIED = 1045


class _Refused(Exception):
    """The server refused the credentials (while connecting or on an open connection)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class MySQLItemRepository:
    """MySQL (RDS) implementation using PyMySQL.

    One short-lived connection per call: simple, and robust across RDS
    fail-overs. The table is created on first use, so a database that is down at
    start-up does not stop the container (liveness /health stays green, /ready
    reports the problem).

    Credentials come from ``credentials`` (see api_app.credentials), or from
    ``user``/``password`` when they cannot change. When the server refuses them
    (1045: RDS rotated the password), the source is asked once for newer ones and
    the call is tried once more with them; otherwise, or if those are refused
    too, the call fails with RepositoryError (the app answers 503).
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str | None = None,
        password: str | None = None,
        database: str = "",
        connect_timeout: int = 5,
        *,
        credentials=None,
    ) -> None:
        if not database:
            raise TypeError("MySQLItemRepository needs a database name")
        if credentials is None:
            if not (user and password):
                raise TypeError("MySQLItemRepository needs user and password, or credentials")
            from .credentials import Credentials, StaticCredentials

            credentials = StaticCredentials(Credentials(user, password))
        self._credentials = credentials
        self._params = dict(
            host=host,
            port=port,
            database=database,
            connect_timeout=connect_timeout,
            read_timeout=10,
            write_timeout=10,
            charset="utf8mb4",
            autocommit=True,
        )
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @staticmethod
    def _driver():
        import pymysql  # imported lazily: the in-memory fake needs no driver

        return pymysql

    def _attempt(self, driver, credentials, fn, failure: str):
        try:
            conn = driver.connect(user=credentials.user, password=credentials.password, **self._params)
        except driver.MySQLError as exc:
            if _refused(exc):
                raise _Refused(exc) from exc
            raise RepositoryError(f"cannot connect to MySQL at {self._params['host']}: {exc}") from exc
        try:
            with conn.cursor() as cur:
                return fn(cur)
        except driver.MySQLError as exc:
            if _refused(exc):
                raise _Refused(exc) from exc
            raise RepositoryError(f"{failure}: {exc}") from exc
        finally:
            conn.close()

    def _run(self, fn, failure: str = "MySQL query failed"):
        driver = self._driver()
        credentials = self._credentials.current()
        try:
            return self._attempt(driver, credentials, fn, failure)
        except _Refused as refused:
            first = refused.error
        # One line per refusal, whatever happens next (never the password).
        context = {"credentials_from": self._credentials.describe(), "db_user": credentials.user, "error": str(first)}
        try:
            fresh = self._credentials.refresh(credentials)
        except RepositoryError as exc:
            log.warning(f"database credentials rejected; re-reading them failed: {exc}", extra=context)
            raise
        outcome = "re-read them, reconnecting once" if fresh is not None else "no newer ones to try"
        log.warning(f"database credentials rejected; {outcome} ({context['credentials_from']})", extra=context)
        if fresh is None:
            raise RepositoryError(f"MySQL refused the credentials: {first}") from first
        try:
            return self._attempt(driver, fresh, fn, failure)
        except _Refused as refused:
            raise RepositoryError(f"MySQL refused the re-read credentials too: {refused.error}") from refused.error

    def _with_schema(self, fn):
        def run(cur):
            if not self._schema_ready:
                with self._schema_lock:
                    if not self._schema_ready:
                        cur.execute(SCHEMA)
                        self._schema_ready = True
            return fn(cur)

        return self._run(run)

    @staticmethod
    def _row_to_item(row) -> Item:
        item_id, name, created_at = row
        if isinstance(created_at, _dt.datetime):
            created_at = created_at.replace(tzinfo=_dt.timezone.utc).isoformat()
        return Item(id=int(item_id), name=name, created_at=str(created_at))

    def list_items(self, limit: int = 100) -> list[Item]:
        def q(cur):
            cur.execute("SELECT id, name, created_at FROM items ORDER BY id LIMIT %s", (limit,))
            return [self._row_to_item(r) for r in cur.fetchall()]

        return self._with_schema(q)

    def add_item(self, name: str) -> Item:
        def q(cur):
            cur.execute("INSERT INTO items (name) VALUES (%s)", (name,))
            cur.execute("SELECT id, name, created_at FROM items WHERE id = %s", (cur.lastrowid,))
            return self._row_to_item(cur.fetchone())

        return self._with_schema(q)

    def ping(self) -> None:
        def q(cur):
            cur.execute("SELECT 1")
            cur.fetchone()

        self._run(q, failure="MySQL ping failed")


def _refused(exc: Exception) -> bool:
    return bool(exc.args) and exc.args[0] == ACCESS_DENIED
