"""Adverse reactions (/aefi: the list, the lots' counts, one reaction and its follow-ups), deferrals (/deferrals: who
is due back on a day per site, the deferrals and refusals recorded) and stock (/stock: lots, vials, doses given and
wasted, expiry warnings), for every role.

Names and ID numbers appear only for the staff who may see people (hub/web/people.py may_see_people), linked to the
person's record by opaque ref; each such view writes one audit line (``view_aefi``, ``view_deferrals``, the due-back
download ``deferrals_export``) whose record names days or an event id, never a person. A follow-up is
``aefi_follow_up``. Days come from the query as yyyy-mm-dd (Vietnam days; default: today on Services.clock).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext
from markupsafe import Markup

from .. import charts, clinical
from ..clinical import ClinicalInputError
from ..district_time import local_day
from ..xlsx import Sheet, workbook
from . import audit
from .auth import current_staff, login_required, record, services
from .people import SEVERITY_LABELS, may_see_people, product_name
from .province import chosen_district, district_view
from .sides import local_time

bp = Blueprint("clinical", __name__)
LOTS_CHARTED = 12
"""The lots the chart draws (most severe first); the table below it lists every one."""

EVENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}:\d{1,19}")
LIST_LIMIT = 500
"""Reactions listed at once; more: the page says so and asks for a shorter range or a filter."""
STATUS_LABELS = {
    "none": lazy_gettext("not followed up yet"), "reported": lazy_gettext("reported"),
    "investigating": lazy_gettext("investigating"), "recovered": lazy_gettext("recovered"),
    "hospitalised": lazy_gettext("hospitalised"), "died": lazy_gettext("died"), "closed": lazy_gettext("closed"),
}
INPUT_ERRORS = {
    "bad_day": lazy_gettext("A day is written yyyy-mm-dd, e.g. 2021-09-15."),
    "bad_range": lazy_gettext("The first day is after the last."),
    "long_range": lazy_gettext("Choose at most %(days)d days at once.", days=clinical.MAX_RANGE_DAYS),
    "bad_status": lazy_gettext("Choose one of the follow-up statuses."),
    "long_note": lazy_gettext("A note has at most %(max)d characters.", max=clinical.NOTE_MAX),
}
audit.ACTION_LABELS.update({
    "view_aefi": lazy_gettext("Looked at adverse reactions with names"),
    "aefi_follow_up": lazy_gettext("Recorded an adverse reaction's follow-up"),
    "view_deferrals": lazy_gettext("Looked at deferrals with names"),
    "deferrals_export": lazy_gettext("Downloaded the due-back list"),
})


def today() -> date:
    return local_day(services().clock())


def refuse(error: ClinicalInputError):
    """400 with the rule the input broke, on the page layout."""
    return render_template("base.html", page_error=INPUT_ERRORS.get(error.code, str(error)), title=_("Not understood")), 400


@bp.get("/aefi")
@login_required
def aefi_list():
    """Adverse reactions of a day range, filtered, severe first, and the lots' counts."""
    try:
        first, last = clinical.day_range(request.args.get("from"), request.args.get("to"), today())
    except ClinicalInputError as error:
        return refuse(error)
    chosen = district_view()
    filters = {key: request.args.get(key, "")[:200] for key in ("site", "severity", "status")}
    names = may_see_people(current_staff())
    rows = services().store.aefi_list(first, last, {**filters, "district": chosen["district"] or ""}, names=names,
                                      limit=LIST_LIMIT + 1)
    if names and rows:
        record(current_staff().id, "view_aefi", f"aefi:{first.isoformat()}..{last.isoformat()}")
    lots = services().store.aefi_lots(first, last, chosen["district"])
    return render_template(
        "aefi.html", title=_("Adverse reactions"), rows=rows[:LIST_LIMIT], more=len(rows) > LIST_LIMIT,
        first=first, last=last, filters=filters, names=names, lots=lots, lot_chart=lot_chart(lots),
        sites=services().store.clinical_sites(chosen["district"]), **chosen, **labels())


def lot_chart(lots: list[dict]) -> Markup:
    """Reactions per lot (hub/charts.py bars, SVG): all reactions and the severe ones, the lots most severe first."""
    shown = lots[:LOTS_CHARTED]
    series = [charts.Series(_("Reactions"), [lot["reactions"] for lot in shown]),
              charts.Series(_("Severe"), [lot["severe"] for lot in shown])]
    return Markup(charts.bars([f"{lot['lot_number']} · {lot['product']}" for lot in shown], series,
                              title=_("Reactions per lot"), empty=_("No lot had a reaction in these days."),
                              chart_id="lot-chart"))


@bp.get("/aefi/<event_id>")
@login_required
def aefi_one(event_id: str):
    """One adverse reaction, its follow-ups and the form to add one."""
    return render_aefi(event_id, 200)


@bp.post("/aefi/<event_id>/follow-up")
@login_required
def follow_up(event_id: str):
    """Append a follow-up (status, note): 303 back to the reaction; 400 with the reason when refused."""
    try:
        status, note = clinical.check_follow_up(request.form.get("status", ""), request.form.get("note", ""))
    except ClinicalInputError as error:
        return render_aefi(event_id, 400, error=INPUT_ERRORS[error.code], note=request.form.get("note", ""))
    member = current_staff()
    if not EVENT_ID.fullmatch(event_id) or not services().store.add_aefi_follow_up(
            event_id, status, note, staff_id=member.id, staff_name=member.name, at=services().clock()):
        abort(404)
    record(member.id, "aefi_follow_up", f"aefi:{event_id}")
    flash(_("Follow-up recorded: %(status)s.", status=STATUS_LABELS[status]), "info")
    return redirect(url_for("clinical.aefi_one", event_id=event_id), 303)


