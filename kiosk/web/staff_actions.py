"""The staff actions on the screens: one table of what staff can do, shared by the supervisor's forms and the JSON API.

Each command reads its fields from a form or a JSON body, checks them, calls
its use case and returns the changed row. Every failure becomes a Refusal: a
status, a stable code and a message; the use cases guarantee nothing was
written.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask_babel import gettext as _

from ..errors import PayloadRejected, Refusal, StoreError
from ..payloads import manual_card, parse_payload
from ..queue import actions, aefi, corrections, dosing, questions, screening
from ..queue.checkin import Ticket, check_in
from ..queue.errors import (
    ActionRefused, DetailsInvalid, IdentityMismatch, NotEligible, StaleAction, TransitionRefused, UnknownTicket,
)
from ..queue.sessions import signed_in_staff
from ..queue.site import Site
from ..queue.staff import Staff
from ..queue.states import REASON_MAX_CHARS
from .auth import session_limits
from .i18n import in_language
from .labels import QUESTION_LABELS, field_label

DMY = re.compile(r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}")
"""A date as Vietnamese staff write it: dd/mm/yyyy."""


@dataclass(frozen=True)
class Command:
    run: Callable[[Site, Staff, "Fields"], dict[str, Any]]
    roles: tuple[str, ...] = ("supervisor", "vaccinator")


class Fields:
    """Typed access to a form or JSON body; a missing or malformed field is a 400 Refusal naming it."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.values.get(name)
        value = "" if value is None else str(value).strip()
        if not value and required:
            raise Refusal(400, "missing_field", _("Please fill in: %(field)s.", field=field_label(name)), {"field": name})
        return value or None

    def number(self, name: str, *, required: bool = True) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and len(value) < 10):
            raise Refusal(400, "bad_field", _("%(field)s must be a whole number.", field=field_label(name)), {"field": name})
        return int(value)

    def date(self, name: str, *, required: bool = True) -> datetime.date | None:
        """A date typed as staff write it (dd/mm/yyyy) or as a date input or the API sends it (yyyy-mm-dd)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            if DMY.fullmatch(value):
                day, month, year = (int(part) for part in re.split(r"[/.-]", value))
                return datetime.date(year, month, day)
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise Refusal(400, "bad_field", _("%(field)s: write the date as dd/mm/yyyy.", field=field_label(name)),
                          {"field": name}) from None

    def answers(self) -> dict[str, Any]:
        """The screening checklist's answers: a JSON object, or a form's ``answer_<question>`` fields of "yes"/"no"."""
        given = self.values.get("answers")
        if isinstance(given, dict):
            return given
        words = {"yes": True, "no": False}
        return {key[len("answer_"):]: words.get(str(value), value) for key, value in self.values.items()
                if key.startswith("answer_")}


def ticket_command(use_case: Callable, **fields: Callable[[Fields], Any]) -> Callable:
    def run(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
        extra = {key: read(form) for key, read in fields.items()}
        return use_case(site, form.number("ticket"), by, expected_state=form.text("expect", required=False), **extra)

    return run


def inject(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
    """The dose from a lot; the ticket page sends one override field per lot the person is not eligible for."""
    lot = form.number("lot")
    override = form.text("override", required=False) or form.text(f"override_{lot}", required=False)
    if override and by.role != "supervisor":
        raise Refusal(403, "forbidden", _("Only a supervisor may override eligibility."))
    return dosing.inject(
        site, form.number("ticket"), by, lot_id=lot, override_reason=override,
        expected_state=form.text("expect", required=False), vaccinator=vaccinator(site, by, form),
        injection_site=form.text("injection_site", required=False),
    )


def vaccinator(site: Site, by: Staff, form: Fields) -> Staff:
    """Who gave the injection: one of the staff signed in now (default: whoever records it)."""
    chosen = form.number("vaccinator", required=False)
    if chosen is None or chosen == by.id:
        return by
    for member in signed_in_staff(site.store.db, session_limits(), site.clock.now()):
        if member["id"] == chosen:
            return Staff(member["id"], member["name"], member["role"])
    raise Refusal(409, "unknown_vaccinator", _("Choose the vaccinator among the staff signed in now."))


def record_screening(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
    """The screening checklist: its answers decide (clear, defer or not vaccinated); the note or the "yes" answers
    are the reason a deferred or refused ticket shows."""
    answers = form.answers()
    note = form.text("reason", required=False)
    yes = [str(QUESTION_LABELS[q]) for q, value in answers.items() if value is True and q in QUESTION_LABELS]
    reason = note or ("; ".join(yes) or _("Screening"))[:REASON_MAX_CHARS]
    ticket = screening.record_screening(
        site, form.number("ticket"), by, answers=answers, reason=reason, return_on=form.date("return_on", required=False),
        expected_state=form.text("expect", required=False))
    return {**ticket, "outcome": ticket["state"] if ticket["state"] != "refused" else ticket["reason_code"]}


def manual_check_in(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
    """Typed details, or a whole card payload typed into the ID field by a USB handheld scanner.

    ``correction_reason`` (supervisors only) confirms that an ID number stored with other details is the same
    person's, with these corrected details; without it such a check-in is refused as identity_mismatch.
    """
    correction = form.values.get("correction_reason")
    if correction is not None and by.role != "supervisor":
        raise Refusal(403, "forbidden", _("Only a supervisor may confirm corrected details."))
    first = form.text("id_number")
    today = site.clock.now().wall.date()
    if "|" not in first and not (first.isascii() and first.isdigit() and len(first) == 12):
        digits = sum(c.isdigit() for c in first)
        raise Refusal(400, "bad_id_number", _(
            "The ID number has 12 digits; this one has %(n)d characters (%(digits)d digits). Check it on the card.",
            n=len(first), digits=digits), {"field": "id_number"})
    if "|" in first:
        card, source = parse_payload(first, today=today), "handheld"
    else:
        card = manual_card(
            first, form.text("full_name"), form.text("birth_date"), form.text("sex"),
            old_id=form.text("old_id", required=False) or "", today=today,
        )
        source = "manual"
    ticket = check_in(site, card, source=source, by=by, correction=None if correction is None else str(correction))
    return ticket_result(ticket)


def ticket_result(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.id, "number": ticket.number, "new": ticket.new, "due_dose": ticket.due_dose, "warnings": list(ticket.warnings)}


def confirm_identity(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
    """A held scan is the same person with corrected details: check them in, with the supervisor's reason."""
    return ticket_result(questions.confirm_identity(site, form.number("question"), by, reason=form.text("reason")))


