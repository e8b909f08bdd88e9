"""The fleet columns of the hub's kiosks table: when each kiosk was last heard from and its last status; the kiosks
page's read (hub/web/fleet.py, flags judged by hub/fleet.py)."""

from __future__ import annotations

import datetime
import sqlite3
from typing import Any

import wire

from . import Batch, KioskStatus
from .acks import held_above
from .kiosks import in_district


def last_heard(batch: Batch, received_at: str) -> dict[str, str]:
    """Each kiosk the batch names and the latest hub time any of its messages arrived."""
    latest: dict[str, str] = {}
    arrivals = [(e.kiosk, received_at) for e in batch.events]
    arrivals += [(q.kiosk, q.received_at) for q in batch.quarantined if q.kiosk]
    arrivals += [(s.kiosk, s.received_at) for s in batch.statuses]
    for kiosk, at in arrivals:
        latest[kiosk] = max(latest.get(kiosk, at), at)
    return latest


def note_seen(conn: sqlite3.Connection, batch: Batch, received_at: str) -> None:
    """Set each kiosk's last_seen to the latest hub time any of its messages arrived (enrolled kiosks only)."""
    conn.executemany(
        "UPDATE kiosks SET last_seen = max(coalesce(last_seen, ''), ?) WHERE kiosk = ?",
        [(at, kiosk) for kiosk, at in last_heard(batch, received_at).items()],
    )


def keep_statuses(conn: sqlite3.Connection, statuses: list[KioskStatus]) -> None:
    """Copy each status into the fleet columns, unless a later one was kept already (a kiosk not enrolled: ignored).

    The backlog and time of the status it replaces move to backlog_before(_at) (SET reads the row as it was), so the
    kiosks page sees a backlog that grows at the cost of two columns, not a history of every status. Rows go in kiosk
    order, as several PostgreSQL workers take their locks (postgres/commit.py).
    """
    conn.executemany(
        "UPDATE kiosks SET status = :state, status_at = :received_at, boot = :boot, version = :version, "
        "backlog_before = backlog, backlog_before_at = status_at, "
        "backlog = :backlog, camera_fps = :camera_fps, clock_skew_s = :skew, clock_synced = :synced "
        "WHERE kiosk = :kiosk AND (status_at IS NULL OR status_at <= :received_at)",
        sorted((fleet_columns(s) for s in statuses), key=lambda row: row["kiosk"]),
    )


def fleet_columns(status: KioskStatus) -> dict[str, Any]:
    message = status.message
    return {
        "kiosk": status.kiosk, "received_at": status.received_at, "state": message.get("state"),
        "boot": text_or_none(message.get("boot")), "version": text_or_none(message.get("version")),
        "backlog": number_or_none(message.get("outbox"), int), "camera_fps": number_or_none(message.get("camera_fps"), float),
        "skew": clock_skew(status.received_at, message.get("at")),
        "synced": int(message["clock_synced"]) if isinstance(message.get("clock_synced"), bool) else None,
    }


def text_or_none(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


def number_or_none(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def clock_skew(received_at: str, kiosk_at: Any) -> float | None:
    """Seconds the hub's clock is ahead of the kiosk's (negative: behind); None when a time does not parse."""
    try:
        hub = datetime.datetime.fromisoformat(received_at)
        kiosk = datetime.datetime.fromisoformat(kiosk_at)
        return round((hub - kiosk).total_seconds(), 3)
    except (TypeError, ValueError):  # TypeError: not a string, or one time has a zone and the other not
        return None


KIOSKS = (
    "SELECT kiosk, site, status, status_at, last_seen, boot, version, backlog, backlog_before, backlog_before_at, "
    "camera_fps, clock_skew_s, clock_synced, watermark, highest, district FROM kiosks WHERE enrolled_at IS NOT NULL"
)


def kiosks(conn: sqlite3.Connection, district: str | None = None) -> list[dict[str, Any]]:
    """Every enrolled kiosk's fleet columns (those of ``district`` only, when given), with its district, its gaps
    above the watermark and whether its clock is synchronised; by site."""
    where, params = in_district("kiosk", district)
    cursor = conn.execute(KIOSKS + where + " ORDER BY site, kiosk", params)
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    for row in rows:
        held = held_above(conn, row["kiosk"], row["watermark"]) if row["highest"] > row["watermark"] else []
        row["gaps"] = wire.gaps_between(row["watermark"], held)
        row["missing"] = row["highest"] - row["watermark"] - len(held)
        if row["clock_synced"] is None:
            row["clock_synced"] = latest_synced(conn, row["kiosk"])
        row["clock_synced"] = None if row["clock_synced"] is None else bool(row["clock_synced"])
    return rows


def latest_synced(conn: sqlite3.Connection, kiosk: str) -> int | None:
    """events.clock_synced of the kiosk's latest event (on the (kiosk, seq) index), None when it sent none."""
    row = conn.execute("SELECT clock_synced FROM events WHERE kiosk = ? ORDER BY seq DESC LIMIT 1", (kiosk,)).fetchone()
    return row[0] if row else None
