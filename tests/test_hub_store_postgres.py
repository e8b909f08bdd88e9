"""The hub's PostgreSQL store as a database: migrations, a batch kept whole or not at all, a refused value, a session
the server ended, a server that is not there. The merge's commit on both stores is tests/test_hub_store_commit.py."""

from __future__ import annotations

import threading

import psycopg
import pytest

import wire
from hub.store import Batch, KioskStatus, Quarantined, StoreError
from hub.store.postgres import open_store
from hub.store.postgres.migrations import MIGRATIONS

from .hub_helpers import HUNG_ID, LAN_ID, check_in
from .hub_stores import PostgresDb
from .mosquitto import free_port

AT = "2024-05-01T10:00:00+07:00"
LATER = "2024-05-01T10:05:00+07:00"


@pytest.fixture
def own_url(pg_cluster):
    """A database of the test's own (its schema changes)."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


def garbage():
    return Quarantined(topic=wire.topic("ka", wire.EVENT), kiosk="ka", reason="not_json", detail="no", body=b"{oops",
                       received_at=AT)


def test_ok__reopen_keeps_data_and_schema(pg_url):
    db = PostgresDb(pg_url)
    with open_store(pg_url) as store:
        store.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2)]), AT)
    merged = db.snapshot()
    with open_store(pg_url) as store:
        assert store.ack_for("ka", AT).watermark == 2
        again = store.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2)]), LATER)
        assert (again.merged, again.duplicates) == (0, 2)
    assert db.snapshot() == merged
    assert db.row("SELECT max(version) FROM schema_migrations") == (len(MIGRATIONS),)


def test_fail__a_newer_schema_is_refused(own_url):
    open_store(own_url).close()
    with psycopg.connect(own_url) as conn:
        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="upgrade the hub"):
        open_store(own_url)


def test_fail__a_batch_that_breaks_midway_keeps_nothing(pg_url):
    db = PostgresDb(pg_url)
    with open_store(pg_url) as store:
        before = db.snapshot()
        broken = wire.Event("ka", 3, wire.DOSE_EVENT, "b", AT, True, {"id_number": LAN_ID}, "{}")  # no dose: derive fails
        with pytest.raises(KeyError):
            store.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2), broken], quarantined=[garbage()]), AT)
        assert db.snapshot() == before and store.stats()["quarantined"]["total"] == 0
        assert store.commit(Batch(events=[check_in("ka", 1)]), AT).merged == 1  # the connection is usable again


def test_fail__a_value_the_database_refuses_is_no_store_error_and_keeps_nothing(pg_url):
    db = PostgresDb(pg_url)
    with open_store(pg_url) as store:
        before = db.snapshot()
        nameless = wire.Event(None, 1, "PersonCalled", "b", AT, True, {}, "{}")  # kiosks.kiosk is NOT NULL
        with pytest.raises(psycopg.IntegrityError):
            store.commit(Batch(events=[check_in("ka", 1), nameless], quarantined=[garbage()]), AT)
        assert db.snapshot() == before and store.stats()["quarantined"]["total"] == 0


def test_fail__a_session_the_server_ended_is_a_store_error_and_the_next_commit_connects_again(pg_url):
    with open_store(pg_url) as store, psycopg.connect(pg_url, autocommit=True) as admin:
        pid = store.conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError, match="failed"):
            store.commit(Batch(events=[check_in("ka", 1)]), AT)
        assert store.commit(Batch(events=[check_in("ka", 1)]), AT).merged == 1


def test_fail__no_server_at_the_url_is_a_store_error():
    with pytest.raises(StoreError, match="cannot connect"):
        open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/hub?connect_timeout=2")


def test_ok__two_workers_each_with_the_others_statuses_never_deadlock(pg_url):
    """Worker A merges ka's events and kb's statuses, worker B the reverse, at once: both lock every kiosk their batch
    names, in kiosk order, before writing any, so neither waits for the other while holding what it needs."""
    def status(kiosk, n):
        body = wire.kiosk_status(kiosk, "online", boot="boot-2", version="0.1.0", at=AT, clock_synced=True, outbox=n)
        return KioskStatus(kiosk, wire.parse_kiosk_status(kiosk, body), f"2024-05-01T10:{n:02d}:00+07:00")

    def work(store, mine, other):
        start.wait(timeout=10)
        for n in range(1, 41):
            store.commit(Batch(events=[check_in(mine, n, HUNG_ID if n % 2 else LAN_ID)], statuses=[status(other, n)]), AT)

    start, failures = threading.Barrier(2), []
    with open_store(pg_url) as a, open_store(pg_url) as b:
        a.enroll("ka", "site-1", None, AT)
        a.enroll("kb", "site-1", None, AT)
        workers = [threading.Thread(target=lambda *args: failures.append(run(work, *args)), args=args)
                   for args in ((a, "ka", "kb"), (b, "kb", "ka"))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert failures == [None, None]
        assert [(k["kiosk"], k["watermark"], k["backlog"]) for k in a.stats()["kiosks"]] == [("ka", 40, 40), ("kb", 40, 40)]


def run(step, *args):
    """Run step; return the exception it raised, or None."""
    try:
        step(*args)
    except Exception as exc:  # noqa: BLE001 - the test asserts there is none, and shows it
        return exc
    return None
