"""What the district's data staff may change, as the hub's own events (pure: no I/O).

Corrections are events, never edits. A data staff member's correction of an
identity, void of a dose recorded in error, dose given elsewhere or on paper
("mũi tiêm còn thiếu"), resolution of a conflict, referral to the commune
police and the police's answer are each one event of the hub's pseudo-kiosk
``@hub`` (ids ``@hub:<n>``), kept in table ``hub_events`` beside the kiosks'
events. hub/merge.py derives each person from both, so the merged record stays
a function of the set of events, and every change names who made it and why.

The builders here check what a form or a command gives them and return a
``Correction``; ``Store.correct`` checks it against the database (the person,
the dose, the conflict and its state), keeps it and derives the person again.
Each refusal is a CorrectionError whose ``code`` is a key of ``REASONS``
(Vietnamese and English), so the workspace says it in the user's language.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import CorrectionError

HUB_KIOSK = "@hub"
"""The pseudo-kiosk whose events are the hub's: "@" is no kiosk id's first character (wire.KIOSK_ID)."""

IDENTITY_CORRECTED = "hub.identity_corrected"
DOSE_VOIDED = "hub.dose_voided"
DOSE_ADDED = "hub.dose_added"
CONFLICT_RESOLVED = "hub.conflict_resolved"
POLICE_REFERRED = "hub.police_referred"
POLICE_ANSWERED = "hub.police_answered"
TYPES = (IDENTITY_CORRECTED, DOSE_VOIDED, DOSE_ADDED, CONFLICT_RESOLVED, POLICE_REFERRED, POLICE_ANSWERED)

RESOLUTIONS = ("accepted", "different_people", "roster_wrong")
"""How resolve_conflict settles a conflict: a too-short interval accepted for a clinical reason; two different people
who share an ID number; the roster entry (not the card) is the wrong one."""
ANSWERS = ("confirmed", "corrected")
"""The commune police's answer to an identity case: the record is right as it is, or corrected to the identity given."""

IDENTITY_KINDS = ("identity_mismatch", "roster_mismatch", "id_contradiction")
"""Conflicts about who a person is: settled by a corrected identity, a resolution or the police."""
FITTING: dict[str, tuple[str, ...]] = {
    "duplicate_dose": ("void",),
    "interval_too_short": ("void", "accepted"),
    "identity_mismatch": ("identity", "different_people", "police"),
    "roster_mismatch": ("identity", "roster_wrong", "police"),
    "id_contradiction": ("identity", "police"),
}
"""The actions that fit each open conflict kind (an identity case awaiting the police takes only their answer)."""

REASONS: dict[str, tuple[str, str]] = {
    "bad_id_number": ("Số CCCD phải có 12 chữ số (hoặc 9 chữ số đối với CMND cũ).",
                      "The ID number must be 12 digits (or 9 for an old CMND)."),
    "unknown_person": ("Không có người nào với số CCCD này trong hồ sơ hay danh sách.",
                       "No one with this ID number is in the records or on a roster."),
    "missing_name": ("Cần nhập họ và tên.", "The full name is required."),
    "bad_date": ("Ngày không hợp lệ (dùng yyyy-mm-dd).", "The date is not valid (use yyyy-mm-dd)."),
    "date_in_future": ("Ngày ở sau hôm nay.", "The date is after today."),
    "bad_sex": ("Giới tính phải là Nam hoặc Nữ.", "Sex must be Nam (male) or Nữ (female)."),
    "bad_old_id": ("Số CMND cũ phải có 9 hoặc 12 chữ số, hoặc để trống.", "The old ID must be 9 or 12 digits, or empty."),
    "missing_reason": ("Cần ghi lý do.", "A reason is required."),
    "missing_evidence": ("Cần ghi căn cứ (ví dụ: đã đối chiếu với thẻ CCCD của người dân).",
                         "Evidence is required (for example: checked against the citizen's card)."),
    "too_long": ("Một trường quá dài.", "A field is too long."),
    "no_change": ("Thông tin sửa giống hệt thông tin hiện có.", "The corrected identity is the same as the current one."),
    "unknown_dose": ("Mũi tiêm này không thuộc người này.", "This dose is not one of this person's."),
    "dose_already_voided": ("Mũi tiêm này đã bị hủy.", "This dose is already voided."),
    "unknown_product": ("Loại vắc xin không có trong danh mục.", "The vaccine is not in the catalogue."),
    "bad_dose_number": ("Số thứ tự mũi tiêm phải từ 1 đến 9.", "The dose number must be 1 to 9."),
    "bad_booster": ("Số mũi nhắc lại phải từ 0 đến 5.", "The booster number must be 0 to 5."),
    "missing_lot": ("Cần nhập số lô.", "The lot number is required."),
    "missing_place": ("Cần nhập nơi tiêm.", "The place the dose was given is required."),
    "unknown_conflict": ("Không có xung đột này cho người này.", "There is no such conflict for this person."),
    "conflict_not_open": ("Xung đột này đã được xử lý hoặc đang chờ công an trả lời.",
                          "This conflict is already resolved or awaiting the police."),
    "not_awaiting_police": ("Trường hợp này không chờ công an trả lời.", "This case is not awaiting the police."),
    "does_not_fit": ("Cách xử lý này không phù hợp với loại xung đột.", "This resolution does not fit the conflict's kind."),
    "not_in_conflict": ("Mũi tiêm này không thuộc xung đột đang xử lý.", "This dose is not one of the conflict's."),
    "bad_resolution": ("Cách xử lý không hợp lệ.", "Not a known resolution."),
    "bad_answer": ("Câu trả lời phải là xác nhận đúng hoặc đã sửa.", "The answer must be confirmed or corrected."),
    "missing_commune": ("Cần ghi xã/phường.", "The commune or ward is required."),
}
"""Why a correction is refused: code -> (Vietnamese, English)."""

