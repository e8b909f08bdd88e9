"""Check-in: the use case that gives a person their ticket for the day."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from ..payloads import CccdCard
from .clock import Instant
from .identity import check_reason, correct_identity, settle_identity
from .site import Actor, Site

SOURCES = ("camera", "manual", "handheld")
"""How the person's details arrived: the kiosk camera, typed by staff, or a USB handheld scanner."""


@dataclass(frozen=True)
class Ticket:
    """A person's place in today's queue. ``new`` is False when they had checked in already."""

    id: int
    number: int
    given_name: str
    state: str
    new: bool
    warnings: tuple[str, ...]
    due_dose: int
    """The dose number due next from this kiosk's records: 1 for someone never vaccinated here."""


def check_in(site: Site, card: CccdCard, *, source: str, by: Actor | None = None, correction: str | None = None) -> Ticket:
    """Give the card's holder today's ticket: a new one, or the one they already hold.

    The person, the ticket, the scan record and the PersonCheckedIn event are
    written in one transaction. An ID number stored here (any day) with another
    identity (wire.identity's rule) raises IdentityMismatch and writes nothing,
    unless ``correction`` is a supervisor's reason: then the card's details
    replace the stored ones and IdentityCorrected records both versions and the
    reason, in the same transaction. Raises StoreError when the write fails
    (nothing is saved), ActionRefused(bad_reason) for an empty or too long
    reason and ValueError for an unknown source.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown check-in source {source!r}")
    correction = check_reason(correction)
    now = site.clock.now()
    with site.store.write() as db:
        return admit(site, db, now, card, source=source, by=by, correction=correction)


def admit(site: Site, db: sqlite_utils.Database, now: Instant, card: CccdCard, *, source: str, by: Actor | None,
          correction: str | None) -> Ticket:
    """check_in inside the caller's write transaction (an identity question's confirmation shares it)."""
    day = now.wall.date().isoformat()
    pending = settle_identity(db, card, correction)
    existing = find_ticket(db, day, card.id_number)
    if existing is not None:
        db["tickets"].update(existing["id"], {"scans": existing["scans"] + 1, "last_scan_at": now.wall.isoformat()})
        note_scan(db, now, ticket_id=existing["id"], returning=True)
        if pending:
            correct_identity(site, db, now, card, pending, ticket=existing, source=source, by=by)
        return to_ticket(db, existing, card, new=False)
    save_person(db, card, now)
    row = {
        "day": day, "number": next_number(db, day), "id_number": card.id_number, "state": "waiting",
        "source": source, "checked_in_at": now.wall.isoformat(), "scans": 1, "last_scan_at": now.wall.isoformat(),
        "warnings": json.dumps([w.code for w in card.warnings]), "updated_at": now.wall.isoformat(),
    }
    row["id"] = db["tickets"].insert(row).last_pk
    if source != "manual":
        note_scan(db, now, ticket_id=row["id"], returning=False)
    if pending:
        correct_identity(site, db, now, card, pending, ticket=row, source=source, by=by)
    site.emit(db, "PersonCheckedIn", now, checked_in_payload(card, source), ticket=row, by=by)
    return to_ticket(db, row, card, new=True)


def checked_in_payload(card: CccdCard, source: str) -> dict:
    """What the hub needs to match the person: identity as the card encodes it, not the address."""
    person = {
        "old_id": card.old_id, "full_name": card.full_name, "birth_date": card.birth_date.isoformat(), "sex": card.sex,
    }
    return {"person": person, "source": source, "warnings": [w.code for w in card.warnings]}


def note_scan(db: sqlite_utils.Database, at: Instant, *, ticket_id: int | None = None, returning: bool = False,
              reason: str | None = None) -> None:
    """Add a row to the scan feed (no personal data: outcome, reason code, ticket id)."""
    db["scans"].insert(
        {"at": at.wall.isoformat(), "accepted": int(reason is None), "reason": reason, "ticket_id": ticket_id,
         "returning": int(returning)}
    )


def note_rejected_scan(site: Site, reason: str) -> None:
    """Record a rejected scan for the day's figures; raises StoreError when it cannot be saved."""
    with site.store.write() as db:
        note_scan(db, site.clock.now(), reason=reason)


def find_ticket(db, day: str, id_number: str) -> dict | None:
    rows = list(db["tickets"].rows_where("day = ? and id_number = ?", [day, id_number]))
    return rows[0] if rows else None


def next_number(db, day: str) -> int:
    return db.execute("select coalesce(max(number), 0) + 1 from tickets where day = ?", [day]).fetchone()[0]


def save_person(db, card: CccdCard, at: Instant) -> None:
    """Insert the person as the card encodes them; an existing record is left untouched."""
    db["people"].insert(
        {
            "id_number": card.id_number, "old_id": card.old_id, "full_name": card.full_name,
            "birth_date": card.birth_date.isoformat(), "sex": card.sex, "address": card.address,
            "issue_date": card.issue_date.isoformat() if card.issue_date else None,
            "extra": json.dumps(list(card.extra), ensure_ascii=False), "first_seen": at.wall.isoformat(),
        },
        ignore=True,
    )


def doses_recorded(db, id_number: str) -> int:
    return db.execute("select count(*) from doses where id_number = ? and voided_seq is null", [id_number]).fetchone()[0]


def to_ticket(db, row: dict, card: CccdCard, *, new: bool) -> Ticket:
    warnings = tuple(w.code for w in card.warnings)
    return Ticket(row["id"], row["number"], card.given_name, row["state"], new, warnings, doses_recorded(db, card.id_number) + 1)
