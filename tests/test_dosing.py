"""Lots, vials and the dose on a real SQLite file: eligibility from local history, overrides, vial accounting."""

from __future__ import annotations

import datetime
import json
from datetime import timedelta

import pytest

from kiosk.config import QueueSettings
from kiosk.payloads import parse_payload
from kiosk.queue import dosing
from kiosk.queue.board import board
from kiosk.queue.checkin import check_in
from kiosk.queue.errors import ActionRefused, NotEligible
from kiosk.queue.site import Site

from .conftest import HUNG, ICT, LAN, NURSE, Ticker
from .test_actions import (
    MINIMUM_S,
    assert_outbox_matches,
    events_after,
    last_seq,
    open_lot,
    person,
    snapshot,
    ticket_in,
)

TODAY = datetime.date(2026, 11, 25)
DAY_S = 86400


def event_types(store, since: int) -> list[str]:
    return [e["type"] for e in events_after(store, since)]


def lot_row(site: Site, lot_id: int) -> dict:
    return site.store.db["lots"].get(lot_id)


def board_lot(site: Site, lot_id: int) -> dict:
    return next(lot for lot in board(site)["lots"] if lot["id"] == lot_id)


# --- open_lot ----------------------------------------------------------------------


def test_ok__open_lot_writes_the_lot_and_its_event(store, site):
    lot = dosing.open_lot(site, NURSE, product="spikevax", lot_number="  AS0921 ", expiry=TODAY, doses_per_vial=10)
    assert lot_row(site, lot["id"]) == {
        **lot, "closed_by": None, "closed_at": None,
    }
    assert (lot["lot_number"], lot["vials_opened"], lot["wasted"], lot["day"]) == ("AS0921", 0, 0, "2026-11-25")
    event = store.db["events"].get(last_seq(store))
    assert (event["type"], event["ticket_id"], event["staff_id"]) == ("LotOpened", None, NURSE.id)
    payload = assert_outbox_matches(store, event)
    assert payload["lot"] == {"product": "spikevax", "lot_number": "AS0921", "expiry": "2026-11-25", "doses_per_vial": 10}


GOOD_LOT = {"product": "comirnaty_30", "lot_number": "FK1234", "expiry": TODAY + timedelta(days=30), "doses_per_vial": 6}
BAD_LOTS = [
    pytest.param({"product": "astrazeneca"}, "unknown_product", id="unknown-product"),
    pytest.param({"product": ""}, "unknown_product", id="no-product"),
    pytest.param({"expiry": TODAY - timedelta(days=1)}, "lot_expired", id="expired-yesterday"),
    pytest.param({"expiry": "2027-01-01"}, "lot_expired", id="expiry-not-a-date"),
    pytest.param({"lot_number": ""}, "bad_lot_number", id="blank-lot-number"),
    pytest.param({"lot_number": "   "}, "bad_lot_number", id="spaces-lot-number"),
    pytest.param({"lot_number": "x" * 41}, "bad_lot_number", id="long-lot-number"),
    pytest.param({"doses_per_vial": 0}, "bad_doses_per_vial", id="zero-doses"),
    pytest.param({"doses_per_vial": -6}, "bad_doses_per_vial", id="negative-doses"),
    pytest.param({"doses_per_vial": 51}, "bad_doses_per_vial", id="too-many-doses"),
    pytest.param({"doses_per_vial": 2.5}, "bad_doses_per_vial", id="fractional-doses"),
    pytest.param({"doses_per_vial": "6"}, "bad_doses_per_vial", id="text-doses"),
    pytest.param({"doses_per_vial": True}, "bad_doses_per_vial", id="bool-doses"),
]


@pytest.mark.parametrize(("change", "code"), BAD_LOTS)
def test_fail__open_lot_refused(store, site, change, code):
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.open_lot(site, NURSE, **{**GOOD_LOT, **change})
    assert caught.value.code == code
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"expiry": TODAY}, id="expires-today"),
        pytest.param({"doses_per_vial": 1}, id="one-dose-vials"),
        pytest.param({"doses_per_vial": 50}, id="fifty-dose-vials"),
        pytest.param({"lot_number": "x" * 40}, id="forty-character-lot-number"),
    ],
)
def test_ok__open_lot_at_the_bounds(store, site, change):
    dosing.open_lot(site, NURSE, **{**GOOD_LOT, **change})


