"""Tests for kiosk.queue.states: the transition table, details, observation and their documentation."""

import datetime
import itertools
import math
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.errors import KioskError
from kiosk.queue.errors import ClockError, DetailsInvalid, TransitionRefused
from kiosk.queue.states import (
    ACTIONS,
    EVENTS,
    HIGHLIGHTED,
    INITIAL,
    NEEDS,
    OBSERVATION_MINIMUM_S,
    STATES,
    TERMINAL,
    TRANSITIONS,
    ObservationStatus,
    allowed_actions,
    check_details,
    observation_status,
    step,
    transition,
)

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "workflow.md"
TODAY = datetime.date(2021, 9, 1)

# The workflow as specified, written out by hand: the table in the code must match it.
OK_CASES = [
    ("waiting", "call", "called", "PersonCalled"),
    ("waiting", "leave", "left", "PersonLeft"),
    ("called", "screen", "screening", "ScreeningStarted"),
    ("called", "requeue", "waiting", "PersonRequeued"),
    ("called", "leave", "left", "PersonLeft"),
    ("screening", "clear", "cleared", "PersonCleared"),
    ("screening", "defer", "deferred", "PersonDeferred"),
    ("screening", "refuse", "refused", "VaccinationRefused"),
    ("screening", "leave", "left", "PersonLeft"),
    ("cleared", "inject", "injected", "DoseRecorded"),
    ("cleared", "refuse", "refused", "VaccinationRefused"),
    ("cleared", "leave", "left", "PersonLeft"),
    ("injected", "observe", "observing", "ObservationStarted"),
    ("injected", "leave_early", "left_early", "PersonLeftEarly"),
    ("observing", "release", "released", "PersonReleased"),
    ("observing", "leave_early", "left_early", "PersonLeftEarly"),
]
REFUSED = sorted(set(itertools.product(STATES, ACTIONS)) - set(TRANSITIONS))


# --- the table -------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "target", "event"), OK_CASES, ids=[f"{s}-{a}" for s, a, *_ in OK_CASES])
def test_ok__transition(state, action, target, event):
    assert transition(state, action) == target
    assert step(state, action).event == event
    assert EVENTS[action] == event


def test_ok__table_is_exactly_the_specified_workflow():
    assert {(s, a): (t, e) for s, a, t, e in OK_CASES} == {k: (v.target, v.event) for k, v in TRANSITIONS.items()}


@pytest.mark.parametrize(("state", "action"), REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_fail__every_pair_not_in_the_table_is_refused(state, action):
    with pytest.raises(TransitionRefused) as caught:
        transition(state, action)
    assert (caught.value.state, caught.value.action) == (state, action)
    assert repr(state) in str(caught.value) and repr(action) in str(caught.value)


@pytest.mark.parametrize(
    ("state", "action", "words"),
    [
        ("waiting", "inject", "allowed: call, leave"),
        ("released", "call", "terminal"),
        ("left_early", "release", "terminal"),
        ("injected", "leave", "allowed: observe, leave_early"),
        ("cancelled", "call", "unknown queue state 'cancelled'"),
        ("waiting", "recall", "unknown queue action 'recall'"),
        ("", "", "unknown queue state"),
    ],
)
def test_fail__refusal_says_why(state, action, words):
    with pytest.raises(TransitionRefused, match=re.escape(words)) as caught:
        step(state, action)
    assert isinstance(caught.value, KioskError) and isinstance(caught.value, ValueError)


def test_ok__the_table_uses_only_known_names():
    assert {s for s, _ in TRANSITIONS} | {v.target for v in TRANSITIONS.values()} <= set(STATES)
    assert {a for _, a in TRANSITIONS} == set(ACTIONS)
    assert len(set(STATES)) == len(STATES) and len(set(ACTIONS)) == len(ACTIONS)


def test_ok__each_action_writes_one_event_and_needs_the_same_details_everywhere():
    for (_, action), found in TRANSITIONS.items():
        assert found.event == EVENTS[action] and found.needs == NEEDS[action]
    assert len(set(EVENTS.values())) == len(EVENTS)
    assert all(re.fullmatch(r"(?:[A-Z][a-z]+)+", event) for event in EVENTS.values())


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_ok__terminal_states_allow_nothing(state):
    assert allowed_actions(state) == ()
    for action in ACTIONS:
        with pytest.raises(TransitionRefused):
            transition(state, action)


def test_ok__terminal_is_exactly_the_states_without_a_way_out():
    assert TERMINAL == {s for s in STATES if not allowed_actions(s)}
    assert HIGHLIGHTED <= TERMINAL and "left_early" in HIGHLIGHTED
    assert INITIAL == "waiting" and INITIAL not in TERMINAL


@pytest.mark.parametrize("state", STATES)
def test_ok__allowed_actions_match_the_table(state):
    expected = [action for (source, action) in TRANSITIONS if source == state]
    assert sorted(allowed_actions(state)) == sorted(expected)
    assert list(allowed_actions(state)) == [a for a in ACTIONS if a in expected]  # ACTIONS order, for buttons


def test_ok__allowed_actions_of_unknown_state_is_empty():
    assert allowed_actions("cancelled") == ()


def test_ok__every_state_is_reachable_and_every_path_can_end():
    assert closure({INITIAL}, forward=True) == set(STATES)
    assert closure(set(TERMINAL), forward=False) == set(STATES)


def closure(start: set[str], *, forward: bool) -> set[str]:
    """States reachable from start (forward) or from which start is reachable (backward)."""
    found = set(start)
    while True:
        more = {t.target if forward else s for (s, _), t in TRANSITIONS.items() if (s if forward else t.target) in found}
        if more <= found:
            return found
        found |= more


def test_ok__leaving_before_and_after_injection_are_different_states():
    assert transition("cleared", "leave") == "left"
    assert transition("injected", "leave_early") == "left_early"
    with pytest.raises(TransitionRefused):
        transition("observing", "leave")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), max_size=30))
