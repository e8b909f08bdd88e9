"""Domain events: each state change appends one to the event log and its message to the outbox, in the same transaction."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

import wire

from .clock import Instant


def record(
    db: sqlite_utils.Database,
    kiosk_id: str,
    event_type: str,
    at: Instant,
    payload: dict[str, Any],
    *,
    ticket_id: int | None = None,
    staff_id: int | None = None,
) -> dict[str, Any]:
    """Append an event and its outbox row; return the event row. Call inside ``store.write()``.

    The sequence number is the highest so far plus one, taken inside the write
    transaction, so the kiosk's sequence has no gaps and no repeats.
    """
    seq = db.execute("select coalesce(max(seq), 0) + 1 from events").fetchone()[0]
    event_id = wire.event_id(kiosk_id, seq)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    row = {
        "seq": seq, "event_id": event_id, "type": event_type, "at": at.wall.isoformat(), "clock_synced": int(at.synced),
        "boot_id": at.boot_id, "mono": at.mono, "ticket_id": ticket_id, "staff_id": staff_id, "payload": body,
    }
    db["events"].insert(row)
    db["outbox"].insert(
        {
            "seq": seq, "event_id": event_id, "type": event_type, "created_at": row["at"],
            "body": wire.envelope(kiosk_id, seq, event_type, boot=at.boot_id, at=row["at"], clock_synced=at.synced, payload=payload),
        }
    )
    return row


def backlog(db: sqlite_utils.Database) -> dict[str, int]:
    """Return how many outbox rows are not yet published and not yet acknowledged by the hub.

    Cheap at any outbox size: every row up to the hub's watermark is published
    and acknowledged, so only the rows above it are counted (a range of the
    primary key).
    """
    watermark = db.execute("select coalesce(max(watermark), 0) from uplink").fetchone()[0]
    unpublished, unacked = db.execute(
        "select count(*) filter (where published_at is null), count(*) filter (where acked_at is null) from outbox where seq > ?",
        [watermark],
    ).fetchone()
    return {"unpublished": unpublished, "unacknowledged": unacked}
