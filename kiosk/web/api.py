"""The JSON API: the same actions as the supervisor screen, for scripts and other screens (docs/api.md).

Every route needs a signed-in session (with the X-CSRFToken header on POST) or
``Authorization: Bearer <web.api_token>``. Errors are ``{"error": code, "message": ...}``
with a 4xx status, and then nothing was changed.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from ..errors import Refusal
from ..queue.board import board, ticket_board_view
from .auth import api_auth_required, api_error, current_staff
from .health import scanner_report
from .staff_actions import perform

bp = Blueprint("api", __name__, url_prefix="/api")

PRIVATE = {"id_number"}
"""Fields of a changed row the API does not echo back."""
TICKET_ACTIONS = ("call", "screen", "clear", "screening", "requeue", "defer", "refuse", "inject", "release", "leave",
                  "leave_early", "prioritise", "unprioritise", "aefi", "void_dose")
LOT_ACTIONS = ("open_vial", "waste", "close_lot")
QUESTION_ACTIONS = ("confirm_identity", "dismiss_identity")
OTHER_ACTIONS = ("check_in", "call_next", "open_lot")
"""Each route runs only its own actions: /api/tickets/5/call_next must not call somebody else."""


def services():
    return current_app.extensions["kiosk"]


@bp.get("/queue")
@api_auth_required
def queue():
    """Today's tickets with their states, lots, alarms, the outbox backlog and the scanner's health."""
    return jsonify({**board(services().site), "scanner": scanner_report(services())})


@bp.get("/tickets/<int:ticket_id>")
@api_auth_required
def ticket(ticket_id: int):
    found = ticket_board_view(services().site, ticket_id)
    if found is None:
        return api_error(404, "unknown_ticket", "there is no such ticket today")
    return jsonify(found)


@bp.post("/tickets/<int:ticket_id>/<name>")
@api_auth_required
def ticket_action(ticket_id: int, name: str):
    """call, screen, clear, requeue, defer, refuse, inject, release, leave, leave_early, prioritise, aefi."""
    if name not in TICKET_ACTIONS:
        return unknown_action()
    return run(name, {**body(), "ticket": ticket_id})


@bp.post("/lots/<int:lot_id>/<name>")
@api_auth_required
def lot_action(lot_id: int, name: str):
    """open_vial, waste, close_lot."""
    if name not in LOT_ACTIONS:
        return unknown_action()
    return run(name, {**body(), "lot": lot_id})


@bp.post("/questions/<int:question_id>/<name>")
@api_auth_required
def question_action(question_id: int, name: str):
    """confirm_identity (supervisors), dismiss_identity: settle a scan held for an identity check."""
    if name not in QUESTION_ACTIONS:
        return unknown_action()
    return run(name, {**body(), "question": question_id})


@bp.post("/alarms/<int:aefi_id>/acknowledge")
@api_auth_required
def acknowledge(aefi_id: int):
    return run("acknowledge", {"aefi": aefi_id})


@bp.post("/<name>")
@api_auth_required
def other_action(name: str):
    """check_in (manual), call_next, open_lot."""
    if name not in OTHER_ACTIONS:
        return unknown_action()
    return run(name, body())


def unknown_action():
    return api_error(404, "unknown_action", _("There is no such action."))


def body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def run(name: str, values: dict):
    if request.mimetype != "application/json":
        return api_error(415, "not_json", "send the fields as a JSON object (Content-Type: application/json)")
    try:
        result = perform(services().site, current_staff(), name, values)
    except Refusal as refusal:
        response = jsonify({"error": refusal.code, "message": refusal.message, **refusal.detail})
        response.status_code = refusal.status
        return response
    return jsonify({"ok": True, "result": {key: value for key, value in result.items() if key not in PRIVATE}})


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def not_found(error):
    """Under /api/, unknown paths and methods answer in JSON like every other API error."""
    if not request.path.startswith("/api/"):
        return error
    return api_error(error.code, "unknown_action" if error.code == 404 else "bad_method", error.description)
