"""The chip ID card (CCCD) QR payload: recognise it, parse it, cross-check it, write it back.

Layout: ``id12|old id9 or empty|full name|ddmmyyyy|Nam or Nữ|address|issue ddmmyyyy``,
plus four more fields (often empty) on cards issued from July 2024. Dates may
also be written ``dd/mm/yyyy``. See docs/payloads.md for every rule.
"""

import dataclasses
import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from kiosk.payloads.reasons import PayloadWarning, reject, warn
from wire import limits

FIELD_COUNTS = (7, 11)
SEXES = ("Nam", "Nữ")

_ID_NUMBER = re.compile(r"[0-9]{12}")
_OLD_ID = re.compile(r"(?:[0-9]{9}|[0-9]{12})?")  # CMND: 9 digits, or 12 on those issued 2012-2016
_DATE = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})|([0-9]{2})/([0-9]{2})/([0-9]{4})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TYPED_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""In typed details also lone surrogates, which a JSON body can carry and no database can store."""
# URIs and URLs, vCard/MECARD/WIFI codes, JSON and XML: other kinds of QR code.
_OTHER_KIND = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|[{\[<]")


@dataclass(frozen=True, repr=False)
class CccdCard:
    """One scanned chip ID card; text fields are NFC, exactly as the card encodes them."""

    kind: ClassVar[str] = "cccd"
    id_number: str
    """Personal ID number: 12 ASCII digits."""
    old_id: str
    """Old ID card (CMND) number: 9 ASCII digits, or "" when the card has none."""
    full_name: str
    """Whole name as encoded, edges trimmed; never retyped or re-cased."""
    birth_date: datetime.date
    sex: str
    """"Nam" or "Nữ", exactly as encoded."""
    address: str
    """Address as encoded, edges trimmed; may be ""."""
    issue_date: datetime.date | None
    """None when the details were typed by staff (a manual check-in) rather than scanned."""
    extra: tuple[str, ...] = ()
    """Fields 8-11 of cards issued from July 2024, as encoded; () on 7-field cards."""
    warnings: tuple[PayloadWarning, ...] = ()
    """Cross-check findings for a supervisor; () when the ID number agrees with the card."""

    @property
    def given_name(self) -> str:
        """The last word of the full name: Vietnamese names put the given name last."""
        return self.full_name.split()[-1]

    def __repr__(self) -> str:
        # Redacted so that an accidental log line or traceback leaks nothing.
        codes = [w.code for w in self.warnings]
        return f"CccdCard(<redacted>, warnings={codes!r})"


def looks_like_cccd(text: str) -> bool:
    """Return whether text has the shape of a CCCD payload (pipe-separated, no scheme)."""
    return "|" in text and _OTHER_KIND.match(text) is None


def parse_cccd(text: str, *, today: datetime.date | None = None) -> CccdCard:
    """Return the card in text (already decoded and NFC); raise PayloadRejected if invalid.

    today, when given, rejects a date of birth after it.
    """
    if _CONTROL.search(text):
        raise reject("bad_characters")
    fields = text.split("|")
    if len(fields) not in FIELD_COUNTS:
        raise reject("wrong_field_count")
    id_number, old_id, name, birth, sex, address, issue, *extra = fields
    card = CccdCard(
        id_number=_parse_id_number(id_number),
        old_id=_parse_old_id(old_id),
        full_name=_parse_name(name),
        birth_date=_parse_birth_date(birth, today),
        sex=_parse_sex(sex),
        address=address.strip(),
        issue_date=_parse_date(issue),
        extra=tuple(field.strip() for field in extra),
    )
    if card.issue_date < card.birth_date:
        raise reject("issue_before_birth")
    return dataclasses.replace(card, warnings=id_number_warnings(card))


def format_cccd(card: CccdCard, *, slashed_dates: bool = False) -> str:
    """Return the QR payload text that encodes card (the inverse of parse_cccd)."""
    separator = "/" if slashed_dates else ""
    fields = (
        card.id_number,
        card.old_id,
        card.full_name,
        _format_date(card.birth_date, separator),
        card.sex,
        card.address,
        _format_date(card.issue_date, separator) if card.issue_date else "",
        *card.extra,
    )
    return "|".join(fields)


def id_number_warnings(card: CccdCard) -> tuple[PayloadWarning, ...]:
    """Return the warnings from cross-checking digits 4-6 of the ID number with the card.

    Digit 4 encodes century and sex: 0/1 for 1900s male/female, 2/3 for the
    2000s, and so on up to 8/9 for the 2300s; digits 5-6 are the birth year's
    last two digits.
    """
    century_sex = int(card.id_number[3])
    found = []
    if 1900 + 100 * (century_sex // 2) != card.birth_date.year // 100 * 100:
        found.append(warn("id_century_mismatch"))
    if card.id_number[4:6] != f"{card.birth_date.year % 100:02d}":
        found.append(warn("id_year_mismatch"))
    if SEXES[century_sex % 2] != card.sex:
        found.append(warn("id_sex_mismatch"))
    return tuple(found)


def manual_card(
    id_number: str, full_name: str, birth_date: str, sex: str, *, old_id: str = "", today: datetime.date | None = None
) -> CccdCard:
    """Return a card from details a supervisor typed; raise PayloadRejected as a scan would.

    birth_date is ISO (yyyy-mm-dd, from a date input) or dd/mm/yyyy or ddmmyyyy as printed.
    """
    if any(_TYPED_CONTROL.search(text) for text in (id_number, full_name, birth_date, sex, old_id)):
        raise reject("bad_characters")
    birth_text = birth_date.strip()
    if _ISO_DATE.fullmatch(birth_text):
        year, month, day = birth_text.split("-")
        birth_text = f"{day}{month}{year}"
    card = CccdCard(
        id_number=_parse_id_number(id_number.strip()),
        old_id=_parse_old_id(old_id.strip()),
        full_name=_parse_name(unicodedata.normalize("NFC", " ".join(full_name.split()))),
        birth_date=_parse_birth_date(birth_text, today),
        sex=_parse_sex(unicodedata.normalize("NFC", sex.strip())),
        address="",
        issue_date=None,
    )
    return dataclasses.replace(card, warnings=id_number_warnings(card))


def _parse_id_number(field: str) -> str:
    if not _ID_NUMBER.fullmatch(field):
        raise reject("bad_id_number")
    return field


def _parse_old_id(field: str) -> str:
    if not _OLD_ID.fullmatch(field):
        raise reject("bad_old_id")
    return field


def _parse_name(field: str) -> str:
    name = field.strip()
    if not name:
        raise reject("empty_name")
    if len(name) > limits.FULL_NAME_MAX:  # the hub's schema would quarantine the check-in for good
        raise reject("name_too_long")
    return name


def _parse_sex(field: str) -> str:
    if field not in SEXES:
        raise reject("bad_sex")
    return field


def _parse_birth_date(field: str, today: datetime.date | None) -> datetime.date:
    birth_date = _parse_date(field)
    if today is not None and birth_date > today:
        raise reject("birth_in_future")
    return birth_date


def _parse_date(field: str) -> datetime.date:
    match = _DATE.fullmatch(field)
    if match is None:
        raise reject("bad_date")
    day, month, year = (int(part) for part in match.groups() if part is not None)
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise reject("bad_date") from None


def _format_date(date: datetime.date, separator: str) -> str:
    # Not strftime: it does not zero-pad years before 1000 on every platform.
    return f"{date.day:02d}{separator}{date.month:02d}{separator}{date.year:04d}"
