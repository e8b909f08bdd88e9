"""The queue state machine: which action moves a ticket from which state to which, and the event it writes.

Pure rules only: no database, no clock. The use cases that change a ticket
call ``step`` (or ``transition``) inside their transaction and write the
returned event. docs/workflow.md explains every state and action; a test
fails when the two disagree.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import NamedTuple

from wire import limits

from .errors import ClockError, DetailsInvalid, TransitionRefused


class Step(NamedTuple):
    """Where an allowed action leads, the domain event it writes, and the details it needs."""

    target: str
    event: str
    needs: tuple[str, ...] = ()


STATES: tuple[str, ...] = (
    "waiting", "called", "screening", "cleared", "injected", "observing",
    "released", "deferred", "refused", "left", "left_early",
)
"""Every state a ticket can be in, in workflow order; a new ticket starts at "waiting"."""

ACTIONS: tuple[str, ...] = (
    "call", "screen", "clear", "inject", "observe", "release",
    "defer", "refuse", "requeue", "leave", "leave_early",
)
"""Every action a supervisor or a use case can take on a ticket; the forward action of each state first."""

TERMINAL: frozenset[str] = frozenset({"released", "deferred", "refused", "left", "left_early"})
"""States that allow no action: the ticket's day is over."""

HIGHLIGHTED: frozenset[str] = frozenset({"left_early"})
"""States the supervisor screen highlights: vaccinated people who left before their observation ended."""

INITIAL = "waiting"

# (from state, action) -> (to state, event, details needed). Leaving before the
# injection is allowed from every state in which the person is still waiting for
# something (waiting, called, screening, cleared); after the injection it is
# "leave_early", its own terminal state, so the screen can highlight it.
TRANSITIONS: dict[tuple[str, str], Step] = {
    ("waiting", "call"): Step("called", "PersonCalled", ("desk",)),
    ("waiting", "leave"): Step("left", "PersonLeft"),
    ("called", "screen"): Step("screening", "ScreeningStarted"),
    ("called", "requeue"): Step("waiting", "PersonRequeued"),
    ("called", "leave"): Step("left", "PersonLeft"),
    ("screening", "clear"): Step("cleared", "PersonCleared"),
    ("screening", "defer"): Step("deferred", "PersonDeferred", ("reason", "return_on")),
    ("screening", "refuse"): Step("refused", "VaccinationRefused", ("reason",)),
    ("screening", "leave"): Step("left", "PersonLeft"),
    ("cleared", "inject"): Step("injected", "DoseRecorded"),
    ("cleared", "refuse"): Step("refused", "VaccinationRefused", ("reason",)),
    ("cleared", "leave"): Step("left", "PersonLeft"),
    ("injected", "observe"): Step("observing", "ObservationStarted"),
    ("injected", "leave_early"): Step("left_early", "PersonLeftEarly"),
    ("observing", "release"): Step("released", "PersonReleased"),
    ("observing", "leave_early"): Step("left_early", "PersonLeftEarly"),
}

EVENTS: dict[str, str] = {action: s.event for (_, action), s in TRANSITIONS.items()}
"""The event type each action writes; the same whatever state the action starts from."""

NEEDS: dict[str, tuple[str, ...]] = {action: s.needs for (_, action), s in TRANSITIONS.items()}
"""The details each action needs (checked by check_details); the same from every state."""

OBSERVATION_MINIMUM_S = 1800.0
"""Vietnam's minimum observation after a COVID-19 injection: 30 minutes."""

REASON_MAX_CHARS = limits.TEXT_MAX
"""Every reason and the AEFI symptoms: the wire contract's limit on free text."""
MAX_DESK = 99


def allowed_actions(state: str) -> tuple[str, ...]:
    """Return the actions allowed in state, in ACTIONS order; () for a terminal or unknown state."""
    return tuple(action for action in ACTIONS if (state, action) in TRANSITIONS)


def step(state: str, action: str) -> Step:
    """Return the Step that action takes from state; raise TransitionRefused when it is not allowed."""
    found = TRANSITIONS.get((state, action))
    if found is not None:
        return found
    raise TransitionRefused(state, action, refusal_message(state, action))


def transition(state: str, action: str) -> str:
    """Return the state that action leads to from state; raise TransitionRefused when it is not allowed."""
    return step(state, action).target


def refusal_message(state: str, action: str) -> str:
    if state not in STATES:
        return f"unknown queue state {state!r}; known states: {', '.join(STATES)}"
    if action not in ACTIONS:
        return f"unknown queue action {action!r}; known actions: {', '.join(ACTIONS)}"
    if state in TERMINAL:
        return f"action {action!r} is not allowed: state {state!r} is terminal"
    allowed = ", ".join(allowed_actions(state))
    return f"action {action!r} is not allowed in state {state!r}; allowed: {allowed}"


def check_details(action: str, details: Mapping[str, object], *, on_date: datetime.date) -> None:
    """Check the details an action needs (see Step.needs); raise DetailsInvalid naming the bad key.

    "reason" must be non-blank text of at most 200 characters; "return_on" must be
    a date after on_date; "desk" a desk number from 1 to 99. Details an action does not need are refused too.
    """
    needs = NEEDS.get(action)
    if needs is None:
        raise DetailsInvalid("action", f"unknown queue action {action!r}")
    for key in details:
        if key not in needs:
            raise DetailsInvalid(key, f"action {action!r} takes no such detail; it needs: {', '.join(needs) or 'none'}")
    for key in needs:
        if key not in details:
            raise DetailsInvalid(key, f"action {action!r} needs it")
        _DETAIL_CHECKS[key](details[key], on_date)


def _check_reason(value: object, on_date: datetime.date) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DetailsInvalid("reason", "must be non-blank text")
    if len(value) > REASON_MAX_CHARS:
        raise DetailsInvalid("reason", f"must be at most {REASON_MAX_CHARS} characters")


def _check_return_on(value: object, on_date: datetime.date) -> None:
    # datetime is a subclass of date; a return *date* is what the person is told.
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise DetailsInvalid("return_on", "must be a date")
    if value <= on_date:
        raise DetailsInvalid("return_on", "must be after the day of the deferral")


def _check_desk(value: object, on_date: datetime.date) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DESK:
        raise DetailsInvalid("desk", f"must be a desk number from 1 to {MAX_DESK}")


_DETAIL_CHECKS = {"reason": _check_reason, "return_on": _check_return_on, "desk": _check_desk}


class ObservationStatus(NamedTuple):
    """How much of the observation period is left, and whether it is over."""

    remaining_s: float
    due: bool
    """True when the minimum has passed: the person may be released."""


def observation_status(
    injected_at_mono: float, now_mono: float, minimum_s: float = OBSERVATION_MINIMUM_S
) -> ObservationStatus:
    """Return the observation status of a person injected at injected_at_mono, at now_mono.

    Both times are from the same monotonic clock (time.monotonic), so they cannot
    span a reboot. Raises ClockError when now is before the injection (a clock from
    another boot) or a value is not a finite number, or minimum_s is negative.
    """
    if not all(math.isfinite(v) for v in (injected_at_mono, now_mono, minimum_s)):
        raise ClockError("observation times must be finite numbers")
    if minimum_s < 0:
        raise ClockError(f"minimum observation must not be negative, got {minimum_s!r} s")
    elapsed = now_mono - injected_at_mono
    if elapsed < 0:
        raise ClockError("now is before the injection: monotonic times from different boots cannot be compared")
    return ObservationStatus(remaining_s=max(0.0, minimum_s - elapsed), due=elapsed >= minimum_s)
