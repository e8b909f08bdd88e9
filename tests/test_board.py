"""The supervisor's board read model: counts, order, masked identity, lots, alarms, outbox backlog, a clock at 1970; one ticket's page."""

from __future__ import annotations

import datetime
import json

import pytest

from kiosk.config import QueueSettings
from kiosk.payloads import parse_payload
from kiosk.queue import actions, dosing
from kiosk.queue.aefi import record_aefi
from kiosk.queue.board import board, ticket_details
from kiosk.queue.checkin import check_in
from kiosk.queue.errors import UnknownTicket
from kiosk.queue.site import Site
from kiosk.queue.states import STATES, allowed_actions

from .conftest import HUNG, ICT, LAN, MAI_SEX_MISMATCH, NURSE, Ticker
from .test_actions import built_world, open_lot, person, ticket_in, world  # noqa: F401 (fixtures)

PEOPLE = {
    LAN: ("001190012345", "123456789"),
    HUNG: ("036058001234", None),
    MAI_SEX_MISMATCH: ("048085005678", "201234567"),
}


def views_by_id(site: Site) -> dict[int, dict]:
    return {view["id"]: view for view in board(site)["tickets"]}


def test_ok__counts_every_state(world):
    view = board(world.site)
    assert view["counts"] == {state: 1 for state in STATES}
    assert list(view["counts"]) == list(STATES)
    assert (view["day"], view["desks"], view["catalogue_status"]) == ("2026-11-25", 2, "unverified")


def test_ok__each_ticket_offers_the_actions_of_its_state(world):
    views = views_by_id(world.site)
    for state, tid in world.tickets.items():
        ticket = views[tid]
        assert ticket["state"] == state
        assert ticket["actions"] == list(allowed_actions(state))
        assert ticket["highlight"] is (state == "left_early")
        assert (ticket["observation"] is not None) is (state in ("injected", "observing"))
        assert (ticket["dose"] is not None) is (state in ("injected", "observing", "released", "left_early"))


def test_ok__an_empty_day(store, site):
    view = board(site)
    assert view["tickets"] == [] and view["lots"] == [] and view["alarms"] == []
    assert set(view["counts"].values()) == {0}
    assert view["outbox"] == {"unpublished": 0, "unacknowledged": 0}


def test_ok__only_todays_tickets_and_lots(store, site, ticker):
    ticket_in(site, "observing", person(1))
    ticker.advance(86400)
    today = ticket_in(site, "waiting", person(2))
    view = board(site)
    assert [t["id"] for t in view["tickets"]] == [today] and view["lots"] == []
    assert view["counts"]["observing"] == 0 and view["day"] == "2026-11-26"


def test_ok__identity_is_masked_to_the_last_four_digits(store, site):
    for payload in PEOPLE:
        check_in(site, parse_payload(payload), source="camera")
    views = board(site)["tickets"]
    assert [v["id_tail"] for v in views] == ["2345", "1234", "5678"]
    assert [(v["given_name"], v["birth_year"], v["sex"]) for v in views] == [
        ("Lan", 1990, "Nữ"), ("Hùng", 1958, "Nam"), ("Mai", 1985, "Nữ"),
    ]


def test_ok__no_full_id_number_or_address_anywhere_in_the_board(store, site):
    lot_id = open_lot(site)
    for payload in PEOPLE:
        tid = ticket_in(site, "observing", payload, lot_id=lot_id)
        record_aefi(site, tid, NURSE, severity="severe", symptoms="collapse")
    text = json.dumps(board(site), ensure_ascii=False)  # also: the whole board is plain JSON
    for id_number, old_id in PEOPLE.values():
        assert id_number not in text
        assert old_id is None or old_id not in text
    for address_part in ("Đường Lê Lợi", "Thôn Đông", "Thạc Gián"):
        assert address_part not in text


def test_ok__priority_first_then_number(store, site):
    first, second, third = (ticket_in(site, "waiting", payload) for payload in (LAN, MAI_SEX_MISMATCH, HUNG))
    views = views_by_id(site)
    assert [views[t]["suggest_priority"] for t in (first, second, third)] == [False, False, True]  # Hùng is 68
    actions.prioritise(site, third, NURSE, flag="age65")
    actions.prioritise(site, second, NURSE, flag="pregnant")
    view = board(site)["tickets"]
    assert [(t["id"], t["priority"]) for t in view] == [(second, "pregnant"), (third, "age65"), (first, None)]
    assert not any(t["suggest_priority"] for t in view)


def test_ok__ticket_details_for_the_supervisor(store, site):
    deferred = ticket_in(site, "screening", LAN)
    actions.defer(site, deferred, NURSE, reason="fever 38.5", return_on=datetime.date(2026, 12, 2))
    called = ticket_in(site, "called", MAI_SEX_MISMATCH)
    views = views_by_id(site)
    assert (views[deferred]["reason"], views[deferred]["return_on"]) == ("fever 38.5", "2026-12-02")
    assert (views[called]["desk"], views[called]["source"]) == (1, "camera")
    assert views[called]["warnings"] == [w.code for w in parse_payload(MAI_SEX_MISMATCH).warnings] != []
    assert views[deferred]["age"] == 36


