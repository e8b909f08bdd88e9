"""What the reports count besides doses, kept as each event is merged: the outcome of each visit (checked in,
deferred, refused and why, an adverse reaction and its acknowledgement) and the lots' events (opened, vials,
wasted, closed), with the void that struck each, if any.

These rows are written once per event from its own payload (no other event changes them), and a void marks its
target whichever arrives first, so, like the rest of the merge, they are a function of the set of events. A kiosk's
``EventVoided`` names one of its own events; the earliest void (by seq) is the one kept.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable

import wire

IN_LIST = "IN (SELECT value FROM json_each(?))"

REFUSAL_KINDS = {"declined": "refused", "contraindicated": "contraindicated", "referred": "referred"}
"""A VaccinationRefused's reason_code and the outcome it counts as; without a code, refused (the person declined)."""

OUTCOME_TYPES = {
    "PersonCheckedIn": "checked_in", "PersonDeferred": "deferred", "VaccinationRefused": "refused",
    "AefiRecorded": "aefi", "AefiAcknowledged": "aefi_ack",
}
LOT_TYPES = {"LotOpened": "opened", "VialOpened": "vial", "DosesWasted": "wasted", "LotClosed": "closed"}


def outcome_row(event_id: str, kiosk: str, kind: str, at: str, payload: dict[str, Any], merged_at: str) -> dict[str, Any]:
    """The outcomes row of one event of OUTCOME_TYPES."""
    outcome = OUTCOME_TYPES[kind]
    if kind == "VaccinationRefused":
        outcome = REFUSAL_KINDS.get(payload.get("reason_code"), "refused")
    aefi = payload.get("aefi") or {}
    ref = aefi.get("dose_event") if kind == "AefiRecorded" else payload.get("aefi_event")
    return {
        "event_id": event_id, "id_number": payload.get("id_number"), "kiosk": kiosk, "kind": outcome,
        "day": (payload.get("ticket") or {}).get("day") or at[:10], "at": at, "reason": payload.get("reason"),
        "return_on": payload.get("return_on"), "severity": aefi.get("severity"), "symptoms": aefi.get("symptoms"),
        "ref": ref if isinstance(ref, str) else None, "merged_at": merged_at,
    }


def lot_row(event_id: str, kiosk: str, kind: str, at: str, payload: dict[str, Any], merged_at: str) -> dict[str, Any]:
    """The lot_events row of one event of LOT_TYPES."""
    lot = payload.get("lot") or {}
    return {
        "event_id": event_id, "kiosk": kiosk, "kind": LOT_TYPES[kind], "day": at[:10], "at": at,
        "product": lot.get("product"), "lot_number": lot.get("lot_number"), "expiry": lot.get("expiry"),
        "doses_per_vial": lot.get("doses_per_vial"), "vials_opened": payload.get("vials_opened"),
        "doses": payload.get("doses"), "given": payload.get("given"), "wasted": payload.get("wasted"),
        "reason": payload.get("reason"), "merged_at": merged_at,
    }


OUTCOME_COLUMNS = ("event_id", "id_number", "kiosk", "kind", "day", "at", "reason", "return_on", "severity",
                   "symptoms", "ref", "merged_at")
LOT_COLUMNS = ("event_id", "kiosk", "kind", "day", "at", "product", "lot_number", "expiry", "doses_per_vial",
               "vials_opened", "doses", "given", "wasted", "reason", "merged_at")


def keep(conn: sqlite3.Connection, fresh: list[tuple[str, str, str, str, dict[str, Any], str]], *,
         insert: Callable[[Any, str, tuple[str, ...], list[dict[str, Any]]], None] | None = None) -> None:
    """Write the outcome and lot rows of newly merged events, each (event id, kiosk, type, at, payload, the hub time
    it was merged), and mark the rows their voids strike (new voids of old rows, and old voids of new rows).
    ``insert`` writes a table's new rows (default: this module's; PostgreSQL's writes them in one statement)."""
    insert = insert or insert_rows
    outcomes = [outcome_row(*event) for event in fresh if event[2] in OUTCOME_TYPES]
    lots = [lot_row(*event) for event in fresh if event[2] in LOT_TYPES]
    insert(conn, "outcomes", OUTCOME_COLUMNS, outcomes)
    insert(conn, "lot_events", LOT_COLUMNS, lots)
    struck = [e[4]["voids"] for e in fresh if e[2] == wire.VOID_EVENT]
    if outcomes or lots:  # a void that arrived before its target (rare): only those rows are written twice
        struck += [target for (target,) in conn.execute(f"SELECT DISTINCT target_id FROM voids WHERE target_id {IN_LIST}",
                                                        (json.dumps([row["event_id"] for row in outcomes + lots]),))]
    if struck:
        for table in ("outcomes", "lot_events"):
            conn.execute(f"UPDATE {table} SET voided_by = ({FIRST_VOID}) WHERE event_id {IN_LIST}", (json.dumps(struck),))


FIRST_VOID = ("SELECT void_id FROM voids WHERE target_id = event_id "
              "ORDER BY CAST(substr(void_id, instr(void_id, ':') + 1) AS INTEGER) LIMIT 1")
"""The earliest void of a row's event: voids name an event of their own kiosk, so the lowest seq is the earliest."""


def insert_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(row[c] for c in columns) for row in rows],
    )


def backfill(conn: sqlite3.Connection) -> None:
    """Write the rows of every event already merged (the migration that adds the tables)."""
    types = json.dumps(sorted({*OUTCOME_TYPES, *LOT_TYPES, wire.VOID_EVENT}))
    rows = conn.execute(f"SELECT event_id, kiosk, type, at, body, received_at FROM events WHERE type {IN_LIST}", (types,))
    batch = []
    for event_id, kiosk, kind, at, body, received_at in rows:
        batch.append((event_id, kiosk, kind, at, json.loads(body)["payload"], received_at))
        if len(batch) >= 5000:
            keep(conn, batch)
            batch = []
    keep(conn, batch)
