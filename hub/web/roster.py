"""The population list's page for the data staff: the imports so far, the template to fill in, the upload, the rows refused.

The upload is read and checked by hub/roster/files.py and imported by the store
in short transactions, exactly as `hub roster import` does (docs/roster.md): a
file that cannot be read is refused whole, with its reason in the page's
language; otherwise every row refused comes back with its row number and
reason, and the rest is imported, all of it or nothing (an import interrupted
once it is staged is finished later; the imports table shows its state). The roster holds names, so officers may
not see this page. At a province's hub (kiosks of several districts) the form asks which district the list belongs
to, as `hub roster import --district` (hub/roster/district.py).

The workspace refuses request bodies over 64 KiB; only POST /roster/import
raises that, for itself, to UPLOAD_MAX_BYTES. That is why its CSRF token is
checked in the view (after the limit is raised) and not before every request.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import format_number, gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ..district_time import local_day
from ..errors import RosterDistrictError, RosterFileError, RosterImportBusy, RosterImportUnfinished, StoreError
from ..roster.district import import_district
from ..roster.files import MAX_FILE_BYTES, MAX_ROWS, parse_roster
from ..roster.reasons import FILE_REASONS, ROW_REASONS
from ..roster.template import template
from .auth import client_address, csrf, current_staff, record, role_required
from .i18n import current_language

logger = logging.getLogger(__name__)

bp = Blueprint("roster", __name__)

ROLES = ("data", "admin")
"""Who may see and import the roster: it holds names, so not officers."""
FORM_SLACK_BYTES = 64 * 1024
"""Room in the upload's request for the multipart envelope and the CSRF token, beside the file itself."""
UPLOAD_MAX_BYTES = MAX_FILE_BYTES + FORM_SLACK_BYTES
"""The largest request POST /roster/import reads: a 50 MiB file (hub/roster/files.py MAX_FILE_BYTES) and its form."""
NAME_MAX = 120
"""The longest file name kept (a longer one keeps its start and its suffix)."""
IMPORTS_SHOWN = 50
FILES_SHOWN = 10
"""The files whose refused rows the page lists (those imported last)."""
ROWS_SHOWN = 200
"""Refused rows listed per file; the import's count says how many there are in all."""
UNROSTERED_SHOWN = 100
"""People on one page of the list of the vaccinated whom no roster lists."""
TEMPLATE_NAME = "mau-danh-sach"
"""The template's download name ("mẫu danh sách": list template), without diacritics for old browsers and Windows."""
CONTENT_TYPES = {".csv": "text/csv; charset=utf-8",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class Refusals:
    """The rows one file's last import refused, as the page shows them."""

    file_name: str
    import_id: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None
    """How many that import refused in all, when the page knows it."""


@bp.get("/roster")
@role_required(*ROLES)
def page():
    """The imports so far, the template links, the upload form, and the rows the last import of each file refused."""
    return roster_page(200)


@bp.get("/roster/unrostered")
@role_required(*ROLES)
def unrostered():
    """The people vaccinated here whom no roster lists (they live elsewhere, or a commune's list is incomplete), by ID
    number, UNROSTERED_SHOWN a page (``?page=N``); audited, since it shows names."""
    number = max(1, request.args.get("page", 1, type=int) or 1)
    people = services().store.unrostered(UNROSTERED_SHOWN + 1, offset=(number - 1) * UNROSTERED_SHOWN)
    record(current_staff().id, "view_unrostered", f"unrostered:page:{number}")
    return render_template("unrostered.html", title=_("Vaccinated, on no roster"), people=people[:UNROSTERED_SHOWN],
                           page=number, more=len(people) > UNROSTERED_SHOWN)


@bp.get("/roster/template.csv", defaults={"suffix": ".csv"})
@bp.get("/roster/template.xlsx", defaults={"suffix": ".xlsx"})
@role_required(*ROLES)
def download_template(suffix: str):
    """The empty template (the header and one made-up example row), as `hub roster template` writes it."""
    return Response(template(suffix), content_type=CONTENT_TYPES[suffix],
                    headers={"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}{suffix}"'})


@bp.post("/roster/import")
@csrf.exempt  # checked in received_file, once this request may be larger than the workspace's other forms
@role_required(*ROLES)
def upload():
    """Import the uploaded CSV or XLSX file; show the counts and the refused rows, or why the whole file was refused."""
    try:
        upload = received_file()
    except RequestEntityTooLarge:
        return refuse(413, file_reason("too_large"), "too_large")
    if upload is None:
        return refuse(400, _("Choose a CSV or XLSX file to import."), "no_file")
    name = clean_name(upload.filename or "")
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    if not data:
        return refuse(400, _("The file %(name)s is empty: nothing was imported.", name=name), "empty_file")
    try:
        parsed = parse_roster(data, name, local_day(services().clock()))  # a birth date after today in Vietnam is in the future
    except RosterFileError as exc:
        return refuse(413 if exc.code == "too_large" else 400, file_reason(exc.code), exc.code)
    try:
        district = import_district(request.form.get("district"), services().store.district_names())
    except RosterDistrictError as exc:
        return refuse(400, district_reason(exc.code), exc.code)
    return import_parsed(parsed.in_district(district), name)


def district_reason(code: str) -> str:
    """Why the district of an upload was refused (hub/roster/district.py's codes), in the page's language."""
    return {
        "district_needed": _("Choose the district the list belongs to. Nothing was imported."),
        "unknown_district": _("The workspace has no kiosks of the district chosen. Nothing was imported."),
        "not_a_province": _("This workspace is a district's: its lists have no district. Nothing was imported."),
    }[code]


def received_file() -> FileStorage | None:
    """The form's file once the CSRF token checks out, or None when no file was chosen; raise RequestEntityTooLarge
    past UPLOAD_MAX_BYTES and CSRFError (the workspace's 400 page) without a valid token."""
    request.max_content_length = UPLOAD_MAX_BYTES
    csrf.protect()
    upload = request.files.get("file")
    return upload if upload is not None and upload.filename else None


def import_parsed(parsed, name: str):
    member = current_staff()
    at = services().clock().isoformat(timespec="seconds")
    try:
        done = services().store.import_roster(parsed, name, member.name, at)
    except RosterImportBusy:
        return refuse(409, _("Another list is being imported into the workspace right now. Nothing was imported: try "
                             "again when it has finished (this page lists it as being imported)."), "busy")
    except RosterImportUnfinished as exc:
        logger.error("roster upload by staff %d kept as import %d but not applied whole: %s", member.id, exc.import_id, exc)
        record(member.id, "roster_import", f"roster_import:{exc.import_id}")
        return refuse(503, _("The list was taken in, but the workspace could not write all of it just now. It will be "
                             "completed by the next import or when the hub next starts; this page shows it as being "
                             "imported until then."), "unfinished")
    except StoreError as exc:
        logger.error("roster upload by staff %d not imported: %s", member.id, exc)
        return refuse(503, _("The workspace could not save the list just now. Nothing was imported: try again in a "
                             "moment."), "store")
    record(member.id, "roster_import", f"roster_import:{done.import_id}")
    logger.info("staff %d imported roster %d: %d rows, %d added, %d changed, %d unchanged, %d rejected", member.id,
                done.import_id, done.rows, done.added, done.changed, done.unchanged, done.rejected)
    refused = [{"row": r.row, "reason": r.reason, "id_number": r.id_number} for r in parsed.refused[:ROWS_SHOWN]]
    return roster_page(200, result=done, refused=Refusals(name, done.import_id, refused, done.rejected))


def refuse(status: int, message: str, code: str):
    """The page again, saying why nothing was imported; the log says which staff member and why, not what the file held."""
    logger.warning("roster upload by staff %d from %s refused: %s", current_staff().id, client_address(), code)
    return roster_page(status, error=message)


def roster_page(status: int, *, error: str | None = None, result=None, refused: Refusals | None = None):
    store = services().store
    imports = store.roster_imports(IMPORTS_SHOWN)
    files = refusals(store.roster_rejections(per_file=ROWS_SHOWN), imports)
    if result is not None:
        files = [group for group in files if group.file_name != result.file_name]
    return render_template(
        "roster.html", title=_("Population list"), error=error, result=result, refused=refused, imports=imports,
        files=files[:FILES_SHOWN], reason=row_reason, districts=store.district_names(), import_state=import_state, max_mb=MAX_FILE_BYTES // (1024 * 1024), max_rows=format_number(MAX_ROWS),
    ), status


def refusals(rows: list[dict[str, Any]], imports: list[dict[str, Any]]) -> list[Refusals]:
    """The refused rows grouped by file, the file imported last first."""
    totals = {item["import_id"]: item["rejected"] for item in imports}
    groups: dict[str, Refusals] = {}
    for row in rows:
        group = groups.setdefault(row["file_name"], Refusals(row["file_name"], row["import_id"]))
        group.rows.append(row)
        group.total = totals.get(group.import_id)
    return sorted(groups.values(), key=lambda group: group.import_id, reverse=True)


def row_reason(code: str) -> str:
    """Why a row was refused, in this page's language (hub/roster/reasons.py holds both)."""
    return in_language(ROW_REASONS.get(code, (code, code)))


def import_state(state: str) -> str:
    """An import's state (hub/store/roster.py STATES) in this page's language."""
    if state == "done":
        return _("Imported")
    if state == "abandoned":
        return _("Stopped before it was written: nothing of it was kept")
    return _("Being imported")


def file_reason(code: str) -> str:
    return in_language(FILE_REASONS[code])


def in_language(sentences: tuple[str, str]) -> str:
    vietnamese, english = sentences
    return vietnamese if current_language() == "vi" else english


def clean_name(raw: str) -> str:
    """The uploaded file's name as kept and shown: without folders or unprintable characters, at most NAME_MAX long."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rpartition("/")[2]
    name = "".join(c for c in name if c.isprintable()).strip() or "upload"
    if len(name) <= NAME_MAX:
        return name
    suffix = PurePosixPath(name).suffix[:10]
    return name[: NAME_MAX - len(suffix)] + suffix


def services():
    return current_app.extensions["hub"]
