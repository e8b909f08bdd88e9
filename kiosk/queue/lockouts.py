"""Sign-in lockouts kept in the kiosk database: each attempt is counted before its PIN is checked.

Counting first, in one write transaction (BEGIN IMMEDIATE), is what makes a lockout
hold when many PINs arrive at once: the attempts are counted one after the other,
so at most ``attempts`` of them per lock reach the slow PIN check, however many race.
A right PIN then clears the count. Being in the database, a lock outlives a restart
of `kiosk web`.

The clock rule: a lock's end is kept as a monotonic time of the boot that set it;
the wall clock is never read (a Pi without RTC can start in 1970, and NTP or a
person can move it by years). The monotonic clock starts again at a reboot, so the
time that passed cannot be known: a lock set in an earlier boot starts again, in
full, when this boot first looks at it (`kiosk web` does as it starts). A reboot
can lengthen a lock, never shorten it.
"""

from __future__ import annotations

from typing import Sequence

import sqlite_utils

from staffweb.lockouts import Attempt, LockRule

from .clock import Instant
from .store import Store

CAP_SECONDS = 900.0
"""The longest lock a kiosk sets (LockRule.cap_seconds)."""
MAX_KEYS = 4096
"""Keys remembered at most; past it the keys tried longest ago that are not locked are forgotten."""


def reserve_attempt(store: Store, rules: Sequence[LockRule], now: Instant) -> Attempt:
    """Refuse the attempt while any key is locked; else count it as wrong for every key now, locking those it brings to their limit.

    Raises StoreError when the database refuses the write; then nothing was counted and no PIN may be checked.
    """
    with store.write() as db:
        settle_locks(db, now)
        rows = {rule.key: find(db, rule.key) for rule in rules}
        wait = max((remaining(rows[rule.key], now) for rule in rules), default=0.0)
        if wait > 0:
            return Attempt(wait, 0.0)
        return Attempt(0.0, max((count_failure(db, rule, rows[rule.key], now) for rule in rules), default=0.0))


def clear_failures(store: Store, keys: Sequence[str]) -> None:
    """A right PIN: these keys count from nothing again, and their locks end."""
    with store.write() as db:
        db.execute(f"delete from signin_failures where key in ({', '.join('?' * len(keys))})", list(keys))


def carry_over_locks(store: Store, now: Instant) -> int:
    """Start again, in full, every lock set in an earlier boot; return how many. `kiosk web` calls this as it starts."""
    with store.write() as db:
        return settle_locks(db, now)


def settle_locks(db: sqlite_utils.Database, now: Instant) -> int:
    """Forget the locks of this boot that are over; restart in full those of earlier boots. Return how many restarted."""
    db.execute("update signin_failures set locked_until = null where boot_id = ? and locked_until <= ?", [now.boot_id, now.mono])
    cursor = db.execute(
        "update signin_failures set boot_id = ?, locked_until = ? + lock_seconds where locked_until is not null and boot_id <> ?",
        [now.boot_id, now.mono, now.boot_id],
    )
    return cursor.rowcount


def remaining(row: dict | None, now: Instant) -> float:
    """Seconds of lock left on a settled row (its lock, if any, is of this boot)."""
    if row is None or row["locked_until"] is None:
        return 0.0
    return max(0.0, row["locked_until"] - now.mono)


def count_failure(db: sqlite_utils.Database, rule: LockRule, row: dict | None, now: Instant) -> float:
    """Count one more wrong attempt for the rule's key; return the lock that starts (0: none)."""
    failures = (row["failures"] if row else 0) + 1
    lock = rule.lock_for(failures)
    touched = db.execute("select coalesce(max(touched), 0) + 1 from signin_failures").fetchone()[0]
    db["signin_failures"].upsert(
        {
            "key": rule.key, "failures": failures, "lock_seconds": lock, "boot_id": now.boot_id,
            "locked_until": now.mono + lock if lock else None, "touched": touched,
        },
        pk="key",
    )
    if row is None:
        forget_oldest(db)
    return lock


def forget_oldest(db: sqlite_utils.Database) -> None:
    """Keep at most MAX_KEYS keys: drop the unlocked ones tried longest ago (their counts start again)."""
    excess = db.execute("select count(*) from signin_failures").fetchone()[0] - MAX_KEYS
    if excess > 0:
        db.execute(
            "delete from signin_failures where key in "
            "(select key from signin_failures where locked_until is null order by touched limit ?)",
            [excess],
        )


def find(db: sqlite_utils.Database, key: str) -> dict | None:
    rows = list(db["signin_failures"].rows_where("key = ?", [key]))
    return rows[0] if rows else None
