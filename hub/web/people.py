"""A person's record (/people): the search a citizen's complaint starts with, the record, the way in from a conflict.

Who may: the data staff and admins; an officer only with the see_people right
(`hub staff grant NAME see_people`); anyone else gets 403. No personal data in
a URL: a search is a POST whose form holds the ID number or the name and year
of birth; it leads to /people/<ref>, where ref is an opaque key of the person
(hub/store/people.py). Every look at a record is audited (``view_person``,
``person:<ref>``); so is each person a search lists (``list_person``) and a
search that finds nobody (``search_person``, without what was typed).
The corrections' forms are in hub/web/corrections.py.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Callable

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from ..errors import SearchError
from ..people import PersonRecord
from ..roster.link import KIND as ROSTER_KIND
from ..store import StaffMember
from . import audit
from .auth import current_staff, not_signed_in, record, services
from .home import KIND_LABELS

logger = logging.getLogger(__name__)

bp = Blueprint("people", __name__, url_prefix="/people")

SEE_PEOPLE = "see_people"
REF = re.compile(r"[A-Za-z0-9_-]{16}")
SEARCH_ERRORS = {
    "empty": lazy_gettext("Type an ID number, or a full name and a year of birth."),
    "bad_number": lazy_gettext("An ID number has 12 digits (a chip ID card, CCCD) or 9 (an old ID card, CMND)."),
    "bad_name": lazy_gettext("A full name has at most 100 characters."),
    "no_year": lazy_gettext("A search by name needs the year of birth too."),
    "bad_year": lazy_gettext("The year of birth has four digits, e.g. 1990."),
}
EVENT_LABELS = {
    "PersonCheckedIn": lazy_gettext("Checked in"),
    "PersonCalled": lazy_gettext("Called to a desk"),
    "ScreeningStarted": lazy_gettext("Screening started"),
    "PersonCleared": lazy_gettext("Cleared for the injection"),
    "DoseRecorded": lazy_gettext("Dose given"),
    "ObservationStarted": lazy_gettext("Observation started"),
    "PersonReleased": lazy_gettext("Released after observation"),
    "PersonDeferred": lazy_gettext("Deferred"),
    "VaccinationRefused": lazy_gettext("Not vaccinated"),
    "PersonRequeued": lazy_gettext("Back in the queue"),
    "PersonLeft": lazy_gettext("Left before the injection"),
    "PersonLeftEarly": lazy_gettext("Left the observation early"),
    "PriorityGranted": lazy_gettext("Priority given"),
    "PriorityRemoved": lazy_gettext("Priority removed at the kiosk"),
    "AefiRecorded": lazy_gettext("Adverse reaction recorded"),
    "AefiAcknowledged": lazy_gettext("Adverse reaction seen by the supervisor"),
    "EventVoided": lazy_gettext("Recorded in error (voided at the kiosk)"),
    "IdentityCorrected": lazy_gettext("Identity corrected at the kiosk"),
    "hub.identity_corrected": lazy_gettext("Identity corrected by the district"),
    "hub.dose_voided": lazy_gettext("Dose voided by the district"),
    "hub.dose_added": lazy_gettext("Missing dose added by the district"),
    "hub.conflict_resolved": lazy_gettext("Conflict settled by the district"),
    "hub.police_referred": lazy_gettext("Sent to the commune police"),
    "hub.police_answered": lazy_gettext("The commune police answered"),
}
FIELD_LABELS = {
    "full_name": lazy_gettext("Full name"), "birth_date": lazy_gettext("Date of birth"), "sex": lazy_gettext("Sex"),
    "old_id": lazy_gettext("Old ID card (CMND)"), "commune": lazy_gettext("Commune or ward"),
    "address": lazy_gettext("Address"), "priority_group": lazy_gettext("Priority group"), "phone": lazy_gettext("Phone"),
}
SEVERITY_LABELS = {"mild": lazy_gettext("mild"), "moderate": lazy_gettext("moderate"), "severe": lazy_gettext("severe")}
CONFLICT_LABELS = {**KIND_LABELS, ROSTER_KIND: lazy_gettext("The record and the roster disagree"),
                   "id_contradiction": lazy_gettext("The identity contradicts the ID number's digits")}
audit.ACTION_LABELS.update({
    "view_person": lazy_gettext("Looked at a person's record"),
    "list_person": lazy_gettext("Saw a person in a search's list"),
    "search_person": lazy_gettext("Searched for a person, found nobody"),
    "staff_grant": lazy_gettext("Right given to an account"),
    "staff_revoke": lazy_gettext("Right taken from an account"),
})


def may_see_people(member: StaffMember | None) -> bool:
    """Data staff and admins by their role; an officer only with the see_people right."""
    return member is not None and (member.role in ("data", "admin") or (member.role == "officer" and member.has(SEE_PEOPLE)))


def people_allowed(view: Callable) -> Callable:
    """Nobody signed in: to sign-in; a member who may not see people: 403 (logged without what they asked for)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        member = current_staff()
        if member is None:
            return not_signed_in()
        if not may_see_people(member):
            logger.warning("staff %d (%s) refused %s %s: may not see people", member.id, member.role, request.method,
                           request.url_rule.rule if request.url_rule else "?")
            return render_template("base.html", page_error=_("Your role may not see people's records."),
                                   title=_("Not allowed")), 403
        return view(*args, **kwargs)

    return wrapped