def dismiss_identity(site: Site, by: Staff, form: Fields) -> dict[str, Any]:
    """Close a held scan without a check-in; the answer names no one."""
    question = questions.dismiss_identity(site, form.number("question"), by)
    return {"id": question["id"], "resolution": question["resolution"]}


COMMANDS: dict[str, Command] = {
    "call": Command(ticket_command(actions.call, desk=lambda f: f.number("desk"))),
    "call_next": Command(lambda site, by, form: actions.call_next(site, by, desk=form.number("desk"))),
    "screen": Command(ticket_command(actions.screen)),
    "clear": Command(ticket_command(actions.clear)),
    "requeue": Command(ticket_command(actions.requeue)),
    "leave": Command(ticket_command(actions.leave)),
    "leave_early": Command(ticket_command(actions.leave_early)),
    "defer": Command(ticket_command(actions.defer, reason=lambda f: f.text("reason"), return_on=lambda f: f.date("return_on"))),
    "refuse": Command(ticket_command(
        actions.refuse, reason_code=lambda f: f.text("reason_code", required=False), reason=lambda f: f.text("reason"))),
    "release": Command(ticket_command(actions.release, reason=lambda f: f.text("reason", required=False))),
    "inject": Command(inject),
    "prioritise": Command(lambda site, by, form: actions.prioritise(site, form.number("ticket"), by, flag=form.text("flag"))),
    "unprioritise": Command(lambda site, by, form: actions.unprioritise(site, form.number("ticket"), by)),
    "screening": Command(record_screening),
    "aefi": Command(lambda site, by, form: aefi.record_aefi(
        site, form.number("ticket"), by, severity=form.text("severity"), symptoms=form.text("symptoms"))),
    "acknowledge": Command(lambda site, by, form: aefi.acknowledge_aefi(site, form.number("aefi"), by)),
    "void_dose": Command(lambda site, by, form: corrections.void_dose(
        site, form.number("ticket"), by, reason=form.text("reason")), roles=("supervisor",)),
    "check_in": Command(manual_check_in),
    "confirm_identity": Command(confirm_identity, roles=("supervisor",)),
    "dismiss_identity": Command(dismiss_identity),
    "open_lot": Command(lambda site, by, form: dosing.open_lot(
        site, by, product=form.text("product"), lot_number=form.text("lot_number"), expiry=form.date("expiry"),
        doses_per_vial=form.number("doses_per_vial")), roles=("supervisor",)),
    "open_vial": Command(lambda site, by, form: dosing.open_vial(site, form.number("lot"), by)),
    "waste": Command(lambda site, by, form: dosing.record_waste(
        site, form.number("lot"), by, doses=form.number("doses"), reason=form.text("reason")), roles=("supervisor",)),
    "close_lot": Command(lambda site, by, form: dosing.close_lot(site, form.number("lot"), by), roles=("supervisor",)),
}


