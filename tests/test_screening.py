"""The screening checklist, priorities taken back, and who gave a dose where: the use cases and the events the hub takes."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given, settings, strategies as st

from kiosk.queue import actions, dosing, screening
from kiosk.queue.errors import ActionRefused
from kiosk.queue.screening import QUESTIONS, check_answers, record_screening, screening_outcome
from kiosk.queue.sessions import Limits, open_session, signed_in_staff

from .conftest import HUNG, NURSE, Staffer
from .test_actions import assert_outbox_matches, events_after, last_seq, open_lot, snapshot, ticket_in

RETURN_ON = datetime.date(2026, 12, 9)
NONE = dict.fromkeys(QUESTIONS, False)
answer_sets = st.fixed_dictionaries({q: st.booleans() for q in QUESTIONS})


@given(answer_sets)
def test_ok__the_outcome_is_the_gravest_yes(answers):
    outcome = screening_outcome(answers)
    yes = [q for q in QUESTIONS if answers[q]]
    if not yes:
        assert outcome == ("cleared", ())
        return
    gravest = min((screening.SEVERITY.index(QUESTIONS[q]) for q in yes))
    assert outcome.result == screening.SEVERITY[gravest]
    assert outcome.because == tuple(q for q in yes if QUESTIONS[q] == outcome.result)


@given(answer_sets, st.sampled_from(sorted(QUESTIONS)), st.sampled_from([None, "yes", 1, "", "true"]))
def test_fail__an_unanswered_or_non_boolean_question_is_refused(answers, question, bad):
    answers = {**answers, question: bad}
    if question == "pregnant" and bad is None:
        answers.pop(question)  # a man need not be asked; a woman must be
        with pytest.raises(ActionRefused) as raised:
            check_answers(answers, "Nữ")
    else:
        with pytest.raises(ActionRefused) as raised:
            check_answers(answers, "Nam")
    assert raised.value.code == "screening_incomplete"


@given(answer_sets)
def test_fail__pregnant_is_refused_for_a_man_whatever_else_is_answered(answers):
    with pytest.raises(ActionRefused) as raised:
        check_answers({**answers, "pregnant": True}, "Nam")
    assert raised.value.code == "pregnant_male"


def test_fail__an_unknown_question_is_refused():
    with pytest.raises(ActionRefused) as raised:
        check_answers({**NONE, "full_name": True}, "Nữ")
    assert raised.value.code == "screening_incomplete"


CASES = [
    ({}, "cleared", "PersonCleared", None),
    ({"fever": True}, "deferred", "PersonDeferred", None),
    ({"allergy": True, "fever": True}, "referred", "VaccinationRefused", "referred"),
    ({"prior_dose_reaction": True, "fever": True}, "contraindicated", "VaccinationRefused", "contraindicated"),
]


@pytest.mark.parametrize("yes, outcome, event, code", CASES, ids=[c[1] for c in CASES])
def test_ok__the_answers_go_with_the_event_that_ends_the_screening(store, site, yes, outcome, event, code):
    tid = ticket_in(site, "screening")
    before = last_seq(store)
    ticket = record_screening(site, tid, NURSE, answers={**NONE, **yes}, reason="Sốt 38,5 °C", return_on=RETURN_ON,
                              expected_state="screening")
    assert ticket["state"] == {"cleared": "cleared", "deferred": "deferred"}.get(outcome, "refused")
    assert ticket["reason_code"] == code
    [written] = events_after(store, before)
    payload = assert_outbox_matches(store, written)  # the hub's schema takes it
    assert written["type"] == event
    assert payload["screening"] == {"answers": {**NONE, **yes}, "outcome": outcome}


def test_fail__a_deferral_without_a_date_or_a_pregnant_man_writes_nothing(store, site):
    tid = ticket_in(site, "screening")
    man = ticket_in(site, "screening", HUNG)
    before = snapshot(store)
    with pytest.raises(ActionRefused, match="date") as raised:
        record_screening(site, tid, NURSE, answers={**NONE, "fever": True}, reason="Sốt")
    assert raised.value.code == "return_date_needed"
    with pytest.raises(ActionRefused) as raised:
        record_screening(site, man, NURSE, answers={**NONE, "pregnant": True}, reason="x")
    assert raised.value.code == "pregnant_male" and snapshot(store) == before


def test_ok__a_priority_is_taken_back_and_pregnant_is_refused_for_a_man(store, site):
    lan, hung = ticket_in(site, "waiting"), ticket_in(site, "waiting", HUNG)
    actions.prioritise(site, lan, NURSE, flag="pregnant")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as raised:
        actions.prioritise(site, hung, NURSE, flag="pregnant")
    assert raised.value.code == "pregnant_male" and snapshot(store) == before
    seq = last_seq(store)
    assert actions.unprioritise(site, lan, NURSE)["priority"] is None
    [removed] = events_after(store, seq)
    assert removed["type"] == "PriorityRemoved" and assert_outbox_matches(store, removed)["flag"] == "pregnant"
    with pytest.raises(ActionRefused) as raised:
        actions.unprioritise(site, lan, NURSE)
    assert raised.value.code == "no_priority"


def test_ok__the_dose_names_the_vaccinator_and_the_injection_site(store, site, ticker):
    limits = Limits(3600, 7200)
    vaccinator = Staffer(2, "Y tá Bình")
    store.db["staff"].insert({"id": 2, "name": vaccinator.name, "role": "vaccinator", "pin_hash": "x", "active": 1,
                              "created_at": "2026-11-25T00:00:00"})
    open_session(store, 2, limits, site.clock.now())
    assert [s["name"] for s in signed_in_staff(store.db, limits, site.clock.now())] == ["Y tá Bình"]
    lot = open_lot(site)
    tid = ticket_in(site, "cleared")
    before = last_seq(store)
    dosing.inject(site, tid, NURSE, lot_id=lot, vaccinator=vaccinator, injection_site="left_deltoid")
    recorded = next(e for e in events_after(store, before) if e["type"] == "DoseRecorded")
    dose = assert_outbox_matches(store, recorded)["dose"]
    assert dose["vaccinator"] == {"staff_id": 2, "name": "Y tá Bình"} and dose["site"] == "left_deltoid"
    assert json.loads(recorded["payload"])["by"]["name"] == NURSE.name  # who recorded it is kept apart
    row = store.db["doses"].get(1)
    assert (row["vaccinator"], row["injection_site"]) == (2, "left_deltoid")
    with pytest.raises(ActionRefused) as raised:
        dosing.inject(site, ticket_in(site, "cleared", HUNG), NURSE, lot_id=lot, injection_site="buttock")
    assert raised.value.code == "bad_injection_site"


@settings(max_examples=30)
@given(st.text(max_size=30))
def test_fail__any_other_injection_site_is_refused_before_anything_is_read(text):
    if text in dosing.INJECTION_SITES:
        return
    with pytest.raises(ActionRefused):
        dosing.inject(None, 1, NURSE, lot_id=1, injection_site=text)