def test_fail__the_same_lot_cannot_be_open_twice(store, site):
    dosing.open_lot(site, NURSE, **GOOD_LOT)
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.open_lot(site, NURSE, **{**GOOD_LOT, "lot_number": " FK1234 "})
    assert caught.value.code == "lot_already_open"
    assert snapshot(store) == before


def test_ok__the_same_lot_number_of_another_product_or_after_closing(store, site):
    first = dosing.open_lot(site, NURSE, **GOOD_LOT)
    dosing.open_lot(site, NURSE, **{**GOOD_LOT, "product": "spikevax"})
    dosing.close_lot(site, first["id"], NURSE)
    dosing.open_lot(site, NURSE, **GOOD_LOT)
    assert store.db["lots"].count == 3


# --- inject ------------------------------------------------------------------------


def test_ok__inject_records_dose_events_and_starts_observation(store, site):
    lot_id = open_lot(site)
    tid = ticket_in(site, "cleared")
    before = last_seq(store)
    ticket = dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert ticket["state"] == "observing"
    written = events_after(store, before)
    assert [e["type"] for e in written] == ["VialOpened", "DoseRecorded", "ObservationStarted"]
    dose = store.db["doses"].get(1)
    assert {key: dose[key] for key in ("ticket_id", "id_number", "product", "lot_id", "lot_number", "dose_number")} == {
        "ticket_id": tid, "id_number": "001190012345", "product": "comirnaty_30", "lot_id": lot_id,
        "lot_number": "FK1234", "dose_number": 1,
    }
    assert (dose["given_on"], dose["vaccinator"], dose["override_reason"]) == ("2026-11-25", NURSE.id, None)
    recorded = written[1]
    assert dose["event_seq"] == recorded["seq"]
    payload = assert_outbox_matches(store, recorded)
    assert payload["dose"] == {
        "product": "comirnaty_30", "lot_number": "FK1234", "expiry": "2027-05-24", "number": 1, "booster": 0,
        "given_at": "2026-11-25T08:00:00+07:00", "vaccinator": {"staff_id": NURSE.id, "name": NURSE.name},
    }
    assert "override" not in payload and payload["id_number"] == "001190012345"
    assert assert_outbox_matches(store, written[2])["minimum_s"] == MINIMUM_S


def first_dose_then(site: Site, ticker, days: int, product: str) -> tuple[int, int]:
    """Give LAN dose 1 of comirnaty_30 today, then move days on and bring her back, cleared, with a lot of product."""
    tid = ticket_in(site, "released", lot_id=open_lot(site))
    assert site.store.db["doses"].get(1)["ticket_id"] == tid
    ticker.advance(days * DAY_S)
    lot_id = open_lot(site, product=product, lot_number=f"{product}-{days}")
    return ticket_in(site, "cleared"), lot_id


@pytest.mark.parametrize(
    ("days", "product", "number", "booster"),
    [
        pytest.param(21, "comirnaty_30", 2, 0, id="comirnaty-on-the-earliest-day"),
        pytest.param(60, "comirnaty_30", 2, 0, id="comirnaty-weeks-later"),
    ],
)
def test_ok__dose_number_comes_from_the_history_at_this_kiosk(store, site, ticker, days, product, number, booster):
    tid, lot_id = first_dose_then(site, ticker, days, product)
    assert check_in(site, parse_payload(LAN), source="camera").due_dose == 2
    dosing.inject(site, tid, NURSE, lot_id=lot_id)
    dose = store.db["doses"].get(2)
    assert (dose["ticket_id"], dose["dose_number"], dose["given_on"]) == (tid, number, (TODAY + timedelta(days=days)).isoformat())
    assert json.loads(store.db["events"].get(dose["event_seq"])["payload"])["dose"]["booster"] == booster


