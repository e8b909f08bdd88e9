"""The confirmation after a staff action: what was done, to which ticket or lot, in the user's language (never "Done.")."""

from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _

from .labels import FLAG_LABELS, REFUSAL_CODE_LABELS, SEVERITY_LABELS, dmy


def refused(r: dict) -> str:
    return _("Ticket %(number)d: not vaccinated (%(why)s).", number=r["number"],
             why=REFUSAL_CODE_LABELS.get(r.get("reason_code") or "declined", ""))


def screened(r: dict) -> str:
    if r["state"] == "cleared":
        return _("Ticket %(number)d: screening passed, cleared to vaccinate.", number=r["number"])
    if r["state"] == "deferred":
        return _("Ticket %(number)d: deferred by the screening; come back on %(date)s.", number=r["number"], date=dmy(r["return_on"]))
    return refused(r)


DONE: dict[str, Callable[[dict], str]] = {
    "call": lambda r: _("Ticket %(number)d called to desk %(desk)d.", number=r["number"], desk=r["desk"]),
    "call_next": lambda r: _("Ticket %(number)d called to desk %(desk)d.", number=r["number"], desk=r["desk"]),
    "screen": lambda r: _("Ticket %(number)d is at the screening desk.", number=r["number"]),
    "clear": lambda r: _("Ticket %(number)d cleared to vaccinate.", number=r["number"]),
    "screening": screened,
    "inject": lambda r: _("Dose recorded for ticket %(number)d; the observation has started.", number=r["number"]),
    "release": lambda r: _("Ticket %(number)d released: the person may go home.", number=r["number"]),
    "defer": lambda r: _("Ticket %(number)d deferred; come back on %(date)s.", number=r["number"], date=dmy(r["return_on"])),
    "refuse": refused,
    "requeue": lambda r: _("Ticket %(number)d is back in the queue.", number=r["number"]),
    "leave": lambda r: _("Ticket %(number)d marked as left.", number=r["number"]),
    "leave_early": lambda r: _("Ticket %(number)d marked as left before the end of the observation.", number=r["number"]),
    "prioritise": lambda r: _("Ticket %(number)d moved ahead: %(why)s.", number=r["number"], why=FLAG_LABELS.get(r["priority"], "")),
    "unprioritise": lambda r: _("Priority removed from ticket %(number)d: back in number order.", number=r["number"]),
    "aefi": lambda r: _("Adverse reaction recorded (%(severity)s).", severity=SEVERITY_LABELS.get(r["severity"], r["severity"])),
    "acknowledge": lambda r: _("Alarm acknowledged: someone is with the person."),
    "void_dose": lambda r: _("The dose (lot %(lot)s) is voided; the district hub will be told.", lot=r["lot_number"]),
    "open_lot": lambda r: _("Lot %(lot)s opened.", lot=r["lot_number"]),
    "open_vial": lambda r: _("A new vial of lot %(lot)s opened.", lot=r["lot_number"]),
    "waste": lambda r: _("Waste recorded for lot %(lot)s.", lot=r["lot_number"]),
    "close_lot": lambda r: _("Lot %(lot)s closed.", lot=r["lot_number"]),
    "dismiss_identity": lambda r: _("The identity question is closed; nobody was checked in."),
    "check_in": lambda r: _("Checked in: ticket %(number)d.", number=r["number"]),
    "confirm_identity": lambda r: _("Checked in: ticket %(number)d.", number=r["number"]),
}


def done_message(name: str, result: dict[str, Any]) -> str:
    """The sentence confirming action ``name`` whose use case returned ``result``."""
    say = DONE.get(name)
    try:
        return say(result) if say else _("Done.")
    except (KeyError, TypeError):  # a result without the fields its sentence names: say less rather than fail after the write
        return _("Done.")
