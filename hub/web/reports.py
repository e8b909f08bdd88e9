"""The daily report: GET /reports/daily (a day's issued versions and the figures of one, or the counts so far), its
files, re-issuing it, and the rows behind any figure (for the roles that may see people, audited).

Looking at the page after the day's cut-off issues the report if no hub process has yet (hub/daily.py), on the
workspace's clock (Services.clock), so tests move the clock instead of waiting.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from .. import daily
from ..district_time import VIETNAM, local_day
from ..reports import forms
from ..reports.daily import CLASSES, NUMBERS, Discard, Dose, behind, instant
from .auth import current_staff, login_required, record
from .people import may_see_people
from .province import chosen_district, district_view

bp = Blueprint("reports", __name__, url_prefix="/reports")

NOTE_MAX = 500
FIGURE_LABELS = {
    "present": lazy_gettext("Checked in"), "referred": lazy_gettext("Referred to hospital"),
    "refused": lazy_gettext("Declined"), "deferred": lazy_gettext("Deferred"),
    "contraindicated": lazy_gettext("Contraindicated"), "vaccinated": lazy_gettext("People vaccinated"),
    "dose_1": lazy_gettext("Dose 1"), "dose_2": lazy_gettext("Dose 2"), "dose_3": lazy_gettext("Dose 3"),
    "dose_4": lazy_gettext("Dose 4 and later"), "primary_1": lazy_gettext("Primary 1"),
    "primary_2": lazy_gettext("Primary 2"), "primary_3": lazy_gettext("Primary 3"),
    "additional": lazy_gettext("Additional"), "booster_1": lazy_gettext("Booster 1"),
    "booster_2": lazy_gettext("Booster 2"), "booster_3": lazy_gettext("Booster 3 and later"),
    "doses_given": lazy_gettext("Doses given"), "doses_discarded": lazy_gettext("Doses discarded"),
    "doses_used": lazy_gettext("Doses used"), "reactions_common": lazy_gettext("Common reactions"),
    "aefi_serious": lazy_gettext("Serious AEFI"),
}
MAIN = ("present", "referred", "refused", "deferred", "contraindicated", "vaccinated", *NUMBERS, "doses_given",
        "doses_discarded", "doses_used", "reactions_common", "aefi_serious")
"""The form's table on the page; the classes (Decision 43) and the age bands have tables of their own."""
WHY_LABELS = {"cutoff": lazy_gettext("at the cut-off"), "reissue": lazy_gettext("re-issued")}


@bp.get("/daily")
@login_required
def daily_page():
    """A day (``day``, default today) with its versions; the figures of ``version`` (default the latest), or the
    counts so far when none was issued or ``version=now``."""
    store, settings, now = services().store, services().config.report, services().clock()
    chosen = district_view()
    day = day_arg(request.args.get("day")) or local_day(now)
    if request.args.get("day") and day_arg(request.args.get("day")) is None:
        return render_template("base.html", title=_("Daily report"), page_error=_(
            "That is not a day: give it as a date (day, month, year).")), 400
    if day == local_day(now):
        daily.issue_at_cutoff(store, settings, now)
    versions = store.daily_report_versions(day)
    shown = pick_version(versions, request.args.get("version"))
    content, late = daily.shown(store, day, settings, shown, chosen["district"])
    return render_template(
        "reports_daily.html", title=_("Daily report"), day=day, versions=versions, shown=shown, report=content,
        late=late or [], main=MAIN, classes=CLASSES, labels=FIGURE_LABELS, why_labels=WHY_LABELS,
        cutoff=settings.cutoff, cut_passed=now >= daily.cut_instant(day, settings), may_list=may_see_people(current_staff()),
        days=store.daily_report_days(), note_max=NOTE_MAX, **chosen)


@bp.post("/daily/<day>/issue")
@login_required
def reissue(day: str):
    """Issue the day's report again, counting what is merged now; the earlier versions stay."""
    when = day_arg(day) or abort(404)
    note = request.form.get("note", "").strip()
    if len(note) > NOTE_MAX:
        flash(_("The note is too long: at most %(count)d characters.", count=NOTE_MAX), "error")
        return redirect(url_for(".daily_page", day=when.isoformat()))
    now = services().clock()
    if when > local_day(now):
        flash(_("A day that has not come yet cannot be reported."), "error")
        return redirect(url_for(".daily_page", day=when.isoformat()))
    member = current_staff()
    version = daily.reissue(services().store, services().config.report, when, now, member.name, note)
    record(member.id, "report_issue", f"report:{when.isoformat()}:{version}")
    flash(_("Version %(version)d of the report of %(day)s was issued.", version=version, day=when.strftime("%d/%m/%Y")),
          "success")
    return redirect(url_for(".daily_page", day=when.isoformat(), version=version))


