"""Voiding a dose recorded by mistake: a new event names the old one; the record stays, marked voided."""

from __future__ import annotations

import pytest

from kiosk.queue import dosing
from kiosk.queue.corrections import void_dose
from kiosk.queue.errors import ActionRefused

from .conftest import NURSE
from .test_actions import assert_outbox_matches, events_after, last_seq, snapshot, ticket_in


def test_ok__void_dose_writes_an_event_naming_the_dose_and_keeps_the_row(store, site):
    tid = ticket_in(site, "observing")
    dose_seq = store.db["doses"].get(1)["event_seq"]
    before = last_seq(store)
    dose = void_dose(site, tid, NURSE, reason="  recorded for the wrong person  ")
    [event] = events_after(store, before)
    assert event["type"] == "EventVoided"
    payload = assert_outbox_matches(store, event)
    assert payload["voids"] == f"kiosk-test:{dose_seq}" and payload["reason"] == "recorded for the wrong person"
    assert payload["by"] == {"staff_id": NURSE.id, "name": NURSE.name} and payload["id_number"] == "001190012345"
    assert (dose["voided_seq"], store.db["doses"].get(1)["voided_seq"]) == (event["seq"], event["seq"])
    assert dosing.history(store.db, "001190012345") == [], "a voided dose no longer counts"
    assert store.db["tickets"].get(tid)["state"] == "observing", "the queue is not moved back"


@pytest.mark.parametrize(
    "state, reason, code",
    [("observing", "", "bad_reason"), ("observing", "x" * 201, "bad_reason"), ("cleared", "wrong person", "no_dose")],
)
def test_fail__void_refused_writes_nothing(store, site, state, reason, code):
    tid = ticket_in(site, state)
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        void_dose(site, tid, NURSE, reason=reason)
    assert caught.value.code == code
    assert snapshot(store) == before


def test_fail__a_dose_is_voided_once(store, site):
    tid = ticket_in(site, "observing")
    void_dose(site, tid, NURSE, reason="wrong person")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        void_dose(site, tid, NURSE, reason="again")
    assert caught.value.code == "already_voided" and snapshot(store) == before
