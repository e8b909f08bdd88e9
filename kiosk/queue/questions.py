"""Identity questions: a scanned card whose ID number is stored here with other details waits for a supervisor.

The citizen at the kiosk is only asked to see the supervisor; the board shows
the question with both versions; the supervisor confirms the same person with
corrected details (a reason, and the check-in with IdentityCorrected in one
transaction) or dismisses it (re-typed by hand, or the person left). Asking
writes no event: nothing happened to anyone's record yet.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import sqlite_utils

from wire import identity as rule

from ..payloads import CccdCard
from ..payloads.cccd import id_number_warnings
from .checkin import Ticket, admit, note_scan
from .errors import ActionRefused, masked, tail
from .identity import card_identity, check_reason, stored_identity
from .site import Actor, Site

REASON = "identity_mismatch"
"""The scan feed's reason code for a held scan, and the API's error code for a typed one."""


def ask_about_identity(site: Site, card: CccdCard, source: str) -> dict[str, Any]:
    """Hold a scan whose identity differs from the stored person's; return the open question.

    The same card scanned again the same day counts on the open question
    rather than asking twice. The scan feed counts it as refused. Raises StoreError.
    """
    now = site.clock.now()
    at = now.wall.isoformat()
    with site.store.write() as db:
        row = open_question_for(db, now.wall.date().isoformat(), card)
        if row is None:
            row = {"day": now.wall.date().isoformat(), "asked_at": at, "last_scan_at": at, "scans": 1, "source": source,
                   **card_columns(card)}
            row["id"] = db["identity_questions"].insert(row).last_pk
        else:
            row |= {"scans": row["scans"] + 1, "last_scan_at": at}
            db["identity_questions"].update(row["id"], {"scans": row["scans"], "last_scan_at": at})
        note_scan(db, now, reason=REASON)
        return row


def card_columns(card: CccdCard) -> dict[str, Any]:
    return {
        "id_number": card.id_number, **card_identity(card), "address": card.address,
        "issue_date": card.issue_date.isoformat() if card.issue_date else None,
        "extra": json.dumps(list(card.extra), ensure_ascii=False),
    }


def open_question_for(db: sqlite_utils.Database, day: str, card: CccdCard) -> dict[str, Any] | None:
    """The day's unresolved question about exactly this card, or None."""
    where = "day = ? and resolution is null and id_number = ? and full_name = ? and birth_date = ? and sex = ? and old_id = ?"
    identity = card_identity(card)
    rows = list(db["identity_questions"].rows_where(where, [day, card.id_number, *identity.values()], limit=1))
    return rows[0] if rows else None


def open_questions(site: Site) -> list[dict[str, Any]]:
    """Today's unresolved identity questions, oldest first, as a staff screen shows them (ID numbers masked)."""
    db = site.store.db
    day = site.clock.now().wall.date().isoformat()
    rows = db["identity_questions"].rows_where("day = ? and resolution is null", [day], order_by="id")
    return [question_view(db, row) for row in rows]


def find_question(site: Site, question_id: int) -> dict[str, Any] | None:
    """One question (of any day, open or settled) as a staff screen shows it, or None when there is none."""
    db = site.store.db
    rows = list(db["identity_questions"].rows_where("id = ?", [question_id]))
    return question_view(db, rows[0]) if rows else None


def question_view(db: sqlite_utils.Database, row: dict[str, Any]) -> dict[str, Any]:
    """One question: both versions, the fields that differ now (the stored person may have changed since)."""
    stored = stored_identity(db, row["id_number"])
    new = rule.identity(row)
    return {
        "id": row["id"], "asked_at": row["asked_at"][11:16], "scans": row["scans"], "source": row["source"],
        "id_tail": tail(row["id_number"]), "fields": rule.differences(stored, new) if stored else [],
        "stored": masked(stored) if stored else None, "new": masked(new), "resolution": row["resolution"],
    }


def question_values(site: Site, question_id: int) -> dict[str, str]:
    """The card a question holds as the manual check-in form's fields, for re-typing it by hand ({} for none)."""
    rows = list(site.store.db["identity_questions"].rows_where("id = ?", [question_id]))
    return {key: rows[0][key] or "" for key in ("id_number", *rule.FIELDS)} if rows else {}


def confirm_identity(site: Site, question_id: int, by: Actor, *, reason: str) -> Ticket:
    """The same person with corrected details: check the card in with IdentityCorrected, and close the question.

    All in one transaction. Raises ActionRefused (bad_reason, unknown_question, question_closed) and StoreError.
    """
    reason = check_reason(reason or "")
    now = site.clock.now()
    with site.store.write() as db:
        row = open_question(db, question_id)
        ticket = admit(site, db, now, card_of(row), source=row["source"], by=by, correction=reason)
        close(db, question_id, "corrected", by, now.wall.isoformat(), ticket_id=ticket.id)
        return ticket


def dismiss_identity(site: Site, question_id: int, by: Actor) -> dict[str, Any]:
    """Close a question without checking anyone in (to be re-typed by hand, or the person left); return the question.

    Raises ActionRefused (unknown_question, question_closed) and StoreError.
    """
    now = site.clock.now()
    with site.store.write() as db:
        row = open_question(db, question_id)
        close(db, question_id, "dismissed", by, now.wall.isoformat())
        return {**row, "resolution": "dismissed"}


def open_question(db: sqlite_utils.Database, question_id: int) -> dict[str, Any]:
    rows = list(db["identity_questions"].rows_where("id = ?", [question_id]))
    if not rows:
        raise ActionRefused("unknown_question", f"there is no identity question with id {question_id}")
    if rows[0]["resolution"] is not None:
        raise ActionRefused("question_closed", f"identity question {question_id} was already {rows[0]['resolution']}")
    return rows[0]


def close(db: sqlite_utils.Database, question_id: int, resolution: str, by: Actor, at: str, ticket_id: int | None = None):
    update = {"resolution": resolution, "resolved_by": by.id, "resolved_at": at, "ticket_id": ticket_id}
    db["identity_questions"].update(question_id, update)


def card_of(row: dict[str, Any]) -> CccdCard:
    """The card a question holds, as it was scanned (its ID-number warnings worked out again)."""
    card = CccdCard(
        id_number=row["id_number"], old_id=row["old_id"], full_name=row["full_name"],
        birth_date=datetime.date.fromisoformat(row["birth_date"]), sex=row["sex"], address=row["address"] or "",
        issue_date=datetime.date.fromisoformat(row["issue_date"]) if row["issue_date"] else None,
        extra=tuple(json.loads(row["extra"] or "[]")),
    )
    return dataclasses.replace(card, warnings=id_number_warnings(card))