def test_ok__a_booster_after_the_primary_series(store, site, ticker):
    tid, lot_id = first_dose_then(site, ticker, 21, "comirnaty_30")
    dosing.inject(site, tid, NURSE, lot_id=lot_id)
    ticker.advance(MINIMUM_S)
    ticker.advance(90 * DAY_S)
    booster_lot = open_lot(site, product="spikevax", lot_number="MB1")  # boosters may be mixed
    tid = ticket_in(site, "cleared")
    dosing.inject(site, tid, NURSE, lot_id=booster_lot)
    dose = store.db["doses"].get(3)
    assert (dose["dose_number"], dose["product"]) == (3, "spikevax")
    assert json.loads(store.db["events"].get(dose["event_seq"])["payload"])["dose"]["booster"] == 1


NOT_ELIGIBLE = [
    pytest.param(20, "comirnaty_30", "too_soon", id="one-day-before-the-interval"),
    pytest.param(28, "spikevax", "product_mismatch", id="other-vaccine-mid-series"),
    pytest.param(21, "comirnaty_10", "product_not_for_age", id="paediatric-formulation-for-an-adult"),
    pytest.param(21, "bbibp", "product_mismatch", id="inactivated-after-mrna"),
]


@pytest.mark.parametrize(("days", "product", "reason"), NOT_ELIGIBLE)
def test_fail__not_eligible_for_the_second_dose_writes_nothing(store, site, ticker, days, product, reason):
    tid, lot_id = first_dose_then(site, ticker, days, product)
    before = snapshot(store)
    with pytest.raises(NotEligible) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert caught.value.eligibility.reason == reason
    assert caught.value.eligibility.dose.number == 2
    assert snapshot(store) == before  # no dose, no event, no vial opened


def test_fail__too_soon_names_the_earliest_day(store, site, ticker):
    tid, lot_id = first_dose_then(site, ticker, 20, "comirnaty_30")
    with pytest.raises(NotEligible, match="2026-12-16") as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert caught.value.eligibility.earliest == TODAY + timedelta(days=21)
    assert "16/12/2026" in caught.value.eligibility.message_vi


@pytest.mark.parametrize(
    ("payload", "product", "reason"),
    [
        pytest.param(LAN, "comirnaty_10", "product_not_for_age", id="adult-paediatric-vaccine"),
        pytest.param(HUNG, "abdala", "product_not_for_age", id="68-years-old-abdala"),
    ],
)
def test_fail__not_eligible_for_a_first_dose_writes_nothing(store, site, payload, product, reason):
    lot_id = open_lot(site, product=product)
    tid = ticket_in(site, "cleared", payload)
    before = snapshot(store)
    with pytest.raises(NotEligible) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert caught.value.eligibility.reason == reason
    assert snapshot(store) == before


def test_ok__override_records_the_dose_with_the_reason_and_the_rule_it_overrides(store, site):
    lot_id = open_lot(site, product="comirnaty_10")
    tid = ticket_in(site, "cleared")
    dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="  doctor's order: 30 µg vials ran out ")
    dose = store.db["doses"].get(1)
    assert (dose["dose_number"], dose["override_reason"]) == (1, "doctor's order: 30 µg vials ran out")
    payload = assert_outbox_matches(store, store.db["events"].get(dose["event_seq"]))
    assert payload["override"] == {"reason_code": "product_not_for_age", "reason": "doctor's order: 30 µg vials ran out"}
    assert payload["dose"]["number"] == 1


def test_ok__override_of_too_soon_still_counts_the_dose(store, site, ticker):
    tid, lot_id = first_dose_then(site, ticker, 14, "comirnaty_30")
    dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="travelling abroad next week")
    dose = store.db["doses"].get(2)
    assert (dose["dose_number"], dose["override_reason"]) == (2, "travelling abroad next week")
    payload = json.loads(store.db["events"].get(dose["event_seq"])["payload"])
    assert payload["override"]["reason_code"] == "too_soon"


