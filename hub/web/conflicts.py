"""The conflict queues: counts by kind and state, each kind's open queue oldest first, one conflict's records side by
side, and its resolution as a hub event (hub/corrections.py, ``Store.correct``).

Only the resolutions that fit a conflict's kind are offered (corrections.FITTING); the store checks again that the
conflict is open and the dose is one of its own. Every resolution and every look at a conflict (which shows who the
person is) writes a line of the audit log; the queues and conflicts are for the data staff and the administrator,
officers see the counts only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, get_locale, lazy_gettext

from .. import corrections
from ..errors import CorrectionError, StoreError
from ..roster.reasons import ROW_REASONS
from .auth import current_staff, login_required, record, role_required
from .sides import LABELS, local_time, side_by_side, waited

logger = logging.getLogger(__name__)
bp = Blueprint("conflicts", __name__)

PAGE = 50
KINDS = ("duplicate_dose", "interval_too_short", "identity_mismatch", "roster_mismatch", "id_contradiction")
"""The kinds with a queue: each a key of corrections.FITTING."""
STATES = ("open", "police", "resolved")
KIND_LABELS = {
    "duplicate_dose": lazy_gettext("The same dose recorded twice"),
    "interval_too_short": lazy_gettext("Doses too close together"),
    "identity_mismatch": lazy_gettext("One ID number, two identities"),
    "roster_mismatch": lazy_gettext("Record and roster disagree"),
    "id_contradiction": lazy_gettext("ID number contradicts the birth date or sex"),
    "disputed_event": lazy_gettext("Two different texts of one event (security)"),
}
STATE_LABELS = {"open": lazy_gettext("Open"), "police": lazy_gettext("Awaiting the commune police"),
                "resolved": lazy_gettext("Resolved")}
DONE = {
    "void": lazy_gettext("The dose is voided and the conflict resolved."),
    "accepted": lazy_gettext("The interval is accepted and the conflict resolved."),
    "identity": lazy_gettext("The identity is corrected and the conflict resolved."),
    "different_people": lazy_gettext("Recorded as two different people; the conflict is resolved."),
    "roster_wrong": lazy_gettext("Recorded that the roster is wrong; the conflict is resolved."),
    "police": lazy_gettext("The case is on the commune police's list."),
}
HOW = {
    "hub.dose_voided": lazy_gettext("a dose voided"),
    "hub.identity_corrected": lazy_gettext("the identity corrected"),
    "hub.police_answered": lazy_gettext("the commune police's answer"),
    "accepted": lazy_gettext("accepted for a clinical reason"),
    "different_people": lazy_gettext("two different people"),
    "roster_wrong": lazy_gettext("the roster is wrong"),
    "confirmed": lazy_gettext("confirmed as it is"),
    "corrected": lazy_gettext("corrected"),
}
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.get("/conflicts")
@login_required
def index():
    """Every kind's counts by state, with the oldest open one's age; links to the queues for the data staff."""
    counts, now = store().conflict_counts(), services().clock()
    rows = []
    for kind in KINDS:
        states = counts.get(kind, {})
        rows.append({"kind": kind, "label": KIND_LABELS[kind], "waited": waited(now, states.get("open", {}).get("oldest_at")),
                     **{state: states.get(state, {}).get("count", 0) for state in STATES}})
    return render_template("conflicts.html", title=_("Conflicts"), rows=rows, may_open=may_see_people())


@bp.get("/conflicts/kind/<kind>")
@role_required("data", "admin")
def queue(kind: str):
    """One kind's open conflicts, oldest first, PAGE at a time (``after``: the last conflict id of the page before)."""
    if kind not in KINDS:
        return not_found()
    after = request.args.get("after", "")[:100] or None
    found = store().conflict_queue(kind, after=after, limit=PAGE + 1)
    more = found[PAGE - 1]["id"] if len(found) > PAGE else None
    record(current_staff().id, "view_conflict_queue", f"conflicts:{kind}")
    now = services().clock()
    for row in found:
        row["waited"] = waited(now, row["opened_at"])
        row["summary"] = summary(row)
    return render_template("queue.html", title=KIND_LABELS[kind], kind=kind, label=KIND_LABELS[kind],
                           conflicts=found[:PAGE], more=more, first=after is None)


@bp.get("/conflicts/<conflict_id>")
@role_required("data", "admin")
def show(conflict_id: str):
    found = store().conflict(conflict_id)
    if found is None:
        return not_found()
    return conflict_page(found)


@bp.post("/conflicts/<conflict_id>/resolve")
@role_required("data", "admin")
def resolve(conflict_id: str):
    """Settle the conflict with the action the form names, if it fits; a refusal changes nothing and says why."""
    found = store().conflict(conflict_id)
    if found is None:
        return not_found()
    action = request.form.get("action", "")
    member = current_staff()
    try:
        correction = build(action, found, request.form)
        store().correct(correction, staff_id=member.id, by=member.name, at=services().clock().isoformat(timespec="seconds"))
    except CorrectionError as refused:
        return conflict_page(found, error=refusal(refused.code), action=action, status=400)
    except StoreError as failed:
        logger.error("conflict %s not settled by staff %d: %s", conflict_id, member.id, failed)
        return conflict_page(found, error=unsaved(), action=action, status=503)
    record(member.id, "resolve_conflict", f"conflict:{conflict_id}")
    flash(str(DONE[action]), "info")
    return redirect(url_for("conflicts.show", conflict_id=conflict_id))


