"""The api's items table, as the cleanup sees it: how old is too old, and deleting in batches.

The table is the api's (services/api/api_app/repository.py, `items`: id, name, created_at
TIMESTAMP); the cleanup never creates or alters it. Times are compared in the database's own
session time zone (`NOW() - INTERVAL n DAY`, and created_at read in the same zone), so the
result does not depend on the server's or the container's time zone. The cutoff is fixed
once per run: rows that age past it during the run wait for the next night.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol

TABLE = "items"


class StoreError(Exception):
    """The database failed (unreachable, refused, SQL error...)."""


class ItemStore(Protocol):
    def table_exists(self) -> bool: ...

    def cutoff(self, retention_days: int) -> _dt.datetime:
        """The database's now, less the retention: items created before it are expired."""

    def count_expired(self, cutoff: _dt.datetime) -> int: ...

    def delete_expired(self, cutoff: _dt.datetime, limit: int) -> int:
        """Delete at most `limit` expired items, oldest first; return how many went."""

    def close(self) -> None: ...


class MySQLItemStore:
    """PyMySQL, one connection for the run, autocommit: each batch is its own short transaction."""

    def __init__(self, *, host: str, port: int, user: str, password: str, database: str, connect_timeout: int = 5) -> None:
        import pymysql  # imported lazily: the tests' fakes need no driver

        self._driver = pymysql
        try:
            self._conn = pymysql.connect(
                host=host,
                port=port,
                user=user,
                password=password,
                database=database,
                connect_timeout=connect_timeout,
                read_timeout=60,
                write_timeout=60,
                charset="utf8mb4",
                autocommit=True,
            )
        except pymysql.MySQLError as exc:
            raise StoreError(f"cannot connect to MySQL at {host}:{port}: {exc}") from exc

    def _query(self, sql: str, params: tuple = ()):  # type: ignore[no-untyped-def]
        try:
            with self._conn.cursor() as cur:
                count = cur.execute(sql, params)
                return count, cur.fetchall()
        except self._driver.MySQLError as exc:
            raise StoreError(f"MySQL query failed: {exc}") from exc

    def table_exists(self) -> bool:
        _, rows = self._query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s", (TABLE,)
        )
        return rows[0][0] > 0

    def cutoff(self, retention_days: int) -> _dt.datetime:
        _, rows = self._query("SELECT NOW() - INTERVAL %s DAY", (retention_days,))
        return rows[0][0]

    def count_expired(self, cutoff: _dt.datetime) -> int:
        _, rows = self._query(f"SELECT COUNT(*) FROM {TABLE} WHERE created_at < %s", (cutoff,))
        return int(rows[0][0])

    def delete_expired(self, cutoff: _dt.datetime, limit: int) -> int:
        # MySQL's single-table DELETE takes ORDER BY and LIMIT: oldest first, a bounded batch.
        count, _ = self._query(f"DELETE FROM {TABLE} WHERE created_at < %s ORDER BY id LIMIT %s", (cutoff, limit))
        return int(count)

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 (closing a broken connection must not hide the result)
            pass
