"""Queue use cases: each moves one ticket, writing the state change, its event and its outbox row together.

The web screens and the JSON API call these, never the tables. Every function
raises UnknownTicket, StaleAction (the ticket changed since the screen was
drawn), TransitionRefused, DetailsInvalid or ActionRefused, and then nothing
has been written.
"""

from __future__ import annotations

import datetime
import math
from typing import Any, Callable

from .errors import ActionRefused, StaleAction
from .site import Actor, Site, load_ticket, person_of
from .states import REASON_MAX_CHARS, check_details, observation_status, step

PRIORITY_FLAGS = ("age65", "pregnant", "disabled", "chronic")
"""Why a person may be moved ahead at screening: 65 or older, pregnant, disabled, chronically ill."""

REFUSAL_CODES = ("declined", "contraindicated", "referred")
"""Why a person was not vaccinated, as the daily report counts it (wire: VaccinationRefused.reason_code): the person
declined, a contraindication was found, or they were referred to a hospital to be vaccinated there."""

QUEUE_ORDER = "priority is null, number"
"""The order people are called in, and the board's order: priority first, then by ticket number."""
CALL_NEXT_ATTEMPTS = 5
BEFORE_INJECTION = ("waiting", "called", "screening", "cleared")
MALE = "Nam"
"""The card's word for a man (kiosk/payloads/cccd.py SEXES)."""


