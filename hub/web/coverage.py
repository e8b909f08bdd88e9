"""Coverage against the roster: GET /coverage (counts and charts, every role) and, for the data staff and admins, a
commune's outreach list (/coverage/<key>, names and all) and its XLSX export, each look and export audited.

Communes are named in URLs by an opaque key (hub/coverage.py commune_key), people never. The figures come from the
counts hub/store/coverage.py keeps, for today in Vietnam on the hub's clock (Services.clock). At a province the page has
the district selector (hub/web/province.py): the province's totals and every district's communes, or one district's;
a commune's key names its district too (a commune's name may recur in another district).
"""

from __future__ import annotations

import math

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import get_locale, gettext as _, lazy_gettext

from .. import charts, coverage
from ..coverage import LEVELS
from ..district_time import local_day
from .auth import current_staff, login_required, record, role_required
from .province import district_view

bp = Blueprint("coverage", __name__, url_prefix="/coverage")

PAGE = 100
"""People per page of the outreach list."""
OUTREACH_ROLES = ("data", "admin")
"""Who may see names: the outreach list and its export."""
LEVEL_LABELS = {
    "one_dose": lazy_gettext("At least one dose"),
    "primary": lazy_gettext("Primary series complete"),
    "booster_1": lazy_gettext("First booster"),
    "booster_2": lazy_gettext("Second booster"),
}
BAR = {"axis": 48, "top": 8, "height": 200, "column": 20, "gap": 4, "bar": 12}
"""The charts' geometry in SVG units (720 wide): the axis labels' column, the top margin, the height of 100%, a column
and the space between columns (the band chart); a bar's thickness (the communes compared)."""


@bp.get("")
@login_required
def overview():
    """Every commune (or the one whose key ``commune`` names) by band and level, with the charts; at a province, of
    every district or of the one chosen (a commune of another district than the one chosen is left out: the district's
    whole shows)."""
    store, view = services().store, district_view()
    today = local_day(services().clock())
    key = request.args.get("commune", "")
    place = (find_commune(key) or abort(404)) if key else None
    if place and view["district"] not in (None, place[0]):
        place = None
    district = place[0] if place else view["district"]
    report = store.coverage(today, place and place[1], district)
    named = view["districts"] and not view["district"]  # communes of several districts listed: each says its district
    chosen = place_name(*place, named) if place else None
    scope = report["communes"][0] if place else report["district"]
    return render_template(
        "coverage.html", title=_("Coverage"), report=report, today=today, chosen=chosen, scope=scope, **view,
        whole=whole_name(view), named=named, levels=LEVELS, labels=LEVEL_LABELS, bar=BAR,
        communes=[(coverage.commune_key(c, d), place_name(d, c, named)) for d, c in store.coverage_communes(district)],
        may_list=current_staff().role in OUTREACH_ROLES, compared=None if place else compare(report, named))


@bp.get("/<key>")
@role_required(*OUTREACH_ROLES)
def outreach(key: str):
    """One commune's outreach list, a page at a time (``page``, from 1), longest waiting first."""
    district, name = find_commune(key) or abort(404)
    commune = place_name(district, name, True)
    today = local_day(services().clock())
    page = page_number(request.args.get("page", "1"))
    total, rows = services().store.outreach(name, today, PAGE, (page - 1) * PAGE, district)
    record(current_staff().id, "outreach_view", f"commune:{key}")
    return render_template(
        "outreach.html", title=_("Outreach: %(commune)s", commune=commune), commune=commune, key=key, today=today,
        rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PAGE)), first=(page - 1) * PAGE + 1)


@bp.get("/<key>/outreach.xlsx")
@role_required(*OUTREACH_ROLES)
def export(key: str):
    """The whole outreach list of the commune as a spreadsheet, in the page's language."""
    district, name = find_commune(key) or abort(404)
    commune = place_name(district, name, True)
    today = local_day(services().clock())
    _total, rows = services().store.outreach(name, today, district=district)
    body = coverage.outreach_workbook(commune, today, rows, str(get_locale()))
    record(current_staff().id, "outreach_export", f"commune:{key}")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": f'attachment; filename="outreach-{key}-{today.isoformat()}.xlsx"',
        "Cache-Control": "no-store",
    })


def find_commune(key: str) -> tuple[str, str] | None:
    """The place (district, commune) whose key this is, or None."""
    return next((place for place in services().store.coverage_communes() if coverage.commune_key(place[1], place[0]) == key),
                None)


def place_name(district: str, commune: str, named: bool) -> str:
    """A commune as the page names it: with its district in brackets where ``named`` (communes of several districts
    listed together) and it has one."""
    return f"{commune} ({district})" if named and district else commune


def whole_name(view: dict) -> str:
    """What the page calls all it counts: the district (a district's hub), the province, or the district chosen."""
    if not view["districts"]:
        return _("The whole district")
    return view["district"] or _("The whole province")


def page_number(text: str) -> int:
    """A page number from the query (1 for anything that is not a small positive number)."""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def compare(report: dict, named: bool) -> str:
    """The communes compared (hub/charts.py bars, SVG): each one's share of its people aged 5 and over with at least one
    dose and with a complete primary series (fully vaccinated), lowest fully vaccinated first; each named with its
    district where ``named``."""
    rows = sorted(report["communes"], key=lambda place: (place["total"]["primary"]["percent"] is None,
                                                          place["total"]["primary"]["percent"] or 0, place["commune"]))
    series = [charts.Series(str(LEVEL_LABELS[level]), [place["total"][level]["percent"] for place in rows])
              for level in ("one_dose", "primary")]
    names = [place_name(place["district"], place["commune"], named) for place in rows]
    return charts.bars(names, series, maximum=100, fmt=percent_text, chart_id="commune-chart",
                       title=_("At least one dose and primary series complete, ages 5 and over, by commune (lowest first)"),
                       empty=_("No commune has people aged 5 and over on the roster."))


def services():
    return current_app.extensions["hub"]


def show_day(text: str | None) -> str:
    """A day as the district writes it: "yyyy-mm-dd" as dd/mm/yyyy; a year alone stays as it is."""
    if not text or len(text) != 10:
        return text or "—"
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}"


def count_text(number: int) -> str:
    """A count with the language's thousands separator (1.234.567 in Vietnamese, 1,234,567 in English)."""
    return f"{number:,}".replace(",", symbols()[0])


def percent_text(percent: float | None) -> str:
    """A percentage (rounded to one decimal already) with the language's decimal sign: "42,5 %"; "—" for none."""
    return "—" if percent is None else f"{percent:.1f}".replace(".", symbols()[1]) + " %"


def symbols() -> tuple[str, str]:
    """The page's thousands separator and decimal sign (Babel's locale data), looked up once per request: a coverage
    page formats a few thousand numbers, and Babel's format_decimal for each cost tens of milliseconds."""
    if "coverage_symbols" not in g:
        locale = get_locale()
        g.coverage_symbols = (get_group_symbol(locale), get_decimal_symbol(locale))
    return g.coverage_symbols


def init_app(app) -> None:
    """The blueprint and the template helpers its pages use."""
    app.register_blueprint(bp)
    app.jinja_env.filters["show_day"] = show_day
    app.jinja_env.filters["count"] = count_text
    app.jinja_env.filters["percent"] = percent_text
    app.jinja_env.globals["due_label"] = lambda number, booster: coverage.due_label(number, booster, str(get_locale()))