ID_NUMBER = re.compile(r"\d{9}|\d{12}")
SEXES = ("Nam", "Nữ")
MAX_TEXT = 500
MAX_SHORT = 100


@dataclass(frozen=True)
class Correction:
    """One hub event before it is kept: its type, the person it is about and its payload."""

    type: str
    id_number: str
    payload: dict[str, Any]


def refuse(code: str) -> CorrectionError:
    return CorrectionError(code, REASONS[code][1])


def correct_identity(id_number: str, *, full_name: str, birth_date: str, sex: str, old_id: str | None, reason: str,
                     evidence: str, resolves: str | Iterable[str] | None = None) -> Correction:
    """A person's identity as the staff checked it (name, birth date yyyy-mm-dd, Nam/Nữ, old ID or empty); it becomes
    the merged identity. ``resolves`` names the identity conflicts it settles (Store.correct fills in the person's open
    ones when it is None). Raise CorrectionError for a value that cannot be an identity."""
    return Correction(IDENTITY_CORRECTED, check_id(id_number), {
        "corrected": checked_identity(full_name, birth_date, sex, old_id),
        "reason": text(reason, "missing_reason"), "evidence": text(evidence, "missing_evidence"),
        "resolves": conflict_ids(resolves),
    })


def void_dose(id_number: str, *, target: str, reason: str, resolves: str | None = None) -> Correction:
    """Void a dose recorded in error (``target``: its event id); it stays in the record, struck through."""
    return Correction(DOSE_VOIDED, check_id(id_number), {
        "target": text(target, "unknown_dose", MAX_SHORT), "reason": text(reason, "missing_reason"),
        "resolves": conflict_ids(resolves),
    })


def add_dose(id_number: str, *, product: str, lot_number: str, number: int, booster: int | None, given_on: str,
             place: str, reason: str, evidence: str) -> Correction:
    """A dose given elsewhere or recorded on paper, entered by the district: date yyyy-mm-dd, product, lot, place."""
    return Correction(DOSE_ADDED, check_id(id_number), {
        "dose": {"product": text(product, "unknown_product", MAX_SHORT), "lot_number": text(lot_number, "missing_lot", 40),
                 "number": whole(number, 1, 9, "bad_dose_number"),
                 "booster": None if booster in (None, "") else whole(booster, 0, 5, "bad_booster"),
                 "given_at": check_date(given_on)},
        "place": text(place, "missing_place", MAX_SHORT * 2), "reason": text(reason, "missing_reason"),
        "evidence": text(evidence, "missing_evidence"),
    })