def render_aefi(event_id: str, status: int, *, error: str | None = None, note: str = ""):
    names = may_see_people(current_staff())
    found = services().store.aefi(event_id, names=names) if EVENT_ID.fullmatch(event_id) else None
    if found is None:
        abort(404)
    if names:
        record(current_staff().id, "view_aefi", f"aefi:{event_id}")
    return render_template("aefi_one.html", title=_("Adverse reaction"), row=found, names=names, error=error,
                           note=note, statuses=clinical.FOLLOW_UP_STATUSES, **labels()), status


@bp.get("/deferrals")
@login_required
def deferrals():
    """Who is due back on the day (per site), the deferrals recorded on it, refusals by kind of the week to it."""
    try:
        day = clinical.parse_day(request.args.get("day"), today())
    except ClinicalInputError as error:
        return refuse(error)
    chosen = district_view()
    names = may_see_people(current_staff())
    found = services().store.deferrals(day, names=names, district=chosen["district"])
    if names and (found["due"] or found["recorded"]):
        record(current_staff().id, "view_deferrals", f"deferrals:{day.isoformat()}")
    counts = services().store.refusal_counts(day - timedelta(days=clinical.STOCK_DAYS - 1), day, chosen["district"])
    return render_template("deferrals.html", title=_("Deferrals"), day=day, due=by_site(found["due"]),
                           recorded=found["recorded"], counts=counts, names=names, **chosen, **labels())


@bp.get("/deferrals/<day>/due.xlsx")
@login_required
def due_export(day: str):
    """The day's due-back list as a spreadsheet, a sheet per site (names: for those who may see people)."""
    if not may_see_people(current_staff()):
        return render_template("base.html", page_error=_("Your role may not see people's records."),
                               title=_("Not allowed")), 403
    try:
        chosen = clinical.parse_day(day, today())
    except ClinicalInputError as error:
        return refuse(error)
    sites = by_site(services().store.deferrals(chosen, names=True, district=chosen_district())["due"])
    record(current_staff().id, "deferrals_export", f"deferrals:{chosen.isoformat()}")
    return Response(workbook(due_sheets(sites)), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="due-back-{chosen.isoformat()}.xlsx"',
                             "Cache-Control": "no-store"})


def due_sheets(sites: list[tuple[str, list[dict]]]) -> list[Sheet]:
    """A sheet per site (titles made safe and unique), or one empty sheet when nobody is due."""
    header = [_("Full name"), _("ID number"), _("Deferred on"), _("Reason"), _("Due back"), _("Vaccinated since")]
    sheets, used = [], set()
    for site, rows in sites or [(_("Nobody due"), [])]:
        title = re.sub(r"[\[\]:*?/\\']", " ", site).strip()[:28] or "-"
        while title.lower() in used:
            title = title[:26] + f"~{len(used)}"
        used.add(title.lower())
        sheets.append(Sheet(title, header, [[r.get("full_name"), r.get("id_number"), r["day"], r["reason"],
                                              r["return_on"], r["vaccinated_on"] or ""] for r in rows],
                            widths=(28, 16, 12, 40, 12, 14)))
    return sheets


def by_site(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """The rows grouped by site (a kiosk without a site: its id), in the order read."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["site"] or row["kiosk"], []).append(row)
    return list(groups.items())


@bp.get("/stock")
@login_required
def stock():
    """Lots, vials, doses given and wasted per site, day and product; lots in use near or past their expiry."""
    try:
        first, last = clinical.day_range(request.args.get("from"), request.args.get("to"), today())
    except ClinicalInputError as error:
        return refuse(error)
    chosen = district_view()
    lots = services().store.lots_in_use(last - timedelta(days=clinical.STOCK_DAYS - 1), last, chosen["district"])
    warnings = [{**lot, "state": clinical.expiry_state(lot["expiry"], last)} for lot in lots]
    return render_template("stock.html", title=_("Stock and wastage"), first=first, last=last,
                           rows=services().store.stock(first, last, chosen["district"]),
                           warnings=[lot for lot in warnings if lot["state"]], **chosen, **labels())


def labels() -> dict:
    return {"severity_labels": SEVERITY_LABELS, "status_labels": STATUS_LABELS, "product_name": product_name,
            "after_dose": after_dose, "kiosk_time": kiosk_time, "days_left": days_left, "hub_time": local_time,
            "signal_severe": clinical.LOT_SIGNAL_SEVERE, "signal_any": clinical.LOT_SIGNAL_ANY}


def after_dose(given_at: str | None, at: str | None) -> str:
    """The time from the dose to the reaction: "25 min", "2 h 05 min"; "—" when unknown."""
    minutes = clinical.minutes_between(given_at, at)
    if minutes is None:
        return "—"
    return _("%(m)d min", m=minutes) if abs(minutes) < 60 else _("%(h)d h %(m)02d min", h=minutes // 60, m=minutes % 60)


def kiosk_time(at: str | None) -> str:
    """A kiosk's time as the staff read it: dd/mm hh:mm (as the kiosk's clock said)."""
    return f"{at[8:10]}/{at[5:7]} {at[11:16]}" if at and len(at) >= 16 else "—"


def days_left(expiry: str, day: date) -> int:
    return (date.fromisoformat(expiry) - day).days
