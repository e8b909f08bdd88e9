"""Events as kiosks publish them (built with wire.envelope, signed with the kiosk's test key, read back with
wire.parse_event) and hub database snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import wire
from wire import identity

from .keys import signer

DAY = "2024-05-01"
STAFF = {"staff_id": 7, "name": "Y tá Hoa"}
LAN = {"full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "123456789"}
LAN_ID = "001190012345"
HUNG_ID = "036058001234"


def event(kiosk: str, seq: int, event_type: str, payload: dict[str, Any], *, at: str | None = None,
          boot: str = "boot-1") -> wire.Event:
    """A validated event, exactly as the hub's ingest hands it to the store (signed with the kiosk's test key)."""
    body = wire.envelope(kiosk, seq, event_type, boot=boot, at=at or f"{DAY}T08:00:00+07:00", clock_synced=True,
                         payload=payload)
    return wire.parse_event(wire.topic(kiosk, wire.EVENT), signer(kiosk).sign(body))


def ticket(seq: int, id_number: str) -> dict[str, Any]:
    return {"ticket": {"day": DAY, "number": seq}, "id_number": id_number}


def check_in(kiosk: str, seq: int, id_number: str = LAN_ID, **person: str) -> wire.Event:
    """A PersonCheckedIn; person fields override Lan's card."""
    payload = {**ticket(seq, id_number), "person": {**LAN, **person}, "source": "cccd", "by": STAFF}
    return event(kiosk, seq, wire.CHECK_IN_EVENT, payload)


def dose(kiosk: str, seq: int, id_number: str = LAN_ID, *, number: int = 1, on: str = DAY,
         product: str = "comirnaty_30", booster: int | None = 0) -> wire.Event:
    """A DoseRecorded given on the day ``on``."""
    given = {"product": product, "lot_number": "FK1234", "expiry": "2025-01-31", "number": number, "booster": booster,
             "given_at": f"{on}T09:30:00+07:00"}
    return event(kiosk, seq, wire.DOSE_EVENT, {**ticket(seq, id_number), "dose": given, "by": STAFF})


def void(kiosk: str, seq: int, target_seq: int, id_number: str = LAN_ID) -> wire.Event:
    """An EventVoided of the kiosk's event target_seq, as kiosk/queue/corrections.py writes it."""
    payload = {**ticket(seq, id_number), "voids": wire.event_id(kiosk, target_seq), "voided_type": wire.DOSE_EVENT,
               "reason": "wrong person", "by": STAFF}
    return event(kiosk, seq, wire.VOID_EVENT, payload)


def called(kiosk: str, seq: int, id_number: str = LAN_ID) -> wire.Event:
    return event(kiosk, seq, "PersonCalled", {**ticket(seq, id_number), "by": STAFF})


SNAPSHOT = {
    "events": "SELECT event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body FROM events ORDER BY event_id",
    "people": "SELECT * FROM people ORDER BY id_number",
    "doses": "SELECT * FROM doses ORDER BY event_id",
    "conflicts": "SELECT id, kind, id_number, event_ids, detail, state, resolved_by, referred_by FROM conflicts ORDER BY id",
    "voids": "SELECT * FROM voids ORDER BY target_id, void_id",
    "kiosks": "SELECT kiosk, watermark, highest, hex(chain), refused, disputed FROM kiosks ORDER BY kiosk",
}
"""The merged state, without what depends on delivery (received_at, duplicate counts, a conflict's opened_at)."""


def snapshot(path: str | Path) -> dict[str, list[tuple]]:
    """Read the merged state through a separate connection, as the fault harness does."""
    conn = sqlite3.connect(str(path))
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in SNAPSHOT.items()}
    finally:
        conn.close()


def corrected(kiosk: str, seq: int, id_number: str = LAN_ID, *, stored: dict | None = None,
              reason: str = "đổi tên theo giấy khai sinh", **person: str) -> wire.Event:
    """An IdentityCorrected: a supervisor confirmed the same person with other details (person fields override Lan's)."""
    stored = stored or LAN
    fields = identity.differences(stored, {**LAN, **person}) or ["full_name"]  # the schema wants one at least
    payload = {**ticket(seq, id_number), "stored": stored, "corrected": {**LAN, **person}, "fields": fields,
               "reason": reason, "source": "manual", "by": STAFF}
    return event(kiosk, seq, wire.IDENTITY_EVENT, payload)
