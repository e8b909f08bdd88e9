"""GET /: the first page after sign-in. On top, live (hub/web/live.py keeps it current without a reload): today's doses
against yesterday's, per hour and per site, the last 14 days per site, and the open alerts (kiosks flagged, serious
adverse reactions of today and yesterday with the count per lot). Below, "what needs you today": open conflicts by kind
and how long the oldest has waited, the identity cases awaiting the commune police, the roster rows refused, and the
quarantined messages. Counts only, no names, so every role may see it; the data staff also get the links."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from .. import charts
from ..store import reports
from .auth import current_staff, login_required
from .conflicts import KIND_LABELS, KINDS
from .live import HISTORY_DAYS, feed
from .people import product_name
from .sides import waited

bp = Blueprint("home", __name__)

SECURITY = ("disputed_event",)
"""Shown without a queue: a security incident for the administrator (`hub conflicts --kind disputed_event`)."""
LINES = 4
"""The history chart draws the busiest sites, this many, and the others together as one line."""


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
    _version, data = feed().current()
    return render_template("home.html", title=_("What needs you today"), rows=rows, quarantined=work["quarantined"],
                           open_total=sum(row["open"] for row in rows), police=police, live=live_view(data),
                           roster_rejected=work["roster_rejected"], may_open=current_staff().role in ("data", "admin"))


def live_view(data: dict[str, Any]) -> dict[str, Any]:
    """What the live regions show, from the Feed's figures: totals, sites, the charts (SVG text), the alerts."""
    today, yesterday = data["today"], data["yesterday"]
    kiosk_hours = [row for row in data["hourly"] if row["hour"] is not None]
    totals = {day: sum(row["count"] for row in data["hourly"] if row["day"] == day) for day in (today, yesterday)}
    by_now = sum(row["count"] for row in kiosk_hours if row["day"] == yesterday and row["hour"] <= data["now_hour"])
    return {
        "today": today, "yesterday": yesterday, "total": totals[today], "yesterday_total": totals[yesterday],
        "yesterday_by_now": by_now, "sites": site_rows(data["hourly"], today, yesterday),
        "hours_chart": hours_chart(kiosk_hours, today, yesterday), "history_chart": history_chart(data["history"], today),
        "kiosks": data["kiosks"], "kiosk_count": data["kiosk_count"],
        "reactions": [{**row, "product_name": product_name(row["product"]) if row["product"] else None}
                      for row in data["reactions"]],
        "lots": [{**row, "product_name": product_name(row["product"])} for row in data["lots"]],
    }


def site_rows(hourly: list[dict[str, Any]], today: str, yesterday: str) -> list[dict[str, Any]]:
    """Per site (None: the district's own entries, last) today's and yesterday's doses, by site."""
    sites: dict[str | None, dict[str, int]] = {}
    for row in hourly:
        counts = sites.setdefault(row["site"], {today: 0, yesterday: 0})
        counts[row["day"]] += row["count"]
    order = sorted(sites, key=lambda site: (site is None, site or ""))
    return [{"site": site, "today": sites[site][today], "yesterday": sites[site][yesterday]} for site in order]


def hours_chart(rows: list[dict[str, Any]], today: str, yesterday: str) -> str:
    """Columns per hour of the kiosks' clocks, today beside yesterday, over the working day (and any hour with doses)."""
    start, end = current_app.extensions["hub"].config.fleet.working_range
    hours = {row["hour"] for row in rows}
    span = range(min([start.hour, *hours]), max([end.hour - (end.minute == 0), *hours]) + 1)
    count = {(row["day"], row["hour"]): 0 for row in rows}
    for row in rows:
        count[row["day"], row["hour"]] += row["count"]
    series = [charts.Series(name, [count.get((day, hour), 0) for hour in span])
              for name, day in ((_("Yesterday"), yesterday), (_("Today"), today))]
    return charts.columns([f"{hour:02d}h" for hour in span], series, title=_("Doses per hour, today and yesterday"),
                          empty=_("No doses today or yesterday yet."), chart_id="hours-chart")


def history_chart(rows: list[dict[str, Any]], today: str) -> str:
    """A line per busy site (the others together) over the last HISTORY_DAYS days."""
    last = date.fromisoformat(today)
    days = [(last - timedelta(days=n)).isoformat() for n in range(HISTORY_DAYS - 1, -1, -1)]
    totals: dict[str | None, int] = {}
    for row in rows:
        totals[row["site"]] = totals.get(row["site"], 0) + row["count"]
    busiest = sorted(totals, key=lambda site: (-totals[site], site or ""))[:LINES]
    per: dict[str, dict[str, int]] = {}
    for row in rows:
        name = (row["site"] or _("Entered by the district")) if row["site"] in busiest else _("Other sites")
        per.setdefault(name, {})[row["day"]] = per.setdefault(name, {}).get(row["day"], 0) + row["count"]
    series = [charts.Series(name, [per[name].get(day, 0) for day in days]) for name in per]
    labels = [f"{day[8:10]}/{day[5:7]}" for day in days]
    return charts.lines(labels, series, title=_("Doses per day and site, the last 14 days"),
                        empty=_("No doses in the last 14 days."), chart_id="history-chart")
