"""The kiosk store: a write lock held elsewhere is DatabaseBusy and nothing is written; the checks doctor, /healthz and the publisher use."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from kiosk.errors import DatabaseBusy, StoreError
from kiosk.queue.store import Store


def test_fail__a_write_lock_held_elsewhere_is_database_busy(store):
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store.db.execute("PRAGMA busy_timeout=10")
    try:
        with pytest.raises(DatabaseBusy) as caught:
            with store.write() as db:
                db["scans"].insert({"at": "2026-11-25T08:00:00+07:00", "accepted": 1})
        assert isinstance(caught.value, StoreError) and "busy" in str(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.db["scans"].count == 0


def test_ok__a_fresh_file_passes_the_quick_check_and_counts_while_writable(store):
    assert store.quick_check() == "ok"
    assert store.count_writable("tickets") == 0


def test_fail__counting_while_a_write_lock_is_held_elsewhere_is_database_busy(store):
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store.relax(10)
    try:
        with pytest.raises(DatabaseBusy):
            store.count_writable("tickets")
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_ok__relax_lightens_only_this_threads_connection(store):
    store.relax(20)
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 20
    seen = {}
    thread = threading.Thread(target=lambda: seen.update(synchronous=store.db.execute("PRAGMA synchronous").fetchone()[0]))
    thread.start()
    thread.join(10)
    assert seen == {"synchronous": 2}  # FULL, as every connection opens


def test_ok__data_version_moves_when_another_connection_commits(store):
    before = store.data_version()
    with store.write() as db:
        db["scans"].insert({"at": "2026-11-25T08:00:00+07:00", "accepted": 1})
    assert store.data_version() == before  # its own commits leave it
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("insert into scans (at, accepted) values ('2026-11-25T08:01:00+07:00', 0)")
    other.close()
    assert store.data_version() != before


def test_fail__ping_says_why_when_the_file_is_not_a_database(tmp_path):
    store = Store(tmp_path / "k.db")
    store.ping()
    store.close()
    for leftover in tmp_path.glob("k.db-*"):
        leftover.unlink()
    (tmp_path / "k.db").write_bytes(b"not a database at all " * 200)
    with pytest.raises(StoreError, match="not a database"):
        store.ping()
    store.close()
