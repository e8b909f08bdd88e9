"""Identity questions on a real SQLite file: a held scan waits, one per card and day, until confirmed or dismissed."""

from __future__ import annotations

import json

import pytest

from kiosk.payloads import parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.errors import ActionRefused, IdentityMismatch
from kiosk.queue.questions import ask_about_identity, confirm_identity, dismiss_identity, find_question, open_questions

from .conftest import LAN, NURSE

OTHER = LAN.replace("Nguyễn Thị Lan", "Nguyễn Thị Lân")


def held(site, payload: str = OTHER) -> int:
    """Lan checked in, then a card of her ID number with other details scanned: the desk's two steps."""
    card = parse_payload(payload)
    with pytest.raises(IdentityMismatch):
        check_in(site, card, source="camera")
    return ask_about_identity(site, card, "camera")["id"]


def test_ok__a_question_shows_both_versions_masked(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    question = held(site)
    [view] = open_questions(site)
    assert view == find_question(site, question)
    assert (view["id_tail"], view["fields"], view["scans"], view["asked_at"], view["source"]) == ("2345", ["full_name"], 1, "08:00", "camera")
    assert (view["stored"]["old_id"], view["new"]["old_id"]) == ("6789", "6789")


def test_ok__yesterday_s_open_question_is_not_on_today_s_board(store, site, ticker):
    check_in(site, parse_payload(LAN), source="camera")
    held(site)
    ticker.advance(86400)
    assert open_questions(site) == []


def test_ok__confirming_checks_the_card_in_with_its_scanned_details(store, site, ticker):
    check_in(site, parse_payload(LAN), source="camera")
    question = held(site)
    ticker.advance(600)
    ticket = confirm_identity(site, question, NURSE, reason="Thẻ mới")
    assert (ticket.number, ticket.new) == (1, False)
    person = store.db["people"].get("001190012345")
    assert (person["full_name"], person["issue_date"]) == ("Nguyễn Thị Lân", "2021-04-20")
    row = store.db["identity_questions"].get(question)
    assert (row["resolution"], row["resolved_by"], row["ticket_id"]) == ("corrected", NURSE.id, ticket.id)
    [payload] = [json.loads(p) for (p,) in store.db.execute("select payload from events where type = 'IdentityCorrected'")]
    assert payload["source"] == "camera" and payload["fields"] == ["full_name"]
    with pytest.raises(ActionRefused) as caught:
        dismiss_identity(site, question, NURSE)
    assert caught.value.code == "question_closed"


@pytest.mark.parametrize("reason", ["", "  ", "x" * 201])
def test_fail__a_confirmation_without_a_reason_leaves_the_question_open(store, site, reason):
    check_in(site, parse_payload(LAN), source="camera")
    question = held(site)
    with pytest.raises(ActionRefused) as caught:
        confirm_identity(site, question, NURSE, reason=reason)
    assert caught.value.code == "bad_reason" and store.db["identity_questions"].get(question)["resolution"] is None
    assert store.db["events"].count == 1


def test_ok__a_question_whose_card_now_agrees_is_a_plain_check_in(store, site):
    """Someone corrected the stored person by hand meanwhile: confirming records no second correction."""
    check_in(site, parse_payload(LAN), source="camera")
    question = held(site)
    check_in(site, parse_payload(OTHER), source="handheld", by=NURSE, correction="Thẻ mới")
    confirm_identity(site, question, NURSE, reason="Thẻ mới")
    assert [t for (t,) in store.db.execute("select type from events order by seq")] == ["PersonCheckedIn", "IdentityCorrected"]


def test_fail__an_unknown_question_is_refused(store, site):
    for settle in (lambda: confirm_identity(site, 9, NURSE, reason="x"), lambda: dismiss_identity(site, 9, NURSE)):
        with pytest.raises(ActionRefused) as caught:
            settle()
        assert caught.value.code == "unknown_question"
    assert find_question(site, 9) is None