def test_fail__a_dose_beyond_the_most_the_records_hold_is_refused_at_the_kiosk(store, site, ticker):
    """The hub's schema holds dose numbers up to wire.limits.DOSE_NUMBER_MAX: the kiosk must not write one above."""
    from wire import limits

    for day in range(limits.DOSE_NUMBER_MAX + 1):
        lot_id = open_lot(site, lot_number=f"L{day}")
        tid = ticket_in(site, "cleared")
        if day < limits.DOSE_NUMBER_MAX:
            dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="catch-up schedule")
            ticker.advance(DAY_S)
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="catch-up schedule")
    assert caught.value.code == "too_many_doses" and caught.value.params == {"max": limits.DOSE_NUMBER_MAX}
    assert snapshot(store) == before


def test_ok__override_of_an_eligible_person_is_not_recorded(store, site):
    lot_id = open_lot(site)
    tid = ticket_in(site, "cleared")
    dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="just in case")
    assert store.db["doses"].get(1)["override_reason"] is None
    assert "override" not in json.loads(store.db["events"].get(last_seq(store) - 1)["payload"])


def test_fail__blank_override_is_no_override(store, site):
    lot_id = open_lot(site, product="comirnaty_10")
    tid = ticket_in(site, "cleared")
    with pytest.raises(NotEligible):
        dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="   ")
    assert store.db["doses"].count == 0


def test_fail__overlong_override_reason(store, site):
    lot_id = open_lot(site, product="comirnaty_10")
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="x" * 201)
    assert caught.value.code == "bad_reason"
    assert snapshot(store) == before


def test_fail__inject_from_a_lot_that_does_not_exist(store, site):
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.inject(site, tid, NURSE, lot_id=42)
    assert caught.value.code == "unknown_lot"
    assert snapshot(store) == before


def test_fail__inject_from_a_lot_that_expired_since_it_was_opened(store, site, ticker):
    lot_id = dosing.open_lot(site, NURSE, **{**GOOD_LOT, "expiry": TODAY})["id"]
    ticker.advance(DAY_S)
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert caught.value.code == "lot_expired"
    assert snapshot(store) == before


def test_fail__inject_with_the_wall_clock_at_1970(store):
    # A Pi without RTC booted offline: the dose cannot be dated (and 1970 is before the person's birth).
    ticker = Ticker(wall=datetime.datetime(1970, 1, 1, 8, 0, tzinfo=ICT))
    site = Site(store, "kiosk-test", QueueSettings(), ticker)
    lot_id = dosing.open_lot(site, NURSE, **GOOD_LOT)["id"]
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert caught.value.code == "clock_not_set"
    assert snapshot(store) == before


# --- vials, waste, closing -----------------------------------------------------------


def test_ok__vials_open_themselves_as_doses_are_given(store, site):
    lot_id = open_lot(site, doses_per_vial=2)
    expected = [
        ["VialOpened", "DoseRecorded", "ObservationStarted"],
        ["DoseRecorded", "ObservationStarted"],
        ["VialOpened", "DoseRecorded", "ObservationStarted"],
    ]
    for n, types in enumerate(expected):
        tid = ticket_in(site, "cleared", person(n))
        before = last_seq(store)
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
        assert event_types(store, before) == types
    assert lot_row(site, lot_id)["vials_opened"] == 2
    vial_events = [json.loads(e["payload"]) for e in events_after(store, 0) if e["type"] == "VialOpened"]
    assert [p["vials_opened"] for p in vial_events] == [1, 2]
    lot = board_lot(site, lot_id)
    assert (lot["vials_opened"], lot["given"], lot["wasted"], lot["left_in_open_vials"]) == (2, 3, 0, 1)


def test_ok__open_vial_by_hand(store, site):
    lot_id = open_lot(site)
    lot = dosing.open_vial(site, lot_id, NURSE)
    assert lot["vials_opened"] == 1 == lot_row(site, lot_id)["vials_opened"]
    event = store.db["events"].get(last_seq(store))
    assert (event["type"], event["staff_id"]) == ("VialOpened", NURSE.id)
    assert assert_outbox_matches(store, event)["lot"]["lot_number"] == "FK1234"
    tid = ticket_in(site, "cleared")
    before = last_seq(store)
    dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert event_types(store, before) == ["DoseRecorded", "ObservationStarted"]  # the open vial is used first


