"""The national-platform export: GET /exports (the same-day entry gauge per site and the day's exports, every role;
counts only), POST /exports/platform (build, keep and download the line list of the day's doses that need it, marking
them exported) and GET /exports/<id> (an earlier file again, marking nothing), both for roles that may see people
and each audited ``export_platform`` (record ``export:<id>``).

The day is in the query (``?day=YYYY-MM-DD``, default today in Vietnam on the hub's clock); the mapping file is read at
each use (``export.mapping`` in the hub's settings), so a broken one is a message on the page, never a failed start.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..district_time import local_day
from ..errors import StoreError
from ..reports import export
from ..reports.platform import Mapping, MappingError, load_mapping
from .auth import current_staff, login_required, record
from .people import may_see_people, people_allowed
from .province import district_view
from .sides import local_time

logger = logging.getLogger(__name__)
bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("")
@login_required
def gauge():
    """The day's gauge per site and in total, the exports of its doses, the download form for who may see people."""
    day = chosen_day(request.args.get("day"))
    if day is None:
        return bad_day()
    mapping, problem = mapping_or_problem()
    store, chosen = services().store, district_view()
    return render_template(
        "exports.html", title=_("Same-day entry into the national platform"), day=day,
        gauge=export.gauge(store.platform_rows(day, chosen["district"])), exports=store.platform_exports(day),
        problem=problem, mapping=mapping, may_download=may_see_people(current_staff()), local_time=local_time, **chosen)


@bp.post("/platform")
@people_allowed
def download():
    """Build the export of the day's doses that need one, keep it, mark them exported, hand the file out."""
    day, fmt = chosen_day(request.form.get("day")), request.form.get("format", "")
    if day is None or fmt not in export.FORMATS:
        return bad_day() if day is None else page_error(_("Choose XLSX or CSV."), 400)
    mapping, _problem = mapping_or_problem()
    if mapping is None:  # the page says what is wrong with it
        return redirect(url_for("exports.gauge", day=day.isoformat()), 303)
    member, store = current_staff(), services().store
    try:
        made = store.export_platform(day, lambda rows: export.build(rows, fmt, mapping, store.catalogue),
                                     by=member.name, staff_id=member.id, at=services().clock().isoformat(timespec="seconds"))
    except StoreError as exc:
        logger.error("export of %s by staff %d failed: %s", day.isoformat(), member.id, exc)
        return page_error(_("The database is busy or failing: nothing was exported. Try again in a moment."), 503)
    if made is None:
        flash(_("No dose given on that day needs exporting: each one is exported and up to date."), "info")
        return redirect(url_for("exports.gauge", day=day.isoformat()), 303)
    export_id, built = made
    record(member.id, "export_platform", f"export:{export_id}")
    return attachment(built.content, export_id, day.isoformat(), fmt)


@bp.get("/<int:export_id>")
@people_allowed
def again(export_id: int):
    """An earlier export's file as it was handed out; marks nothing."""
    found = services().store.platform_export(export_id)
    if found is None:
        return page_error(_("There is no such export."), 404)
    record(current_staff().id, "export_platform", f"export:{export_id}")
    return attachment(found["content"], export_id, found["day"], found["format"])


def attachment(content: bytes, export_id: int, day: str, fmt: str) -> Response:
    return Response(content, mimetype=export.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{export.file_name(export_id, day, fmt)}"',
        "Cache-Control": "no-store",
    })


def chosen_day(text: str | None) -> date | None:
    """The day asked for (YYYY-MM-DD), today in Vietnam when none is given; None for anything else."""
    if not text:
        return local_day(services().clock())
    try:
        return date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        return None


def mapping_or_problem() -> tuple[Mapping | None, str | None]:
    """The mapping file of the hub's settings, or None and what is wrong with it (naming the key)."""
    try:
        return load_mapping(services().config.export.mapping or None), None
    except MappingError as exc:
        logger.error("the export mapping file cannot be used: %s", exc)
        return None, _("The export's mapping file cannot be used: %(error)s", error=str(exc))


def bad_day():
    return page_error(_("The day must be written as YYYY-MM-DD, e.g. 2026-03-02."), 400)


def page_error(message: str, status: int):
    return render_template("base.html", page_error=message, title=_("National-platform export")), status


def services():
    return current_app.extensions["hub"]
