"""hub/store/clinical.py through the real store: kiosk events (signed, parsed as ingest hands them over) committed to a
real SQLite file and a real PostgreSQL database (the same tests on both), then the AEFI list and its lots, the follow-ups, the deferrals, the refusals and the stock read
back; voided events are never counted."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone

import psycopg
import pytest

from hub.clinical import LotDay, walk_lots
from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import aefi, aefi_ack, deferred, lot_dose, lot_event, refused, void_event

D1, D2 = "2026-03-02", "2026-03-03"
A, B, C, E = "001190000001", "001190000002", "001190000003", "001190000004"
AT = datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)


def events() -> list:
    """Kiosk ka (site "Trường THCS Lê Lợi") and kb ("Trạm y tế phường 2"): doses, reactions, deferrals, lots."""
    ka = [
        lot_event("LotOpened", "ka", 1, day=D1), lot_event("VialOpened", "ka", 2, day=D1, vials_opened=1),
        lot_dose("ka", 3, A, day=D1, time="09:00:00"), lot_dose("ka", 4, B, day=D1, time="09:05:00"),
        lot_dose("ka", 5, C, day=D1, time="09:10:00"),
        aefi("ka", 6, 3, A, day=D1, severity="severe", symptoms="khó thở", time="09:25:00"),
        aefi_ack("ka", 7, 6, A, day=D1),
        aefi("ka", 8, 4, B, day=D1, severity="mild", time="09:40:00"),
        aefi("ka", 9, 5, C, day=D1, severity="severe", time="09:50:00"),
        void_event("ka", 10, 9, "AefiRecorded", day=D1, id_number=C),  # recorded on the wrong person
        lot_event("DosesWasted", "ka", 11, day=D1, doses=1, reason="rơi vỡ"),
        lot_event("LotClosed", "ka", 12, day=D1, vials_opened=1, given=3, wasted=3, time="16:00:00"),
        deferred("ka", 13, E, day=D1, return_on=D2),
        deferred("ka", 14, B, day=D1, return_on=D2),
        void_event("ka", 15, 14, "PersonDeferred", day=D1, id_number=B),
        refused("ka", 16, B, day=D1), refused("ka", 17, C, day=D1, reason_code="contraindicated"),
        refused("ka", 18, C, day=D1, reason_code="referred"),
    ]
    kb = [
        lot_event("LotOpened", "kb", 1, day=D2, lot="AB99", expiry="2026-03-10"),
        lot_event("VialOpened", "kb", 2, day=D2, lot="AB99", expiry="2026-03-10", vials_opened=1),
        lot_event("VialOpened", "kb", 3, day=D2, lot="AB99", expiry="2026-03-10", vials_opened=2),
        lot_event("DosesWasted", "kb", 4, day=D2, lot="AB99", expiry="2026-03-10", doses=2, reason="hết hạn sau mở"),
        lot_event("DosesWasted", "kb", 5, day=D2, lot="AB99", expiry="2026-03-10", doses=4, reason="nhập nhầm"),
        void_event("kb", 6, 5, "DosesWasted", day=D2),
        lot_dose("kb", 7, E, day=D2, lot="AB99"),
    ]
    return ka + kb


def filled(store):
    store.enroll("ka", "Trường THCS Lê Lợi", None, "2026-03-01T00:00:00+00:00")
    store.enroll("kb", "Trạm y tế phường 2", None, "2026-03-01T00:00:00+00:00")
    store.commit(Batch(events=events()), "2026-03-03T10:00:00+00:00")
    return store


@pytest.fixture
def store(store_db):
    with store_db.open() as store:
        yield filled(store)


@pytest.fixture
def sqlite_store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        yield filled(store)


def test_ok__the_aefi_list_counts_live_reactions_severe_first(store):
    rows = store.aefi_list(date(2026, 3, 1), date(2026, 3, 3), {}, names=False)
    assert [(r["event_id"], r["severity"]) for r in rows] == [("ka:6", "severe"), ("ka:8", "mild")]
    severe = rows[0]
    assert severe["site"] == "Trường THCS Lê Lợi" and severe["product"] == "comirnaty_30"
    assert severe["lot_number"] == "FK1234" and severe["acknowledged"] == 1 and severe["status"] is None
    assert severe["given_at"] == "2026-03-02T09:00:00+07:00" and severe["at"] == "2026-03-02T09:25:00+07:00"
    assert "id_number" not in severe and "full_name" not in severe and rows[1]["acknowledged"] == 0


def test_ok__names_come_with_an_opaque_ref_only_when_asked(store):
    rows = store.aefi_list(date(2026, 3, 1), date(2026, 3, 3), {}, names=True)
    assert rows[0]["id_number"] == A and len(rows[0]["ref"]) == 16 and A not in rows[0]["ref"]
    assert store.aefi_list(date(2026, 3, 1), date(2026, 3, 3), {}, names=True)[0]["ref"] == rows[0]["ref"]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"severity": "mild"}, ["ka:8"]), ({"site": "Trạm y tế phường 2"}, []), ({"site": "Trường THCS Lê Lợi"}, ["ka:6", "ka:8"]),
    ({"status": "none"}, ["ka:6", "ka:8"]), ({"status": "closed"}, []),
])
def test_ok__the_aefi_list_filters(store, filters, expected):
    assert [r["event_id"] for r in store.aefi_list(date(2026, 3, 2), date(2026, 3, 2), filters, names=False)] == expected


def test_ok__a_day_range_without_reactions_is_empty(store):
    assert store.aefi_list(date(2026, 3, 3), date(2026, 3, 9), {}, names=False) == []
    assert store.clinical_sites() == ["Trường THCS Lê Lợi", "Trạm y tế phường 2"]  # the filter's choices still


def test_ok__follow_ups_are_appended_and_the_latest_is_the_status(store):
    assert store.add_aefi_follow_up("ka:6", "investigating", "", staff_id=1, staff_name="Lê Hoa", at=AT)
    assert store.add_aefi_follow_up("ka:6", "hospitalised", "chuyển viện tỉnh", staff_id=2, staff_name="Bình", at=AT)
    one = store.aefi("ka:6", names=False)
    assert [(f["status"], f["note"], f["staff_name"]) for f in one["follow_ups"]] == [
        ("investigating", "", "Lê Hoa"), ("hospitalised", "chuyển viện tỉnh", "Bình")]
    assert one["status"] == "hospitalised" and one["follow_ups"][0]["at"] == "2026-03-03T09:00:00+00:00"
    filtered = store.aefi_list(date(2026, 3, 2), date(2026, 3, 2), {"status": "hospitalised"}, names=False)
    assert [r["event_id"] for r in filtered] == ["ka:6"]


def test_fail__a_follow_up_of_a_voided_or_unknown_reaction_is_not_written(store):
    assert not store.add_aefi_follow_up("ka:9", "closed", "", staff_id=1, staff_name="x", at=AT)
    assert not store.add_aefi_follow_up("ka:3", "closed", "", staff_id=1, staff_name="x", at=AT)  # a dose
    assert store.aefi("ka:9", names=False) is None and store.aefi("nope", names=False) is None
    with pytest.raises(ValueError):
        store.add_aefi_follow_up("ka:6", "cured", "", staff_id=1, staff_name="x", at=AT)


def test_fail__follow_ups_are_append_only(store_db, store):
    store.add_aefi_follow_up("ka:6", "closed", "", staff_id=1, staff_name="x", at=AT)
    for statement in ("UPDATE aefi_follow_ups SET status = 'died'", "DELETE FROM aefi_follow_ups"):
        with pytest.raises((sqlite3.IntegrityError, psycopg.errors.RaiseException), match="append-only"):
            store_db.rows(statement)
    assert store_db.rows("SELECT status FROM aefi_follow_ups") == [("closed",)]


def test_ok__lots_count_reactions_severe_and_doses_given(store):
    lots = store.aefi_lots(date(2026, 3, 2), date(2026, 3, 3))
    assert lots == [{"product": "comirnaty_30", "lot_number": "FK1234", "reactions": 2, "severe": 1, "given": 3,
                     "signal": False}]


def test_ok__a_lot_with_two_severe_reactions_is_a_signal(store):
    more = [lot_dose("kc", 1, B, day=D2), aefi("kc", 2, 1, B, day=D2, severity="severe")]
    store.commit(Batch(events=more), "2026-03-03T11:00:00+00:00")
    (lot,) = store.aefi_lots(date(2026, 3, 2), date(2026, 3, 3))
    assert (lot["reactions"], lot["severe"], lot["given"], lot["signal"]) == (3, 2, 4, True)


def test_ok__deferrals_due_back_and_recorded_leave_out_voided_ones(store):
    due = store.deferrals(date(2026, 3, 3), names=True)
    assert [(r["event_id"], r["id_number"], r["site"], r["return_on"]) for r in due["due"]] == [
        ("ka:13", E, "Trường THCS Lê Lợi", D2)]
    assert due["due"][0]["vaccinated_on"] == D2 and due["due"][0]["ref"] and due["recorded"] == []
    on = store.deferrals(date(2026, 3, 2), names=False)
    assert [r["event_id"] for r in on["recorded"]] == ["ka:13"] and "id_number" not in on["recorded"][0]


def test_ok__refusals_are_counted_by_kind_per_site_and_day(store):
    assert store.refusal_counts(date(2026, 3, 1), date(2026, 3, 3)) == [
        {"site": "Trường THCS Lê Lợi", "day": D1, "deferred": 1, "refused": 1, "contraindicated": 1, "referred": 1}]


def test_ok__stock_per_site_day_and_product(store):
    rows = store.stock(date(2026, 3, 1), date(2026, 3, 3))
    assert [(r["site"], r["day"], r["opened"], r["vials"], r["given"], r["wasted"], r["rate"]) for r in rows] == [
        ("Trạm y tế phường 2", D2, 1, 2, 1, 2, 66.7),   # open: the wasted events (the voided one left out)
        ("Trường THCS Lê Lợi", D1, 1, 1, 3, 3, 50.0),   # closed: its count, the doses left in the vial too
    ]
    assert rows[0]["lots"] == [{"kiosk": "kb", "lot_number": "AB99", "opened": 1, "vials": 2, "given": 1, "wasted": 2,
                                "expiry": "2026-03-10"}]


def test_ok__lots_in_use_with_their_expiry(store):
    lots = store.lots_in_use(date(2026, 2, 25), date(2026, 3, 3))
    assert [(r["site"], r["lot_number"], r["expiry"], r["last_used"]) for r in lots] == [
        ("Trạm y tế phường 2", "AB99", "2026-03-10", D2), ("Trường THCS Lê Lợi", "FK1234", "2099-01-31", D1)]


def test_ok__a_lot_opened_twice_in_a_day_adds_both_uses():
    rows = [{"kiosk": "k", "day": D1, "product": "p", "lot_number": "L", "expiry": None, "vials_opened": v,
             "doses": d, "wasted": w, "kind": kind} for kind, v, d, w in (
        ("opened", None, None, None), ("vial", 1, None, None), ("closed", 1, None, 2),
        ("opened", None, None, None), ("vial", 1, None, None), ("wasted", None, 1, None))]
    lot = walk_lots(rows)[("k", D1, "p", "L")]
    assert (lot.opened, lot.vials) == (2, 2) and isinstance(lot, LotDay)


def test_ok__the_reads_use_their_indexes(sqlite_store):
    plans = {
        "aefi": "SELECT * FROM outcomes INDEXED BY outcomes_by_kind WHERE kind = 'aefi' AND day BETWEEN '1' AND '2'",
        "due": "SELECT * FROM outcomes INDEXED BY outcomes_by_return WHERE kind = 'deferred' AND return_on = '1'",
    }
    for sql in plans.values():  # INDEXED BY fails the statement when the index cannot serve it
        sqlite_store.conn.execute(sql).fetchall()
