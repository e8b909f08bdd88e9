"""Read-only listings for the data staff: the quarantine (without message bodies) and the conflicts.

These read the SQLite hub database directly (tables in hub/store/migrations.py) on a
read-only connection, so they can run beside a running `hub run`; a PostgreSQL
store would bring its own.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from . import StoreError


def read_only(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to an existing hub database; raise StoreError when there is none."""
    if not Path(path).is_file():
        raise StoreError(f"no hub database at {path}")
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT 1 FROM quarantine LIMIT 1")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the hub database {path}: {exc}") from None
    return conn


def quarantine(path: str | Path, *, limit: int = 100, reason: str | None = None) -> list[dict[str, Any]]:
    """The newest quarantined messages first: when, topic, kiosk, reason, detail and size. Never the body."""
    conn = read_only(path)
    try:
        where, args = ("WHERE reason = ?", [reason]) if reason else ("", [])
        rows = conn.execute(
            f"SELECT id, received_at, topic, kiosk, reason, detail, size FROM quarantine {where} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
    finally:
        conn.close()
    return [dict(row) for row in rows]


def conflicts(path: str | Path, *, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
    """Conflicts for the data staff: kind, the person's ID number, the events involved and the detail.

    Besides the clinical conflicts merged from events, a ``disputed_event`` is a
    security conflict: two different texts of one event arrived, each signed
    with its kiosk's key (a stolen key, or a kiosk database restored or copied
    and used again). The first text stays; the other is in the quarantine.
    """
    conn = read_only(path)
    try:
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = conn.execute(
            f"SELECT * FROM (SELECT id, kind, id_number, event_ids, detail, state, resolved_by FROM conflicts "
            f"UNION ALL {DISPUTES}) {where} "
            f"ORDER BY kind, id_number, id LIMIT ?",
            [*args, limit],
        ).fetchall()
    finally:
        conn.close()
    return [{**dict(row), "event_ids": json.loads(row["event_ids"]), "detail": json.loads(row["detail"])} for row in rows]


def workload(path: str | Path) -> dict[str, Any]:
    """What needs the data staff (the workspace's front page): open conflicts by kind, each kind's count and the hub
    time its oldest conflict became one (when the last of its events arrived), and the quarantined messages."""
    conn = read_only(path)
    try:
        kinds = {kind: {"open": count, "oldest_at": oldest} for kind, count, oldest in conn.execute(OPEN_CONFLICTS)}
        quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    finally:
        conn.close()
    return {"conflicts": kinds, "quarantined": quarantined}


OPEN_CONFLICTS = (
    "SELECT kind, count(*), min(since) FROM ("
    "  SELECT c.kind, (SELECT max(e.received_at) FROM json_each(c.event_ids) j JOIN events e ON e.event_id = j.value) "
    "  AS since FROM conflicts c WHERE c.state = 'open' "
    "  UNION ALL SELECT 'disputed_event', first_at FROM disputes"
    ") GROUP BY kind ORDER BY kind"
)
"""The conflicts still open (not settled, not awaiting the police), by kind."""


DISPUTES = (
    "SELECT 'disputed_event:' || d.event_id, 'disputed_event', e.id_number, json_array(d.event_id), "
    "json_object('kiosk', d.kiosk, 'seq', d.seq, 'kept', CASE WHEN e.event_id IS NULL THEN 'refused' ELSE 'merged' END, "
    "'kept_digest', lower(hex(d.kept_digest)), 'other_digest', lower(hex(d.other_digest)), 'deliveries', d.deliveries, "
    "'first_at', d.first_at, 'last_at', d.last_at), 'open', NULL "
    "FROM disputes d LEFT JOIN events e ON e.event_id = d.event_id"
)
"""The disputes as rows of the conflicts listing."""
