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
    "doses": "SELECT event_id, id_number, kiosk, product, lot_number, dose_number, booster, given_at, given_on, vaccinator, "
             "voided_by, place FROM doses ORDER BY event_id",
    "conflicts": "SELECT id, kind, id_number, event_ids, detail, state, resolved_by, referred_by FROM conflicts ORDER BY id",
    "voids": "SELECT * FROM voids ORDER BY target_id, void_id",
    "kiosks": "SELECT kiosk, watermark, highest, hex(chain), refused, disputed FROM kiosks ORDER BY kiosk",
}
"""The merged state, without what depends on delivery (received_at, a dose's merged_at, duplicate counts, a conflict's
opened_at)."""


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


# The clinical events (adverse reactions, deferrals, refusals, lots), as kiosk/queue/aefi.py, actions.py and dosing.py
# write them, on any day (``day``: the ticket's and the kiosk clock's date; ``time``: the kiosk's clock, Vietnam time).


def on_ticket(seq: int, id_number: str, day: str) -> dict[str, Any]:
    return {"ticket": {"day": day, "number": seq}, "id_number": id_number}


def kiosk_time(day: str, time: str) -> str:
    return f"{day}T{time}+07:00"


def lot_dose(kiosk: str, seq: int, id_number: str, *, day: str, lot: str = "FK1234", product: str = "comirnaty_30",
             time: str = "09:30:00", number: int = 1) -> wire.Event:
    """A DoseRecorded from a given lot, given on ``day`` at ``time``."""
    given = {"product": product, "lot_number": lot, "expiry": "2099-01-31", "number": number, "booster": 0,
             "given_at": kiosk_time(day, time)}
    return event(kiosk, seq, wire.DOSE_EVENT, {**on_ticket(seq, id_number, day), "dose": given, "by": STAFF},
                 at=kiosk_time(day, time))


def aefi(kiosk: str, seq: int, dose_seq: int | None, id_number: str, *, day: str, severity: str = "mild",
         symptoms: str = "sốt nhẹ", time: str = "10:00:00") -> wire.Event:
    """An AefiRecorded after the kiosk's dose event dose_seq (None: a reaction whose dose the kiosk did not find)."""
    reaction = {"severity": severity, "symptoms": symptoms,
                "dose_event": wire.event_id(kiosk, dose_seq) if dose_seq else None}
    return event(kiosk, seq, "AefiRecorded", {**on_ticket(seq, id_number, day), "aefi": reaction, "by": STAFF},
                 at=kiosk_time(day, time))


def aefi_ack(kiosk: str, seq: int, aefi_seq: int, id_number: str, *, day: str, time: str = "10:02:00") -> wire.Event:
    """An AefiAcknowledged: the supervisor silenced the alarm of the kiosk's AefiRecorded aefi_seq."""
    payload = {**on_ticket(seq, id_number, day), "aefi_event": wire.event_id(kiosk, aefi_seq), "by": STAFF}
    return event(kiosk, seq, "AefiAcknowledged", payload, at=kiosk_time(day, time))


def deferred(kiosk: str, seq: int, id_number: str, *, day: str, return_on: str, reason: str = "sốt 38,5 độ") -> wire.Event:
    """A PersonDeferred: come back on return_on."""
    payload = {**on_ticket(seq, id_number, day), "reason": reason, "return_on": return_on, "by": STAFF}
    return event(kiosk, seq, "PersonDeferred", payload, at=kiosk_time(day, "08:30:00"))


def refused(kiosk: str, seq: int, id_number: str, *, day: str, reason_code: str | None = None,
            reason: str = "không muốn tiêm") -> wire.Event:
    """A VaccinationRefused with a reason_code (declined, contraindicated, referred; None: none, counted as declined)."""
    payload = {**on_ticket(seq, id_number, day), "reason": reason, "by": STAFF}
    if reason_code:
        payload["reason_code"] = reason_code
    return event(kiosk, seq, "VaccinationRefused", payload, at=kiosk_time(day, "08:40:00"))


def lot_event(kind: str, kiosk: str, seq: int, *, day: str, lot: str = "FK1234", product: str = "comirnaty_30",
              expiry: str = "2099-01-31", time: str = "07:30:00", **counts: Any) -> wire.Event:
    """A LotOpened, VialOpened (vials_opened=), DosesWasted (doses=, reason=) or LotClosed (vials_opened=, given=,
    wasted=) of the lot, as kiosk/queue/dosing.py writes them."""
    payload = {"lot": {"product": product, "lot_number": lot, "expiry": expiry, "doses_per_vial": 6}, "by": STAFF,
               **counts}
    return event(kiosk, seq, kind, payload, at=kiosk_time(day, time))


def void_event(kiosk: str, seq: int, target_seq: int, voided_type: str, *, day: str,
               id_number: str = LAN_ID) -> wire.Event:
    """An EventVoided of any of the kiosk's events."""
    payload = {**on_ticket(seq, id_number, day), "voids": wire.event_id(kiosk, target_seq), "voided_type": voided_type,
               "reason": "nhập nhầm", "by": STAFF}
    return event(kiosk, seq, wire.VOID_EVENT, payload, at=kiosk_time(day, "11:00:00"))


def run_hub(capsys, *argv: str) -> tuple[int, str, str]:
    """`hub ARGV` in this process: its exit status, standard output and standard error."""
    from hub import cli

    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
