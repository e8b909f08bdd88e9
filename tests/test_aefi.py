"""Adverse events after immunisation on a real SQLite file: only after a dose; a severe one is an alarm until acknowledged."""

from __future__ import annotations

import pytest

from kiosk.errors import StoreError
from kiosk.queue.aefi import AFTER_INJECTION, acknowledge_aefi, open_alarms, record_aefi
from kiosk.queue.board import board
from kiosk.queue.errors import ActionRefused, UnknownTicket
from kiosk.queue.states import STATES

from .conftest import NURSE, Staffer
from .test_actions import (  # noqa: F401 (fixtures)
    assert_outbox_matches,
    built_world,
    last_seq,
    person,
    refuse_inserts,
    snapshot,
    ticket_in,
    world,
)

DOCTOR = Staffer(2, "Bác sĩ Minh")


def test_ok__after_injection_is_exactly_the_vaccinated_states():
    assert set(AFTER_INJECTION) == {"injected", "observing", "released", "left_early"}


@pytest.mark.parametrize("state", AFTER_INJECTION)
def test_ok__record_aefi_after_the_injection(store, site, state):
    tid = ticket_in(site, state)
    dose_event = store.db["events"].get(store.db["doses"].get(1)["event_seq"])["event_id"]
    before = last_seq(store)
    row = record_aefi(site, tid, NURSE, severity="moderate", symptoms="  rash on the arm, 38.2 °C ")
    assert row["symptoms"] == "rash on the arm, 38.2 °C"
    saved = store.db["aefi"].get(row["id"])
    assert {k: saved[k] for k in ("ticket_id", "id_number", "severity", "recorded_by", "event_seq", "acknowledged_at")} == {
        "ticket_id": tid, "id_number": "001190012345", "severity": "moderate", "recorded_by": NURSE.id,
        "event_seq": before + 1, "acknowledged_at": None,
    }
    event = store.db["events"].get(before + 1)
    assert (event["type"], event["ticket_id"], event["staff_id"]) == ("AefiRecorded", tid, NURSE.id)
    assert last_seq(store) == before + 1
    payload = assert_outbox_matches(store, event)
    assert payload["aefi"] == {"severity": "moderate", "symptoms": "rash on the arm, 38.2 °C", "dose_event": dose_event}
    assert store.db["tickets"].get(tid)["state"] == state  # an AEFI is not a state change


NOT_VACCINATED = [pytest.param(state, id=state) for state in STATES if state not in AFTER_INJECTION]


@pytest.mark.parametrize("state", NOT_VACCINATED)
def test_fail__record_aefi_before_any_injection(world, state):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        record_aefi(world.site, world.tickets[state], NURSE, severity="severe", symptoms="fainted")
    assert caught.value.code == "not_vaccinated"
    assert snapshot(world.site.store) == before


@pytest.mark.parametrize(
    ("severity", "symptoms", "code"),
    [
        pytest.param("fatal", "collapse", "bad_severity", id="unknown-severity"),
        pytest.param("Severe", "collapse", "bad_severity", id="capitalised-severity"),
        pytest.param("", "collapse", "bad_severity", id="no-severity"),
        pytest.param(None, "collapse", "bad_severity", id="none-severity"),
        pytest.param("mild", "", "bad_symptoms", id="empty-symptoms"),
        pytest.param("mild", "   ", "bad_symptoms", id="blank-symptoms"),
        pytest.param("mild", None, "bad_symptoms", id="none-symptoms"),
        pytest.param("mild", "x" * 201, "bad_symptoms", id="long-symptoms"),
    ],
)
def test_fail__bad_severity_or_symptoms(world, severity, symptoms, code):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        record_aefi(world.site, world.tickets["observing"], NURSE, severity=severity, symptoms=symptoms)
    assert caught.value.code == code
    assert snapshot(world.site.store) == before


