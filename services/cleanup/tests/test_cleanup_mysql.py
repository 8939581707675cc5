"""The cleanup against the api's own table on a real MySQL-compatible server (MariaDB on
loopback, the api's fixtures: see conftest), through ``main`` as ECS runs it."""

import json

import pytest

from api_app.repository import SCHEMA  # the api's table, as the api creates it
from cleanup_app.main import EXIT_FAILED, EXIT_OK, main
from cleanup_app.store import MySQLItemStore, StoreError


def env_for(account, **extra):
    return {
        "DB_HOST": account.host,
        "DB_PORT": str(account.port),
        "DB_NAME": account.database,
        "DB_SECRET": json.dumps({"username": account.user, "password": account.password}),
        "RETENTION_DAYS": "30",
        "BATCH_SIZE": "2",
        **extra,
    }


def seed(server, account, ages_in_days):
    """The api's table with one item per age (days before the server's NOW())."""
    conn = server.admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE `{account.database}`")
            cur.execute(SCHEMA)
            for i, age in enumerate(ages_in_days, start=1):
                cur.execute(
                    "INSERT INTO items (name, created_at) VALUES (%s, NOW() - INTERVAL %s HOUR)", (f"item-{i}", int(age * 24))
                )
    finally:
        conn.close()


def names(server, account):
    rows = server.execute(f"SELECT name FROM `{account.database}`.items ORDER BY id")
    return [name for (name,) in rows]


def test_deletes_the_expired_items_of_the_api_table_and_keeps_the_rest(mariadb_server, db_account):
    seed(mariadb_server, db_account, [400, 31, 29, 45, 1, 30.5, 0])
    assert main(env_for(db_account)) == EXIT_OK
    assert names(mariadb_server, db_account) == ["item-3", "item-5", "item-7"]
    # A second run has nothing left to do (and does no harm).
    assert main(env_for(db_account)) == EXIT_OK
    assert names(mariadb_server, db_account) == ["item-3", "item-5", "item-7"]


def test_a_dry_run_deletes_nothing(mariadb_server, db_account):
    seed(mariadb_server, db_account, [400, 1])
    assert main(env_for(db_account, DRY_RUN="true")) == EXIT_OK
    assert names(mariadb_server, db_account) == ["item-1", "item-2"]


def test_no_items_table_yet_is_not_a_failure(db_account):
    assert main(env_for(db_account)) == EXIT_OK


def test_refused_credentials_fail_the_run(db_account):
    bad = env_for(db_account)
    bad["DB_SECRET"] = json.dumps({"username": db_account.user, "password": "wrong-password"})
    assert main(bad) == EXIT_FAILED


def test_the_store_deletes_oldest_first_and_at_most_the_batch(mariadb_server, db_account):
    seed(mariadb_server, db_account, [40, 50, 60, 1])
    store = MySQLItemStore(
        host=db_account.host, port=db_account.port, user=db_account.user, password=db_account.password, database=db_account.database
    )
    try:
        cutoff = store.cutoff(30)
        assert store.count_expired(cutoff) == 3
        assert store.delete_expired(cutoff, 2) == 2
        # ORDER BY id: item-1 and item-2 (the lowest ids) went first.
        assert names(mariadb_server, db_account) == ["item-3", "item-4"]
    finally:
        store.close()


def test_a_closed_port_is_a_store_error(db_account):
    with pytest.raises(StoreError, match="cannot connect"):
        MySQLItemStore(host=db_account.host, port=1, user="x", password="y", database="z", connect_timeout=1)