def act(
    site: Site,
    ticket_id: int,
    action: str,
    by: Actor,
    *,
    details: dict[str, Any] | None = None,
    expected_state: str | None = None,
    changes: dict[str, Any] | None = None,
    guard: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    event_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Take a state action on a ticket and return the updated ticket row.

    guard, when given, sees the ticket row inside the transaction once the
    transition is allowed; it may raise to refuse, or return fields written to
    both the ticket and the event. event_extra goes in the event only (the screening's answers).
    """
    details = details or {}
    now = site.clock.now()
    with site.store.write() as db:
        ticket = load_ticket(db, ticket_id, expected_state)
        moved = step(ticket["state"], action)
        check_details(action, details, on_date=now.wall.date())
        extra = guard(ticket) if guard else {}
        update = {"state": moved.target, "updated_at": now.wall.isoformat(), **(changes or {}), **extra}
        db["tickets"].update(ticket_id, update)
        payload = {"from": ticket["state"], "to": moved.target, **wire(details), **extra, **(event_extra or {})}
        site.emit(db, moved.event, now, payload, ticket=ticket, by=by)
        return {**ticket, **update}


def wire(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime.date) else value for key, value in details.items()}


def call(site: Site, ticket_id: int, by: Actor, *, desk: int, expected_state: str | None = None) -> dict[str, Any]:
    """Call a waiting person to a desk; the citizen screen shows their number and the desk."""
    if isinstance(desk, int) and not isinstance(desk, bool) and desk > site.settings.desks:
        raise ActionRefused("no_such_desk", f"desk {desk} does not exist: this site has {site.settings.desks} desks")
    return act(site, ticket_id, "call", by, details={"desk": desk}, expected_state=expected_state, changes={"desk": desk})


def call_next(site: Site, by: Actor, *, desk: int) -> dict[str, Any]:
    """Call the first waiting person (priority first, then by number); raise ActionRefused when nobody waits.

    Two desks calling at once both get someone: a person another desk took
    meanwhile is skipped.
    """
    for _attempt in range(CALL_NEXT_ATTEMPTS):
        ticket_id = next_waiting(site)
        if ticket_id is None:
            break
        try:
            return call(site, ticket_id, by, desk=desk, expected_state="waiting")
        except StaleAction:
            continue
    raise ActionRefused("nobody_waiting", "nobody is waiting")


def next_waiting(site: Site) -> int | None:
    """Return the id of the ticket to call next today, or None."""
    row = site.store.db.execute(
        f"select id from tickets where day = ? and state = 'waiting' order by {QUEUE_ORDER} limit 1",
        [site.clock.now().wall.date().isoformat()],
    ).fetchone()
    return row[0] if row else None


def screen(site: Site, ticket_id: int, by: Actor, *, expected_state: str | None = None) -> dict[str, Any]:
    """The called person has arrived at the screening desk."""
    return act(site, ticket_id, "screen", by, expected_state=expected_state)


def clear(site: Site, ticket_id: int, by: Actor, *, expected_state: str | None = None) -> dict[str, Any]:
    """Screening passed: the person may be vaccinated."""
    return act(site, ticket_id, "clear", by, expected_state=expected_state)


def requeue(site: Site, ticket_id: int, by: Actor, *, expected_state: str | None = None) -> dict[str, Any]:
    """A called person did not come: back to waiting, keeping their number."""
    return act(site, ticket_id, "requeue", by, expected_state=expected_state, changes={"desk": None})


def defer(
    site: Site, ticket_id: int, by: Actor, *, reason: str, return_on: datetime.date, expected_state: str | None = None
) -> dict[str, Any]:
    """Not today: record why and the date the person should come back."""
    details = {"reason": reason, "return_on": return_on}
    changes = {"reason": reason, "return_on": return_on.isoformat() if isinstance(return_on, datetime.date) else None}
    return act(site, ticket_id, "defer", by, details=details, expected_state=expected_state, changes=changes)


def refuse(
    site: Site, ticket_id: int, by: Actor, *, reason_code: str | None, reason: str, expected_state: str | None = None
) -> dict[str, Any]:
    """Not vaccinated, for reason_code (one of REFUSAL_CODES) and the reason typed; raise ActionRefused(bad_reason_code).

    The code is checked after the ticket's state and the reason, so a refusal
    that is not allowed still says so first.
    """

    def coded(ticket: dict[str, Any]) -> dict[str, Any]:
        if reason_code not in REFUSAL_CODES:
            raise ActionRefused("bad_reason_code", f"choose why: one of {', '.join(REFUSAL_CODES)}, not {reason_code!r}")
        return {"reason_code": reason_code}

    return act(site, ticket_id, "refuse", by, details={"reason": reason}, expected_state=expected_state,
               changes={"reason": reason}, guard=coded)


def leave(site: Site, ticket_id: int, by: Actor, *, expected_state: str | None = None) -> dict[str, Any]:
    """The person left, or did not come, before the injection."""
    return act(site, ticket_id, "leave", by, expected_state=expected_state)


def leave_early(site: Site, ticket_id: int, by: Actor, *, expected_state: str | None = None) -> dict[str, Any]:
    """A vaccinated person left before the observation minimum was over (highlighted on the board)."""
    return act(site, ticket_id, "leave_early", by, expected_state=expected_state)


def release(
    site: Site, ticket_id: int, by: Actor, *, reason: str | None = None, expected_state: str | None = None
) -> dict[str, Any]:
    """Release an observed person; before the minimum is over only with a reason, recorded on the ticket and the event."""
    reason = (reason or "").strip()

    def early_release(ticket: dict[str, Any]) -> dict[str, Any]:
        # Checked on the row read inside the transaction, after the state: a ticket
        # that is not observed gets TransitionRefused, not "observation not over".
        status = observation_for(site, ticket)
        if status.due:
            return {}
        if not reason:
            raise ActionRefused(
                "observation_not_over",
                f"the observation is not over ({math.ceil(status.remaining_s / 60)} min left): give a reason to release early",
                minutes=math.ceil(status.remaining_s / 60),
            )
        if len(reason) > REASON_MAX_CHARS:
            raise ActionRefused("bad_reason", f"the reason must be at most {REASON_MAX_CHARS} characters",
                                max=REASON_MAX_CHARS)
        return {"reason": reason}

    return act(site, ticket_id, "release", by, expected_state=expected_state, guard=early_release)


def observation_for(site: Site, ticket: dict[str, Any]):
    """Return the ObservationStatus of a ticket row; a timer from another boot counts as just started."""
    now = site.clock.now()
    minimum = ticket["observe_minimum_s"] if ticket["observe_minimum_s"] is not None else site.observation_s
    if ticket["observe_mono"] is None or ticket["observe_boot"] != now.boot_id:
        return observation_status(now.mono, now.mono, minimum)
    return observation_status(ticket["observe_mono"], max(now.mono, ticket["observe_mono"]), minimum)


def prioritise(site: Site, ticket_id: int, by: Actor, *, flag: str) -> dict[str, Any]:
    """Move a person ahead of the queue for a recorded reason (PRIORITY_FLAGS); raise ActionRefused otherwise
    (``unknown_priority``, ``pregnant_male``, ``too_late_for_priority``)."""
    if flag not in PRIORITY_FLAGS:
        raise ActionRefused("unknown_priority", f"unknown priority {flag!r}; one of: {', '.join(PRIORITY_FLAGS)}")
    now = site.clock.now()
    with site.store.write() as db:
        ticket = before_injection(db, ticket_id)
        if flag == "pregnant" and person_of(db, ticket["id_number"])["sex"] == MALE:
            raise ActionRefused("pregnant_male", "a man cannot be pregnant: choose another priority or check the sex")
        update = {"priority": flag, "priority_by": by.id, "updated_at": now.wall.isoformat()}
        db["tickets"].update(ticket_id, update)
        site.emit(db, "PriorityGranted", now, {"flag": flag}, ticket=ticket, by=by)
        return {**ticket, **update}


def unprioritise(site: Site, ticket_id: int, by: Actor) -> dict[str, Any]:
    """Take a priority away (given by mistake): the person goes back to their number's place. Writes PriorityRemoved
    naming the flag; raises ActionRefused (``no_priority``, ``too_late_for_priority``)."""
    now = site.clock.now()
    with site.store.write() as db:
        ticket = before_injection(db, ticket_id)
        if ticket["priority"] is None:
            raise ActionRefused("no_priority", f"ticket {ticket['number']} has no priority")
        update = {"priority": None, "priority_by": None, "updated_at": now.wall.isoformat()}
        db["tickets"].update(ticket_id, update)
        site.emit(db, "PriorityRemoved", now, {"flag": ticket["priority"]}, ticket=ticket, by=by)
        return {**ticket, **update}


def before_injection(db, ticket_id: int) -> dict[str, Any]:
    """The ticket row while priority still applies; raise ActionRefused(too_late_for_priority) after that."""
    ticket = load_ticket(db, ticket_id)
    if ticket["state"] not in BEFORE_INJECTION:
        raise ActionRefused("too_late_for_priority", f"ticket {ticket['number']} is '{ticket['state']}': priority no longer applies")
    return ticket


def reanchor_observations(site: Site) -> int:
    """Restart the timers of people observed in an earlier boot (their elapsed time is unknown); return how many.

    Monotonic times do not survive a reboot, so the safe reading is "the minimum
    starts again now"; the board marks these timers restarted, and the
    supervisor can release earlier with a reason.
    """
    now = site.clock.now()
    with site.store.write() as db:
        cursor = db.execute(
            "update tickets set observe_boot = ?, observe_mono = ?, observe_restarted = 1 "
            "where state in ('injected', 'observing') and observe_boot is not ?",
            [now.boot_id, now.mono, now.boot_id],
        )
        return cursor.rowcount
