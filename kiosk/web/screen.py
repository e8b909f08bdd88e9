"""The citizen screen: ticket number, given name and what to do next, updated live."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("screen", __name__)


@bp.get("/")
def citizen():
    """The full-screen page the kiosk's own display shows; it faces the public."""
    return render_template("citizen.html", site=current_app.extensions["kiosk"].config.kiosk.site)


@bp.get("/events")
def events():
    """Server-sent events carrying each scan outcome as the public may see it."""
    live = current_app.extensions["kiosk"].live
    response = Response(live.stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response
