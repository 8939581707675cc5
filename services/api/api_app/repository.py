"""Item storage behind a small interface, so tests can use an in-memory fake."""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RepositoryError(Exception):
    """The backing store failed (unreachable, timeout, SQL error...)."""


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


class MySQLItemRepository:
    """MySQL (RDS) implementation using PyMySQL.

    One short-lived connection per call: simple, and robust across RDS
    fail-overs and credential rotation restarts. The table is created on first
    use, so a database that is down at start-up does not stop the container
    (liveness /health stays green, /ready reports the problem).
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        database: str,
        connect_timeout: int = 5,
    ) -> None:
        self._params = dict(
            host=host,
            port=port,
            user=user,
            password=password,
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
        import pymysql  # imported lazily: tests and the fake need no driver

        return pymysql

    def _connect(self):
        driver = self._driver()
        try:
            return driver.connect(**self._params)
        except driver.MySQLError as exc:
            raise RepositoryError(f"cannot connect to MySQL at {self._params['host']}: {exc}") from exc

    def _run(self, fn):
        driver = self._driver()
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                if not self._schema_ready:
                    with self._schema_lock:
                        if not self._schema_ready:
                            cur.execute(SCHEMA)
                            self._schema_ready = True
                return fn(cur)
        except driver.MySQLError as exc:
            raise RepositoryError(f"MySQL query failed: {exc}") from exc
        finally:
            conn.close()

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

        return self._run(q)

    def add_item(self, name: str) -> Item:
        def q(cur):
            cur.execute("INSERT INTO items (name) VALUES (%s)", (name,))
            cur.execute("SELECT id, name, created_at FROM items WHERE id = %s", (cur.lastrowid,))
            return self._row_to_item(cur.fetchone())

        return self._run(q)

    def ping(self) -> None:
        driver = self._driver()
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        except driver.MySQLError as exc:
            raise RepositoryError(f"MySQL ping failed: {exc}") from exc
        finally:
            conn.close()