def conflict_page(found: dict[str, Any], *, error: str | None = None, action: str = "", status: int = 200):
    """The conflict's page (a look at it is audited: it shows who the person is)."""
    record(current_staff().id, "view_conflict", f"conflict:{found['id']}")
    found["waited"] = waited(services().clock(), found["opened_at"])
    actions = corrections.FITTING.get(found["kind"], ()) if found["state"] == "open" else ()
    return render_template(
        "conflict.html", title=KIND_LABELS.get(found["kind"], found["kind"]), c=found, table=side_by_side(found),
        label=KIND_LABELS.get(found["kind"], found["kind"]), state_label=STATE_LABELS.get(found["state"], found["state"]),
        summary=summary(found), actions=actions, versions=versions(found), doses=dose_choices(found), error=error,
        tried=action, form=request.form if error else {}, how=HOW, local_time=local_time,
        commune=(found.get("roster") or {}).get("commune") or "",
    ), status


def build(action: str, found: dict[str, Any], form) -> corrections.Correction:
    """The correction an action makes of this conflict; raise CorrectionError when it does not fit the conflict's kind
    or state, or the form's values cannot be one."""
    if found["state"] != "open":
        raise corrections.refuse("conflict_not_open")
    if action not in corrections.FITTING.get(found["kind"], ()):
        raise corrections.refuse("does_not_fit")
    number, conflict_id, reason = found["id_number"], found["id"], form.get("reason", "")
    if action == "void":
        target = form.get("target", "")
        if target not in found["event_ids"]:
            raise corrections.refuse("not_in_conflict")
        return corrections.void_dose(number, target=target, reason=reason, resolves=conflict_id)
    if action in corrections.RESOLUTIONS:
        return corrections.resolve_conflict(number, conflict=conflict_id, resolution=action, reason=reason)
    if action == "identity":
        return corrections.correct_identity(number, **chosen_identity(found, form), reason=reason,
                                            evidence=form.get("evidence", ""), resolves=conflict_id)
    commune = (found.get("roster") or {}).get("commune") or form.get("commune", "")
    return corrections.refer_to_police(number, conflict=conflict_id, commune=commune)


def chosen_identity(found: dict[str, Any], form) -> dict[str, str]:
    """The identity the form picked: one of the conflict's versions by its number (read from the conflict, not the
    form), or the one typed in."""
    choice = form.get("version", "typed")
    shown = versions(found)
    if choice.isdigit() and int(choice) < len(shown):
        return shown[int(choice)]
    return {field: form.get(field, "") for field in ("full_name", "birth_date", "sex", "old_id")}


def versions(found: dict[str, Any]) -> list[dict[str, str]]:
    """The identities a staff member may pick as the right one: an identity mismatch's versions, or the merged record
    and the roster's entry (with a full birth date: a year-only roster date must be typed in)."""
    detail = found["detail"]
    old_id = (found.get("person") or {}).get("old_id") or ""
    if found["kind"] == "identity_mismatch":
        candidates = detail.get("versions", [])
    elif found["kind"] == "roster_mismatch":
        candidates = [{**detail.get("person", {}), "old_id": old_id}, {**detail.get("roster", {}), "old_id": old_id}]
    else:
        candidates = []
    picked = [{f: v.get(f) or "" for f in ("full_name", "birth_date", "sex", "old_id")} for v in candidates]
    return [v for v in picked if FULL_DATE.fullmatch(v["birth_date"])]


def dose_choices(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The conflict's live doses, for "void one"."""
    return [e for e in found["events"] if "dose" in e["payload"] and not e.get("voided_by")]


def summary(row: dict[str, Any]) -> str:
    """One line saying what the conflict is about, in the user's language."""
    detail, kind = row["detail"], row["kind"]
    if kind == "duplicate_dose":
        return _("Dose %(number)s recorded %(count)d times (kiosks %(kiosks)s)", number=detail.get("dose_number"),
                 count=len(row["event_ids"]), kiosks=", ".join(detail.get("kiosks", [])))
    if kind == "interval_too_short":
        first, second = (detail.get("dose_numbers") or [None, None])[:2]
        return _("Doses %(first)s and %(second)s %(days)s days apart; at least %(minimum)s needed", first=first,
                 second=second, days=detail.get("days"), minimum=detail.get("minimum_days"))
    if kind in ("identity_mismatch", "roster_mismatch"):
        return _("Differs in: %(fields)s", fields=", ".join(str(LABELS.get(f, f)) for f in detail.get("fields", [])))
    sentences = ROW_REASONS.get(detail.get("reason", ""))
    return sentences[0 if str(get_locale()) == "vi" else 1] if sentences else detail.get("reason", "")


def unsaved() -> str:
    return _("The workspace could not save this just now. Nothing was changed: try again in a moment.")


def refusal(code: str) -> str:
    """A CorrectionError's code as a sentence in the user's language."""
    sentences = corrections.REASONS.get(code)
    if sentences is None:
        return _("The change was refused.")
    return sentences[0] if str(get_locale()) == "vi" else sentences[1]


def may_see_people() -> bool:
    member = current_staff()
    return member is not None and member.role in ("data", "admin")


def not_found():
    message = _("There is no such conflict, or it no longer holds (a kiosk voided one of its records).")
    return render_template("base.html", page_error=message, title=_("Not found")), 404


def services():
    return current_app.extensions["hub"]


def store():
    return services().store
