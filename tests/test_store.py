"""The kiosk store's refusals: a write lock held elsewhere is DatabaseBusy, and nothing is written."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.errors import DatabaseBusy, StoreError


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
