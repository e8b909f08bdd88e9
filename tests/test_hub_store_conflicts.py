"""hub/store/conflicts.py and migration m010 on a real hub database: each conflict's opening time is kept through the
merge's rewrites and filled in for conflicts already there; the front page's counts read the queue's index only."""

from __future__ import annotations

import sqlite3

from hub import corrections
from hub.store import Batch, reports
from hub.store.migrations import MIGRATIONS
from hub.store.sqlite import open_store

from .hub_helpers import LAN_ID, check_in, dose

FIRST, LATER = "2026-03-01T08:00:00.000Z", "2026-03-05T08:00:00+00:00"


def rows(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_ok__m010_fills_in_the_opening_time_of_conflicts_already_there(tmp_path):
    path = tmp_path / "hub.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    before = MIGRATIONS.index(queue_migration())
    for number, step in enumerate(MIGRATIONS[:before], start=1):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    merged = merged_today(tmp_path / "today.db", [check_in("ka", 1), dose("ka", 2), dose("kb", 1)])
    for table in ("events", "people", "doses", "conflicts"):  # as the merge of the day wrote them, in the old columns
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        copied = merged.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", copied)
    merged.close()
    conn.close()
    with open_store(path) as store:
        (conflict,) = store.conflict_queue("duplicate_dose")
    assert conflict["opened_at"] == "2026-03-01T08:00:00+00:00"
    assert rows(path, "SELECT count(*) FROM conflict_seen") == [(1,)]


def merged_today(path, events) -> sqlite3.Connection:
    """A connection to a database into which today's store merged these events (received at FIRST)."""
    with open_store(path) as store:
        store.commit(Batch(events=events), FIRST)
    return sqlite3.connect(str(path))


def queue_migration():
    return next(step for step in MIGRATIONS if step.__name__ == "m010_conflict_queue")


def test_ok__the_opening_time_stays_when_the_merge_rewrites_a_conflict(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1)]), FIRST)
        (conflict,) = store.conflict_queue("duplicate_dose")
        store.commit(Batch(events=[check_in("kb", 2)]), "2026-03-04T08:00:00.000Z")  # Lan again: derived again
        store.correct(corrections.void_dose(LAN_ID, target="kb:1", reason="trùng", resolves=conflict["id"]),
                      staff_id=None, by="tester", at=LATER)
        after = store.conflict(conflict["id"])
    assert after["state"] == "resolved" and after["opened_at"] == "2026-03-01T08:00:00+00:00"


def test_ok__the_front_page_counts_read_the_queue_index_not_the_conflicts(tmp_path):
    path = tmp_path / "hub.db"
    with open_store(path) as store:
        store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1)]), FIRST)
    plan = " ".join(row[3] for row in rows(path, f"EXPLAIN QUERY PLAN {reports.OPEN_CONFLICTS}"))
    assert "USING COVERING INDEX conflicts_queue" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", "")
    assert reports.workload(path)["conflicts"] == {"duplicate_dose": {"open": 1, "oldest_at": "2026-03-01T08:00:00+00:00"}}
    queue = " ".join(row[3] for row in rows(path, "EXPLAIN QUERY PLAN SELECT id FROM conflicts WHERE state = 'open' AND "
                                                  "kind = 'x' AND (opened_at, id) > ('', '') ORDER BY opened_at, id LIMIT 5"))
    assert "conflicts_queue" in queue and "TEMP B-TREE" not in queue
