"""One roster row checked: an Entry, or the reason code it is refused for (hub/roster/reasons.py). Pure.

A cell may be text (CSV, or an XLSX text cell), a number or a date (XLSX).
Text is kept as written (NFC, edges trimmed): a cell that starts with =, +, -
or @ is data, never a formula; every export must neutralise it. The ID-number
rule is the kiosk's (kiosk/payloads/cccd.py): digit 4 is the century and sex
(0/1 for the 1900s male/female, 2/3 the 2000s, ... 8/9 the 2300s), digits 5-6
the birth year's last two digits.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from typing import NamedTuple

from wire import limits

SEXES = ("Nam", "Nữ")
_SEX_WORDS = {"nam": "Nam", "male": "Nam", "m": "Nam", "nu": "Nữ", "female": "Nữ", "f": "Nữ"}
_SEX_SEEN = {"Nam": "Nam", "Nữ": "Nữ", "nam": "Nam", "nữ": "Nữ"}
"""The spellings nearly every list uses, read without normalising."""
_CCCD = re.compile(r"[0-9]{12}")
_CMND = re.compile(r"[0-9]{9}")
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_YEAR = re.compile(r"[0-9]{4}")
_PHONE = re.compile(r"\+?[0-9][0-9 .\-]{5,18}[0-9]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
CELL_MAX = 200
"""The longest address, commune or priority group kept (characters); a longer cell refuses its row (value_too_long)."""
_MAXIMA = {"full_name": limits.FULL_NAME_MAX, "commune": CELL_MAX, "address": CELL_MAX, "priority_group": CELL_MAX,
           "phone": 20}


class Entry(NamedTuple):
    """One person on the roster; birth_date is yyyy-mm-dd, or yyyy when the list has the year only; district is the
    one the import said the list belongs to (a province's hub), empty at a district's hub and in the file read."""

    id_number: str
    full_name: str
    birth_date: str
    sex: str
    commune: str
    address: str
    priority_group: str
    phone: str
    district: str = ""


class Refused(NamedTuple):
    """A row not imported: its number in the file (the header's row counts: what the spreadsheet shows), the reason,
    and the ID number when it is a valid one (so staff can find the person; nothing else of the row is kept)."""

    row: int
    reason: str
    id_number: str | None = None


TEXT_FIELDS = ("full_name", "commune", "address", "priority_group", "phone")
_TEXT_MAXIMA = tuple(_MAXIMA[field] for field in TEXT_FIELDS)


def check_row(cells: list[object], columns: dict[str, int], today: datetime.date) -> Entry | str:
    """Return the row's Entry, or the code of the first reason it is refused for."""
    width = len(cells)
    value = {field: cells[position] if position < width else None for field, position in columns.items()}
    id_number = read_id(value.get("id_number"))
    if not id_number:
        return "missing_value"
    if id_number[0] == "!":
        return id_number[1:]
    texts = read_texts([value.get(field) for field in TEXT_FIELDS])
    if texts.__class__ is str:
        return texts
    birth = read_date(value.get("birth_date"), today)
    if birth[0] == "!":
        return birth[1:]
    sex = read_sex(value.get("sex"))
    if sex[0] == "!":
        return sex[1:]
    if texts[4] and not _PHONE.fullmatch(texts[4]):
        return "bad_phone"
    return id_contradiction(id_number, birth, sex) or Entry(
        id_number, " ".join(texts[0].split()), birth, sex, texts[1], texts[2], texts[3], texts[4])


def read_texts(cells: list[object]) -> list[str] | str:
    """The cells of TEXT_FIELDS as kept, or the reason code the first bad one refuses the row for."""
    texts = []
    for cell, longest in zip(cells, _TEXT_MAXIMA):
        text = read_text(cell)
        if text is None:
            return "bad_characters"
        if len(text) > longest:
            return "value_too_long"
        texts.append(text)
    return texts if texts[0] and texts[1] else "missing_value"


def read_text(value: object) -> str | None:
    """A text cell as kept (NFC, edges trimmed; "" for empty); None when it holds control characters."""
    if value is None:
        return ""
    if value.__class__ is not str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    text = value.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return None if _CONTROL.search(text) else text


def read_id(value: object) -> str | None:
    """The ID number, "" or None when empty, or "!<reason>".

    A number cell (XLSX) has lost the leading zeros every CCCD has (its first three digits are a province code,
    001-096): 10 or 11 digits are padded back to 12, 9 or 12 digits kept; any other number is refused
    (id_stored_as_number).
    """
    if isinstance(value, bool) or isinstance(value, (datetime.date, datetime.time)):
        return "!bad_id_number"
    if isinstance(value, float):
        if not value.is_integer() or value < 0:
            return "!bad_id_number"
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            return "!bad_id_number"
        digits = str(value)
        if len(digits) in (9, 12):
            return digits
        return digits.zfill(12) if len(digits) in (10, 11) else "!id_stored_as_number"
    if value is None:
        return None
    text = str(value).strip().replace(" ", "")
    if not text:
        return ""
    return text if _CCCD.fullmatch(text) or _CMND.fullmatch(text) else "!bad_id_number"


def read_date(value: object, today: datetime.date) -> str:
    """The birth date as yyyy-mm-dd or yyyy, or "!<reason>" (missing_value, bad_date, birth_in_future)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        if value.year < 1900:
            return "!bad_date"
        return value.isoformat() if value <= today else "!birth_in_future"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a year typed into a number cell
    if not isinstance(value, str) or not value.strip():
        return "!missing_value" if value is None or isinstance(value, str) else "!bad_date"
    return parse_date_text(value.strip(), today)


@functools.lru_cache(maxsize=65536)
def parse_date_text(text: str, today: datetime.date) -> str:
    """A date as the list writes it, as yyyy-mm-dd or yyyy, or "!<reason>" (memoised: a district's birth dates repeat)."""
    if _YEAR.fullmatch(text):
        year = int(text)
        if not 1900 <= year <= today.year:
            return "!birth_in_future" if year > today.year else "!bad_date"
        return text
    match = _DMY.fullmatch(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return "!bad_date"
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return "!bad_date"
    if date.year < 1900:
        return "!bad_date"
    return date.isoformat() if date <= today else "!birth_in_future"


def read_sex(value: object) -> str:
    """Nam or Nữ, from Vietnamese or English in any case, with or without diacritics; or "!<reason>"."""
    known = _SEX_SEEN.get(value) if value.__class__ is str else None
    if known:
        return known
    if value is None or (isinstance(value, str) and not value.strip()):
        return "!missing_value"
    if not isinstance(value, str):
        return "!bad_sex"
    text = unicodedata.normalize("NFD", value.strip().casefold())
    bare = "".join(ch for ch in text if not unicodedata.combining(ch))
    sex = _SEX_WORDS.get(bare)
    return sex if sex else "!bad_sex"


_CENTURY_SEX = {str(digit): (str(19 + digit // 2), SEXES[digit % 2]) for digit in range(10)}
"""Digit 4 of a CCCD -> (the first two digits of the birth year, the sex)."""


def id_contradiction(id_number: str, birth: str, sex: str) -> str | None:
    """The first way a 12-digit ID number's digits 4-6 contradict the birth year or the sex (None for a CMND)."""
    if len(id_number) != 12:
        return None
    century, coded_sex = _CENTURY_SEX[id_number[3]]
    if birth[:2] != century:
        return "id_century_mismatch"
    if id_number[4:6] != birth[2:4]:
        return "id_year_mismatch"
    if coded_sex != sex:
        return "id_sex_mismatch"
    return None
