"""The supervisor screen: the day's board, one page per ticket, manual check-in, every action as a form.

Staff-facing (a PIN is needed), but a tablet can be seen by others: the board
shows names, birth years and the last four digits of ID numbers; the full
record is on the ticket's own page. An identity check (an ID number stored
here with other details) shows both versions in full but the ID numbers
masked: comparing them is the supervisor's job. URLs carry ticket and
question numbers, never personal data.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as L

from wire import limits

from ..errors import Refusal
from ..queue.actions import PRIORITY_FLAGS, REFUSAL_CODES
from ..queue.aefi import SEVERITIES, open_alarms
from ..queue.board import alarm_view, board, lots_view, ticket_details
from ..queue.dosing import INJECTION_SITES
from ..queue.screening import ONLY_FOR_WOMEN, QUESTIONS
from ..queue.sessions import signed_in_staff
from ..queue.errors import UnknownTicket
from ..queue.questions import find_question, question_values
from .auth import current_staff, login_required, safe_next, session_limits
from .done import done_message
from .health import scanner_report
from .staff_actions import perform

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
DEFAULT_DEFERRAL_DAYS = 7
"""The return date the screening form suggests for a deferral; staff change it."""


QUICK_ACTIONS = ("call", "screen", "requeue", "release")
"""Actions the board offers as one tap; the others need details (screening needs its checklist) and live on the ticket's page."""
IDENTITY_LABELS = {
    "full_name": L("Full name"), "birth_date": L("Date of birth"), "sex": L("Sex"), "old_id": L("Old ID number"),
}
WARNING_LABELS = {
    "id_century_mismatch": L("ID number and birth century disagree"),
    "id_year_mismatch": L("ID number and birth year disagree"),
    "id_sex_mismatch": L("ID number and sex disagree"),
}
REFUSAL_REASONS = {
    "schema": L("breaks the data rules"),
    "topic_mismatch": L("names another kiosk"),
    "unknown_type": L("a kind of event the hub does not know"),
    "unsupported_version": L("newer than the hub's software"),
}
"""Why the district hub refused an event this kiosk signed (wire.REJECTION_REASONS), in a supervisor's words."""


def services():
    return current_app.extensions["kiosk"]


@bp.context_processor
def labels() -> dict:
    return {
        "quick_actions": QUICK_ACTIONS, "warning_labels": WARNING_LABELS, "refusal_reasons": REFUSAL_REASONS,
        "identity_labels": IDENTITY_LABELS,
        "limits": limits,  # the forms' maxlength: what the hub would refuse, the browser does not let through
        "alarms": severe_alarms,  # every supervisor page shows a severe reaction nobody has acknowledged
    }


def severe_alarms() -> list[dict]:
    """The severe reactions nobody has acknowledged yet, for the banner on every supervisor page."""
    db = services().store.db
    return [alarm_view(db, row) for row in open_alarms(db)]


@bp.after_request
def not_stored(response):
    """Pages with names on them are never kept in the browser's cache: a page shown again after the language switch's
    redirect or the back button is drawn anew (Chromium otherwise showed the board from before the switch)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def home():
    """The whole board; it refreshes itself from /events."""
    return render_board()


@bp.get("/board")
@login_required
def board_fragment():
    """The board alone, for the page's live refresh."""
    return render_template("board.html", **board_context())


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_page(ticket_id: int):
    try:
        return render_ticket(ticket_id)
    except UnknownTicket:
        return render_board(error=_("There is no such ticket."), status=404)


@bp.get("/alarms")
@login_required
def alarms_fragment():
    """The severe-reaction banner alone, for every page's live refresh."""
    return render_template("_alarms.html", next_page=safe_next(request.args.get("next")) or url_for("supervisor.home"))


@bp.get("/checkin")
@login_required
def checkin_page():
    return render_template("checkin.html", title=_("Manual check-in"), values={})


@bp.post("/checkin")
@login_required
def retype():
    """The check-in form again with the posted details in it, to correct them: changes nothing (a POST keeps the
    details out of the URL)."""
    return render_template("checkin.html", title=_("Manual check-in"), values=typed_values(request.form))


@bp.get("/questions/<int:question_id>")
@login_required
def question_page(question_id: int):
    """A scan held for an identity check: both versions, and what the supervisor may decide."""
    return render_question(question_id)


@bp.get("/lots")
@login_required
def lots_page():
    return render_lots()


def render_lots(error: str | None = None, status: int = 200):
    site = services().site
    today = site.clock.now().wall.date()
    context = {
        "lots": lots_view(site, today.isoformat()), "products": site.catalogue.products, "today": today.isoformat(),
        "catalogue_status": site.catalogue.status,
    }
    return render_template("lots.html", title=_("Vaccine lots"), error=error, **context), status