def perform(site: Site, by: Staff, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Run command ``name`` for ``by``; return the changed row or raise Refusal (nothing written)."""
    command = COMMANDS.get(name)
    if command is None:
        raise Refusal(404, "unknown_action", _("There is no such action."))
    if by.role not in command.roles:
        raise Refusal(403, "forbidden", _("Your role may not do this. Ask a supervisor."))
    try:
        return command.run(site, by, Fields(values))
    except Refusal:
        raise
    except Exception as exc:
        raise refusal_for(exc) from exc


REFUSALS = {
    "already_acknowledged": lambda **p: _("This alarm was already acknowledged.", **p),
    "already_voided": lambda **p: _("This dose was already voided.", **p),
    "bad_injection_site": lambda **p: _("Choose where the injection was given: left or right arm, left or right thigh.", **p),
    "bad_doses_per_vial": lambda **p: _("Doses per vial must be a whole number from 1 to 50.", **p),
    "bad_lot_number": lambda **p: _("The lot number must be 1 to %(max)d characters.", **p),
    "bad_reason": lambda **p: _("Give a reason of 1 to %(max)d characters.", **p),
    "bad_reason_code": lambda **p: _("Choose why the person is not vaccinated: declined, contraindicated or referred to hospital.", **p),
    "bad_severity": lambda **p: _("Choose the severity: mild, moderate or severe.", **p),
    "bad_symptoms": lambda **p: _("Describe the symptoms in 1 to %(max)d characters.", **p),
    "bad_waste": lambda **p: _("Wasted doses must be at least 1 and no more than are left in the opened vials.", **p),
    "clock_not_set": lambda **p: _("The kiosk's clock is not set, so the dose date would be wrong. Set the date and time first.", **p),
    "lot_already_open": lambda **p: _("This lot is already open.", **p),
    "lot_closed": lambda **p: _("This lot is closed.", **p),
    "lot_expired": lambda **p: _("This lot is past its expiry date: it must not be used.", **p),
    "lot_from_another_day": lambda **p: _("This lot was opened on another day: open it again for today.", **p),
    "no_such_desk": lambda **p: _("There is no desk with this number at this site.", **p),
    "no_priority": lambda **p: _("This ticket has no priority to remove.", **p),
    "no_dose": lambda **p: _("This ticket has no recorded dose to void.", **p),
    "nobody_waiting": lambda **p: _("Nobody is waiting.", **p),
    "not_vaccinated": lambda **p: _("This person has no recorded dose: a reaction is recorded after an injection.", **p),
    "observation_not_over": lambda **p: _("The observation is not over (%(minutes)d min left): give a reason to release early.", **p),
    "pregnant_male": lambda **p: _("This person is recorded as a man: \"pregnant\" does not apply. Check the answer or the person's sex.", **p),
    "question_closed": lambda **p: _("This identity question was already settled.", **p),
    "return_date_needed": lambda **p: _("The answers defer this person: give the date to come back.", **p),
    "screening_incomplete": lambda **p: _("Answer every screening question with yes or no.", **p),
    "too_late_for_priority": lambda **p: _("Priority no longer applies at this step.", **p),
    "too_many_doses": lambda **p: _("This person already has the most doses the records can hold (%(max)d): a new one cannot be recorded.", **p),
    "unknown_aefi": lambda **p: _("There is no such adverse reaction.", **p),
    "unknown_lot": lambda **p: _("There is no such lot.", **p),
    "unknown_priority": lambda **p: _("Choose a priority: 65 or older, pregnant, disability or chronic illness.", **p),
    "unknown_product": lambda **p: _("This product is not in the vaccine catalogue.", **p),
    "unknown_question": lambda **p: _("There is no such identity question.", **p),
}
"""Each ActionRefused code's sentence in the user's language, filled with its params; the English detail goes in ``why``."""


def detail_message(key: str) -> str:
    """What is wrong with an action's detail, in words (DetailsInvalid names the key only)."""
    if key == "return_on":
        return _("The date to come back must be after today.")
    if key == "reason":
        return _("Give a reason of 1 to %(max)d characters.", max=REASON_MAX_CHARS)
    return _("Please check the field: %(field)s.", field=field_label(key))


def refusal_for(exc: Exception) -> Refusal:
    """The Refusal for an error a use case raised; anything unexpected is re-raised."""
    if isinstance(exc, IdentityMismatch):
        return Refusal(409, "identity_mismatch", _(
            "This ID number is already stored here with other details. Nothing was saved: check the ID number and "
            "the details, or a supervisor confirms that these are the same person's corrected details."), exc.public())
    if isinstance(exc, UnknownTicket):
        return Refusal(404, "unknown_ticket", _("There is no such ticket. Nothing was changed."))
    if isinstance(exc, StaleAction):
        return Refusal(409, "stale", _("This ticket was changed meanwhile (another screen, or a second tap). Nothing was done: look at it again."))
    if isinstance(exc, TransitionRefused):
        return Refusal(409, "not_allowed", _("This step is not possible for this ticket now. Nothing was changed."), {"state": exc.state, "action": exc.action})
    if isinstance(exc, DetailsInvalid):
        return Refusal(400, "bad_field", detail_message(exc.key), {"field": exc.key, "why": str(exc)})
    if isinstance(exc, NotEligible):
        verdict = exc.eligibility
        return Refusal(409, "not_eligible", in_language(verdict.message_en, verdict.message_vi), {"reason": verdict.reason})
    if isinstance(exc, ActionRefused):
        sentence = REFUSALS.get(exc.code)
        return Refusal(409, exc.code, str(exc) if sentence is None else sentence(**exc.params), {"why": str(exc)})
    if isinstance(exc, PayloadRejected):
        return Refusal(400, exc.reason, in_language(exc.message_en, exc.message_vi))
    if isinstance(exc, StoreError):
        return Refusal(503, "not_saved", _("The kiosk could not save this: %(why)s", why=str(exc)))
    raise exc
