"""The pre-vaccination screening checklist: the questions of the Ministry of Health's screening form, and what follows.

A supervisor answers every question yes or no at the screening desk; the
answers go with the event that ends the screening (PersonCleared,
PersonDeferred or VaccinationRefused), so the district hub sees why. The
outcome follows from the answers alone: a severe reaction to an earlier dose
contraindicates the vaccine; a severe allergy or a weakened immune system
sends the person to a hospital to be vaccinated there; an acute illness, a
fever or a pregnancy defers them. Like the vaccine catalogue, these rules are
an example that a health officer must check against current guidance.
"""

from __future__ import annotations

import datetime
from typing import Any, Mapping, NamedTuple

from .actions import act
from .errors import ActionRefused
from .site import Actor, Site, load_ticket, person_of

QUESTIONS: dict[str, str] = {
    "prior_dose_reaction": "contraindicated",
    "allergy": "referred",
    "immunocompromised": "referred",
    "acute_illness": "deferred",
    "fever": "deferred",
    "pregnant": "deferred",
}
"""Each question of the form, in the form's order, and the outcome a "yes" leads to."""

SEVERITY = ("contraindicated", "referred", "deferred")
"""When several answers are "yes", the first outcome of this order wins."""
ONLY_FOR_WOMEN = ("pregnant",)
MALE = "Nam"


class Outcome(NamedTuple):
    """What the screening decides: ``cleared``, ``deferred``, ``contraindicated`` or ``referred``, and the yes answers behind it."""

    result: str
    because: tuple[str, ...]


def screening_outcome(answers: Mapping[str, bool]) -> Outcome:
    """Return the Outcome of a complete set of answers (see check_answers)."""
    yes = tuple(q for q in QUESTIONS if answers.get(q))
    for result in SEVERITY:
        because = tuple(q for q in yes if QUESTIONS[q] == result)
        if because:
            return Outcome(result, because)
    return Outcome("cleared", ())


def check_answers(answers: Mapping[str, Any], sex: str) -> dict[str, bool]:
    """Return the answers as {question: bool}; raise ActionRefused when one is missing, unknown or not a yes/no,
    or "pregnant" is "yes" for a man (``screening_incomplete``, ``pregnant_male``)."""
    unknown = sorted(set(answers) - set(QUESTIONS))
    if unknown:
        raise ActionRefused("screening_incomplete", f"unknown screening questions: {', '.join(unknown)}")
    checked: dict[str, bool] = {}
    for question in QUESTIONS:
        value = answers.get(question, False if question in ONLY_FOR_WOMEN and sex == MALE else None)
        if not isinstance(value, bool):
            raise ActionRefused("screening_incomplete", f"answer every screening question with yes or no ({question})")
        checked[question] = value
    if sex == MALE and checked["pregnant"]:
        raise ActionRefused("pregnant_male", "a man cannot be pregnant: check the answer or the person's sex")
    return checked


def record_screening(
    site: Site, ticket_id: int, by: Actor, *, answers: Mapping[str, Any], reason: str,
    return_on: datetime.date | None = None, expected_state: str | None = None,
) -> dict[str, Any]:
    """End the screening by its answers: clear, defer (needs ``return_on``) or refuse; return the ticket row.

    ``reason`` is the sentence put on a deferred or refused ticket (the screen writes it in its language).
    Raises what check_answers and the queue actions raise, and ActionRefused(``return_date_needed``).
    """
    db = site.store.db
    checked = check_answers(answers, person_of(db, load_ticket(db, ticket_id)["id_number"])["sex"])
    outcome = screening_outcome(checked)
    extra = {"screening": {"answers": checked, "outcome": outcome.result}}
    if outcome.result == "cleared":
        return act(site, ticket_id, "clear", by, expected_state=expected_state, event_extra=extra)
    if outcome.result == "deferred":
        if return_on is None:
            raise ActionRefused("return_date_needed", "a deferral needs the date to come back")
        details = {"reason": reason, "return_on": return_on}
        changes = {"reason": reason, "return_on": return_on.isoformat()}
        return act(site, ticket_id, "defer", by, details=details, expected_state=expected_state, changes=changes,
                   event_extra=extra)
    coded = {"reason_code": outcome.result}
    return act(site, ticket_id, "refuse", by, details={"reason": reason}, expected_state=expected_state,
               changes={"reason": reason, **coded}, event_extra={**extra, **coded})
