"""Identity checks: an ID number already known here, presented with other details, is never silently attached.

The rule (which fields, compared how) is wire.identity's, shared with the
hub. A difference is either a typing mistake (the ID or the details) or the
same person with corrected details; only a supervisor decides the second, with
a reason, and that decision is the IdentityCorrected event the hub turns into
a conflict for the district's data staff.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

import wire
from wire import identity as rule

from ..payloads import CccdCard
from .clock import Instant
from .errors import ActionRefused, IdentityMismatch
from .site import Actor, Site
from .states import REASON_MAX_CHARS


def card_identity(card: CccdCard) -> dict[str, str]:
    """The identity fields of a card, as wire.identity compares them and IdentityCorrected carries them."""
    return {"full_name": card.full_name, "birth_date": card.birth_date.isoformat(), "sex": card.sex, "old_id": card.old_id}


def stored_identity(db: sqlite_utils.Database, id_number: str) -> dict[str, str] | None:
    """The identity this kiosk holds for an ID number (from any day), or None when it never saw it."""
    rows = list(db["people"].rows_where("id_number = ?", [id_number]))
    return rule.identity(rows[0]) if rows else None


def check_reason(reason: str | None) -> str | None:
    """Return the correction's reason stripped, None when none was given; raise ActionRefused(bad_reason)."""
    if reason is None:
        return None
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        raise ActionRefused("bad_reason", f"give the reason for the correction in 1 to {REASON_MAX_CHARS} characters")
    return reason


def settle_identity(db: sqlite_utils.Database, card: CccdCard, correction: str | None) -> dict[str, Any] | None:
    """Compare the card with the stored person. Return None when they agree (or the person is new), else the pending
    correction (stored, corrected, fields, reason) when a reason was given; raise IdentityMismatch without one."""
    stored = stored_identity(db, card.id_number)
    new = card_identity(card)
    fields = rule.differences(stored, new) if stored else []
    if not fields:
        return None
    if correction is None:
        raise IdentityMismatch(card.id_number, stored, new, fields)
    return {"stored": stored, "corrected": new, "fields": fields, "reason": correction}


def correct_identity(site: Site, db: sqlite_utils.Database, at: Instant, card: CccdCard, correction: dict[str, Any], *,
                     ticket: dict[str, Any], source: str, by: Actor | None) -> dict[str, Any]:
    """Store the card's details as the person's and write IdentityCorrected (inside the caller's transaction)."""
    update = card_identity(card)
    if card.issue_date is not None:  # a scanned card: what it encodes replaces what was stored
        update |= {"address": card.address, "issue_date": card.issue_date.isoformat(),
                   "extra": json.dumps(list(card.extra), ensure_ascii=False)}
    elif not card.old_id:
        del update["old_id"]  # typed without the old ID: keep the one stored
    db["people"].update(card.id_number, update)
    return site.emit(db, wire.IDENTITY_EVENT, at, {**correction, "source": source}, ticket=ticket, by=by)
