"""A conflict's records side by side (pure): one column per record, one row per field, the fields they disagree on
marked. The conflict comes from hub/store/conflicts.py ``conflict``.

Where each record came from (kiosk, site, the kiosk's clock, when the hub received it, who recorded it) heads every
column; the rows below are what the records say: a dose's product, lot, number and day, or an identity's name, birth
date, sex and old ID. A conflict of no events compares the merged record with the roster (roster_mismatch) or with
what the ID number's digits say (id_contradiction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask_babel import lazy_gettext, ngettext

from wire import identity

from ..corrections import DOSE_ADDED, HUB_KIOSK, IDENTITY_CORRECTED
from ..district_time import VIETNAM

"""The hub's times (UTC) are shown in Vietnam's time, which has no summer time."""
SOURCE = ("kiosk", "site", "at", "received_at", "staff")
DOSE = ("product", "lot_number", "number", "booster", "given_at", "place", "voided_by")
PERSON = ("full_name", "birth_date", "sex", "old_id")
LABELS = {
    "kiosk": lazy_gettext("Kiosk"), "site": lazy_gettext("Site"), "at": lazy_gettext("Kiosk time"),
    "received_at": lazy_gettext("Received by the hub"), "staff": lazy_gettext("Recorded by"),
    "product": lazy_gettext("Vaccine"), "lot_number": lazy_gettext("Lot"), "number": lazy_gettext("Dose number"),
    "booster": lazy_gettext("Booster"), "given_at": lazy_gettext("Given at"), "place": lazy_gettext("Place"),
    "voided_by": lazy_gettext("Voided by"), "full_name": lazy_gettext("Full name"),
    "birth_date": lazy_gettext("Date of birth"), "sex": lazy_gettext("Sex"), "old_id": lazy_gettext("Old ID (CMND)"),
    "record": lazy_gettext("Record"), "reason": lazy_gettext("Reason given"), "commune": lazy_gettext("Commune or ward"),
    "birth_year": lazy_gettext("Year of birth"),
}
RECORDS = {
    "PersonCheckedIn": lazy_gettext("Check-in"), "DoseRecorded": lazy_gettext("Dose recorded"),
    "IdentityCorrected": lazy_gettext("Identity corrected at the kiosk"),
    IDENTITY_CORRECTED: lazy_gettext("Identity corrected by the district"),
    DOSE_ADDED: lazy_gettext("Dose entered by the district"),
}


@dataclass(frozen=True)
class Row:
    field: str
    values: list[str]
    differs: bool = False
    source: bool = False
    """A row saying where a record came from (not what it says): never marked as differing."""

    @property
    def label(self) -> str:
        return LABELS.get(self.field, self.field)


@dataclass(frozen=True)
class Table:
    columns: list[dict[str, Any]]
    """Each {"title", "event" (id or None), "voided" (bool)}."""
    rows: list[Row] = field(default_factory=list)


def side_by_side(conflict: dict[str, Any]) -> Table:
    """The conflict's records as a table (see the module's docstring)."""
    kind = conflict["kind"]
    if kind == "roster_mismatch":
        return against_roster(conflict)
    if kind == "id_contradiction":
        return against_digits(conflict)
    events = conflict["events"]
    fields = DOSE if kind in ("duplicate_dose", "interval_too_short") else (*PERSON, "reason")
    columns = [{"title": event["id"], "event": event["id"], "voided": bool(event.get("voided_by"))} for event in events]
    said = [what(event) for event in events]
    rows = [Row(name, [source(event, name) for event in events], source=True) for name in SOURCE]
    rows.append(Row("record", [str(RECORDS.get(event["type"], event["type"])) for event in events], source=True))
    rows += [compare(name, [s.get(name) for s in said]) for name in fields if any(s.get(name) not in (None, "") for s in said)]
    return Table(columns, rows)


def source(event: dict[str, Any], name: str) -> str:
    """Where an event came from: its kiosk, site, the kiosk's clock as written, the hub's time, who recorded it."""
    if name == "at":
        return kiosk_time(event["at"]) if event["kiosk"] != HUB_KIOSK else ""
    if name == "received_at":
        return local_time(event["received_at"])
    if name == "staff":
        return event.get("by") or (event["payload"].get("by") or {}).get("name") or ""
    return event.get(name) or ""


def what(event: dict[str, Any]) -> dict[str, Any]:
    """What an event says: a dose's fields, or the identity it states (a correction: the corrected one) and why."""
    payload = event["payload"]
    if "dose" in payload:
        dose = payload["dose"]
        return {"product": dose.get("product"), "lot_number": dose.get("lot_number"), "number": dose.get("number"),
                "booster": dose.get("booster"), "given_at": kiosk_time(dose.get("given_at") or ""),
                "place": payload.get("place"), "voided_by": event.get("voided_by")}
    person = payload.get("person") or payload.get("corrected") or {}
    return {**identity.identity(person), "reason": payload.get("reason")}


