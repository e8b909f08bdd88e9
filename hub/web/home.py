"""GET /: the first page after sign-in. On top, live (hub/web/live.py keeps it current without a reload): today's doses
against yesterday's, per hour and per site, the last 14 days per site, and the open alerts (kiosks flagged, serious
adverse reactions of today and yesterday with the count per lot). Below, "what needs you today": open conflicts by kind
and how long the oldest has waited, the identity cases awaiting the commune police, the roster rows refused, and the
quarantined messages. Counts only, no names, so every role may see it; the data staff also get the links. At a
province the live part is the province's or one district's (``?district=``, hub/web/province.py); the work below is
the province's (a conflict is a person's, wherever their doses were given)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from ..store import reports
from .auth import current_staff, login_required
from .conflicts import KIND_LABELS, KINDS
from .live import feed
from .live_view import live_view
from .province import district_view
from .sides import waited

bp = Blueprint("home", __name__)

SECURITY = ("disputed_event",)
"""Shown without a queue: a security incident for the administrator (`hub conflicts --kind disputed_event`)."""


@bp.get("/")
@login_required
def today():
    services = current_app.extensions["hub"]
    work = reports.workload(services.db)
    now = services.clock()
    rows = [
        {"kind": kind, "label": KIND_LABELS.get(kind, kind), "queue": kind in KINDS,
         **work["conflicts"].get(kind, {"open": 0, "oldest_at": None})}
        for kind in (*KINDS, *SECURITY)
    ]
    for row in rows:
        row["waited"] = waited(now, row["oldest_at"])
    police = {**work["police"], "waited": waited(now, work["police"]["oldest_at"])}
    chosen = district_view()
    _version, data = feed().current(chosen["district"])
    return render_template("home.html", title=_("What needs you today"), rows=rows, quarantined=work["quarantined"],
                           **chosen,
                           open_total=sum(row["open"] for row in rows), police=police, live=live_view(data),
                           roster_rejected=work["roster_rejected"], may_open=current_staff().role in ("data", "admin"))
