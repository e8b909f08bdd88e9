"""The conflict queue's reads: each kind's open conflicts oldest first, one conflict with its events side by side, the
counts by kind and state, and the identity cases awaiting the commune police.

Each function runs inside the caller's transaction (hub/store/workspace.py opens it, on either engine). The conflicts
table is derived by the merge (hub/merge.py) and the roster import; its ``opened_at`` and the index ``conflicts_queue``
(state, kind, opened_at, id) come from migration m010, so a queue page, the counts and the oldest open conflict's age
read that index instead of every conflict and its events.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..corrections import HUB_KIOSK

HUB_PREFIX = HUB_KIOSK + ":"
"""Hub events appear in a conflict's events as "@hub:<seq>"."""
IDENTITY = ("full_name", "birth_date", "sex", "old_id")
QUEUE = (
    "SELECT c.id, c.kind, c.id_number, c.event_ids, c.detail, c.opened_at, p.full_name, p.birth_date, p.sex "
    "FROM conflicts c LEFT JOIN people p ON p.id_number = c.id_number "
    "WHERE c.state = 'open' AND c.kind = :kind AND (c.opened_at, c.id) > (:opened_at, :id) "
    "ORDER BY c.opened_at, c.id LIMIT :limit"
)
POLICE = (
    "SELECT c.id, c.kind, c.id_number, c.detail, c.opened_at, h.at, h.staff_name, h.payload, "
    "p.full_name, p.birth_date, p.sex, p.old_id, r.full_name, r.birth_date, r.sex, r.commune, r.address "
    "FROM conflicts c LEFT JOIN people p ON p.id_number = c.id_number LEFT JOIN roster r ON r.id_number = c.id_number "
    "LEFT JOIN hub_events h ON c.referred_by LIKE '@hub:%' AND h.seq = CAST(substr(c.referred_by, 6) AS INTEGER) "
    "WHERE c.state = 'police' ORDER BY r.commune IS NULL, r.commune, h.seq, c.id"
)


def counts(conn: sqlite3.Connection, states: tuple[str, ...] = ("open", "police", "resolved")) -> dict[str, dict[str, Any]]:
    """{kind: {state: {"count": n, "oldest_at": hub time the oldest became a conflict}}} for the kinds and states that
    have conflicts (an index range per state: resolved history is read only when asked for)."""
    found: dict[str, dict[str, Any]] = {}
    marks = ", ".join("?" * len(states))
    for state, kind, count, oldest in conn.execute(
            f"SELECT state, kind, count(*), min(opened_at) FROM conflicts WHERE state IN ({marks}) GROUP BY state, kind",
            states):
        found.setdefault(kind, {})[state] = {"count": count, "oldest_at": oldest}
    return found


