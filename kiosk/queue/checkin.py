"""Check-in: the use case that gives a person their ticket for the day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ..payloads import CccdCard
from .store import Store

SOURCES = ("camera", "manual")


@dataclass(frozen=True)
class Ticket:
    """A person's place in today's queue. ``new`` is False when they had checked in already."""

    number: int
    given_name: str
    state: str
    new: bool
    warnings: tuple[str, ...]


def check_in(store: Store, card: CccdCard, *, source: str, now: datetime) -> Ticket:
    """Give the card's holder today's ticket: a new one, or the one they already hold.

    The person and the ticket are written in one transaction. Raises StoreError when the
    write fails (nothing is saved) and ValueError for an unknown source.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown check-in source {source!r}")
    day = now.date().isoformat()
    with store.write() as db:
        existing = find_ticket(db, day, card.id_number)
        if existing is not None:
            db["tickets"].update(existing["id"], {"scans": existing["scans"] + 1, "last_scan_at": now.isoformat()})
            return to_ticket(existing, card, new=False)
        save_person(db, card, now)
        row = {
            "day": day, "number": next_number(db, day), "id_number": card.id_number, "state": "waiting",
            "source": source, "checked_in_at": now.isoformat(), "scans": 1, "last_scan_at": now.isoformat(),
            "warnings": json.dumps([w.code for w in card.warnings]),
        }
        db["tickets"].insert(row)
        return to_ticket(row, card, new=True)


def find_ticket(db, day: str, id_number: str) -> dict | None:
    rows = list(db["tickets"].rows_where("day = ? and id_number = ?", [day, id_number]))
    return rows[0] if rows else None


def next_number(db, day: str) -> int:
    return db.execute("select coalesce(max(number), 0) + 1 from tickets where day = ?", [day]).fetchone()[0]


def save_person(db, card: CccdCard, now: datetime) -> None:
    """Insert the person as the card encodes them; an existing record is left untouched."""
    db["people"].insert(
        {
            "id_number": card.id_number, "old_id": card.old_id, "full_name": card.full_name,
            "birth_date": card.birth_date.isoformat(), "sex": card.sex, "address": card.address,
            "issue_date": card.issue_date.isoformat(), "extra": json.dumps(list(card.extra), ensure_ascii=False),
            "first_seen": now.isoformat(),
        },
        ignore=True,
    )


def to_ticket(row: dict, card: CccdCard, *, new: bool) -> Ticket:
    return Ticket(row["number"], card.given_name, row["state"], new, tuple(w.code for w in card.warnings))
