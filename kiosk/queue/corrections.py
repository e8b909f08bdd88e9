"""Corrections: a record made by mistake is voided by a new event that names it; nothing is edited or deleted."""

from __future__ import annotations

from typing import Any

import wire

from .errors import ActionRefused
from .site import Actor, Site, load_ticket
from .states import REASON_MAX_CHARS


def void_dose(site: Site, ticket_id: int, by: Actor, *, reason: str) -> dict[str, Any]:
    """Void the dose recorded on a ticket (wrong person, wrong lot typed in); return the dose row.

    Writes `EventVoided` naming the `DoseRecorded` event. The dose stays in the
    table, marked voided, and no longer counts in the person's history, so a
    corrected dose can be recorded on a new ticket. The vial's use is not
    given back: the dose left the vial whoever received it. Raises
    ActionRefused (`bad_reason`, `no_dose`, `already_voided`).
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        raise ActionRefused("bad_reason", f"give the reason for the correction in 1 to {REASON_MAX_CHARS} characters",
                            max=REASON_MAX_CHARS)
    now = site.clock.now()
    with site.store.write() as db:
        ticket = load_ticket(db, ticket_id)
        rows = list(db["doses"].rows_where("ticket_id = ?", [ticket_id]))
        if not rows:
            raise ActionRefused("no_dose", f"ticket {ticket['number']} has no recorded dose to void")
        dose = rows[0]
        if dose["voided_seq"] is not None:
            raise ActionRefused("already_voided", f"the dose on ticket {ticket['number']} is already voided")
        payload = {"voids": wire.event_id(site.kiosk_id, dose["event_seq"]), "voided_type": wire.DOSE_EVENT, "reason": reason}
        event = site.emit(db, wire.VOID_EVENT, now, payload, ticket=ticket, by=by)
        update = {"voided_seq": event["seq"], "void_reason": reason}
        db["doses"].update(dose["id"], update)
        return {**dose, **update}
