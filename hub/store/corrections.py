"""The SQL of the district's corrections: check one against the records, keep it as a hub event, read them back.

Every correction is checked inside the same BEGIN IMMEDIATE transaction that
keeps it and derives its person again (hub/store/commit.py ``derive_people``):
the dose it voids is live, the conflict it settles is this person's and open,
so two staff members settling one conflict at once cannot both succeed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import wire
from vaccines.catalogue import Catalogue

from ..corrections import (
    CONFLICT_RESOLVED, DOSE_ADDED, DOSE_VOIDED, FITTING, HUB_KIOSK, IDENTITY_CORRECTED, IDENTITY_KINDS, POLICE_ANSWERED,
    POLICE_REFERRED, Correction, refuse,
)
from ..merge import PersonEvent

COLUMNS = ("seq", "type", "id_number", "at", "staff_id", "staff_name", "payload")


def keep(conn: sqlite3.Connection, correction: Correction, staff_id: int | None, by: str, at: str,
         catalogue: Catalogue) -> str:
    """Check the correction against the records and keep it; return its event id (``@hub:<seq>``).

    Raise CorrectionError (nothing written) when the records contradict it."""
    payload = checked(conn, correction, catalogue)
    return insert(conn, Correction(correction.type, correction.id_number, payload), staff_id, by, at)


def insert(conn: sqlite3.Connection, correction: Correction, staff_id: int | None, by: str, at: str) -> str:
    """Append the hub event as it is (``keep`` checks it first); return its id."""
    seq = conn.execute(
        "INSERT INTO hub_events (type, id_number, at, staff_id, staff_name, payload) VALUES (?, ?, ?, ?, ?, ?) "
        "RETURNING seq",
        (correction.type, correction.id_number, at, staff_id, by, wire.canonical(correction.payload))).fetchone()[0]
    return event_id(seq)


def event_id(seq: int) -> str:
    return wire.event_id(HUB_KIOSK, seq)


def checked(conn: sqlite3.Connection, correction: Correction, catalogue: Catalogue) -> dict[str, Any]:
    """The payload to keep, once the records agree with it (an identity correction that names no conflict settles the
    person's open identity conflicts)."""
    number, payload, kind = correction.id_number, correction.payload, correction.type
    if not known_person(conn, number):
        raise refuse("unknown_person")
    if kind == DOSE_VOIDED:
        check_void(conn, number, payload)
    elif kind == DOSE_ADDED and payload["dose"]["product"] not in catalogue.products:
        raise refuse("unknown_product")
    elif kind == IDENTITY_CORRECTED:
        return {**payload, "resolves": check_identity_conflicts(conn, number, payload["resolves"])}
    elif kind == CONFLICT_RESOLVED:
        check_fits(open_conflict(conn, number, payload["conflict"])[0], payload["resolution"])
    elif kind == POLICE_REFERRED:
        check_fits(open_conflict(conn, number, payload["conflict"])[0], "police")
    elif kind == POLICE_ANSWERED:
        state = conflict_row(conn, number, payload["conflict"])[1]
        if state != "police":
            raise refuse("not_awaiting_police")
    return payload


def known_person(conn: sqlite3.Connection, number: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM people WHERE id_number = ?) "
                        "OR EXISTS (SELECT 1 FROM roster WHERE id_number = ?)", (number, number)).fetchone()[0] == 1


def check_void(conn: sqlite3.Connection, number: str, payload: dict[str, Any]) -> None:
    row = conn.execute("SELECT voided_by FROM doses WHERE event_id = ? AND id_number = ?",
                       (payload["target"], number)).fetchone()
    if row is None:
        raise refuse("unknown_dose")
    if row[0] is not None:
        raise refuse("dose_already_voided")
    for conflict_id in payload["resolves"]:
        kind, event_ids = open_conflict(conn, number, conflict_id)
        check_fits(kind, "void")
        if payload["target"] not in json.loads(event_ids):
            raise refuse("not_in_conflict")


def check_identity_conflicts(conn: sqlite3.Connection, number: str, named: list[str]) -> list[str]:
    """The identity conflicts a correction settles: those it names (each this person's, open or awaiting the police,
    and about identity), or else every one of the person's that is."""
    if not named:
        return [row[0] for row in conn.execute(
            f"SELECT id FROM conflicts WHERE id_number = ? AND state <> 'resolved' AND kind IN "
            f"({', '.join('?' * len(IDENTITY_KINDS))}) ORDER BY id", (number, *IDENTITY_KINDS))]
    for conflict_id in named:
        kind, state, _ = conflict_row(conn, number, conflict_id)
        if state == "resolved":
            raise refuse("conflict_not_open")
        check_fits(kind, "identity")
    return named


def conflict_row(conn: sqlite3.Connection, number: str, conflict_id: str) -> tuple[str, str, str]:
    row = conn.execute("SELECT kind, state, event_ids FROM conflicts WHERE id = ? AND id_number = ?",
                       (conflict_id, number)).fetchone()
    if row is None:
        raise refuse("unknown_conflict")
    return row


def open_conflict(conn: sqlite3.Connection, number: str, conflict_id: str) -> tuple[str, str]:
    kind, state, event_ids = conflict_row(conn, number, conflict_id)
    if state != "open":
        raise refuse("conflict_not_open")
    return kind, event_ids


def check_fits(kind: str, action: str) -> None:
    if action not in FITTING.get(kind, ()):
        raise refuse("does_not_fit")


def person_events(conn: sqlite3.Connection, keys: str) -> Iterable[tuple[str, PersonEvent]]:
    """(ID number, event) for every hub event of these people (``keys``: a JSON array), as the merge reads them: the
    payload with ``by`` (the staff member) added, as a kiosk's events carry it."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM hub_events "
                        f"WHERE id_number IN (SELECT value FROM json_each(?))", (keys,))
    for seq, kind, number, at, staff_id, name, payload in rows:
        body = {**json.loads(payload), "id_number": number, "by": {"staff_id": staff_id, "name": name}}
        yield number, PersonEvent(HUB_KIOSK, seq, event_id(seq), kind, at, body, at)


def events_of(conn: sqlite3.Connection, number: str) -> list[dict[str, Any]]:
    """One person's hub events in the order made: id, seq, type, at, staff_id, by, payload (a dict)."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM hub_events WHERE id_number = ? ORDER BY seq", (number,))
    return [{"id": event_id(seq), "seq": seq, "type": kind, "at": at, "staff_id": staff_id, "by": name,
             "payload": json.loads(payload)} for seq, kind, _, at, staff_id, name, payload in rows]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many hub events of each type there are (for `hub stats`)."""
    return dict(conn.execute("SELECT type, count(*) FROM hub_events GROUP BY type ORDER BY type"))