@bp.get("")
@people_allowed
def search_form():
    return render_search(200)


@bp.post("")
@people_allowed
def search():
    """Find by ID number, or by name and year of birth: one person opens their record; several are listed."""
    form = {key: request.form.get(key, "")[:200] for key in ("number", "name", "birth_year")}
    try:
        found = services().store.find_people(**form)
    except SearchError as refused:
        return render_search(400, error=SEARCH_ERRORS.get(refused.code, str(refused)), form=form)
    member = current_staff()
    if not found:
        record(member.id, "search_person", None)
        return render_search(200, nobody=True, form=form, by_number=bool(form["number"].strip()))
    if len(found) == 1:
        return redirect(url_for("people.person", ref=found[0].ref), 303)
    for match in found:
        record(member.id, "list_person", f"person:{match.ref}")
    return render_template("people_list.html", title=_("Several people match"), matches=found)


def render_search(status: int, *, error: str | None = None, nobody: bool = False, form: dict | None = None,
                  by_number: bool = False):
    page = render_template("people_search.html", title=_("Find a person"), error=error, nobody=nobody,
                           form=form or {}, by_number=by_number)
    return page, status


@bp.get("/<ref>")
@people_allowed
def person(ref: str):
    """The record; each look is written to the audit log."""
    found = read_record(ref)
    record(current_staff().id, "view_person", f"person:{ref}")
    return render_template("person.html", title=found.person and found.person.get("full_name") or _("A person's record"),
                           record=found, **labels(), may_correct=may_correct(current_staff()),
                           products=services().store.catalogue.products)


def read_record(ref: str) -> PersonRecord:
    """The record of this ref, or 404."""
    found = services().store.person_record(ref) if REF.fullmatch(ref) else None
    if found is None:
        abort(404)
    return found


def labels() -> dict[str, Any]:
    return {"event_labels": EVENT_LABELS, "field_labels": FIELD_LABELS, "severity_labels": SEVERITY_LABELS,
            "conflict_labels": CONFLICT_LABELS, "summary": summary, "product_name": product_name,
            "field_list": lambda fields: ", ".join(str(FIELD_LABELS.get(f, f)) for f in fields)}


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    """``may_see_people(member)`` for the navigation bar."""
    return {"may_see_people": may_see_people}


def may_correct(member: StaffMember | None) -> bool:
    """Corrections (hub/web/corrections.py): the data staff and admins only."""
    return member is not None and member.role in ("data", "admin") and "corrections" in current_app.blueprints


@bp.get("/by-conflict/<conflict_id>")
@people_allowed
def by_conflict(conflict_id: str):
    """The record of the person a conflict is about (the conflict pages link here)."""
    ref = services().store.conflict_ref(conflict_id[:200])
    if ref is None:
        abort(404)
    return redirect(url_for("people.person", ref=ref), 303)


def summary(entry) -> str:
    """What one history line says beyond its type, in the member's language."""
    payload = entry.payload
    said = SUMMARIES.get(entry.type, lambda p: p.get("reason") if isinstance(p.get("reason"), str) else "")(payload)
    evidence = payload.get("evidence") if entry.kiosk is None else None
    return " · ".join(part for part in (said, _("evidence: %(text)s", text=evidence) if evidence else "") if part)


def dose_summary(payload: dict[str, Any]) -> str:
    dose = payload.get("dose") or {}
    said = _("dose %(number)s, %(product)s, lot %(lot)s", number=dose.get("number", "?"),
             product=product_name(dose.get("product")), lot=dose.get("lot_number", "?"))
    return f"{said} · {payload['place']}" + (f" · {payload['reason']}" if payload.get("reason") else "") \
        if payload.get("place") else said


def deferral_summary(payload: dict[str, Any]) -> str:
    reason = payload.get("reason") or ""
    return reason + (" · " + _("come back on %(day)s", day=payload["return_on"]) if payload.get("return_on") else "")


def reaction_summary(payload: dict[str, Any]) -> str:
    aefi = payload.get("aefi") or {}
    return f"{SEVERITY_LABELS.get(aefi.get('severity'), aefi.get('severity', ''))}: {aefi.get('symptoms', '')}"


def void_summary(payload: dict[str, Any]) -> str:
    return _("voids %(target)s: %(reason)s", target=payload.get("voids") or payload.get("target", "?"),
             reason=payload.get("reason", ""))


def identity_summary(payload: dict[str, Any]) -> str:
    corrected = payload.get("corrected") or {}
    shown = ", ".join(str(corrected.get(f)) for f in ("full_name", "birth_date", "sex", "old_id") if corrected.get(f))
    return f"→ {shown} · {payload.get('reason', '')}" if shown else payload.get("reason", "")


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "DoseRecorded": dose_summary, "hub.dose_added": dose_summary, "PersonDeferred": deferral_summary,
    "VaccinationRefused": deferral_summary, "AefiRecorded": reaction_summary, "EventVoided": void_summary,
    "hub.dose_voided": void_summary, "IdentityCorrected": identity_summary, "hub.identity_corrected": identity_summary,
}


def product_name(code: str | None) -> str:
    product = services().store.catalogue.products.get(code or "")
    return product.name if product else code or "?"
