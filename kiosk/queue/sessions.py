"""Staff sessions kept in the kiosk database: the cookie holds a random id, the row says whose session it is and for how long.

Signing out deletes the row, so a copied cookie stops working at once; disabling a
member or giving them a new PIN deletes theirs (kiosk/queue/staff.py). A session also ends
after ``idle_seconds`` without a request and ``lifetime_seconds`` after sign-in,
however busy. The database keeps only a hash of each id.

The clock rule: both limits are counted on the monotonic clock of the boot that
opened the session; the wall clock decides nothing (``started_at`` is for people
reading the table). After a reboot the time that
passed cannot be known, so a session from an earlier boot is over: staff sign in
again. A restart of `kiosk web` alone changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

import sqlite_utils

from ..errors import StoreError
from .clock import Instant
from .store import Store

logger = logging.getLogger(__name__)

TOUCH_SECONDS = 60.0
"""A session's last request is written down at most this often: it may end up to this much early, never late."""


@dataclass(frozen=True)
class Limits:
    """How long a session may last: without a request, and in all."""

    idle_seconds: float
    lifetime_seconds: float


def open_session(store: Store, staff_id: int, limits: Limits, now: Instant) -> str:
    """Start a session for the member; return its id for the cookie. Sessions that are over are dropped on the way."""
    session_id = secrets.token_urlsafe(32)
    with store.write() as db:
        drop_ended(db, limits, now)
        db["staff_sessions"].insert({
            "id_hash": digest(session_id), "staff_id": staff_id, "boot_id": now.boot_id,
            "started_mono": now.mono, "seen_mono": now.mono, "started_at": now.wall.isoformat(timespec="seconds"),
        })
    return session_id


def session_holder(store: Store, session_id: str, limits: Limits, now: Instant) -> int | None:
    """The staff id of this live session, noting the request; None when there is no such session or it is over (then it is deleted)."""
    rows = list(store.db["staff_sessions"].rows_where("id_hash = ?", [digest(session_id)]))
    if not rows:
        return None
    row = rows[0]
    why = ended(row, limits, now)
    if why is not None:
        logger.info("session of staff %d ended: %s", row["staff_id"], why)
        end_session(store, session_id)
        return None
    if now.mono - row["seen_mono"] >= TOUCH_SECONDS:
        note_request(store, row["id_hash"], now)
    return row["staff_id"]


def ended(row: dict, limits: Limits, now: Instant) -> str | None:
    """Why the session in ``row`` is over at ``now``, or None while it lasts."""
    if row["boot_id"] != now.boot_id:
        return "the kiosk was restarted (a new boot)"
    if now.mono - row["seen_mono"] >= limits.idle_seconds:
        return "idle too long"
    if now.mono - row["started_mono"] >= limits.lifetime_seconds:
        return "signed in too long ago"
    return None


def end_session(store: Store, session_id: str) -> None:
    """Sign-out: the session is gone, whoever holds a copy of its cookie."""
    with store.write() as db:
        db.execute("delete from staff_sessions where id_hash = ?", [digest(session_id)])


def end_sessions_of(db: sqlite_utils.Database, staff_id: int) -> int:
    """Inside a write transaction: end every session of the member; return how many."""
    return db.execute("delete from staff_sessions where staff_id = ?", [staff_id]).rowcount


def note_request(store: Store, id_hash: str, now: Instant) -> None:
    """Write down the request's time; when the database is busy, skip it (the session may then end a little early)."""
    try:
        with store.write() as db:
            db.execute("update staff_sessions set seen_mono = ? where id_hash = ?", [now.mono, id_hash])
    except StoreError as exc:
        logger.warning("could not note a session's last request: %s", exc)


def drop_ended(db: sqlite_utils.Database, limits: Limits, now: Instant) -> None:
    db.execute(
        "delete from staff_sessions where boot_id <> ? or ? - seen_mono >= ? or ? - started_mono >= ?",
        [now.boot_id, now.mono, limits.idle_seconds, now.mono, limits.lifetime_seconds],
    )


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


SIGNED_IN = (
    "select distinct s.id, s.name, s.role from staff s join staff_sessions x on x.staff_id = s.id "
    "where s.active = 1 and x.boot_id = ? and ? - x.seen_mono < ? and ? - x.started_mono < ? order by s.name"
)


def signed_in_staff(db: sqlite_utils.Database, limits: Limits, now: Instant) -> list[dict]:
    """The active members with a live session at ``now`` (id, name, role), by name: who may have given a dose."""
    return list(db.query(SIGNED_IN, [now.boot_id, now.mono, limits.idle_seconds, now.mono, limits.lifetime_seconds]))
