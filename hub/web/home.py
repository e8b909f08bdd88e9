"""GET /: the first page after sign-in, "what needs you today": open conflicts by kind and how long the oldest has
waited, and the quarantined messages. Counts only, so every role may see it."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _, lazy_gettext, ngettext

from ..merge import CONFLICT_KINDS, SECURITY_KINDS
from ..store import reports
from .auth import login_required

bp = Blueprint("home", __name__)

KIND_LABELS = {
    "duplicate_dose": lazy_gettext("The same dose recorded twice"),
    "interval_too_short": lazy_gettext("Doses too close together"),
    "identity_mismatch": lazy_gettext("One ID number, two identities"),
    "disputed_event": lazy_gettext("Two different texts of one event (security)"),
}


@bp.get("/")
@login_required
def today():
    services = current_app.extensions["hub"]
    work = reports.workload(services.db)
    now = services.clock()
    rows = [
        {"kind": kind, "label": KIND_LABELS.get(kind, kind), **work["conflicts"].get(kind, {"open": 0, "oldest_at": None})}
        for kind in (*CONFLICT_KINDS, *SECURITY_KINDS)
    ]
    for row in rows:
        row["waited"] = waited(now, row["oldest_at"])
    return render_template("home.html", title=_("What needs you today"), rows=rows, quarantined=work["quarantined"],
                           open_total=sum(row["open"] for row in rows))


def waited(now: datetime, since: str | None) -> str:
    """How long since ``since`` (hub time, ISO 8601), in words: "3 days", "5 hours", "12 minutes"; "" when unknown."""
    if not since:
        return ""
    try:
        seconds = max(0.0, (now - datetime.fromisoformat(since)).total_seconds())
    except (TypeError, ValueError):
        return ""
    if seconds >= 2 * 86400:
        return ngettext("%(num)d day", "%(num)d days", int(seconds // 86400))
    if seconds >= 3600:
        return ngettext("%(num)d hour", "%(num)d hours", int(seconds // 3600))
    return ngettext("%(num)d minute", "%(num)d minutes", int(seconds // 60))
