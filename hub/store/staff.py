"""The workspace's accounts, sessions, sign-in lockouts and audit log in the hub database (tables of migration m005).

Each function runs inside the caller's transaction (hub/store/workspace.py opens it, on either engine).

Sessions: the cookie holds a random id; the table keeps its SHA-256, whose
member, and when it started, was last seen, expires and ended. Signing out,
disabling a member or changing their password ends the rows, so a copied cookie
stops working at once. Ended rows stay ``KEEP_DAYS`` for the admin, then go.

Lockouts: each attempt is counted before its password is checked, in the same
write transaction (BEGIN IMMEDIATE) that checks the lock, so however many
attempts race, at most ``attempts`` per lock reach the slow password check; a
right password then clears the count. Being rows, locks outlive a restart.

Unlike the kiosk (a Pi without a clock that can start in 1970), the hub is a
server kept on time by NTP: times here are wall-clock UTC, ISO 8601 to the
second, which sort as text.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Sequence

from ..errors import StaffError
from ..passwords import name_key
from . import Attempt, AuditEntry, LockRule, SessionLimits, StaffMember

TOUCH_SECONDS = 60.0
"""A session's last request is written at most this often: it may end up to this much early, never late."""
KEEP_DAYS = 90
"""Ended sessions are kept this long (who was signed in when), then deleted."""
MAX_KEYS = 4096
"""Lockout keys remembered at most; past it the unlocked keys tried longest ago are forgotten."""
STAFF_COLUMNS = "id, name, role, password_hash, created_at, disabled_at, rights"


def stamp(at: datetime) -> str:
    """``at`` as stored: UTC, ISO 8601 to the second."""
    return at.astimezone(timezone.utc).isoformat(timespec="seconds")


def member(row: tuple | None) -> StaffMember | None:
    return StaffMember(*row) if row is not None else None


# Accounts


def add_staff(conn: sqlite3.Connection, name: str, role: str, password_hash: str, at: datetime) -> StaffMember:
    """Insert an account; raise StaffError when its name is taken (the key decides, whoever adds the same name at the
    same moment)."""
    added = member(conn.execute(
        f"INSERT INTO staff (name, name_key, role, password_hash, created_at, password_set_at) VALUES (?, ?, ?, ?, ?, ?) "
        f"ON CONFLICT (name_key) DO NOTHING RETURNING {STAFF_COLUMNS}",
        (name, name_key(name), role, password_hash, stamp(at), stamp(at))).fetchone())
    if added is None:
        raise StaffError(f"there is already an account named {name!r}")
    return added


def find_staff(conn: sqlite3.Connection, name: str) -> StaffMember | None:
    return member(conn.execute(f"SELECT {STAFF_COLUMNS} FROM staff WHERE name_key = ?", (name_key(name),)).fetchone())


def get_staff(conn: sqlite3.Connection, staff_id: int) -> StaffMember | None:
    return member(conn.execute(f"SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?", (staff_id,)).fetchone())


def list_staff(conn: sqlite3.Connection) -> list[StaffMember]:
    return [StaffMember(*row) for row in conn.execute(f"SELECT {STAFF_COLUMNS} FROM staff ORDER BY name_key")]


def disable_staff(conn: sqlite3.Connection, name: str, at: datetime) -> StaffMember:
    """Disable the account (again: no change) and end its sessions; raise StaffError when there is none."""
    found = find_staff(conn, name)
    if found is None:
        raise StaffError(f"no account named {name!r}")
    conn.execute("UPDATE staff SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?", (stamp(at), found.id))
    end_sessions_of(conn, found.id, at, "disabled")
    return get_staff(conn, found.id)


def set_password(conn: sqlite3.Connection, staff_id: int, password_hash: str, at: datetime, keep: str | None) -> None:
    """A new password hash; every session of the member but ``keep`` ends."""
    if conn.execute("UPDATE staff SET password_hash = ?, password_set_at = ? WHERE id = ?",
                    (password_hash, stamp(at), staff_id)).rowcount != 1:
        raise StaffError(f"no account with id {staff_id}")
    end_sessions_of(conn, staff_id, at, "password_changed", keep=digest(keep) if keep else None)


def set_right(conn: sqlite3.Connection, name: str, right: str, given: bool) -> StaffMember:
    """Give the account a right (or take it away; either again: no change); raise StaffError when there is none."""
    found = find_staff(conn, name)
    if found is None:
        raise StaffError(f"no account named {name!r}")
    rights = set(found.rights.split()) | {right} if given else set(found.rights.split()) - {right}
    conn.execute("UPDATE staff SET rights = ? WHERE id = ?", (" ".join(sorted(rights)), found.id))
    return get_staff(conn, found.id)


# Sessions


def open_session(conn: sqlite3.Connection, staff_id: int, limits: SessionLimits, at: datetime) -> str:
    """Start a session; return its id for the cookie. Rows ended long ago are dropped on the way."""
    session_id = secrets.token_urlsafe(32)
    conn.execute("DELETE FROM staff_sessions WHERE ended_at < ?", (stamp(at - timedelta(days=KEEP_DAYS)),))
    conn.execute(
        "INSERT INTO staff_sessions (id_hash, staff_id, created_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (digest(session_id), staff_id, stamp(at), stamp(at), stamp(at + timedelta(seconds=limits.lifetime_seconds))),
    )
    return session_id