def test_ok__record_waste_up_to_what_is_left(store, site):
    lot_id = open_lot(site)
    dosing.open_vial(site, lot_id, NURSE)
    lot = dosing.record_waste(site, lot_id, NURSE, doses=6, reason=" vial dropped ")
    assert lot["wasted"] == 6 == lot_row(site, lot_id)["wasted"]
    payload = assert_outbox_matches(store, store.db["events"].get(last_seq(store)))
    assert (payload["doses"], payload["reason"]) == (6, "vial dropped")
    assert board_lot(site, lot_id)["left_in_open_vials"] == 0


@pytest.mark.parametrize(
    ("vials", "doses", "reason", "code"),
    [
        pytest.param(0, 1, "dropped", "bad_waste", id="no-vial-open"),
        pytest.param(1, 0, "dropped", "bad_waste", id="zero-doses"),
        pytest.param(1, -1, "dropped", "bad_waste", id="negative-doses"),
        pytest.param(1, 7, "dropped", "bad_waste", id="more-than-the-vial-holds"),
        pytest.param(1, True, "dropped", "bad_waste", id="bool-doses"),
        pytest.param(1, 1, "  ", "bad_reason", id="blank-reason"),
        pytest.param(1, 1, None, "bad_reason", id="no-reason"),
        pytest.param(1, 1, "x" * 201, "bad_reason", id="long-reason"),
    ],
)
def test_fail__record_waste_refused(store, site, vials, doses, reason, code):
    lot_id = open_lot(site)
    for _ in range(vials):
        dosing.open_vial(site, lot_id, NURSE)
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        dosing.record_waste(site, lot_id, NURSE, doses=doses, reason=reason)
    assert caught.value.code == code
    assert snapshot(store) == before


def test_ok__close_lot_counts_the_leftovers_as_wasted(store, site):
    lot_id = open_lot(site)
    for n in range(2):
        dosing.inject(site, ticket_in(site, "cleared", person(n)), NURSE, lot_id=lot_id)
    dosing.record_waste(site, lot_id, NURSE, doses=1, reason="drawn short")
    lot = dosing.close_lot(site, lot_id, NURSE)
    assert (lot["wasted"], lot["closed_by"]) == (4, NURSE.id)  # 1 recorded + 3 left in the open vial
    assert lot_row(site, lot_id)["closed_at"] == "2026-11-25T08:00:00+07:00"
    payload = assert_outbox_matches(store, store.db["events"].get(last_seq(store)))
    assert (payload["vials_opened"], payload["given"], payload["wasted"]) == (1, 2, 4)
    view = board_lot(site, lot_id)
    assert (view["open"], view["given"], view["wasted"], view["left_in_open_vials"]) == (False, 2, 4, 0)


CLOSED_LOT_ATTEMPTS = [
    pytest.param(lambda site, lot, tid: dosing.inject(site, tid, NURSE, lot_id=lot), id="inject"),
    pytest.param(lambda site, lot, tid: dosing.open_vial(site, lot, NURSE), id="open_vial"),
    pytest.param(lambda site, lot, tid: dosing.record_waste(site, lot, NURSE, doses=1, reason="x"), id="record_waste"),
    pytest.param(lambda site, lot, tid: dosing.close_lot(site, lot, NURSE), id="close_lot"),
]


@pytest.mark.parametrize("attempt", CLOSED_LOT_ATTEMPTS)
def test_fail__a_closed_lot_refuses_everything(store, site, attempt):
    lot_id = open_lot(site)
    dosing.open_vial(site, lot_id, NURSE)
    dosing.close_lot(site, lot_id, NURSE)
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        attempt(site, lot_id, tid)
    assert caught.value.code == "lot_closed"
    assert snapshot(store) == before


@pytest.mark.parametrize("attempt", CLOSED_LOT_ATTEMPTS)
def test_fail__an_unknown_lot_is_named_so(store, site, attempt):
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        attempt(site, 42, tid)
    assert caught.value.code == "unknown_lot"
    assert snapshot(store) == before