@bp.get("/daily/<day>.<kind>")
@login_required
def download(day: str, kind: str):
    """The report as a file: an issued version (``version``) with what arrived after its cut, or the counts so far."""
    when = day_arg(day) or abort(404)
    if kind not in forms.MEDIA_TYPES:
        abort(404)
    store, settings, district = services().store, services().config.report, chosen_district()
    shown = pick_version(store.daily_report_versions(when), request.args.get("version"))
    content, late = daily.shown(store, when, settings, shown, district)
    name = f"bao-cao-{when}" + (f"-{district}" if district else "") + (f"-v{shown['version']}" if shown else "-tam-tinh")
    return Response(forms.render(content, kind, late), mimetype=forms.MEDIA_TYPES[kind].split(";")[0], headers={
        "Content-Disposition": f'attachment; filename="{name}.{kind}"', "Cache-Control": "no-store"})


@bp.get("/daily/<day>/behind")
@login_required
def behind_page(day: str):
    """The people, doses or discards behind one figure (``figure``) of one site (``site``; none: the district) of a
    province's ``district`` (none: all), as the version shown counted them. Names: roles that may see people only;
    every look is audited."""
    when = day_arg(day) or abort(404)
    figure = request.args.get("figure", "")
    if figure not in FIGURE_LABELS and not figure.startswith("age:"):
        abort(404)
    member = current_staff()
    if not may_see_people(member):
        abort(403)
    store, settings = services().store, services().config.report
    shown = pick_version(store.daily_report_versions(when), request.args.get("version"))
    as_of = instant(shown["cut_at"]) if shown else None
    site, chosen = request.args.get("site") or None, district_view()
    district = chosen["district"]
    found = behind(store.day_rows(when, district), as_of, daily.rules(store, settings), site, figure, district)
    people = store.people_briefs([row.id_number for row in found if getattr(row, "id_number", None)])
    record(member.id, "view_report_detail", f"report:{when.isoformat()}:{figure}")
    return render_template(
        "reports_behind.html", title=_("Behind a figure"), day=when, figure=figure, site=site, shown=shown,
        rows=[describe(row, people) for row in found], label=figure_label(figure), **chosen)


def describe(row, people: dict) -> dict:
    """One listed row: the person (when there is one), what it is and when the hub merged it."""
    person = people.get(getattr(row, "id_number", None) or "")
    kind = "dose" if isinstance(row, Dose) else "discard" if isinstance(row, Discard) else row.kind
    return {"person": person, "kind": kind, "event_id": row.event_id, "site": row.site, "district": row.district,
            "product": getattr(row, "product", None), "lot": getattr(row, "lot_number", None),
            "number": getattr(row, "number", None), "doses": getattr(row, "doses", None),
            "severity": getattr(row, "severity", None), "arrived": local_time(row.arrived),
            "voided": local_time(row.voided) if row.voided else None}


def figure_label(figure: str) -> str:
    if figure.startswith("age:"):
        return _("Vaccinated, aged %(band)s", band=figure[4:])
    return str(FIGURE_LABELS[figure])


def local_time(text: str) -> str:
    return instant(text).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S")


def pick_version(versions: list[dict], asked: str | None) -> dict | None:
    """The version asked for (its number), the latest when none is asked for, None for ``now`` or no version."""
    if asked and asked.isascii() and asked.isdigit():
        return next((v for v in versions if v["version"] == int(asked)), None) or abort(404)
    if asked == "now" or not versions:
        return None
    return versions[-1]


def day_arg(text: str | None) -> datetime.date | None:
    """A day from a URL (yyyy-mm-dd), None when absent or malformed."""
    try:
        return datetime.date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def services():
    return current_app.extensions["hub"]


def issuer(name: str) -> str:
    """Who issued a version: a staff member's name, or the hub itself at the cut-off."""
    return _("the hub, by itself") if name == daily.CUTOFF_BY else name


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["issuer"] = issuer
