"""The hub's SQLite store: one transaction per batch, duplicates and replays, watermarks, the fleet table, enrollment,
stats and migrations, on a real file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import wire
from wire import signature
from hub.store.migrations import MIGRATIONS
from hub.store import Batch, KioskStatus, Quarantined, StoreError
from hub.store.sqlite import open_store
from kiosk.queue.store import Store as KioskStore

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose, event, snapshot

REPO = Path(__file__).resolve().parents[1]
AT = "2024-05-01T10:00:00+07:00"
LATER = "2024-05-01T10:05:00+07:00"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hub.db"


@pytest.fixture
def hub(path):
    with open_store(path) as store:
        store.enroll("ka", "site-1", "hash-a", AT)
        store.enroll("kb", "site-2", "hash-b", AT)
        yield store


def seqs(kiosk, numbers):
    return [check_in(kiosk, n) for n in numbers]


def status(kiosk, state="online", *, at=AT, received_at=LATER, **extra):
    body = wire.kiosk_status(kiosk, state, boot="boot-2", version="0.1.0", at=at, clock_synced=True, **extra)
    return KioskStatus(kiosk, wire.parse_kiosk_status(kiosk, body), received_at)


def garbage(kiosk="ka", reason="not_json"):
    return Quarantined(topic=wire.topic(kiosk, wire.EVENT), kiosk=kiosk, reason=reason, detail="no", body=b"{oops",
                       received_at=AT)


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
        hub.conn.execute("PRAGMA busy_timeout = 0")
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


# -- duplicates and replays -------------------------------------------------------------------------------------------


def test_ok__duplicates_are_counted_and_change_nothing(hub, path):
    hub.commit(Batch(events=seqs("ka", [1, 2])), AT)
    merged = snapshot(path)
    done = hub.commit(Batch(events=[*seqs("ka", [2, 1]), check_in("ka", 1)]), LATER)
    assert (done.merged, done.duplicates) == (0, 3)
    assert snapshot(path) == merged
    assert marks(done.acks["ka"]) == (2, 2, ())
    assert row(path, "SELECT duplicates FROM kiosks WHERE kiosk = 'ka'") == (3,)


def test_ok__a_duplicate_inside_one_batch(hub):
    done = hub.commit(Batch(events=[check_in("ka", 1), check_in("ka", 1)]), AT)
    assert (done.merged, done.duplicates) == (1, 1)


@pytest.mark.parametrize("spelling", ["another key", "respelled"])
def test_ok__the_same_event_signed_with_another_key_or_spelled_another_way_is_a_duplicate(hub, path, spelling):
    """A kiosk re-keyed between two sends signs the same text anew; JSON spelled otherwise says the same too."""
    first = check_in("ka", 1)
    hub.commit(Batch(events=[first]), AT)
    if spelling == "another key":
        again = signature.Signer(signature.generate_key()).sign(signature.unsigned(first.body.encode()))
    else:
        again = json.dumps(json.loads(first.body), indent=1, ensure_ascii=True).encode()
    assert again != first.body.encode()
    done = hub.commit(Batch(events=[wire.parse_event(wire.topic("ka", wire.EVENT), again)]), LATER)
    assert (done.merged, done.duplicates, done.quarantined) == (0, 1, 0)
    assert row(path, "SELECT body FROM events WHERE event_id = 'ka:1'") == (first.body,)


def test_fail__a_replay_with_other_content_is_quarantined_and_the_first_kept(hub, path):
    first = check_in("ka", 1)
    hub.commit(Batch(events=[first]), AT)
    done = hub.commit(Batch(events=[check_in("ka", 1, full_name="Mallory")]), LATER)
    assert (done.merged, done.duplicates, done.quarantined) == (0, 0, 1)
    assert "ka" in done.acks
    assert row(path, "SELECT body FROM events WHERE event_id = 'ka:1'") == (first.body,)
    topic, kiosk, reason, detail = row(path, "SELECT topic, kiosk, reason, detail FROM quarantine")
    assert (topic, kiosk, reason) == (wire.topic("ka", wire.EVENT), "ka", "replayed_changed") and "ka:1" in detail
    assert "Mallory" not in detail


def test_ok__quarantined_messages_are_kept_whole(hub, path):
    hub.commit(Batch(quarantined=[garbage(), garbage("kb", "schema")]), LATER)
    assert row(path, "SELECT size, body FROM quarantine WHERE kiosk = 'ka'") == (5, b"{oops")
    assert hub.stats()["quarantined"] == {"total": 2, "by_reason": {"not_json": 1, "schema": 1}}
    assert row(path, "SELECT last_seen FROM kiosks WHERE kiosk = 'kb'") == (AT,)


# -- watermarks -------------------------------------------------------------------------------------------------------


def test_ok__watermark_highest_and_gaps(hub):
    ack = hub.commit(Batch(events=seqs("ka", [1, 2, 4, 7, 8])), AT).acks["ka"]
    assert (ack.watermark, ack.highest, ack.gaps) == (2, 8, ((3, 3), (5, 6)))
    assert marks(hub.ack_for("ka", LATER)) == (2, 8, ((3, 3), (5, 6)))
    ack = hub.commit(Batch(events=seqs("ka", [3])), AT).acks["ka"]
    assert (ack.watermark, ack.highest, ack.gaps) == (4, 8, ((5, 6),))
    kiosk = next(k for k in hub.stats()["kiosks"] if k["kiosk"] == "ka")
    assert (kiosk["watermark"], kiosk["highest"], kiosk["gaps"], kiosk["missing"]) == (4, 8, 1, 2)
    ack = hub.commit(Batch(events=seqs("ka", [6, 5])), AT).acks["ka"]
    assert (ack.watermark, ack.highest, ack.gaps) == (8, 8, ())


def test_ok__one_ack_per_kiosk_in_the_batch(hub):
    done = hub.commit(Batch(events=[*seqs("ka", [2, 1]), *seqs("kb", [1])], statuses=[status("ka")]), AT)
    assert {k: a.watermark for k, a in done.acks.items()} == {"ka": 2, "kb": 1}
    assert all(a.at == AT for a in done.acks.values())


def test_ok__ack_for_a_kiosk_not_heard_from(hub):
    assert hub.ack_for("kz", AT) == wire.Ack("kz", 0, 0, (), AT, wire.chain_start("kz").hex())


def test_ok__events_of_a_kiosk_not_enrolled_still_merge(hub):
    assert hub.commit(Batch(events=seqs("kz", [1])), AT).acks["kz"].watermark == 1
    assert "kz" not in hub.enrolled()


# -- the fleet table --------------------------------------------------------------------------------------------------


def test_ok__status_fills_the_fleet_columns(hub, path):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:04:50+07:00", outbox=12, camera_fps=9.5)]), LATER)
    assert row(path, "SELECT status, status_at, boot, version, backlog, camera_fps, clock_skew_s, last_seen "
                     "FROM kiosks WHERE kiosk = 'ka'") == ("online", LATER, "boot-2", "0.1.0", 12, 9.5, 10.0, LATER)


def test_ok__skew_between_the_hubs_utc_and_a_kiosks_local_time(hub, path):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:00:30+07:00", received_at="2024-05-01T03:00:00.000Z")]), AT)
    assert row(path, "SELECT clock_skew_s FROM kiosks WHERE kiosk = 'ka'") == (-30.0,)


def test_ok__a_kiosk_clock_in_1970_shows_as_skew(hub, path):
    hub.commit(Batch(statuses=[status("ka", at="1970-01-01T00:00:00+00:00")]), LATER)
    assert row(path, "SELECT clock_skew_s FROM kiosks WHERE kiosk = 'ka'")[0] > 1.7e9


def test_ok__an_older_status_does_not_overwrite_a_newer_one(hub, path):
    hub.commit(Batch(statuses=[status("ka", "offline", received_at=LATER), status("ka", received_at=AT)]), LATER)
    assert row(path, "SELECT status, status_at FROM kiosks WHERE kiosk = 'ka'") == ("offline", LATER)


def test_ok__a_time_that_does_not_parse_leaves_no_skew(hub, path):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:00:00")]), LATER)  # no zone against a zoned hub time
    assert row(path, "SELECT status, clock_skew_s FROM kiosks WHERE kiosk = 'ka'") == ("online", None)


def test_ok__last_seen_is_the_latest_message(hub, path):
    hub.commit(Batch(events=seqs("ka", [1])), LATER)
    hub.commit(Batch(statuses=[status("ka", received_at=AT)]), AT)
    assert row(path, "SELECT last_seen FROM kiosks WHERE kiosk = 'ka'") == (LATER,)


def test_ok__status_of_a_kiosk_not_enrolled_is_ignored(hub, path):
    hub.commit(Batch(statuses=[status("kz")]), AT)
    assert row(path, "SELECT count(*) FROM kiosks WHERE kiosk = 'kz'") == (0,)


# -- enrollment -------------------------------------------------------------------------------------------------------


def test_ok__enroll_again_changes_the_password_not_the_date(hub, path):
    hub.enroll("ka", "site-3", "hash-new", LATER)
    assert row(path, "SELECT site, password_hash, enrolled_at FROM kiosks WHERE kiosk = 'ka'") == ("site-3", "hash-new", AT)
    assert hub.enrolled() == {"ka": "site-3", "kb": "site-2"}


@pytest.mark.parametrize("kiosk", ["", "KA", "k/a", "-ka", "k" * 64])
def test_fail__enroll_a_bad_kiosk_id(hub, kiosk):
    with pytest.raises(ValueError):
        hub.enroll(kiosk, "site-1", "hash", AT)


# -- derived tables and stats -----------------------------------------------------------------------------------------


def test_ok__people_and_doses(hub, path):
    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("ka", 3, HUNG_ID, full_name="Trần Văn Hùng")]), AT)
    people = snapshot(path)["people"]
    assert [(p[0], p[1], p[-2], p[-1]) for p in people] == [
        (LAN_ID, "Nguyễn Thị Lan", "ka:1", 2), (HUNG_ID, "Trần Văn Hùng", "ka:3", 1)]
    assert row(path, "SELECT event_id, id_number, kiosk, product, lot_number, dose_number, given_on, vaccinator, voided_by "
                     "FROM doses") == ("ka:2", LAN_ID, "ka", "comirnaty_30", "FK1234", 1, "2024-05-01", "Y tá Hoa", None)


def test_ok__stats(hub):
    lot = event("ka", 4, "LotOpened", {"lot": {"product": "comirnaty_30", "lot_number": "FK1234"}})
    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1), lot, check_in("ka", 1)],
                     quarantined=[garbage()], statuses=[status("kb", outbox=3)]), LATER)
    stats = hub.stats()
    json.dumps(stats)
    assert {k: stats[k] for k in ("events", "doses", "voided_doses", "people", "duplicates")} == {
        "events": 4, "doses": 2, "voided_doses": 0, "people": 1, "duplicates": 1}
    assert stats["conflicts"] == {
        "total": 1, "open": 1, "police": 0, "resolved": 0,
        "by_kind": {"duplicate_dose": 1, "interval_too_short": 0, "identity_mismatch": 0, "id_contradiction": 0,
                    "roster_mismatch": 0, "disputed_event": 0}}
    assert stats["corrections"] == {}
    assert stats["quarantined"] == {"total": 1, "by_reason": {"not_json": 1}}
    ka, kb = stats["kiosks"]
    assert (ka["kiosk"], ka["site"], ka["watermark"], ka["highest"], ka["gaps"], ka["missing"]) == ("ka", "site-1", 2, 4, 1, 1)
    assert (kb["status"], kb["backlog"], kb["last_seen"], kb["boot"]) == ("online", 3, LATER, "boot-2")
    assert set(ka) >= {"kiosk", "site", "watermark", "highest", "gaps", "last_seen", "status", "boot", "backlog",
                       "clock_skew_s", "duplicates"}


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
