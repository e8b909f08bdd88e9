"""The corrections of a person's record (/people/<ref>/...): correct the identity, void a dose, add a missing dose.

Corrections are events, never edits: each form builds a hub/corrections.py
Correction and hands it to ``Store.correct``, which checks it against the
records, keeps it as a hub event naming who made it, and derives the person
again; the record then shows it and its history names the staff member. Only
the data staff and admins may (an officer, even with see_people, gets 403).
Every POST carries its CSRF token. A refusal (CorrectionError) is shown in the
member's language with the form as they filled it; nothing is kept. Each form
page shows the person, so opening it is audited as ``view_person``; each
correction kept is audited as ``correct_person``, ``void_dose`` or ``add_dose``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from .. import corrections as rules
from ..district_time import VIETNAM, local_day
from ..errors import CorrectionError
from ..people import PersonRecord
from . import audit
from .auth import current_staff, not_signed_in, record, services
from .i18n import current_language
from .people import labels, may_correct, read_record

logger = logging.getLogger(__name__)

bp = Blueprint("corrections", __name__, url_prefix="/people")

FORM_MAX = 600
"""Characters kept of each form field (the rules refuse more than 500 in a text)."""
audit.ACTION_LABELS.update({
    "correct_person": lazy_gettext("Corrected a person's identity"),
    "void_dose": lazy_gettext("Voided a dose recorded in error"),
    "add_dose": lazy_gettext("Added a missing dose"),
})


def corrections_allowed(view: Callable) -> Callable:
    """The data staff and admins; nobody signed in: to sign-in; anyone else: 403."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        member = current_staff()
        if member is None:
            return not_signed_in()
        if not may_correct(member):
            logger.warning("staff %d (%s) refused %s %s: may not correct records", member.id, member.role,
                           request.method, request.url_rule.rule if request.url_rule else "?")
            return render_template("base.html", page_error=_("Only the data staff and administrators correct records."),
                                   title=_("Not allowed")), 403
        return view(*args, **kwargs)

    return wrapped


def fields(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "")[:FORM_MAX] for name in names}


def refusal(error: CorrectionError) -> str:
    """The rules' own sentence in the member's language (hub/corrections.py REASONS holds Vietnamese and English)."""
    vietnamese, english = rules.REASONS.get(error.code, (str(error), str(error)))
    return vietnamese if current_language() == "vi" else english


def keep(ref: str, correction: rules.Correction, action: str, done: str):
    """Hand the correction to the store, audit it and go back to the record; CorrectionError propagates."""
    member = current_staff()
    event_id = services().store.correct(correction, staff_id=member.id, by=member.name, at=hub_time())
    record(member.id, action, f"person:{ref}")
    flash(_("%(what)s Kept as event %(id)s, in the history below.", what=done, id=event_id), "info")
    return redirect(url_for("people.person", ref=ref, _anchor="history"), 303)


def hub_time() -> str:
    """Now, in Vietnam's time: the day a correction is judged by ("not after today") is the district's."""
    return services().clock().astimezone(VIETNAM).isoformat(timespec="seconds")


def form_page(template: str, found: PersonRecord, title: str, form: dict[str, Any], error: str | None = None,
              status: int = 200, **extra: Any):
    if status == 200:
        record(current_staff().id, "view_person", f"person:{found.ref}")
    page = render_template(template, title=title, record=found, form=form, error=error, **labels(), **extra)
    return page, status


# Correct the identity


IDENTITY_FIELDS = ("full_name", "birth_date", "sex", "old_id", "reason", "evidence")


@bp.get("/<ref>/identity")
@corrections_allowed
def identity_form(ref: str):
    found = read_record(ref)
    current = found.person if found.person and found.person.get("full_name") else found.roster or {}
    form = {key: current.get(key) or "" for key in IDENTITY_FIELDS}
    if len(form["birth_date"]) != 10:
        form["birth_date"] = ""  # a roster's year-only date is no date to correct to
    return form_page("correct_identity.html", found, _("Correct the identity"), form)


@bp.post("/<ref>/identity")
@corrections_allowed
def correct_identity(ref: str):
    found = read_record(ref)
    form = fields(*IDENTITY_FIELDS)
    try:
        correction = rules.correct_identity(found.id_number, full_name=form["full_name"], birth_date=form["birth_date"],
                                            sex=form["sex"], old_id=form["old_id"], reason=form["reason"],
                                            evidence=form["evidence"])
        return keep(ref, correction, "correct_person", _("The identity is corrected."))
    except CorrectionError as refused:
        return form_page("correct_identity.html", found, _("Correct the identity"), form, refusal(refused), 400)


# Void a dose


@bp.get("/<ref>/void/<dose>")
@corrections_allowed
def void_form(ref: str, dose: str):
    found = read_record(ref)
    return form_page("void_dose.html", found, _("Void a dose"), {"reason": "", "evidence": ""}, dose=dose_of(found, dose))


@bp.post("/<ref>/void/<dose>")
@corrections_allowed
def void_dose(ref: str, dose: str):
    found = read_record(ref)
    target = dose_of(found, dose)
    form = fields("reason", "evidence")
    reason = form["reason"].strip()
    if reason and form["evidence"].strip():  # the void event has one text: the reason, then how it was checked
        reason = _("%(reason)s (evidence: %(evidence)s)", reason=reason, evidence=form["evidence"].strip())
    try:
        correction = rules.void_dose(found.id_number, target=target["event_id"], reason=reason)
        return keep(ref, correction, "void_dose", _("The dose is voided: it stays in the record, struck through."))
    except CorrectionError as refused:
        return form_page("void_dose.html", found, _("Void a dose"), form, refusal(refused), 400, dose=target)


def dose_of(found: PersonRecord, event_id: str) -> dict[str, Any]:
    """The person's dose with this event id, or 404."""
    for dose in found.doses:
        if dose["event_id"] == event_id:
            return dose
    abort(404)


# Add a missing dose


DOSE_FIELDS = ("product", "lot_number", "number", "booster", "given_on", "place", "reason", "evidence")


@bp.get("/<ref>/dose")
@corrections_allowed
def dose_form(ref: str):
    found = read_record(ref)
    form = {key: "" for key in DOSE_FIELDS} | {"number": str(found.live_doses + 1)}
    return form_page("add_dose.html", found, _("Add a missing dose"), form, **dose_choices())


@bp.post("/<ref>/dose")
@corrections_allowed
def add_dose(ref: str):
    found = read_record(ref)
    form = fields(*DOSE_FIELDS)
    try:
        correction = rules.add_dose(found.id_number, product=form["product"], lot_number=form["lot_number"],
                                    number=form["number"], booster=form["booster"].strip() or None,
                                    given_on=form["given_on"], place=form["place"], reason=form["reason"],
                                    evidence=form["evidence"])
        return keep(ref, correction, "add_dose", _("The missing dose is added."))
    except CorrectionError as refused:
        return form_page("add_dose.html", found, _("Add a missing dose"), form, refusal(refused), 400, **dose_choices())


def dose_choices() -> dict[str, Any]:
    """The catalogue's products for the form, and today (the latest day a dose can have been given)."""
    products = services().store.catalogue.products
    today = local_day(services().clock()).isoformat()
    return {"products": sorted(products.values(), key=lambda p: p.name), "today": today}