def test_ok__random_action_sequences_stay_in_states_and_never_leave_a_terminal(actions):
    state = INITIAL
    for action in actions:
        try:
            following = transition(state, action)
        except TransitionRefused:
            assert action not in allowed_actions(state)
            continue
        assert state not in TERMINAL
        assert following in STATES
        state = following
    assert state in STATES


# --- details ---------------------------------------------------------------

DETAILS_OK = [
    pytest.param("defer", {"reason": "Sốt 38,2 °C", "return_on": TODAY + datetime.timedelta(days=1)}, id="defer_tomorrow"),
    pytest.param("defer", {"reason": "x" * 200, "return_on": datetime.date(2022, 1, 1)}, id="defer_200_chars"),
    pytest.param("refuse", {"reason": "Declined"}, id="refuse_with_reason"),
    pytest.param("call", {"desk": 1}, id="call_needs_a_desk"),
    pytest.param("call", {"desk": 99}, id="call_highest_desk"),
    pytest.param("inject", {}, id="inject_needs_nothing"),
]


@pytest.mark.parametrize(("action", "details"), DETAILS_OK)
def test_ok__details(action, details):
    check_details(action, details, on_date=TODAY)


DETAILS_FAIL = [
    pytest.param("call", {}, "desk", id="call_without_desk"),
    pytest.param("call", {"desk": 0}, "desk", id="desk_zero"),
    pytest.param("call", {"desk": 100}, "desk", id="desk_too_high"),
    pytest.param("call", {"desk": "2"}, "desk", id="desk_as_text"),
    pytest.param("call", {"desk": True}, "desk", id="desk_as_bool"),
    pytest.param("defer", {"reason": "fever"}, "return_on", id="defer_without_return_date"),
    pytest.param("defer", {"return_on": TODAY + datetime.timedelta(days=7)}, "reason", id="defer_without_reason"),
    pytest.param("defer", {"reason": "  ", "return_on": TODAY + datetime.timedelta(days=7)}, "reason", id="blank"),
    pytest.param("defer", {"reason": "x" * 201, "return_on": TODAY + datetime.timedelta(days=7)}, "reason", id="long"),
    pytest.param("defer", {"reason": 7, "return_on": TODAY + datetime.timedelta(days=7)}, "reason", id="not_text"),
    pytest.param("defer", {"reason": "fever", "return_on": TODAY}, "return_on", id="return_today"),
    pytest.param("defer", {"reason": "fever", "return_on": TODAY - datetime.timedelta(days=1)}, "return_on", id="past"),
    pytest.param("defer", {"reason": "fever", "return_on": "2021-09-08"}, "return_on", id="return_as_text"),
    pytest.param(
        "defer", {"reason": "fever", "return_on": datetime.datetime(2021, 9, 8, 8)}, "return_on", id="return_datetime"
    ),
    pytest.param("refuse", {}, "reason", id="refuse_without_reason"),
    pytest.param("refuse", {"reason": "x", "return_on": TODAY}, "return_on", id="refuse_with_return_date"),
    pytest.param("call", {"reason": "x"}, "reason", id="call_with_reason"),
    pytest.param("recall", {}, "action", id="unknown_action"),
]


@pytest.mark.parametrize(("action", "details", "key"), DETAILS_FAIL)
def test_fail__details(action, details, key):
    with pytest.raises(DetailsInvalid) as caught:
        check_details(action, details, on_date=TODAY)
    assert caught.value.key == key and str(caught.value).startswith(f"{key}: ")
    assert isinstance(caught.value, KioskError) and isinstance(caught.value, ValueError)


