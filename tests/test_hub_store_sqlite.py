"""The hub's SQLite store as a file: WAL and sync, migrations, a batch kept whole or not at all, kill -9 mid-commit,
waiting for another writer. The merge's commit on both stores is tests/test_hub_store_commit.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import wire
from hub.store.migrations import MIGRATIONS
from hub.store import Batch, StoreError
from hub.store.sqlite import open_store
from kiosk.queue.store import Store as KioskStore

from .hub_helpers import LAN_ID, check_in, snapshot
from .hub_stores import AT, LATER, garbage, seqs, status

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hub.db"


@pytest.fixture
def hub(path):
    with open_store(path) as store:
        store.enroll("ka", "site-1", "hash-a", AT)
        store.enroll("kb", "site-2", "hash-b", AT)
        yield store


def marks(ack: wire.Ack) -> tuple:
    return ack.watermark, ack.highest, ack.gaps


def row(path, sql, *args):
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


# -- the file ---------------------------------------------------------------------------------------------------------


def test_ok__wal_and_full_sync(hub, path):
    assert row(path, "PRAGMA journal_mode") == ("wal",)
    assert hub.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_ok__reopen_keeps_data_and_schema(path):
    with open_store(path) as store:
        store.commit(Batch(events=seqs("ka", [1, 2])), AT)
    merged = snapshot(path)
    with open_store(path) as store:
        assert store.ack_for("ka", AT).watermark == 2
        again = store.commit(Batch(events=seqs("ka", [1, 2])), LATER)  # a hub restarted before it acknowledged
        assert (again.merged, again.duplicates) == (0, 2)
    assert snapshot(path) == merged
    assert row(path, "PRAGMA user_version") == (len(MIGRATIONS),)


def test_fail__a_kiosk_database_is_not_a_hub_database(tmp_path):
    KioskStore(tmp_path / "kiosk.db").close()
    with pytest.raises(StoreError, match="not a hub database"):
        open_store(tmp_path / "kiosk.db")


def test_fail__a_newer_schema_is_refused(hub, path):
    hub.close()
    conn = sqlite3.connect(str(path))
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="upgrade the hub"):
        open_store(path)


# -- one transaction per batch ----------------------------------------------------------------------------------------


def test_fail__a_batch_that_breaks_midway_keeps_nothing(hub, path):
    before = snapshot(path)
    broken = wire.Event("ka", 3, wire.DOSE_EVENT, "b", AT, True, {"id_number": LAN_ID}, "{}")  # no dose: derive fails
    batch = Batch(events=[*seqs("ka", [1, 2]), broken], quarantined=[garbage()], statuses=[status("ka")])
    with pytest.raises(KeyError):
        hub.commit(batch, AT)
    assert snapshot(path) == before
    assert hub.stats()["quarantined"]["total"] == 0
    assert row(path, "SELECT status, last_seen FROM kiosks WHERE kiosk = 'ka'") == (None, None)
    assert hub.commit(Batch(events=seqs("ka", [1])), AT).merged == 1  # the connection is usable again


def test_fail__a_value_the_database_refuses_is_no_store_error_and_keeps_nothing(hub, path):
    """A StoreError says "the database failed, try the same batch later"; a refused value would fail again: the caller
    must find the message (hub/ingest.py splits the batch)."""
    before = snapshot(path)
    nameless = wire.Event(None, 1, "PersonCalled", "b", AT, True, {}, "{}")  # events.kiosk is NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        hub.commit(Batch(events=[check_in("ka", 1), nameless], quarantined=[garbage()]), AT)
    assert snapshot(path) == before and hub.stats()["quarantined"]["total"] == 0


def test_fail__a_database_that_cannot_be_written_is_a_store_error(hub, path):
    with sqlite3.connect(path) as other:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        hub.write_wait_s = 0.05  # the lock is held on purpose: no need to wait the 10 s a real write would
        with pytest.raises(StoreError, match="busy"):
            hub.commit(Batch(events=[check_in("ka", 1)]), AT)
        other.rollback()


COMMITTER = """
import sys
from hub.store import Batch
from hub.store.sqlite import open_store
from tests.hub_helpers import check_in, dose

batches, seq = [], 0
for b in range(8):
    events = []
    for person in range(b * 250, (b + 1) * 250):
        events += [check_in("ka", seq + 1, f"{person:012d}"), dose("ka", seq + 2, f"{person:012d}")]
        seq += 2
    batches.append(Batch(events=events))
store = open_store(sys.argv[1])
for batch in batches:
    store.commit(batch, "2024-05-01T03:00:00.000Z")
    print("committed", flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.004, 0.008, 0.012])
def test_ok__kill_9_mid_commit_keeps_whole_batches(tmp_path, delay):
    """A hub killed while committing keeps every batch it committed whole and nothing of the one it was writing."""
    path = tmp_path / "hub.db"
    process = subprocess.Popen([sys.executable, "-c", COMMITTER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(2):
            assert process.stdout.readline() == "committed\n"
        time.sleep(delay)  # not a wait for anything: where in the next commit the kill lands
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
    with open_store(path) as store:
        stats = store.stats()
    events = stats["events"]
    assert events % 500 == 0 and events >= 1000
    assert (stats["people"], stats["doses"]) == (events // 2, events // 2)
    assert (stats["kiosks"][0]["watermark"], stats["kiosks"][0]["highest"]) == (events, events)


# -- waiting for another writer's lock ------------------------------------------------------------------------------------


def test_ok__a_write_waits_for_another_writer_and_gets_in_when_it_commits(tmp_path):
    path = tmp_path / "hub.db"
    with open_store(path) as store:
        other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # a roster import's chunk, or another hub process
        release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
        release.start()
        try:
            store.commit(Batch(events=[check_in("ka", 1)]), AT)  # waits for the COMMIT, then merges
        finally:
            release.join()
            other.close()
        assert store.stats()["events"] == 1


def test_fail__a_write_that_may_not_wait_says_the_database_is_busy_at_once(tmp_path):
    path = tmp_path / "hub.db"
    with open_store(path) as store:
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="busy|locked"):
                with store.transaction(wait=False) as conn:
                    conn.execute("DELETE FROM kiosks")
        finally:
            other.execute("ROLLBACK")
            other.close()
        with store.transaction(wait=False) as conn:  # free again
            conn.execute("DELETE FROM kiosks")
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0  # the connection is as it was
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
