"""MySQLItemRepository against a real MySQL-compatible server (MariaDB on loopback, see conftest)."""

import pytest

from api_app.repository import MySQLItemRepository, RepositoryError


def make_repo(account, **overrides):
    params = dict(
        host=account.host,
        port=account.port,
        user=account.user,
        password=account.password,
        database=account.database,
        connect_timeout=3,
    )
    return MySQLItemRepository(**{**params, **overrides})


def tables(server, account):
    rows = server.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (account.database,)
    )
    return sorted(name for (name,) in rows)


def test_add_and_list_create_the_schema_and_close_connections(mariadb_server, db_account):
    repo = make_repo(db_account)
    assert tables(mariadb_server, db_account) == []
    item = repo.add_item("widget")
    assert tables(mariadb_server, db_account) == ["items"]
    assert (item.id, item.name) == (1, "widget")
    assert item.created_at[:4].isdigit() and item.created_at.endswith("+00:00")
    repo.add_item("gadget")
    assert [i.name for i in repo.list_items(10)] == ["widget", "gadget"]
    assert [i.name for i in repo.list_items(1)] == ["widget"]
    # A second repository (another worker process) finds the table and the rows.
    assert [i.id for i in make_repo(db_account).list_items()] == [1, 2]
    # One short-lived connection per call: nothing stays open.
    assert mariadb_server.kill_connections(db_account.user) == 0


def test_parameters_are_bound_not_interpolated(mariadb_server, db_account):
    repo = make_repo(db_account)
    hostile = "x'); DROP TABLE items; --"
    assert repo.add_item(hostile).name == hostile
    assert [i.name for i in repo.list_items()] == [hostile]
    assert tables(mariadb_server, db_account) == ["items"]


def test_utf8mb4_names_round_trip(db_account):
    repo = make_repo(db_account)
    repo.add_item("Grüße 🚀")
    assert [i.name for i in repo.list_items()] == ["Grüße 🚀"]


def test_connection_failure_becomes_repository_error(db_account):
    closed_port = db_account.port + 1 if db_account.port < 65535 else db_account.port - 1
    with pytest.raises(RepositoryError, match="cannot connect"):
        make_repo(db_account, port=closed_port, connect_timeout=1).ping()


def test_query_failure_becomes_repository_error_and_closes(mariadb_server, db_account):
    # The user may connect but not create the table: the query fails, not the connection.
    mariadb_server.execute(f"REVOKE ALL PRIVILEGES ON `{db_account.database}`.* FROM `{db_account.user}`@'%'")
    mariadb_server.execute(f"GRANT SELECT ON `{db_account.database}`.* TO `{db_account.user}`@'%'")
    with pytest.raises(RepositoryError, match="query failed"):
        make_repo(db_account).list_items()
    assert mariadb_server.kill_connections(db_account.user) == 0


def test_ping(db_account):
    make_repo(db_account).ping()


def test_unknown_database_is_a_repository_error(db_account):
    with pytest.raises(RepositoryError):
        make_repo(db_account, database="no_such_database").ping()
