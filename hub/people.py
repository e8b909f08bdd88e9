"""A person's record for the data staff (pure): the search a citizen's complaint starts with, and the record it finds.

Search: by ID number (CCCD, or the CMND a roster may hold), or by full name and
year of birth. Names are compared folded (``fold_name``): Vietnamese tone and
vowel marks dropped, đ/Đ as d, case and runs of spaces ignored, so "Nguyen Van
A" finds "Nguyễn Văn A". Folding keeps a name's length, so the store finds
candidates on an index of (year of birth, length of the name, name) that
SQLite keeps by itself, and ``name_pattern`` (a GLOB) picks the matches among
them; no function of ours is needed in the database.

The record: ``assemble`` turns what the store read of one person (the merged
row, the roster entry, the doses, the kiosk and hub events, the voids and the
conflicts) into a PersonRecord the workspace shows: identity beside the roster
entry with their differences, doses with who voided them and why, deferrals,
adverse reactions, open conflicts and the full history in time order.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from wire import limits

from .district_time import VIETNAM
from .errors import SearchError
from .roster.link import mismatch

_VOWELS = {
    "a": "àáảãạăằắẳẵặâầấẩẫậ", "e": "èéẻẽẹêềếểễệ", "i": "ìíỉĩị", "o": "òóỏõọôồốổỗộơờớởỡợ",
    "u": "ùúủũụưừứửữự", "y": "ỳýỷỹỵ", "d": "đ",
}
FOLDS: dict[str, str] = {
    **{letter: base for base, letters in _VOWELS.items() for letter in letters},
    **{letter.upper(): base for base, letters in _VOWELS.items() for letter in letters},
    **{chr(c): chr(c).lower() for c in range(ord("A"), ord("Z") + 1)},
}
"""Each letter that folds to another: Vietnamese letters with marks (both cases) to their plain letter, A-Z to a-z."""
_FOLD = str.maketrans(FOLDS)
_VARIANTS: dict[str, str] = {}
for _letter, _base in sorted(FOLDS.items()):
    _VARIANTS[_base] = _VARIANTS.get(_base, _base) + _letter
GLOB_SPECIAL = "*?[]"
_NUMBER = re.compile(r"[0-9]{9}|[0-9]{12}")
_YEAR = re.compile(r"[0-9]{4}")
EARLIEST_YEAR = 1880
"""Vietnam's time (no daylight saving): the record shows every time in it, kiosk and hub events alike."""


def fold_name(text: str) -> str:
    """The name as the search compares it: NFC, runs of spaces as one, marks dropped, đ as d, lower case."""
    return " ".join(unicodedata.normalize("NFC", text).split()).translate(_FOLD)


def name_pattern(folded: str) -> str:
    """A GLOB pattern that a stored name (NFC) matches exactly when it folds to ``folded``.

    Each letter becomes the class of every letter that folds to it ("a" -> "[aAàÀáÁ...]"); GLOB's own signs are
    matched literally. The store runs it on the few names of the same length and year of birth (an index).
    """
    parts = []
    for char in folded:
        variants = _VARIANTS.get(char)
        parts.append(f"[{variants}]" if variants else f"[{char}]" if char in GLOB_SPECIAL else char)
    return "".join(parts)


def name_regex(folded: str) -> str:
    """name_pattern as a regular expression (PostgreSQL's ``~``, which has no GLOB): the same letter classes, anchored,
    every other sign escaped (a backslash before a sign that is not a letter or digit makes it literal)."""
    parts = []
    for char in folded:
        variants = _VARIANTS.get(char)
        parts.append(f"[{variants}]" if variants else char if char.isalnum() else "\\" + char)
    return "^" + "".join(parts) + "$"


@dataclass(frozen=True)
class Search:
    """What a member asked for: an ID number, or a folded name and a year of birth."""

    number: str | None = None
    name: str | None = None
    """Folded (fold_name)."""
    birth_year: str | None = None


def parse_search(number: str = "", name: str = "", birth_year: str = "") -> Search:
    """The search a form asks for; raise SearchError (code empty, bad_number, bad_name, no_year, bad_year)."""
    digits = "".join(number.split()).replace(".", "")
    if digits:
        if not _NUMBER.fullmatch(digits):
            raise SearchError("bad_number", "an ID number is 12 digits (a CCCD) or 9 (an old CMND)")
        return Search(number=digits)
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        raise SearchError("empty", "type an ID number, or a full name and a year of birth")
    if len(name) > limits.FULL_NAME_MAX or any(unicodedata.category(c) == "Cc" for c in name):
        raise SearchError("bad_name", "a full name has at most 100 characters and no control characters")
    year = birth_year.strip()
    if not year:
        raise SearchError("no_year", "a search by name needs the year of birth too")
    if not _YEAR.fullmatch(year) or int(year) < EARLIEST_YEAR:
        raise SearchError("bad_year", f"the year of birth is four digits, from {EARLIEST_YEAR}")
    return Search(name=fold_name(name), birth_year=year)


def mask_number(number: str) -> str:
    """An ID number with all but its last three digits hidden, for a list of several people."""
    return "•" * max(0, len(number) - 3) + number[-3:]


@dataclass(frozen=True)
class Match:
    """One person a search found, for the member to pick: the ref to open and what tells people apart."""

    ref: str
    id_number: str
    full_name: str | None
    birth_year: str | None
    sex: str | None
    commune: str | None
    doses: int
    on_roster: bool

    @property
    def masked(self) -> str:
        return mask_number(self.id_number)


