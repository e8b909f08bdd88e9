"""GET /kiosks: every enrolled kiosk at a glance, the ones needing attention first: site, state, last heard from,
outbox backlog (and the one before), watermark, highest and gaps, clock skew and synchronisation, camera rate, software
version, and the flags of the hub's fleet settings (hub/fleet.py judges them by Services.clock). No personal data:
every role may see it. At a province: each kiosk's district, and one district's kiosks (``?district=``)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _, lazy_gettext

from ..district_time import VIETNAM
from ..fleet import FLAGS, judge_all, parse_time
from .auth import login_required
from .province import district_view

bp = Blueprint("fleet", __name__)

STATE_LABELS = {"online": lazy_gettext("Online"), "offline": lazy_gettext("Offline"), "stopped": lazy_gettext("Stopped")}
FLAG_LABELS = {
    "offline": lazy_gettext("Offline during working hours"),
    "backlog": lazy_gettext("Backlog above the alert"),
    "growing": lazy_gettext("Backlog growing"),
    "skew": lazy_gettext("Clock off"),
    "unsynced": lazy_gettext("Clock not synchronised"),
}
GAPS_SHOWN = 3
"""Missing ranges listed in a row; the rest are counted."""


@bp.get("/kiosks")
@login_required
def kiosks():
    """The kiosks page."""
    services = current_app.extensions["hub"]
    now = services.clock()
    chosen = district_view()
    rows = judge_all(services.store.fleet_kiosks(chosen["district"]), services.config.fleet, now)
    flagged = sum(1 for row in rows if row["flags"])
    return render_template("fleet.html", title=_("Kiosks"), rows=rows, flagged=flagged, settings=services.config.fleet,
                           gaps_shown=GAPS_SHOWN, now=now, **chosen)


def local_time(text: str | None, now: datetime) -> str:
    """A hub time (UTC) as the district reads it: "14:05" today, "14:05 02/03" another day; "—" for none."""
    moment = parse_time(text)
    if moment is None:
        return "—"
    here, today = moment.astimezone(VIETNAM), now.astimezone(VIETNAM).date()
    return here.strftime("%H:%M") if here.date() == today else here.strftime("%H:%M %d/%m/%Y")


def skew_text(seconds: float | None) -> str:
    """A clock skew in words the page shows: "+3 s", "-2 min 5 s", "—" when unknown."""
    if seconds is None:
        return "—"
    sign, rest = ("+" if seconds >= 0 else "−"), abs(seconds)
    if rest < 60:
        return f"{sign}{rest:.0f} s"
    minutes, secs = divmod(int(round(rest)), 60)
    return f"{sign}{minutes} min {secs} s" if minutes < 120 else f"{sign}{minutes // 60} h {minutes % 60} min"


def init_app(app) -> None:
    """The blueprint and the labels its page and the front page's alerts use."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(flag_labels=FLAG_LABELS, state_labels=STATE_LABELS, fleet_flags=FLAGS)
    app.jinja_env.filters["hub_time"] = local_time
    app.jinja_env.filters["skew"] = skew_text