def test_ok__dose_and_override_on_the_ticket(store, site):
    lot_id = open_lot(site, product="comirnaty_10")
    tid = ticket_in(site, "cleared")
    dosing.inject(site, tid, NURSE, lot_id=lot_id, override_reason="doctor's order")
    assert views_by_id(site)[tid]["dose"] == {
        "product": "comirnaty_10", "lot_number": "FK1234", "number": 1, "override": "doctor's order",
        "vaccinator": None, "site": None,  # NURSE is no row of this test's staff table; no site chosen
    }


def test_ok__lots_accounting(store, site):
    used = open_lot(site, doses_per_vial=6)
    spare = open_lot(site, product="spikevax", lot_number="MS77", doses_per_vial=10)
    for n in range(7):
        dosing.inject(site, ticket_in(site, "cleared", person(n)), NURSE, lot_id=used)
    dosing.record_waste(site, used, NURSE, doses=2, reason="drawn short")
    dosing.open_vial(site, spare, NURSE)
    dosing.close_lot(site, spare, NURSE)
    lots = board(site)["lots"]
    assert lots == [
        {
            "id": used, "product": "comirnaty_30", "name": "Pfizer-BioNTech Comirnaty 30 µg (12 years and over)",
            "lot_number": "FK1234", "expiry": "2027-05-24", "open": True, "doses_per_vial": 6, "vials_opened": 2,
            "given": 7, "wasted": 2, "left_in_open_vials": 3,
        },
        {
            "id": spare, "product": "spikevax", "name": "Moderna Spikevax", "lot_number": "MS77", "expiry": "2027-05-24",
            "open": False, "doses_per_vial": 10, "vials_opened": 1, "given": 0, "wasted": 10, "left_in_open_vials": 0,
        },
    ]


def test_ok__outbox_backlog(store, site):
    for n in range(3):
        ticket_in(site, "called", person(n))  # 6 events
    assert board(site)["outbox"] == {"unpublished": 6, "unacknowledged": 6}
    # What the publisher does once the broker, then the hub, has taken a row.
    with store.write() as db:
        db.execute("update outbox set published_at = '2026-11-25T08:00:01+07:00' where seq <= 4")
        db.execute("update outbox set acked_at = '2026-11-25T08:00:02+07:00' where seq <= 2")
    assert board(site)["outbox"] == {"unpublished": 2, "unacknowledged": 4}


# --- a wall clock at 1970 ------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1, 7, 0, 12, tzinfo=ICT)


@pytest.fixture
def site_1970(store) -> Site:
    """A Pi without RTC, booted offline: the wall clock reads the epoch."""
    return Site(store, "kiosk-test", QueueSettings(), Ticker(wall=EPOCH))


def test_ok__check_in_with_the_clock_at_1970(store, site_1970):
    ticket = check_in(site_1970, parse_payload(LAN, today=None), source="camera")
    assert (ticket.number, ticket.new, ticket.due_dose) == (1, True, 1)
    row = store.db["tickets"].get(ticket.id)
    assert (row["day"], row["checked_in_at"]) == ("1970-01-01", "1970-01-01T07:00:12+07:00")
    event = store.db["events"].get(1)
    assert (event["type"], event["at"]) == ("PersonCheckedIn", "1970-01-01T07:00:12+07:00")


def test_ok__board_with_the_clock_at_1970_has_no_ages(store, site_1970):
    lan = check_in(site_1970, parse_payload(LAN, today=None), source="camera").id
    hung = check_in(site_1970, parse_payload(HUNG, today=None), source="camera").id
    actions.call(site_1970, lan, NURSE, desk=1)
    view = board(site_1970)
    json.dumps(view)
    ages = {t["id"]: (t["age"], t["suggest_priority"]) for t in view["tickets"]}
    assert ages == {lan: (None, False), hung: (11, False)}  # Lan is "not born yet"; Hùng is 11 in 1970
    assert view["counts"]["called"] == 1 and view["day"] == "1970-01-01"


def test_ok__a_tickets_page_holds_its_row_the_person_the_open_lots_and_its_history(site, hoa):
    lot_id = open_lot(site)
    dosing.close_lot(site, open_lot(site, lot_number="OLD1"), hoa)
    ticket_id = check_in(site, parse_payload(LAN), source="camera").id
    actions.call(site, ticket_id, hoa, desk=1)
    details = ticket_details(site, ticket_id)
    assert details["ticket"]["id"] == details["view"]["id"] == ticket_id and details["view"]["state"] == "called"
    assert details["person"]["id_number"] == details["ticket"]["id_number"] == "001190012345"
    assert [lot["id"] for lot in details["lots"]] == [lot_id]  # the closed lot is not offered
    assert details["lots"][0]["name"] == site.catalogue.products["comirnaty_30"].name and details["lots"][0]["verdict"].reason is None
    events = list(site.store.db["events"].rows_where("ticket_id = ?", [ticket_id], order_by="seq"))
    assert [(e["seq"], e["type"]) for e in details["history"]] == [(e["seq"], e["type"]) for e in events]
    assert details["history"][0]["staff"] is None and details["history"][-1]["staff"] == hoa.name  # the camera, then Hoa


def test_fail__a_tickets_page_for_no_ticket_is_unknown_ticket(site):
    with pytest.raises(UnknownTicket):
        ticket_details(site, 99)
