"""What `hub run`, `hub stats` and the kiosk files need of the PostgreSQL store besides the commit: the kiosks and their
keys (hub/store/kiosks.py's SQL, shared with SQLite through the dialect), and each hub worker's merging row.

Several `hub run` workers share a province database, so ``merging`` holds one
row per worker, named by its MQTT client id (``PostgresStore.worker``); `hub
stats` shows the worst of them (stalled, silent, merging, stopped) and lists
them all under ``workers``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

import psycopg

from ...liveness import MergeState, judge
from .. import KioskKey
from .. import kiosks
from .dialect import Connection

logger = logging.getLogger(__name__)

KIOSK_MIGRATIONS = [
    """
CREATE TABLE kiosk_keys (
    key_id TEXT PRIMARY KEY,                       -- wire.signature.key_id: 16 hex digits of the SHA-256 of public_key
    kiosk TEXT NOT NULL,
    public_key BYTEA NOT NULL,                     -- DER SubjectPublicKeyInfo of the kiosk's P-256 key
    certificate TEXT,                              -- PEM of the certificate the district CA issued for it, if any
    serial TEXT,
    not_after TEXT,
    added_at TEXT NOT NULL,
    revoked_at TEXT,                               -- NULL: the key signs this kiosk's events
    revoke_reason TEXT
);
CREATE INDEX kiosk_keys_by_kiosk ON kiosk_keys (kiosk);
CREATE TABLE merging (
    worker TEXT PRIMARY KEY,                       -- the `hub run --client-id` whose row this is
    pid INTEGER NOT NULL,                          -- the columns of the SQLite store's merging row (its migration 4)
    started_at TEXT NOT NULL,
    noted_at TEXT NOT NULL,
    stopped_at TEXT,
    committed_at TEXT,
    waiting INTEGER NOT NULL,
    waiting_since TEXT,
    stalled_since TEXT,
    last_error TEXT
);
ALTER TABLE kiosks ADD COLUMN district TEXT        -- the district a kiosk imported from (`hub kiosks import`)
""",
]
"""The kiosks' keys (the SQLite store's migration 2), each worker's merging row, the kiosks' districts."""

WORST_FIRST = ("stalled", "silent", "merging", "stopped")
"""Which worker's row `hub stats` shows as ``merging``: the first state here that any worker is in."""


class KioskStore:
    """PostgresStore's kiosks, keys and merging rows (a mixin: ``transaction`` and ``worker`` are PostgresStore's)."""

    worker: str

    def enroll(self, kiosk: str, site: str, password_hash: str | None, at: str, district: str | None = None) -> None:
        """Enroll a kiosk (again: a new site, password and district, the first enrollment date kept)."""
        with self.transaction() as conn:
            kiosks.enroll(Connection(conn), kiosk, site, password_hash, at, district)

    def enrolled(self) -> dict[str, str]:
        with self.transaction() as conn:
            return kiosks.enrolled(Connection(conn))

    def districts(self) -> dict[str, str]:
        with self.transaction() as conn:
            return kiosks.districts(Connection(conn))

    def import_kiosks(self, imported: list, district: str, at: str) -> None:
        with self.transaction() as conn:
            for kiosk in imported:
                kiosks.import_kiosk(Connection(conn), kiosk, district, at)

    def add_key(self, key: KioskKey) -> None:
        with self.transaction() as conn:
            kiosks.add_key(Connection(conn), key)

    def revoke_keys(self, kiosk: str, at: str, reason: str, *, keep: str | None = None) -> list[str]:
        with self.transaction() as conn:
            return kiosks.revoke_keys(Connection(conn), kiosk, at, reason, keep)

    def keys(self) -> dict[str, KioskKey]:
        with self.transaction() as conn:
            return kiosks.keys(Connection(conn))

    def note_merging(self, state: MergeState) -> None:
        """Write this worker's ``merging`` row without waiting long for a lock and without waiting for the WAL flush
        (a lost row is written again): `hub run`'s MQTT loop calls this every few seconds."""
        row = {"worker": self.worker, **dataclasses.asdict(state)}
        with self.transaction() as conn:
            conn.execute("SET LOCAL lock_timeout = '200ms'")
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(
                f"INSERT INTO merging ({', '.join(row)}) VALUES ({', '.join(f'%({key})s' for key in row)}) "
                f"ON CONFLICT (worker) DO UPDATE SET {', '.join(f'{key} = excluded.{key}' for key in row)}", row)


def merging(conn: psycopg.Connection, now: datetime) -> dict[str, Any]:
    """`hub stats`' ``merging`` (the worst worker's judged row, with its ``worker``) and ``workers`` (every one's)."""
    cursor = conn.execute("SELECT * FROM merging ORDER BY worker")
    names = [column.name for column in cursor.description]
    workers = {row[0]: judge(dict(zip(names[1:], row[1:])), now) for row in cursor.fetchall()}
    for state in WORST_FIRST:
        worst = next((name for name, judged in workers.items() if judged["state"] == state), None)
        if worst is not None:
            return {"merging": {**workers[worst], "worker": worst}, "workers": workers}
    return {"merging": judge(None, now), "workers": workers}
