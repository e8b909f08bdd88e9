"""Adverse reactions, deferrals, stock and wastage, pure: the follow-up's rules, the lot signal, the days asked for,
each lot's day walked from its events (hub/store/clinical.py reads them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .errors import HubError

FOLLOW_UP_STATUSES = ("reported", "investigating", "recovered", "hospitalised", "died", "closed")
"""The district's follow-up of an adverse reaction; the latest one recorded is its status (none yet: not followed)."""
NOTE_MAX = 500
"""A follow-up's note, in characters."""
SEVERITIES = ("mild", "moderate", "severe")
LOT_SIGNAL_SEVERE = 2
"""A lot with at least this many severe reactions in the days shown is flagged."""
LOT_SIGNAL_ANY = 5
"""A lot with at least this many reactions of any severity in the days shown is flagged."""
STOCK_DAYS = 7
"""The stock page's default range, and how recently a lot must have been used for its expiry to be watched."""
EXPIRY_WARNING_DAYS = 14
"""A lot in use whose expiry is this close to the chosen day (or past it) is warned of."""
MAX_RANGE_DAYS = 92
"""The longest day range a page reads at once (a quarter)."""


class ClinicalInputError(HubError, ValueError):
    """A day, a range or a follow-up that cannot be taken; ``code`` says which rule it broke."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def parse_day(text: str | None, default: date) -> date:
    """A yyyy-mm-dd day from a query (empty: ``default``); raise ClinicalInputError("bad_day") for anything else."""
    if not text:
        return default
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ClinicalInputError("bad_day", "a day is written yyyy-mm-dd, e.g. 2021-09-15") from None


def day_range(start: str | None, end: str | None, today: date, days: int = STOCK_DAYS) -> tuple[date, date]:
    """The (from, to) days asked for, by default the ``days`` days up to today; raise ClinicalInputError when either
    day is malformed, from is after to, or the range is longer than MAX_RANGE_DAYS."""
    last = parse_day(end, today)
    first = parse_day(start, last - timedelta(days=days - 1))
    if first > last:
        raise ClinicalInputError("bad_range", "the first day is after the last")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ClinicalInputError("long_range", f"a range has at most {MAX_RANGE_DAYS} days")
    return first, last


def check_follow_up(status: str, note: str) -> tuple[str, str]:
    """The status and the note (trimmed) of a follow-up; raise ClinicalInputError for an unknown status or a note
    longer than NOTE_MAX."""
    if status not in FOLLOW_UP_STATUSES:
        raise ClinicalInputError("bad_status", "choose one of the follow-up statuses")
    note = note.strip().replace("\r\n", "\n")
    if len(note) > NOTE_MAX:
        raise ClinicalInputError("long_note", f"a note has at most {NOTE_MAX} characters")
    return status, note


def minutes_between(given_at: str | None, at: str | None) -> int | None:
    """Whole minutes from a dose's time to its reaction's (kiosk times, with their offsets); None when either is
    missing or unreadable."""
    try:
        return int((datetime.fromisoformat(at) - datetime.fromisoformat(given_at)).total_seconds() // 60)
    except (TypeError, ValueError):
        return None


def lot_signal(reactions: int, severe: int) -> bool:
    """Whether a lot's reactions make it a signal to look into."""
    return severe >= LOT_SIGNAL_SEVERE or reactions >= LOT_SIGNAL_ANY


def wastage_rate(given: int, wasted: int) -> float | None:
    """Wasted doses as a share of the doses used (given + wasted), in percent to one decimal; None when none used."""
    used = given + wasted
    return round(100 * wasted / used, 1) if used else None


@dataclass
class LotDay:
    """One lot at one kiosk on one day: how often it was opened and its vials (its wasted doses are the daily report's
    discards: hub/store/clinical.py wasted)."""

    opened: int = 0
    vials: int = 0
    expiry: str | None = None
    cycle_vials: int = 0

    def take(self, kind: str, row: dict[str, Any]) -> None:
        """Count one live lot event (in the kiosk's order): each opening starts a use, whose vials are the highest
        count its events carry."""
        self.expiry = row["expiry"] or self.expiry
        if kind == "opened":
            self.finish()
            self.opened += 1
        elif kind in ("vial", "closed"):
            self.cycle_vials = max(self.cycle_vials, row["vials_opened"] or 0)
            if kind == "closed":
                self.finish()

    def finish(self) -> None:
        self.vials += self.cycle_vials
        self.cycle_vials = 0


def walk_lots(rows: Iterable[dict[str, Any]]) -> dict[Key, LotDay]:
    """{(kiosk, day, product, lot_number): LotDay} from live lot events in each kiosk's order."""
    lots: dict[tuple[str, str, str, str], LotDay] = {}
    for row in rows:
        key = (row["kiosk"], row["day"], row["product"] or "?", row["lot_number"] or "?")
        lots.setdefault(key, LotDay()).take(row["kind"], row)
    for lot in lots.values():
        lot.finish()
    return lots


Key = tuple[str, str, str, str]
"""(kiosk, day, product, lot number)."""


def stock_rows(lots: dict[Key, LotDay], given: dict[Key, int], wasted: dict[Key, int],
               sites: dict[str, str]) -> list[dict[str, Any]]:
    """Per site, day and product (newest day first, then site and product): lots, vials, given, wasted and the
    wastage rate, each lot's figures in ``lots``."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for key in sorted(set(lots) | set(given) | set(wasted)):
        kiosk, day, product, lot_number = key
        use = lots.get(key, LotDay())
        row = rows.setdefault((sites.get(kiosk) or kiosk, day, product), {
            "site": sites.get(kiosk) or kiosk, "day": day, "product": product, "opened": 0, "vials": 0, "given": 0,
            "wasted": 0, "lots": []})
        figures = {"opened": use.opened, "vials": use.vials, "given": given.get(key, 0), "wasted": wasted.get(key, 0)}
        row["lots"].append({"kiosk": kiosk, "lot_number": lot_number, **figures, "expiry": use.expiry})
        for name, value in figures.items():
            row[name] += value
    for row in rows.values():
        row["rate"] = wastage_rate(row["given"], row["wasted"])
    return sorted(rows.values(), key=lambda r: (-date.fromisoformat(r["day"]).toordinal(), r["site"], r["product"]))


def expiry_state(expiry: str | None, day: date) -> str | None:
    """"past" (expired before ``day``: red), "soon" (within EXPIRY_WARNING_DAYS), or None."""
    try:
        until = (date.fromisoformat(expiry or "") - day).days
    except ValueError:
        return None
    return "past" if until < 0 else "soon" if until <= EXPIRY_WARNING_DAYS else None
