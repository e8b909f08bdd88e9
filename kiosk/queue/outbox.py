"""The outbox as the publisher works it: rows to send, published and acknowledged marks, and the one-row uplink table.

A row is *published* once the broker acknowledged it (PUBACK with a success
code) and *acknowledged* once the hub's acknowledgement confirmed it merged
as written (kiosk/uplink/confirm.py). A confirmed row the hub did not merge as
written keeps ``acked_at`` empty and gets a ``verdict``. The marks are derived
facts: losing one (a power cut) only means the row is sent again.
"""

from __future__ import annotations

from typing import Any, Iterable

import sqlite_utils

UPLINK_FIELDS = ("broker", "connected", "hub_state", "watermark", "chain", "unconfirmed", "acked_at", "error")
"""What the publisher keeps in the uplink row; ``changed_at`` is set whenever one of these changes."""


def rows_from(db: sqlite_utils.Database, first: int, limit: int) -> list[tuple[int, str]]:
    """Return up to ``limit`` (seq, body) pairs from seq ``first`` on, in seq order."""
    return [tuple(row) for row in db.execute("select seq, body from outbox where seq >= ? order by seq limit ?", [first, limit])]


def rows_in(db: sqlite_utils.Database, seqs: Iterable[int]) -> list[tuple[int, str]]:
    """Return the (seq, body) pairs of these sequence numbers that exist, in seq order."""
    wanted = sorted(set(seqs))
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    return [tuple(row) for row in db.execute(f"select seq, body from outbox where seq in ({marks}) order by seq", wanted)]


def last_seq(db: sqlite_utils.Database) -> int:
    """The highest sequence number in the outbox (0 when empty)."""
    return db.execute("select coalesce(max(seq), 0) from outbox").fetchone()[0]


def mark_published(db: sqlite_utils.Database, seqs: Iterable[int], at: str) -> None:
    """Record that the broker took these rows. Call inside ``store.write()``."""
    db.conn.executemany("update outbox set published_at = ? where seq = ? and published_at is null", [(at, s) for s in set(seqs)])


MERGED_AS_WRITTEN = ("impersonated",)
"""Verdicts of rows the hub merged as this kiosk wrote them all the same (acknowledged)."""


def record_watermark(db: sqlite_utils.Database, watermark: int, at: str, verdicts: dict[int, str] | None = None) -> None:
    """Mark the rows up to the confirmed ``watermark`` as merged at the hub, but those with a verdict. Call inside
    ``store.write()``.

    Reads the watermark stored before, so only the rows between the two are
    touched. A watermark lower than before (a stale retained acknowledgement
    after a broker crash, or a hub restored from a backup) leaves the marks:
    the publisher sends again from it, and the hub acknowledges again.
    The caller stores ``watermark`` in the uplink row in the same transaction.
    """
    before = uplink(db)["watermark"]
    if watermark > before:
        db.execute(
            "update outbox set acked_at = ?, published_at = coalesce(published_at, ?) where seq > ? and seq <= ? and acked_at is null",
            [at, at, before, watermark],
        )
    db.conn.executemany(
        "update outbox set verdict = ?, acked_at = case when ? then acked_at end where seq = ?",
        [(verdict, verdict in MERGED_AS_WRITTEN, seq) for seq, verdict in (verdicts or {}).items() if before < seq <= watermark],
    )


def verdicts(db: sqlite_utils.Database) -> dict[str, list[int]]:
    """The confirmed rows the hub did not merge as written, by verdict ("refused:<reason>", "disputed", ...)."""
    found: dict[str, list[int]] = {}
    for seq, verdict in db.execute("select seq, verdict from outbox where verdict is not null order by seq"):
        found.setdefault(verdict, []).append(seq)
    return found


def uplink(db: sqlite_utils.Database) -> dict[str, Any]:
    """Return the uplink row: what the publisher last knew of the link to the hub."""
    return db["uplink"].get(1)


def write_uplink(db: sqlite_utils.Database, values: dict[str, Any], at: str) -> None:
    """Update the uplink row with ``values`` (keys of UPLINK_FIELDS) and stamp ``changed_at``. Call inside ``store.write()``."""
    unknown = set(values) - set(UPLINK_FIELDS)
    if unknown:
        raise ValueError(f"not uplink fields: {sorted(unknown)}")
    db["uplink"].update(1, {**values, "changed_at": at})