@bp.post("/do/<name>")
@login_required
def do(name: str):
    """Run one action from a form; on success go back where the form said, else show why (nothing changed)."""
    try:
        result = perform(services().site, current_staff(), name, request.form)
    except Refusal as refusal:
        return render_refusal(name, refusal)
    if name == "dismiss_identity" and request.form.get("retype"):
        values = question_values(services().site, result["id"])
        return render_template("checkin.html", title=_("Manual check-in"), values=values)
    flash(done_message(name, result), "ok")
    target = safe_next(request.form.get("next")) or url_for("supervisor.home")
    if name in ("check_in", "confirm_identity"):
        target = url_for("supervisor.ticket_page", ticket_id=result["id"])
    elif name == "call_next":
        target = url_for("supervisor.home", desk=result["desk"])  # this screen keeps calling to the desk just chosen
    return redirect(target, code=303)


def render_refusal(name: str, refusal: Refusal):
    ticket = request.form.get("ticket", "")
    if name == "check_in" and refusal.code == "identity_mismatch":
        # the page says it in short beside the two versions; the API's longer message would push them off a 800×480 screen
        return render_template("identity.html", title=_("Identity check"), mismatch=refusal.detail,
                               question=None, values=typed_values(request.form, keep_payload=True)), refusal.status
    if name == "check_in":
        values = typed_values(request.form)
        return render_template("checkin.html", title=_("Manual check-in"), error=refusal.message, values=values), refusal.status
    if name in ("confirm_identity", "dismiss_identity") and request.form.get("question", "").isdigit():
        return render_question(int(request.form["question"]), refusal.message, refusal.status)
    if name in ("open_lot", "open_vial", "waste", "close_lot"):
        return render_lots(error=refusal.message, status=refusal.status)
    if ticket.isdigit() and refusal.code != "unknown_ticket" and request.form.get("from") == "ticket":
        try:
            return render_ticket(int(ticket), error=refusal.message, status=refusal.status)
        except UnknownTicket:
            pass  # refused on its fields before the ticket was looked up: show why on the board
    return render_board(error=refusal.message, status=refusal.status)


def typed_values(form, *, keep_payload: bool = False) -> dict[str, str]:
    """The check-in form's fields as typed. A whole card payload (a handheld scanner's) goes back in the ID field only
    for resending it unchanged, never to be edited."""
    values = {key: form.get(key, "") for key in ("id_number", "full_name", "birth_date", "sex", "old_id")}
    if "|" in values["id_number"] and not keep_payload:
        values["id_number"] = ""
    return values


def render_question(question_id: int, error: str | None = None, status: int = 200):
    """A held scan's page: both versions side by side and the supervisor's choices (or why it is closed)."""
    view = find_question(services().site, question_id)
    if view is None:
        return render_board(error=error or _("There is no such identity question."), status=404 if error is None else status)
    return render_template("identity.html", title=_("Identity check"), error=error, mismatch=view, question=view,
                           values={}), status


def board_context() -> dict:
    site = services().site
    return {
        "board": board(site), "scanner": scanner_report(services()), "flags": PRIORITY_FLAGS,
        "desk": desk_choice(),
    }


def desk_choice() -> int:
    """The desk this screen calls people to: remembered from the last call on this screen.

    A query arg on the board; the posted form's desk when a call is refused and the board is shown again.
    """
    desk = request.values.get("desk", "1")
    return int(desk) if desk.isdigit() and 1 <= int(desk) <= services().site.settings.desks else 1


def render_board(error: str | None = None, status: int = 200):
    return render_template("supervisor.html", title=_("Queue"), error=error, **board_context()), status


def render_ticket(ticket_id: int, error: str | None = None, status: int = 200):
    site = services().site
    details = ticket_details(site, ticket_id)
    now = site.clock.now()
    context = {
        **details, "flags": PRIORITY_FLAGS, "severities": SEVERITIES, "refusal_codes": REFUSAL_CODES,
        "tomorrow": now.wall.date() + datetime.timedelta(days=1), "desks": site.settings.desks,
        "come_back": now.wall.date() + datetime.timedelta(days=DEFAULT_DEFERRAL_DAYS),
        "questions": [q for q in QUESTIONS if not (q in ONLY_FOR_WOMEN and details["person"]["sex"] == "Nam")],
        "staff_here": signed_in_staff(site.store.db, session_limits(), now), "injection_sites": INJECTION_SITES,
    }
    title = _("Ticket %(number)d", number=details["ticket"]["number"])
    return render_template("ticket.html", title=title, error=error, **context), status