def session_holder(conn: sqlite3.Connection, session_id: str, limits: SessionLimits, at: datetime) -> StaffMember | None:
    """The active member of this live session (noting the request); None when it is over, ending it if it was live."""
    row = conn.execute("SELECT staff_id, seen_at, expires_at FROM staff_sessions WHERE id_hash = ? AND ended_at IS NULL",
                       (digest(session_id),)).fetchone()
    if row is None:
        return None
    found = get_staff(conn, row[0])
    why = over(row[1], row[2], found, limits, at)
    if why is not None:
        end_session(conn, session_id, at, why)
        return None
    if at - datetime.fromisoformat(row[1]) >= timedelta(seconds=TOUCH_SECONDS):
        conn.execute("UPDATE staff_sessions SET seen_at = ? WHERE id_hash = ?", (stamp(at), digest(session_id)))
    return found


def over(seen_at: str, expires_at: str, found: StaffMember | None, limits: SessionLimits, at: datetime) -> str | None:
    """Why a live session is over at ``at``, or None while it lasts."""
    if found is None or not found.active:
        return "disabled"
    if at >= datetime.fromisoformat(expires_at):
        return "expired"
    if at - datetime.fromisoformat(seen_at) >= timedelta(seconds=limits.idle_seconds):
        return "idle"
    return None


def end_session(conn: sqlite3.Connection, session_id: str, at: datetime, why: str) -> None:
    conn.execute("UPDATE staff_sessions SET ended_at = ?, ended_why = ? WHERE id_hash = ? AND ended_at IS NULL",
                 (stamp(at), why, digest(session_id)))


def end_sessions_of(conn: sqlite3.Connection, staff_id: int, at: datetime, why: str, keep: str | None = None) -> int:
    """End every live session of the member but the one whose hash is ``keep``; return how many."""
    return conn.execute(
        "UPDATE staff_sessions SET ended_at = ?, ended_why = ? WHERE staff_id = ? AND ended_at IS NULL AND id_hash IS NOT ?",
        (stamp(at), why, staff_id, keep),
    ).rowcount


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


# Lockouts


def reserve_attempt(conn: sqlite3.Connection, rules: Sequence[LockRule], at: datetime) -> Attempt:
    """Refuse the attempt while any key is locked; else count it as wrong for every key, locking those it brings to
    their limit. The caller's transaction must hold the keys (SQLite: BEGIN IMMEDIATE; PostgreSQL: advisory locks,
    Workspace.lock_attempts): that is what makes it atomic."""
    rows = {rule.key: find_attempts(conn, rule.key) for rule in rules}
    wait = max((remaining(rows[rule.key], at) for rule in rules), default=0.0)
    if wait > 0:
        return Attempt(wait, 0.0)
    return Attempt(0.0, max((count_failure(conn, rule, rows[rule.key], at) for rule in rules), default=0.0))


def find_attempts(conn: sqlite3.Connection, key: str) -> tuple[int, str | None] | None:
    return conn.execute("SELECT failures, locked_until FROM sign_in_attempts WHERE key = ?", (key,)).fetchone()


def remaining(row: tuple[int, str | None] | None, at: datetime) -> float:
    if row is None or row[1] is None:
        return 0.0
    return max(0.0, (datetime.fromisoformat(row[1]) - at).total_seconds())


def count_failure(conn: sqlite3.Connection, rule: LockRule, row: tuple | None, at: datetime) -> float:
    """Count one more wrong attempt for the rule's key; return the lock that starts (0: none)."""
    failures = (row[0] if row else 0) + 1
    lock = rule.lock_for(failures)
    until = stamp(at + timedelta(seconds=lock)) if lock else None
    conn.execute(
        "INSERT INTO sign_in_attempts (key, failures, locked_until, lock_seconds, last_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until, "
        "lock_seconds = excluded.lock_seconds, last_at = excluded.last_at",
        (rule.key, failures, until, lock, stamp(at)),
    )
    if row is None:
        forget_oldest(conn, at)
    return lock


def forget_oldest(conn: sqlite3.Connection, at: datetime) -> None:
    """Keep at most MAX_KEYS keys: drop the unlocked ones tried longest ago (their counts start again)."""
    excess = conn.execute("SELECT count(*) FROM sign_in_attempts").fetchone()[0] - MAX_KEYS
    if excess > 0:
        conn.execute(
            "DELETE FROM sign_in_attempts WHERE key IN (SELECT key FROM sign_in_attempts "
            "WHERE locked_until IS NULL OR locked_until <= ? ORDER BY last_at LIMIT ?)", (stamp(at), excess))


def clear_failures(conn: sqlite3.Connection, keys: Sequence[str]) -> None:
    conn.executemany("DELETE FROM sign_in_attempts WHERE key = ?", [(key,) for key in keys])


# The audit log


def write_audit(conn: sqlite3.Connection, staff_id: int | None, action: str, record: str | None, address: str | None,
                at: datetime) -> None:
    conn.execute("INSERT INTO audit (at, staff_id, action, record, address) VALUES (?, ?, ?, ?, ?)",
                 (stamp(at), staff_id, action, record, address))


def audit_log(conn: sqlite3.Connection, limit: int, before: int | None) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT a.id, a.at, a.staff_id, s.name, a.action, a.record, a.address FROM audit a "
        "LEFT JOIN staff s ON s.id = a.staff_id WHERE a.id < ? ORDER BY a.id DESC LIMIT ?",
        (before if before is not None else 2**62, limit),
    ).fetchall()
    return [AuditEntry(*row) for row in rows]
