"""What the live front page's regions show (home_live.html's macros), from hub/web/live.py's figures: the totals, the
doses per site, the charts (hub/charts.py SVG text: doses per hour today and yesterday, the last 14 days per site),
the alerts. Needs a request context (the page's language, the catalogue's product names)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from .. import charts
from .province import own_entries

HISTORY_DAYS = 14
"""The chart of doses per day and site covers this many days, today included."""
LINES = 4
"""The history chart draws the busiest sites, this many, and the others together as one line."""


def live_view(data: dict[str, Any]) -> dict[str, Any]:
    """What the live regions show, from the Feed's figures: totals, sites, the charts (SVG text), the alerts."""
    today, yesterday = data["today"], data["yesterday"]
    kiosk_hours = [row for row in data["hourly"] if row["hour"] is not None]
    totals = {day: sum(row["count"] for row in data["hourly"] if row["day"] == day) for day in (today, yesterday)}
    by_now = sum(row["count"] for row in kiosk_hours if row["day"] == yesterday and row["hour"] <= data["now_hour"])
    return {
        "today": today, "yesterday": yesterday, "total": totals[today], "yesterday_total": totals[yesterday],
        "yesterday_by_now": by_now, "sites": site_rows(data["hourly"], today, yesterday), "entered": own_entries(),
        "hours_chart": hours_chart(kiosk_hours, today, yesterday), "history_chart": history_chart(data["history"], today),
        "kiosks": data["kiosks"], "kiosk_count": data["kiosk_count"],
        "reactions": [{**row, "product_name": product_name(row["product"]) if row["product"] else None}
                      for row in data["reactions"]],
        "lots": [{**row, "product_name": product_name(row["product"])} for row in data["lots"]],
    }


def site_rows(hourly: list[dict[str, Any]], today: str, yesterday: str) -> list[dict[str, Any]]:
    """Per site (None: the district's own entries, last) today's and yesterday's doses, by site; at a province by
    district and site (two districts may each have a site of one name)."""
    sites: dict[tuple[str | None, str | None], dict[str, int]] = {}
    for row in hourly:
        counts = sites.setdefault((row.get("district"), row["site"]), {today: 0, yesterday: 0})
        counts[row["day"]] += row["count"]
    order = sorted(sites, key=lambda key: (key[1] is None, key[0] or "", key[1] or ""))
    return [{"district": district, "site": site, "today": sites[district, site][today],
             "yesterday": sites[district, site][yesterday]} for district, site in order]


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
    totals: dict[tuple[str | None, str | None], int] = {}
    for row in rows:
        where = (row["site"], row.get("district"))
        totals[where] = totals.get(where, 0) + row["count"]
    busiest = sorted(totals, key=lambda where: (-totals[where], where[0] or "", where[1] or ""))[:LINES]
    shared = {site for site, n in Counter(site for site, _district in busiest).items() if n > 1}
    per: dict[str, dict[str, int]] = {}
    entered, others = own_entries(), _("Other sites")  # once: a province's 14 days are 4,000 rows
    for row in rows:
        where = (row["site"], row.get("district"))
        name = line_name(where, entered, shared) if where in busiest else others
        line = per.setdefault(name, {})
        line[row["day"]] = line.get(row["day"], 0) + row["count"]
    series = [charts.Series(name, [per[name].get(day, 0) for day in days]) for name in per]
    labels = [f"{day[8:10]}/{day[5:7]}" for day in days]
    return charts.lines(labels, series, title=_("Doses per day and site, the last 14 days"),
                        empty=_("No doses in the last 14 days."), chart_id="history-chart")


def line_name(where: tuple[str | None, str | None], entered: str, shared: set[str | None]) -> str:
    """A site's line in the history chart: its name, with its district when another line has that name too (two
    districts' sites of one name; the legend has one row, so names stay short otherwise)."""
    site, district = where
    return f"{site or entered} ({district})" if district and site in shared else site or entered


def product_name(code: str | None) -> str:
    """The catalogue's name of a product (its code when unknown)."""
    product = current_app.extensions["hub"].store.catalogue.products.get(code or "")
    return product.name if product else code or "?"
