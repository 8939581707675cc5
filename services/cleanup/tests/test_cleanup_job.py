"""The run, on an in-memory store: batches, the time budget, a stop request, dry runs, and the
exit codes of ``main`` (what ECS records, and what the platform's failed-runs rule reads)."""

import datetime as dt
import json
import os
import signal

import pytest

from cleanup_app.job import run_cleanup
from cleanup_app.main import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_STOPPED, main
from cleanup_app.store import StoreError

NOW = dt.datetime(2026, 3, 1, 3, 30)
ENV = {
    "DB_HOST": "db.internal",
    "DB_NAME": "app",
    "DB_SECRET": json.dumps({"username": "platform", "password": "pw"}),
    "RETENTION_DAYS": "30",
    "BATCH_SIZE": "2",
}


class FakeStore:
    """Items by id with their creation time; the database's clock is NOW."""

    def __init__(self, ages_in_days=(), table=True, fail_on_delete=False, on_delete=None):
        self.items = {i: NOW - dt.timedelta(days=age) for i, age in enumerate(ages_in_days, start=1)}
        self.table = table
        self.fail_on_delete = fail_on_delete
        self.on_delete = on_delete
        self.deletes = []
        self.closed = False

    def table_exists(self):
        return self.table

    def cutoff(self, retention_days):
        return NOW - dt.timedelta(days=retention_days)

    def count_expired(self, cutoff):
        return sum(1 for created in self.items.values() if created < cutoff)

    def delete_expired(self, cutoff, limit):
        if self.fail_on_delete:
            raise StoreError("MySQL query failed: (1205, 'Lock wait timeout exceeded')")
        if self.on_delete:
            self.on_delete()
        doomed = sorted(i for i, created in self.items.items() if created < cutoff)[:limit]
        for i in doomed:
            del self.items[i]
        self.deletes.append(len(doomed))
        return len(doomed)

    def close(self):
        self.closed = True


def test_deletes_only_expired_items_oldest_first_in_batches():
    store = FakeStore(ages_in_days=[400, 31, 30.5, 29, 1, 90])
    result = run_cleanup(store, retention_days=30, batch_size=2, budget_seconds=60)
    assert (result.deleted, result.batches, result.complete) == (4, 3, True)
    assert store.deletes == [2, 2, 0]
    assert sorted(store.items) == [4, 5]  # 29 days and 1 day old: kept
    assert result.cutoff == NOW - dt.timedelta(days=30)


def test_stops_taking_batches_when_the_budget_is_spent():
    ticks = iter(range(100))  # one second per look at the clock: the budget ends at 2.5
    store = FakeStore(ages_in_days=[100] * 10)
    result = run_cleanup(store, retention_days=30, batch_size=2, budget_seconds=2.5, clock=lambda: next(ticks))
    assert (result.deleted, result.batches, result.complete, result.stopped) == (4, 2, False, False)
    assert len(store.items) == 6  # the next run continues


def test_a_stop_request_ends_the_run_after_the_batch_in_flight():
    store = FakeStore(ages_in_days=[100] * 10)
    result = run_cleanup(store, retention_days=30, batch_size=2, budget_seconds=60, stop_requested=lambda: len(store.deletes) >= 1)
    assert (result.deleted, result.stopped, result.complete) == (2, True, False)


def test_a_dry_run_counts_and_deletes_nothing():
    store = FakeStore(ages_in_days=[100, 50, 10])
    result = run_cleanup(store, retention_days=30, batch_size=2, budget_seconds=60, dry_run=True)
    assert (result.deleted, result.batches) == (2, 0)
    assert len(store.items) == 3 and store.deletes == []


def test_no_table_yet_is_nothing_to_clean():
    result = run_cleanup(FakeStore(table=False), retention_days=30, batch_size=2, budget_seconds=60)
    assert (result.deleted, result.cutoff, result.complete) == (0, None, True)


def test_main_exits_0_and_logs_one_summary(capsys):
    store = FakeStore(ages_in_days=[100, 100, 100, 1])
    assert main(ENV, store_factory=lambda config: store) == EXIT_OK
    assert store.closed and len(store.items) == 1
    summary = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"cleanup finished"' in line]
    assert len(summary) == 1
    assert summary[0]["deleted"] == 3 and summary[0]["complete"] is True and summary[0]["service"] == "cleanup"


def test_main_exits_1_when_the_database_fails_and_closes_the_connection():
    store = FakeStore(ages_in_days=[100], fail_on_delete=True)
    assert main(ENV, store_factory=lambda config: store) == EXIT_FAILED
    assert store.closed


def test_main_exits_1_when_it_cannot_connect():
    def refuse(config):
        raise StoreError("cannot connect to MySQL at db.internal:3306: (2003, ...)")

    assert main(ENV, store_factory=refuse) == EXIT_FAILED


def test_main_exits_2_on_bad_configuration_and_never_connects():
    def never(config):
        raise AssertionError("connected despite a bad configuration")

    assert main({**ENV, "BATCH_SIZE": "0"}, store_factory=never) == EXIT_CONFIG


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_main_exits_143_when_sigterm_arrives_during_a_batch(restore_signals):
    # What the platform's deadline container (or `aws ecs stop-task`) does to a run.
    store = FakeStore(ages_in_days=[100] * 10, on_delete=lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert main(ENV, store_factory=lambda config: store) == EXIT_STOPPED == 143
    assert store.deletes == [2]  # the batch in flight finished; no other began
