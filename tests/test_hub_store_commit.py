"""The merge's commit on both hub stores, SQLite and PostgreSQL (tests/hub_stores.py): one transaction per batch,
duplicates and replays, refusals and disputes, watermarks, the fleet columns, enrollment, derived tables and stats."""

from __future__ import annotations

import json

import pytest

import wire
from wire import signature
from hub.store import Batch, Quarantined

from .hub_helpers import (HUNG_ID, LAN_ID, aefi, aefi_ack, check_in, deferred, dose, event, lot_dose, lot_event, refused,
                          void_event)
from .hub_stores import AT, LATER, PostgresDb, SqliteDb, both_stores, garbage, seqs, status


db = both_stores()


@pytest.fixture
def hub(db):
    with db.open() as store:
        store.enroll("ka", "site-1", "hash-a", AT)
        store.enroll("kb", "site-2", "hash-b", AT)
        yield store


def refusal(kiosk, seq, text=b"a text the kiosk signed", reason="schema"):
    """A message that verified as the kiosk's own event seq but breaks the contract: settled as refused."""
    return Quarantined(topic=wire.topic(kiosk, wire.EVENT), kiosk=kiosk, reason=reason, detail="no", body=text,
                       received_at=AT, seq=seq, digest=signature.digest(text))


def marks(ack: wire.Ack) -> tuple:
    return ack.watermark, ack.highest, ack.gaps


# -- duplicates and replays -------------------------------------------------------------------------------------------


def test_ok__duplicates_are_counted_and_change_nothing(hub, db):
    hub.commit(Batch(events=seqs("ka", [1, 2])), AT)
    merged = db.snapshot()
    done = hub.commit(Batch(events=[*seqs("ka", [2, 1]), check_in("ka", 1)]), LATER)
    assert (done.merged, done.duplicates) == (0, 3)
    assert db.snapshot() == merged
    assert marks(done.acks["ka"]) == (2, 2, ())
    assert db.row("SELECT duplicates FROM kiosks WHERE kiosk = 'ka'") == (3,)


def test_ok__a_duplicate_inside_one_batch(hub):
    done = hub.commit(Batch(events=[check_in("ka", 1), check_in("ka", 1)]), AT)
    assert (done.merged, done.duplicates) == (1, 1)


@pytest.mark.parametrize("spelling", ["another key", "respelled"])
def test_ok__the_same_event_signed_with_another_key_or_spelled_another_way_is_a_duplicate(hub, db, spelling):
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
    assert db.row("SELECT body FROM events WHERE event_id = 'ka:1'") == (first.body,)


def test_fail__a_replay_with_other_content_is_quarantined_and_the_first_kept(hub, db):
    first = check_in("ka", 1)
    hub.commit(Batch(events=[first]), AT)
    done = hub.commit(Batch(events=[check_in("ka", 1, full_name="Mallory")]), LATER)
    assert (done.merged, done.duplicates, done.quarantined) == (0, 0, 1)
    assert "ka" in done.acks
    assert db.row("SELECT body FROM events WHERE event_id = 'ka:1'") == (first.body,)
    topic, kiosk, reason, detail = db.row("SELECT topic, kiosk, reason, detail FROM quarantine")
    assert (topic, kiosk, reason) == (wire.topic("ka", wire.EVENT), "ka", "replayed_changed") and "ka:1" in detail
    assert "Mallory" not in detail


def test_ok__quarantined_messages_are_kept_whole(hub, db):
    hub.commit(Batch(quarantined=[garbage(), garbage("kb", "schema")]), LATER)
    assert db.row("SELECT size, body FROM quarantine WHERE kiosk = 'ka'") == (5, b"{oops")
    assert hub.stats()["quarantined"] == {"total": 2, "by_reason": {"not_json": 1, "schema": 1}}
    assert db.row("SELECT last_seen FROM kiosks WHERE kiosk = 'kb'") == (AT,)


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


def test_ok__status_fills_the_fleet_columns(hub, db):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:04:50+07:00", outbox=12, camera_fps=9.5)]), LATER)
    assert db.row("SELECT status, status_at, boot, version, backlog, camera_fps, clock_skew_s, last_seen "
                     "FROM kiosks WHERE kiosk = 'ka'") == ("online", LATER, "boot-2", "0.1.0", 12, 9.5, 10.0, LATER)


def test_ok__skew_between_the_hubs_utc_and_a_kiosks_local_time(hub, db):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:00:30+07:00", received_at="2024-05-01T03:00:00.000Z")]), AT)
    assert db.row("SELECT clock_skew_s FROM kiosks WHERE kiosk = 'ka'") == (-30.0,)