# The record


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a person's history: a kiosk's event or a hub event (a correction), with who and where."""

    id: str
    type: str
    at: str
    """ISO 8601 as recorded (kiosk time, untrusted; hub time for hub events)."""
    kiosk: str | None
    """None for the hub's own events."""
    by: str | None
    payload: dict[str, Any]
    voided_by: str | None = None

    @property
    def shown_at(self) -> str:
        """The time in Vietnam, to the minute (what the record shows)."""
        moment = parse_time(self.at)
        return moment.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M") if moment else self.at[:16].replace("T", " ")


@dataclass(frozen=True)
class PersonRecord:
    """Everything the record page shows of one person."""

    ref: str
    id_number: str
    person: dict[str, Any] | None
    """The merged people row (None: only the roster knows them)."""
    roster: dict[str, Any] | None
    differences: list[str]
    """The identity fields on which the merged record and the roster entry differ (hub/roster/link.py's rule)."""
    doses: list[dict[str, Any]]
    """Every dose row, voided ones too, each with ``site``, ``district`` (its kiosk's, at a province; else None) and,
    when voided, ``void`` (id, by, reason, at)."""
    deferrals: list[HistoryEntry]
    reactions: list[HistoryEntry]
    conflicts: list[dict[str, Any]]
    """The conflicts not resolved yet: open, or awaiting the commune police (state "police"); detail parsed."""
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def districts(self) -> list[str]:
        """The districts of the kiosks that gave the person's doses (at a province; none at a district hub)."""
        return sorted({dose["district"] for dose in self.doses if dose["district"]})

    @property
    def live_doses(self) -> int:
        return sum(1 for dose in self.doses if not dose.get("voided_by"))


DEFERRAL_TYPES = ("PersonDeferred", "VaccinationRefused")
REACTION_TYPES = ("AefiRecorded", "AefiAcknowledged")


def assemble(ref: str, raw: dict[str, Any]) -> PersonRecord:
    """The record from what the store read of one person (hub/store/people.py ``read_record``)."""
    voided = {**raw["voids"], **{d["event_id"]: d["voided_by"] for d in raw["doses"] if d.get("voided_by")}}
    history = history_of(raw["events"], raw["hub_events"], voided)
    voids = {entry.id: entry for entry in history}
    doses = [with_void(dose, voids, raw["sites"], raw["districts"]) for dose in raw["doses"]]
    return PersonRecord(
        ref=ref, id_number=raw["id_number"], person=raw["person"], roster=raw["roster"],
        differences=roster_differences(raw["person"], raw["roster"]),
        doses=sorted(doses, key=lambda d: (d["given_on"], d["dose_number"], d["event_id"])),
        deferrals=[e for e in history if e.type in DEFERRAL_TYPES],
        reactions=[e for e in history if e.type in REACTION_TYPES],
        conflicts=[c for c in raw["conflicts"] if c.get("state", "open") != "resolved"],
        history=history,
    )


def roster_differences(person: dict[str, Any] | None, roster: dict[str, Any] | None) -> list[str]:
    if not person or not roster:
        return []
    found = mismatch(person, roster)
    return found_fields(found) if found else []


def found_fields(conflict: dict[str, Any]) -> list[str]:
    return list(json.loads(conflict["detail"])["fields"])


def with_void(dose: dict[str, Any], entries: dict[str, HistoryEntry], sites: dict[str, str],
              districts: dict[str, str]) -> dict[str, Any]:
    """The dose row with its site (the kiosk's, or the place a hub-added dose names), its kiosk's district (at a
    province) and who voided it, why and when."""
    void = entries.get(dose.get("voided_by") or "")
    shown = {**dose, "site": dose.get("place") or sites.get(dose["kiosk"]) or "",
             "district": districts.get(dose["kiosk"])}
    if dose.get("voided_by"):
        shown["void"] = {"id": dose["voided_by"], "by": void.by if void else None,
                         "reason": (void.payload.get("reason") if void else None) or "", "at": void.shown_at if void else ""}
    return shown


def history_of(events: list[dict[str, Any]], hub_events: list[dict[str, Any]], voids: dict[str, str]) -> list[HistoryEntry]:
    """Kiosk and hub events in time order (kiosk time as recorded; ties by kiosk and sequence)."""
    entries = [kiosk_entry(e, voids.get(e["id"])) for e in events]
    entries += [hub_entry(e, voids.get(e["id"])) for e in hub_events]
    return sorted(entries, key=order)


def kiosk_entry(event: dict[str, Any], voided_by: str | None) -> HistoryEntry:
    payload = event["payload"]
    return HistoryEntry(id=event["id"], type=event["type"], at=event["at"], kiosk=event["kiosk"],
                        by=staff_name(payload.get("by")), payload=payload, voided_by=voided_by)


def hub_entry(event: dict[str, Any], voided_by: str | None) -> HistoryEntry:
    return HistoryEntry(id=event["id"], type=event["type"], at=event["at"], kiosk=None, by=event.get("by"),
                        payload=event.get("payload") or {}, voided_by=voided_by)


def staff_name(by: Any) -> str | None:
    return by.get("name") if isinstance(by, dict) and isinstance(by.get("name"), str) else None


def order(entry: HistoryEntry) -> tuple:
    moment = parse_time(entry.at) or datetime.max.replace(tzinfo=timezone.utc)
    kiosk, _, seq = entry.id.rpartition(":")
    return moment, kiosk, int(seq) if seq.isdigit() else 0


def parse_time(text: str) -> datetime | None:
    """An aware datetime (a time without an offset is taken as Vietnam's), or None when it is not ISO 8601."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)
