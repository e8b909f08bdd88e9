"""The commune police's lists: the identity cases awaiting them, per commune, as a page, a spreadsheet (hub/xlsx.py) and
a printable A4 page (the browser prints it to PDF), and the police's answer to each case, which settles it.

This is Vietnam's "cleaning" of the vaccination data: the health station lists the records it doubts, the village
team checks them, the commune police compare them with the national population database and sign, and the health
station corrects the records. A commune is named in URLs by a short hash of its name (``commune_key``), never by a
person's data; "none" is the group of people on no roster. Every list shown or handed out is audited per commune.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from .. import corrections, xlsx
from ..errors import CorrectionError, StoreError
from .auth import current_staff, record, role_required, safe_next
from .conflicts import KIND_LABELS, conflict_page, not_found, refusal, summary, unsaved
from .sides import VIETNAM, local_time

logger = logging.getLogger(__name__)
bp = Blueprint("police", __name__, url_prefix="/police")

NOT_ON_A_ROSTER = "none"
ANSWERED = {"confirmed": lazy_gettext("The police confirmed the record as it is; the case is settled."),
            "corrected": lazy_gettext("The police's correction is the record's identity now; the case is settled.")}


def commune_key(commune: str | None) -> str:
    """A commune's key in URLs: 12 hex digits of the SHA-256 of its name as the roster writes it; "none" for no roster."""
    return NOT_ON_A_ROSTER if commune is None else hashlib.sha256(commune.encode("utf-8")).hexdigest()[:12]


def groups(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases by commune, in the store's order (communes by name, "not on a roster" last)."""
    found: dict[str, dict[str, Any]] = {}
    for case in cases:
        key = commune_key(case["commune"])
        group = found.setdefault(key, {"key": key, "commune": case["commune"], "cases": []})
        group["cases"].append({**case, "question": question(case)})
    return list(found.values())


def question(case: dict[str, Any]) -> str:
    """What the police are asked to check, in the user's language: the disagreement and the other version(s)."""
    detail = case["detail"]
    others = []
    if case["kind"] == "identity_mismatch":
        others = [v for v in detail.get("versions", []) if v.get("full_name") != case["person"].get("full_name")
                  or v.get("birth_date") != case["person"].get("birth_date") or v.get("sex") != case["person"].get("sex")]
    elif case["kind"] == "roster_mismatch":
        others = [detail.get("roster", {})]
    written = "; ".join(" · ".join(filter(None, (v.get("full_name"), paper_date(v.get("birth_date")), v.get("sex"))))
                        for v in others)
    asked = f"{KIND_LABELS.get(case['kind'], case['kind'])}: {summary(case)}"
    if not written:
        return asked
    return f"{asked}. " + _("Also written as: %(versions)s", versions=written)


def paper_date(value: str | None) -> str:
    """A date as the lists on paper write it in Vietnam: dd/mm/yyyy (a year alone stays as it is)."""
    if not value or len(value) != 10:
        return value or ""
    return f"{value[8:10]}/{value[5:7]}/{value[:4]}"


@bp.get("")
@role_required("data", "admin")
def lists():
    """Every commune's cases, each with its answer buttons."""
    found = groups(store().police_cases())
    for group in found:
        record(current_staff().id, "police_list_view", f"commune:{group['key']}")
    return render_template("police.html", title=_("Lists for the commune police"), groups=found, local_time=local_time)


@bp.get("/<key>.xlsx")
@role_required("data", "admin")
def spreadsheet(key: str):
    """One commune's list as an XLSX file, every cell neutralised against formulas."""
    group = find(key)
    if group is None:
        return not_found()
    record(current_staff().id, "police_list_export", f"commune:{key}")
    header = [_("No."), _("ID number"), _("Full name"), _("Date of birth"), _("Sex"), _("Old ID (CMND)"),
              _("Address"), _("To check"), _("Police's finding"), _("Note")]
    rows = [(n, c["id_number"], c["person"].get("full_name"), paper_date(c["person"].get("birth_date")), c["person"].get("sex"),
             c["person"].get("old_id"), (c["roster"] or {}).get("address"), c["question"], "", "")
            for n, c in enumerate(group["cases"], start=1)]
    sheet = xlsx.Sheet(title=commune_name(group), header=header, rows=rows, widths=(5, 15, 26, 12, 6, 13, 30, 60, 30, 20))
    return Response(xlsx.workbook([sheet]), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="police-{key}.xlsx"'})


@bp.get("/<key>/print")
@role_required("data", "admin")
def printable(key: str):
    """One commune's list as an A4 page with the police's signature line (print it, or save it as PDF)."""
    group = find(key)
    if group is None:
        return not_found()
    record(current_staff().id, "police_list_export", f"commune:{key}")
    today = services().clock().astimezone(VIETNAM).strftime("%d/%m/%Y")
    return render_template("police_print.html", title=_("List for the commune police"), group=group,
                           commune=commune_name(group), today=today, by=current_staff().name, paper_date=paper_date)


@bp.post("/answer/<conflict_id>")
@role_required("data", "admin")
def answer(conflict_id: str):
    """Record the police's answer to a case (confirmed, or corrected to the identity given); it settles the case."""
    found = store().conflict(conflict_id)
    if found is None:
        return not_found()
    form, member = request.form, current_staff()
    given = form.get("answer", "")
    corrected = {field: form.get(field, "") for field in ("full_name", "birth_date", "sex", "old_id")}
    try:
        if found["state"] != "police":
            raise corrections.refuse("not_awaiting_police")
        correction = corrections.police_answer(found["id_number"], conflict=conflict_id, answer=given,
                                               corrected=corrected if given == "corrected" else None,
                                               note=form.get("note", ""))
        store().correct(correction, staff_id=member.id, by=member.name, at=services().clock().isoformat(timespec="seconds"))
    except CorrectionError as refused:
        return conflict_page(found, error=refusal(refused.code), action="answer", status=400)
    except StoreError as failed:
        logger.error("police answer to %s not kept for staff %d: %s", conflict_id, member.id, failed)
        return conflict_page(found, error=unsaved(), action="answer", status=503)
    record(member.id, "police_answer", f"conflict:{conflict_id}")
    flash(str(ANSWERED[given]), "info")
    return redirect(safe_next(form.get("next")) or url_for("police.lists"))


def find(key: str) -> dict[str, Any] | None:
    return next((g for g in groups(store().police_cases()) if g["key"] == key), None)


def commune_name(group: dict[str, Any]) -> str:
    return group["commune"] if group["commune"] is not None else _("Not on a roster")


def services():
    return current_app.extensions["hub"]


def store():
    return services().store