def test_fail__record_aefi_for_an_unknown_ticket(world):
    before = snapshot(world.site.store)
    with pytest.raises(UnknownTicket):
        record_aefi(world.site, 999, NURSE, severity="severe", symptoms="collapse")
    assert snapshot(world.site.store) == before


def test_fail__a_refused_outbox_insert_saves_no_aefi(store, site):
    tid = ticket_in(site, "observing")
    before = snapshot(store)
    refuse_inserts(store, "outbox")
    with pytest.raises(StoreError):
        record_aefi(site, tid, NURSE, severity="severe", symptoms="anaphylaxis")
    assert snapshot(store) == before
    assert open_alarms(store.db) == []


def test_ok__a_severe_aefi_is_an_alarm_until_acknowledged(store, site):
    tid = ticket_in(site, "observing")
    aefi = record_aefi(site, tid, NURSE, severity="severe", symptoms="wheezing, low blood pressure")
    assert [a["id"] for a in open_alarms(store.db)] == [aefi["id"]]
    view = board(site)
    assert view["alarms"] == [
        {"id": aefi["id"], "ticket": 1, "ticket_id": tid, "symptoms": "wheezing, low blood pressure",
         "at": "2026-11-25T08:00:00+07:00"},
    ]
    assert view["tickets"][0]["aefi"] == [
        {"id": aefi["id"], "severity": "severe", "symptoms": "wheezing, low blood pressure", "acknowledged": False},
    ]

    site.clock.advance(45)
    before = last_seq(store)
    acknowledged = acknowledge_aefi(site, aefi["id"], DOCTOR)
    assert (acknowledged["acknowledged_by"], acknowledged["acknowledged_at"]) == (DOCTOR.id, "2026-11-25T08:00:45+07:00")
    event = store.db["events"].get(before + 1)
    assert (event["type"], event["ticket_id"], event["staff_id"]) == ("AefiAcknowledged", tid, DOCTOR.id)
    assert assert_outbox_matches(store, event)["aefi_event"] == f"kiosk-test:{aefi['event_seq']}"
    assert open_alarms(store.db) == [] and board(site)["alarms"] == []
    assert board(site)["tickets"][0]["aefi"][0]["acknowledged"] is True


@pytest.mark.parametrize("severity", ["mild", "moderate"])
def test_ok__a_mild_or_moderate_aefi_sounds_no_alarm(store, site, severity):
    tid = ticket_in(site, "observing")
    record_aefi(site, tid, NURSE, severity=severity, symptoms="sore arm")
    assert open_alarms(store.db) == [] and board(site)["alarms"] == []
    assert board(site)["tickets"][0]["aefi"][0]["severity"] == severity


def test_ok__alarms_oldest_first_and_each_acknowledged_on_its_own(store, site):
    first = record_aefi(site, ticket_in(site, "observing", person(1)), NURSE, severity="severe", symptoms="collapse")
    second = record_aefi(site, ticket_in(site, "left_early", person(2)), NURSE, severity="severe", symptoms="seizure")
    assert [a["id"] for a in board(site)["alarms"]] == [first["id"], second["id"]]
    acknowledge_aefi(site, second["id"], DOCTOR)
    assert [a["id"] for a in open_alarms(store.db)] == [first["id"]]


def test_fail__acknowledging_twice(store, site):
    aefi = record_aefi(site, ticket_in(site, "observing"), NURSE, severity="severe", symptoms="collapse")
    acknowledge_aefi(site, aefi["id"], DOCTOR)
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        acknowledge_aefi(site, aefi["id"], NURSE)
    assert caught.value.code == "already_acknowledged"
    assert snapshot(store) == before
    assert store.db["aefi"].get(aefi["id"])["acknowledged_by"] == DOCTOR.id


def test_fail__acknowledging_an_unknown_aefi(world):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        acknowledge_aefi(world.site, 999, NURSE)
    assert caught.value.code == "unknown_aefi"
    assert snapshot(world.site.store) == before