def queue(conn: sqlite3.Connection, kind: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    """The open conflicts of one kind, oldest first, after the conflict ``after`` (a conflict id seen on the page
    before; unknown or None: from the start), at most ``limit``; each with its person's merged name."""
    cursor = ("", "")
    if after:
        seen = conn.execute("SELECT opened_at, id FROM conflict_seen WHERE id = ?", (after,)).fetchone()
        cursor = seen if seen else cursor
    rows = conn.execute(QUEUE, {"kind": kind, "opened_at": cursor[0], "id": cursor[1], "limit": limit})
    keys = ("id", "kind", "id_number", "event_ids", "detail", "opened_at", "full_name", "birth_date", "sex")
    return [parsed(dict(zip(keys, row))) for row in rows]


def conflict(conn: sqlite3.Connection, conflict_id: str) -> dict[str, Any] | None:
    """One conflict as the data staff judge it: its row, each of its events (kiosk and site, kiosk time, hub time,
    payload, a dose's current void), the person's merged identity, their roster entry, and the hub events that
    referred or settled it. None when there is no such conflict."""
    row = conn.execute(
        "SELECT id, kind, id_number, event_ids, detail, state, resolved_by, referred_by, opened_at FROM conflicts "
        "WHERE id = ?", (conflict_id,)).fetchone()
    if row is None:
        return None
    found = parsed(dict(zip(("id", "kind", "id_number", "event_ids", "detail", "state", "resolved_by", "referred_by",
                             "opened_at"), row)))
    found["events"] = events(conn, found["event_ids"])
    found["person"] = person(conn, found["id_number"])
    found["roster"] = roster_entry(conn, found["id_number"])
    found["resolution"] = hub_event(conn, found["resolved_by"])
    found["referral"] = hub_event(conn, found["referred_by"])
    return found


def events(conn: sqlite3.Connection, event_ids: list[str]) -> list[dict[str, Any]]:
    """The events named, in the order given: a kiosk's from table events (with its kiosk's site), the hub's from
    hub_events; each {"id", "kiosk", "site", "type", "at", "received_at", "payload", "voided_by"}."""
    kiosk_ids = [e for e in event_ids if not e.startswith(HUB_PREFIX)]
    hub_seqs = [int(e[len(HUB_PREFIX):]) for e in event_ids if e.startswith(HUB_PREFIX) and e[len(HUB_PREFIX):].isdigit()]
    found: dict[str, dict[str, Any]] = {}
    for event_id, kiosk, kind, at, received_at, body, site, voided_by in conn.execute(
            "SELECT e.event_id, e.kiosk, e.type, e.at, e.received_at, e.body, k.site, d.voided_by FROM events e "
            "LEFT JOIN kiosks k ON k.kiosk = e.kiosk LEFT JOIN doses d ON d.event_id = e.event_id "
            "WHERE e.event_id IN (SELECT value FROM json_each(?))", (json.dumps(kiosk_ids),)):
        found[event_id] = {"id": event_id, "kiosk": kiosk, "site": site, "type": kind, "at": at,
                           "received_at": received_at, "payload": json.loads(body).get("payload", {}), "voided_by": voided_by}
    for seq in hub_seqs:
        event = hub_event(conn, f"{HUB_PREFIX}{seq}")
        if event is not None:
            found[event["id"]] = event
    return [found[e] for e in event_ids if e in found]


def hub_event(conn: sqlite3.Connection, event_id: str | None) -> dict[str, Any] | None:
    """One hub event by its id ("@hub:<seq>"), shaped like a kiosk's event (kiosk "@hub", site None); None if absent."""
    if not event_id or not event_id.startswith(HUB_PREFIX) or not event_id[len(HUB_PREFIX):].isdigit():
        return None
    row = conn.execute(
        "SELECT h.seq, h.type, h.at, h.staff_id, h.staff_name, h.payload, d.voided_by FROM hub_events h "
        "LEFT JOIN doses d ON d.event_id = ? WHERE h.seq = ?", (event_id, int(event_id[len(HUB_PREFIX):]))).fetchone()
    if row is None:
        return None
    seq, kind, at, staff_id, staff_name, payload, voided_by = row
    return {"id": event_id, "kiosk": HUB_KIOSK, "site": None, "type": kind, "at": at, "received_at": at,
            "staff_id": staff_id, "by": staff_name, "payload": json.loads(payload), "voided_by": voided_by}


def person(conn: sqlite3.Connection, id_number: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {', '.join(IDENTITY)} FROM people WHERE id_number = ?", (id_number,)).fetchone()
    return {"id_number": id_number, **dict(zip(IDENTITY, row))} if row else None


def roster_entry(conn: sqlite3.Connection, id_number: str) -> dict[str, Any] | None:
    keys = ("full_name", "birth_date", "sex", "commune", "address")
    row = conn.execute(f"SELECT {', '.join(keys)} FROM roster WHERE id_number = ?", (id_number,)).fetchone()
    return dict(zip(keys, row)) if row else None


def police_cases(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The identity cases awaiting the commune police (state "police"), by the commune of the person's roster entry
    (None: not on a roster, last), then in the order they were referred: each with the merged identity, the roster's,
    and when, by whom and to which commune it was referred."""
    cases = []
    for row in conn.execute(POLICE):
        (conflict_id, kind, id_number, detail, opened_at, referred_at, referred_by, payload), rest = row[:8], row[8:]
        cases.append({
            "id": conflict_id, "kind": kind, "id_number": id_number, "detail": json.loads(detail), "opened_at": opened_at,
            "referred_at": referred_at, "referred_by": referred_by,
            "referred_commune": json.loads(payload).get("commune") if payload else None,
            "person": dict(zip(IDENTITY, rest[:4])),
            "roster": dict(zip(("full_name", "birth_date", "sex", "commune", "address"), rest[4:])) if rest[7] else None,
            "commune": rest[7],
        })
    return cases


def parsed(row: dict[str, Any]) -> dict[str, Any]:
    if "event_ids" in row:
        row["event_ids"] = json.loads(row["event_ids"])
    row["detail"] = json.loads(row["detail"])
    return row