def against_roster(conflict: dict[str, Any]) -> Table:
    merged, roster = conflict["detail"].get("person", {}), conflict["detail"].get("roster", {})
    entry = conflict.get("roster") or {}
    columns = [{"title": lazy_gettext("Merged record"), "event": None, "voided": False},
               {"title": lazy_gettext("Roster"), "event": None, "voided": False}]
    rows = [compare(name, [merged.get(name), roster.get(name)], year_only=True) for name in ("full_name", "birth_date", "sex")]
    rows.append(Row("commune", ["", entry.get("commune") or ""], source=True))
    return Table(columns, rows)


def against_digits(conflict: dict[str, Any]) -> Table:
    """The merged identity beside what the CCCD's digit 4 (century and sex) and digits 5-6 (year) say."""
    person = conflict.get("person") or {}
    birth = conflict["detail"].get("birth_date") or person.get("birth_date") or ""
    sex = conflict["detail"].get("sex") or person.get("sex") or ""
    year, said_sex = digits(conflict["id_number"])
    columns = [{"title": lazy_gettext("Merged record"), "event": None, "voided": False},
               {"title": lazy_gettext("What the ID number says"), "event": None, "voided": False}]
    return Table(columns, [compare("birth_year", [birth[:4], year]), compare("sex", [sex, said_sex]),
                           Row("birth_date", [birth, ""], source=True)])


def digits(id_number: str) -> tuple[str, str]:
    """(year of birth, sex) a 12-digit CCCD states: digit 4 is the century and sex (0/1: 1900s male/female, 2/3: 2000s,
    ...), digits 5-6 the year's last two; ("", "") for an old 9-digit CMND, which states neither."""
    if len(id_number) != 12 or not id_number.isdigit():
        return "", ""
    code = int(id_number[3])
    return str(1900 + code // 2 * 100 + int(id_number[4:6])), ("Nam", "Nữ")[code % 2]


def compare(name: str, values: list[Any], *, year_only: bool = False) -> Row:
    """A row of values; it differs when two non-empty values differ as a person reads them (case, spacing and Unicode
    form aside); a year-only roster date agrees with any date in that year."""
    shown = ["" if v is None else str(v) for v in values]
    seen = {identity.normalise(v) for v in shown if v.strip()}
    if year_only and name == "birth_date" and len(seen) == 2 and any(len(v) == 4 for v in seen):
        seen = {v[:4] for v in seen}
    return Row(name, shown, differs=len(seen) > 1)


def kiosk_time(value: str) -> str:
    """A kiosk's clock as it wrote it, with its offset (untrusted: a Pi has no clock of its own), to the second."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (f" ({offset[:3]}:{offset[3:]})" if offset else "")


def local_time(value: str | None) -> str:
    """A hub time (UTC) in Vietnam's time, to the minute; "" when absent or unreadable."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")


def waited(now: datetime, since: str | None) -> str:
    """How long since ``since`` (hub time, ISO 8601), in words: "3 days", "5 hours", "12 minutes"; "" when unknown."""
    if not since:
        return ""
    try:
        moment = datetime.fromisoformat(since)
        seconds = max(0.0, (now - (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))).total_seconds())
    except (TypeError, ValueError):
        return ""
    if seconds >= 2 * 86400:
        return ngettext("%(num)d day", "%(num)d days", int(seconds // 86400))
    if seconds >= 3600:
        return ngettext("%(num)d hour", "%(num)d hours", int(seconds // 3600))
    return ngettext("%(num)d minute", "%(num)d minutes", int(seconds // 60))