def resolve_conflict(id_number: str, *, conflict: str, resolution: str, reason: str) -> Correction:
    """Settle a conflict without changing a record (see RESOLUTIONS); the reason is required."""
    if resolution not in RESOLUTIONS:
        raise refuse("bad_resolution")
    return Correction(CONFLICT_RESOLVED, check_id(id_number), {
        "conflict": text(conflict, "unknown_conflict", MAX_SHORT), "resolution": resolution,
        "reason": text(reason, "missing_reason"),
    })


def refer_to_police(id_number: str, *, conflict: str, commune: str) -> Correction:
    """Put an identity case on the commune police's list, to be checked against the national population database."""
    return Correction(POLICE_REFERRED, check_id(id_number), {
        "conflict": text(conflict, "unknown_conflict", MAX_SHORT), "commune": text(commune, "missing_commune", MAX_SHORT * 2),
    })


def police_answer(id_number: str, *, conflict: str, answer: str, corrected: dict[str, Any] | None = None,
                  note: str = "") -> Correction:
    """The police's answer to a case: "confirmed" as it is, or "corrected" to ``corrected`` (name, birth_date, sex,
    old_id), which becomes the person's identity as a correction does."""
    if answer not in ANSWERS:
        raise refuse("bad_answer")
    identity = None
    if answer == "corrected":
        given = corrected or {}
        identity = checked_identity(given.get("full_name", ""), given.get("birth_date", ""), given.get("sex", ""),
                                    given.get("old_id"))
    return Correction(POLICE_ANSWERED, check_id(id_number), {
        "conflict": text(conflict, "unknown_conflict", MAX_SHORT), "answer": answer, "corrected": identity,
        "note": text(note, None),
    })


def check_dates(correction: Correction, today: datetime.date) -> None:
    """Refuse a birth date or a dose date after ``today`` (the district's day when the correction is kept)."""
    payload = correction.payload
    dates = [(payload.get("corrected") or {}).get("birth_date"), (payload.get("dose") or {}).get("given_at")]
    if any(day and datetime.date.fromisoformat(day) > today for day in dates):
        raise refuse("date_in_future")


def settled_identity(correction_payload: dict[str, Any]) -> dict[str, str] | None:
    """The identity a hub event sets (a correction, or a police answer "corrected"), or None."""
    return correction_payload.get("corrected")


def named_conflicts(event_type: str, payload: dict[str, Any]) -> list[str]:
    """The conflicts a hub event settles (resolves) or refers (police_referred), by id."""
    if event_type in (IDENTITY_CORRECTED, DOSE_VOIDED):
        return list(payload.get("resolves") or [])
    return [payload["conflict"]] if "conflict" in payload else []


# -- checks -----------------------------------------------------------------------------------------------------------

def check_id(id_number: str) -> str:
    if not isinstance(id_number, str) or not ID_NUMBER.fullmatch(id_number):
        raise refuse("bad_id_number")
    return id_number


def checked_identity(full_name: str, birth_date: str, sex: str, old_id: str | None) -> dict[str, str]:
    old = (old_id or "").strip()
    if old and not ID_NUMBER.fullmatch(old):
        raise refuse("bad_old_id")
    if sex not in SEXES:
        raise refuse("bad_sex")
    name = " ".join(unicodedata.normalize("NFC", text(full_name, "missing_name", MAX_SHORT)).split())
    return {"full_name": name, "birth_date": check_date(birth_date), "sex": sex, "old_id": old}


def check_date(value: str) -> str:
    try:
        return datetime.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise refuse("bad_date") from None


def text(value: object, missing: str | None, limit: int = MAX_TEXT) -> str:
    """A free-text field: stripped, required unless ``missing`` is None, at most ``limit`` characters, no controls."""
    cleaned = " ".join("".join(c for c in str(value or "") if unicodedata.category(c) != "Cc" or c.isspace()).split())
    if not cleaned and missing:
        raise refuse(missing)
    if len(cleaned) > limit:
        raise refuse("too_long")
    return cleaned


def whole(value: object, low: int, high: int, code: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise refuse(code) from None
    if not low <= number <= high:
        raise refuse(code)
    return number


def conflict_ids(resolves: str | Iterable[str] | None) -> list[str]:
    if resolves is None:
        return []
    ids = [resolves] if isinstance(resolves, str) else list(resolves)
    return sorted({text(i, "unknown_conflict", MAX_SHORT) for i in ids if i})