def test_ok__defer_and_refuse_need_details():
    assert NEEDS["defer"] == ("reason", "return_on") and NEEDS["refuse"] == ("reason",)
    assert NEEDS["call"] == ("desk",)
    assert {a for a, needs in NEEDS.items() if needs} == {"defer", "refuse", "call"}


# --- observation -----------------------------------------------------------

OBSERVATION_OK = [
    pytest.param(100.0, 100.0, 1800.0, ObservationStatus(1800.0, False), id="just_injected"),
    pytest.param(100.0, 1000.0, 1800.0, ObservationStatus(900.0, False), id="halfway"),
    pytest.param(100.0, 1899.5, 1800.0, ObservationStatus(0.5, False), id="half_a_second_short"),
    pytest.param(100.0, 1900.0, 1800.0, ObservationStatus(0.0, True), id="exactly_the_minimum"),
    pytest.param(100.0, 9000.0, 1800.0, ObservationStatus(0.0, True), id="long_after"),
    pytest.param(5.0, 5.0, 0.0, ObservationStatus(0.0, True), id="zero_minimum"),
    pytest.param(0.0, 900.0, 900.0, ObservationStatus(0.0, True), id="fifteen_minutes_configured"),
]


@pytest.mark.parametrize(("injected", "now", "minimum", "expected"), OBSERVATION_OK)
def test_ok__observation_status(injected, now, minimum, expected):
    assert observation_status(injected, now, minimum) == expected


def test_ok__observation_default_is_thirty_minutes():
    assert OBSERVATION_MINIMUM_S == 1800.0
    assert observation_status(0.0, 1799.0) == ObservationStatus(1.0, False)
    assert observation_status(0.0, 1800.0).due


OBSERVATION_FAIL = [
    pytest.param(5000.0, 10.0, 1800.0, id="now_before_injection_after_reboot"),
    pytest.param(0.0, 10.0, -1.0, id="negative_minimum"),
    pytest.param(math.nan, 10.0, 1800.0, id="nan_injection"),
    pytest.param(0.0, math.inf, 1800.0, id="infinite_now"),
    pytest.param(0.0, 10.0, math.nan, id="nan_minimum"),
]


@pytest.mark.parametrize(("injected", "now", "minimum"), OBSERVATION_FAIL)
def test_fail__observation_status(injected, now, minimum):
    with pytest.raises(ClockError):
        observation_status(injected, now, minimum)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e7), st.floats(0, 1e5), st.floats(0, 1e4))
def test_ok__observation_remaining_never_negative_and_due_when_none_remains(injected, elapsed, minimum):
    status = observation_status(injected, injected + elapsed, minimum)
    assert 0.0 <= status.remaining_s <= minimum
    assert status.due == (status.remaining_s == 0.0)


# --- documentation ---------------------------------------------------------


@pytest.mark.parametrize("name", [*STATES, *ACTIONS, *EVENTS.values()])
def test_ok__every_state_action_and_event_is_documented(name):
    assert f"`{name}`" in DOCS.read_text(encoding="utf-8"), f"{name} is missing from docs/workflow.md"


@pytest.mark.parametrize(("state", "action", "target", "event"), OK_CASES, ids=[f"{s}-{a}" for s, a, *_ in OK_CASES])
def test_ok__every_transition_is_documented(state, action, target, event):
    row = f"| `{state}` | `{action}` | `{target}` | `{event}` |"
    assert row in DOCS.read_text(encoding="utf-8"), f"{row} is missing from docs/workflow.md"


def test_fail__docs_list_no_transition_the_code_refuses():
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \| `(\w+)` \|$", DOCS.read_text(encoding="utf-8"), re.M)
    assert {(s, a): (t, e) for s, a, t, e in rows} == {k: (v.target, v.event) for k, v in TRANSITIONS.items()}


def test_ok__docs_mark_terminal_states():
    docs = DOCS.read_text(encoding="utf-8")
    for state in STATES:
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{state}` |") and line.count("|") == 4)
        assert row.rstrip(" |").endswith("yes" if state in TERMINAL else "no"), state


@pytest.mark.parametrize("action", ACTIONS)
def test_ok__docs_give_each_action_its_event_and_details(action):
    needs = ", ".join(f"`{key}`" for key in NEEDS[action])
    row = f"| `{action}` | `{EVENTS[action]}` | {needs} |" if needs else f"| `{action}` | `{EVENTS[action]}` | |"
    assert row in DOCS.read_text(encoding="utf-8")