def test_ok__a_kiosk_clock_in_1970_shows_as_skew(hub, db):
    hub.commit(Batch(statuses=[status("ka", at="1970-01-01T00:00:00+00:00")]), LATER)
    assert db.row("SELECT clock_skew_s FROM kiosks WHERE kiosk = 'ka'")[0] > 1.7e9


def test_ok__an_older_status_does_not_overwrite_a_newer_one(hub, db):
    hub.commit(Batch(statuses=[status("ka", "offline", received_at=LATER), status("ka", received_at=AT)]), LATER)
    assert db.row("SELECT status, status_at FROM kiosks WHERE kiosk = 'ka'") == ("offline", LATER)


def test_ok__a_time_that_does_not_parse_leaves_no_skew(hub, db):
    hub.commit(Batch(statuses=[status("ka", at="2024-05-01T10:00:00")]), LATER)  # no zone against a zoned hub time
    assert db.row("SELECT status, clock_skew_s FROM kiosks WHERE kiosk = 'ka'") == ("online", None)


def test_ok__last_seen_is_the_latest_message(hub, db):
    hub.commit(Batch(events=seqs("ka", [1])), LATER)
    hub.commit(Batch(statuses=[status("ka", received_at=AT)]), AT)
    assert db.row("SELECT last_seen FROM kiosks WHERE kiosk = 'ka'") == (LATER,)


def test_ok__status_of_a_kiosk_not_enrolled_is_ignored(hub, db):
    hub.commit(Batch(statuses=[status("kz")]), AT)
    assert db.row("SELECT count(*) FROM kiosks WHERE kiosk = 'kz'") == (0,)


# -- enrollment -------------------------------------------------------------------------------------------------------


def test_ok__enroll_again_changes_the_password_not_the_date(hub, db):
    hub.enroll("ka", "site-3", "hash-new", LATER)
    assert db.row("SELECT site, password_hash, enrolled_at FROM kiosks WHERE kiosk = 'ka'") == ("site-3", "hash-new", AT)
    assert hub.enrolled() == {"ka": "site-3", "kb": "site-2"}


@pytest.mark.parametrize("kiosk", ["", "KA", "k/a", "-ka", "k" * 64])
def test_fail__enroll_a_bad_kiosk_id(hub, kiosk):
    with pytest.raises(ValueError):
        hub.enroll(kiosk, "site-1", "hash", AT)


# -- derived tables and stats -----------------------------------------------------------------------------------------


def test_ok__people_and_doses(hub, db):
    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("ka", 3, HUNG_ID, full_name="Trần Văn Hùng")]), AT)
    people = db.snapshot()["people"]
    assert [(p[0], p[1], p[-2], p[-1]) for p in people] == [
        (LAN_ID, "Nguyễn Thị Lan", "ka:1", 2), (HUNG_ID, "Trần Văn Hùng", "ka:3", 1)]
    assert db.row("SELECT event_id, id_number, kiosk, product, lot_number, dose_number, given_on, vaccinator, voided_by "
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


# -- refusals and disputes --------------------------------------------------------------------------------------------


def test_ok__a_refused_event_is_settled_named_in_the_ack_and_its_repeat_changes_nothing(hub, db):
    ack = hub.commit(Batch(events=seqs("ka", [1, 3]), quarantined=[refusal("ka", 2)]), AT).acks["ka"]
    assert (marks(ack), ack.refused, ack.refused_count) == ((3, 3, ()), ((2, "schema"),), 1)
    again = hub.commit(Batch(quarantined=[refusal("ka", 2)]), LATER)
    assert again.acks["ka"].refused == ((2, "schema"),) and db.row("SELECT refused, disputed FROM kiosks WHERE kiosk = 'ka'") == (1, 0)


def test_fail__another_text_of_a_settled_event_is_a_dispute_counted_once_per_event(hub, db):
    hub.commit(Batch(events=seqs("ka", [1]), quarantined=[refusal("ka", 2)]), AT)
    done = hub.commit(Batch(events=[check_in("ka", 1, full_name="Mallory")], quarantined=[refusal("ka", 2, b"other")]), LATER)
    hub.commit(Batch(quarantined=[refusal("ka", 2, b"a third")]), LATER)
    assert [seq for seq, _ in done.acks["ka"].disputed] == [1, 2]
    assert db.row("SELECT disputed FROM kiosks WHERE kiosk = 'ka'") == (2,)
    assert db.row("SELECT deliveries FROM disputes WHERE event_id = 'ka:2'") == (2,)
    assert hub.stats()["conflicts"]["by_kind"]["disputed_event"] == 2


def test_ok__hub_conflicts_lists_a_conflict_and_the_disputes_alike_on_both_stores(hub, db):
    from hub.store import reports

    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("ka", 3)], quarantined=[refusal("ka", 4)]), AT)
    hub.commit(Batch(events=[check_in("ka", 1, full_name="Mallory")], quarantined=[refusal("ka", 4, b"other")]), LATER)
    listed = reports.conflicts(db.location)
    assert [(c["kind"], c["event_ids"], c["state"]) for c in listed] == [
        ("disputed_event", ["ka:4"], "open"), ("disputed_event", ["ka:1"], "open"),  # no person (refused) first
        ("duplicate_dose", ["ka:2", "ka:3"], "open")]
    refused, merged = listed[0]["detail"], listed[1]["detail"]
    assert (merged["kept"], refused["kept"], merged["deliveries"], len(merged["kept_digest"])) == ("merged", "refused", 1, 64)
    assert listed[1]["id_number"] == listed[2]["id_number"] and listed[0]["id_number"] is None
    assert reports.conflicts(db.location, kind="disputed_event", limit=1) == listed[:1]


