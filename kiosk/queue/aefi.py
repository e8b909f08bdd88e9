"""Adverse events following immunisation (AEFI): recorded against the person, a severe one raises the alarm."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .errors import ActionRefused
from .site import Actor, Site, load_ticket, row_or_refuse
from .states import REASON_MAX_CHARS

SEVERITIES = ("mild", "moderate", "severe")
"""Severe: anaphylaxis, collapse, seizures, anything needing emergency care; it sounds the alarm."""

AFTER_INJECTION = ("injected", "observing", "released", "left_early")


def record_aefi(site: Site, ticket_id: int, by: Actor, *, severity: str, symptoms: str) -> dict[str, Any]:
    """Record an adverse reaction of a vaccinated person (during or after observation); return the AEFI row."""
    symptoms = (symptoms or "").strip()
    if severity not in SEVERITIES:
        raise ActionRefused("bad_severity", f"severity must be one of: {', '.join(SEVERITIES)}")
    if not symptoms or len(symptoms) > REASON_MAX_CHARS:
        raise ActionRefused("bad_symptoms", f"describe the symptoms in 1 to {REASON_MAX_CHARS} characters",
                            max=REASON_MAX_CHARS)
    now = site.clock.now()
    with site.store.write() as db:
        ticket = load_ticket(db, ticket_id)
        if ticket["state"] not in AFTER_INJECTION:
            raise ActionRefused("not_vaccinated", f"ticket {ticket['number']} has no recorded dose: an AEFI follows an injection")
        row = {
            "ticket_id": ticket_id, "id_number": ticket["id_number"], "severity": severity, "symptoms": symptoms,
            "recorded_by": by.id, "recorded_at": now.wall.isoformat(),
        }
        row["id"] = db["aefi"].insert(row).last_pk
        payload = {"aefi": {"severity": severity, "symptoms": symptoms, "dose_event": dose_event_id(db, site, ticket_id)}}
        event = site.emit(db, "AefiRecorded", now, payload, ticket=ticket, by=by)
        db["aefi"].update(row["id"], {"event_seq": event["seq"]})
        return {**row, "event_seq": event["seq"]}


def dose_event_id(db: sqlite_utils.Database, site: Site, ticket_id: int) -> str | None:
    row = db.execute("select event_seq from doses where ticket_id = ?", [ticket_id]).fetchone()
    return f"{site.kiosk_id}:{row[0]}" if row and row[0] else None


def acknowledge_aefi(site: Site, aefi_id: int, by: Actor) -> dict[str, Any]:
    """Silence a severe AEFI's alarm: someone is with the person. Return the AEFI row."""
    now = site.clock.now()
    with site.store.write() as db:
        row = row_or_refuse(db, "aefi", aefi_id, "unknown_aefi", "adverse event")
        if row["acknowledged_at"] is not None:
            raise ActionRefused("already_acknowledged", "this alarm was already acknowledged")
        update = {"acknowledged_by": by.id, "acknowledged_at": now.wall.isoformat()}
        db["aefi"].update(aefi_id, update)
        ticket = load_ticket(db, row["ticket_id"])
        site.emit(db, "AefiAcknowledged", now, {"aefi_event": f"{site.kiosk_id}:{row['event_seq']}"}, ticket=ticket, by=by)
        return {**row, **update}


def open_alarms(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Return the severe AEFIs nobody has acknowledged yet, oldest first."""
    return list(db["aefi"].rows_where("severity = 'severe' and acknowledged_at is null", order_by="id"))
