"""Read-only listings for the data staff: the quarantine (without message bodies) and the conflicts.

These read the hub database directly (tables in hub/store/migrations.py) on a
read-only connection, so they can run beside a running `hub run`: a SQLite file,
or a PostgreSQL database through postgres/dialect.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from . import StoreError
from .open import is_url


def read_only(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to an existing hub database (a file, or a PostgreSQL URL: postgres_read_only); raise
    StoreError when there is none."""
    if is_url(path):
        return postgres_read_only(str(path))
    if not Path(path).is_file():
        raise StoreError(f"no hub database at {path}")
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT 1 FROM quarantine LIMIT 1")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the hub database {path}: {exc}") from None
    return conn


def postgres_read_only(url: str) -> Any:
    """A read-only session on a PostgreSQL hub database, with sqlite3's face (postgres/dialect.py) and rows as dicts."""
    import psycopg
    from psycopg.rows import dict_row

    from .postgres.dialect import Connection

    try:
        raw = psycopg.connect(url, autocommit=True, row_factory=dict_row, options="-c default_transaction_read_only=on")
    except psycopg.Error as exc:
        raise StoreError(f"cannot read the hub database: {str(exc).strip().splitlines()[0]}") from None
    return Connection(raw)


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
        rows = [{**dict(row), "event_ids": json.loads(row["event_ids"]), "detail": json.loads(row["detail"])}
                for row in conn.execute(f"SELECT id, kind, id_number, event_ids, detail, state, resolved_by FROM conflicts "
                                        f"{where} ORDER BY kind, id_number, id LIMIT ?", [*args, limit])]
        if kind in (None, "disputed_event"):
            rows += [dispute(row) for row in conn.execute(DISPUTES)]
    finally:
        conn.close()
    return sorted(rows, key=lambda r: (r["kind"], r["id_number"] is not None, r["id_number"] or "", r["id"]))[:limit]


def workload(path: str | Path) -> dict[str, Any]:
    """What needs the data staff (the workspace's front page): each kind's open conflicts and the hub time the oldest
    became one, the identity cases awaiting the commune police (the same two figures), the roster rows the last
    import of each file refused, and the quarantined messages.

    The conflicts are counted on the index conflicts_queue (state, kind, opened_at): the open and police ranges of it,
    never the resolved history nor the conflicts' events.
    """
    conn = read_only(path)
    try:
        kinds: dict[str, dict[str, Any]] = {}
        police = {"open": 0, "oldest_at": None}
        for row in conn.execute(OPEN_CONFLICTS):  # by name: PostgreSQL's read-only rows are dicts (postgres_read_only)
            if row["state"] == "police":
                police = {"open": police["open"] + row["open"], "oldest_at": earliest(police["oldest_at"], row["oldest"])}
            else:
                kinds[row["kind"]] = {"open": row["open"], "oldest_at": row["oldest"]}
        disputes = conn.execute("SELECT count(*) AS n, min(first_at) AS first FROM disputes").fetchone()
        if disputes["n"]:
            kinds["disputed_event"] = {"open": disputes["n"], "oldest_at": disputes["first"]}
        quarantined = conn.execute("SELECT count(*) AS n FROM quarantine").fetchone()["n"]
        rejected = conn.execute("SELECT count(*) AS n FROM roster_rejections").fetchone()["n"]
    finally:
        conn.close()
    return {"conflicts": kinds, "police": police, "roster_rejected": rejected, "quarantined": quarantined}


def earliest(*times: str | None) -> str | None:
    return min((t for t in times if t), default=None)


OPEN_CONFLICTS = (
    "SELECT state, kind, count(*) AS open, min(opened_at) AS oldest FROM conflicts WHERE state IN ('open', 'police') "
    "GROUP BY state, kind"
)
"""Open conflicts and the cases awaiting the police, by kind: the index conflicts_queue's two ranges (m010)."""


DISPUTES = ("SELECT d.event_id, d.kiosk, d.seq, e.event_id IS NULL AS refused, e.id_number, d.kept_digest, "
            "d.other_digest, d.deliveries, d.first_at, d.last_at FROM disputes d LEFT JOIN events e ON e.event_id = d.event_id")
"""The disputes, few, each made a row of the conflicts listing by ``dispute`` (in Python: both stores read it alike)."""


def dispute(row) -> dict[str, Any]:
    """A dispute as a row of the conflicts listing: kind ``disputed_event``, always open."""
    return {"id": f"disputed_event:{row['event_id']}", "kind": "disputed_event", "id_number": row["id_number"],
            "event_ids": [row["event_id"]], "state": "open", "resolved_by": None,
            "detail": {"kiosk": row["kiosk"], "seq": row["seq"], "kept": "refused" if row["refused"] else "merged",
                       "kept_digest": bytes(row["kept_digest"]).hex(), "other_digest": bytes(row["other_digest"]).hex(),
                       "deliveries": row["deliveries"], "first_at": row["first_at"], "last_at": row["last_at"]}}