def test_ok__an_event_and_its_refusal_in_one_batch_keep_the_event(hub, db):
    done = hub.commit(Batch(events=seqs("ka", [1]), quarantined=[refusal("ka", 1)]), AT)
    assert (done.merged, done.acks["ka"].watermark, done.acks["ka"].refused) == (1, 1, ())
    assert db.row("SELECT count(*) FROM disputes") == (1,)


# -- the reports' rows, the same on both stores ---------------------------------------------------------------------------

DAY = "2024-05-01"
CLINICAL = [
    [check_in("ka", 1), lot_event("LotOpened", "ka", 2, day=DAY), lot_dose("ka", 3, LAN_ID, day=DAY),
     aefi("ka", 4, 3, LAN_ID, day=DAY), void_event("ka", 9, 7, "PersonDeferred", day=DAY, id_number=HUNG_ID)],
    [aefi_ack("ka", 5, 4, LAN_ID, day=DAY), refused("ka", 6, HUNG_ID, day=DAY, reason_code="contraindicated"),
     deferred("ka", 7, HUNG_ID, day=DAY, return_on="2024-05-15"), lot_event("DosesWasted", "ka", 8, day=DAY, doses=2,
                                                                           reason="vỡ lọ")],
    [void_event("ka", 10, 8, "DosesWasted", day=DAY), lot_event("LotClosed", "ka", 11, day=DAY, vials_opened=1, given=1,
                                                                 wasted=5), refused("ka", 6, HUNG_ID, day=DAY)],
]
"""Outcomes and lot events over three batches: a void before its target (ka:9 strikes ka:7), one after (ka:10 strikes
ka:8), and a replay with other content (ka:6)."""


def test_ok__the_reports_outcome_and_lot_rows_are_the_same_on_both_stores(tmp_path, pg_url):
    tables = {name: f"SELECT * FROM {name} ORDER BY event_id" for name in ("outcomes", "lot_events")}
    found = []
    for db in (SqliteDb(tmp_path / "hub.db"), PostgresDb(pg_url)):
        with db.open() as store:
            for batch in CLINICAL:
                store.commit(Batch(events=batch), AT)
        found.append({name: db.rows(sql) for name, sql in tables.items()})
    assert found[0] == found[1]
    outcomes = {row[0]: (row[3], row[-2]) for row in found[1]["outcomes"]}  # kind, voided_by
    assert outcomes == {"ka:1": ("checked_in", None), "ka:4": ("aefi", None), "ka:5": ("aefi_ack", None),
                        "ka:6": ("contraindicated", None), "ka:7": ("deferred", "ka:9")}
    assert [(row[0], row[2], row[-2]) for row in found[1]["lot_events"]] == [
        ("ka:11", "closed", None), ("ka:2", "opened", None), ("ka:8", "wasted", "ka:10")]


def test_ok__a_conflict_opens_when_its_last_event_arrived_and_keeps_that_time(hub, db):
    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2)]), AT)
    hub.commit(Batch(events=[dose("kb", 1)]), LATER)  # the same first dose again: a duplicate_dose conflict
    hub.commit(Batch(events=[check_in("kb", 2)]), "2024-05-02T08:00:00+07:00")  # derived again, still the same conflict
    assert db.row("SELECT kind, opened_at FROM conflicts") == ("duplicate_dose", "2024-05-01T03:05:00+00:00")
