"""hub/store/conflicts.py and migration m010 on a real hub database: each conflict's opening time is kept through the
merge's rewrites (both stores) and filled in for conflicts already there; the queue, one conflict, the counts and the
police list on both stores (tests/hub_stores.py); on SQLite, the front page's counts read the queue's index only."""

from __future__ import annotations

import sqlite3


from hub import corrections
from hub.store import Batch, reports
from hub.store.migrations import MIGRATIONS
from hub.store.sqlite import open_store

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose
from .hub_stores import both_stores

FIRST, LATER = "2026-03-01T08:00:00.000Z", "2026-03-05T08:00:00+00:00"


db = both_stores()


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


def test_ok__the_opening_time_stays_when_the_merge_rewrites_a_conflict(db):
    with db.open() as store:
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


def test_ok__the_queue_pages_oldest_first_and_one_conflict_shows_its_events_and_referral(db):
    people = ["001190012345", "001190012346", "001190012347"]
    with db.open() as store:
        store.enroll("ka", "Trạm Y tế Phường 1", None, FIRST)
        for n, (number, at) in enumerate(zip(people, ["2026-03-02T08:00:00Z", FIRST, "2026-03-03T08:00:00Z"]), 1):
            store.commit(Batch(events=[dose("ka", n, number), dose("kb", n, number)]), at)
        hung = {"full_name": "Trần Văn Hùng", "birth_date": "1958-11-02", "sex": "Nam", "old_id": ""}
        store.commit(Batch(events=[check_in("ka", 9, HUNG_ID, **hung),
                                   check_in("kb", 9, HUNG_ID, **{**hung, "full_name": "Trần Văn Hưng"})]), LATER)
        first_page = store.conflict_queue("duplicate_dose", limit=2)
        rest = store.conflict_queue("duplicate_dose", after=first_page[-1]["id"], limit=2)
        [mismatch] = store.conflict_queue("identity_mismatch")
        referral = store.correct(corrections.refer_to_police(HUNG_ID, conflict=mismatch["id"], commune="Phường 7"),
                                 staff_id=None, by="Cán bộ Mai", at=LATER)
        counts = store.conflict_counts()
        shown = store.conflict(mismatch["id"])
        [case] = store.police_cases()
        assert store.conflict("identity_mismatch:none") is None and store.conflict_queue("identity_mismatch") == []
    assert [c["id_number"] for c in first_page + rest] == [people[1], people[0], people[2]]
    assert first_page[0]["opened_at"] == "2026-03-01T08:00:00+00:00" and first_page[0]["event_ids"] == ["ka:2", "kb:2"]
    assert counts == {"duplicate_dose": {"open": {"count": 3, "oldest_at": "2026-03-01T08:00:00+00:00"}},
                      "identity_mismatch": {"police": {"count": 1, "oldest_at": LATER}}}
    assert [(e["id"], e["site"]) for e in shown["events"]] == [("ka:9", "Trạm Y tế Phường 1"), ("kb:9", None)]
    assert shown["state"] == "police" and shown["referral"]["id"] == referral and shown["referral"]["by"] == "Cán bộ Mai"
    assert shown["person"]["id_number"] == HUNG_ID and shown["roster"] is None and shown["resolution"] is None
    assert (case["id"], case["referred_by"], case["referred_commune"], case["commune"]) == (
        mismatch["id"], "Cán bộ Mai", "Phường 7", None)
