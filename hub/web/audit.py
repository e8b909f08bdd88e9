"""GET /admin/audit: the audit log for administrators, newest first, a page at a time; each look at it is audited too."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _, lazy_gettext

from .auth import current_staff, record, role_required

bp = Blueprint("audit", __name__, url_prefix="/admin")

PAGE = 100
ACTION_LABELS = {
    "sign_in": lazy_gettext("Signed in"),
    "sign_in_failed": lazy_gettext("Wrong password"),
    "sign_out": lazy_gettext("Signed out"),
    "password_change": lazy_gettext("Changed their password"),
    "view_audit": lazy_gettext("Read the audit log"),
    "staff_add": lazy_gettext("Account added"),
    "staff_disable": lazy_gettext("Account disabled"),
    "staff_password": lazy_gettext("Password set by an administrator"),
    "roster_import": lazy_gettext("Imported a population list"),
    "view_unrostered": lazy_gettext("Read the list of the vaccinated on no roster"),
    "view_conflict_queue": lazy_gettext("Read a conflict queue"),
    "view_conflict": lazy_gettext("Looked at a conflict"),
    "resolve_conflict": lazy_gettext("Settled a conflict"),
    "police_list_view": lazy_gettext("Read a commune police list"),
    "police_list_export": lazy_gettext("Exported a commune police list"),
    "police_answer": lazy_gettext("Recorded the police's answer"),
    "outreach_view": lazy_gettext("Looked at a commune's outreach list"),
    "outreach_export": lazy_gettext("Downloaded a commune's outreach list"),
}


@bp.get("/audit")
@role_required("admin")
def audit_log():
    """The newest PAGE lines with ids below ``before`` (a number; anything else: the newest)."""
    before = request.args.get("before", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) < 19 else None
    entries = current_app.extensions["hub"].store.audit_log(limit=PAGE, before=before_id)
    record(current_staff().id, "view_audit", None)
    older = entries[-1].id if len(entries) == PAGE else None
    return render_template("audit.html", title=_("Audit log"), entries=entries, older=older, labels=ACTION_LABELS)
