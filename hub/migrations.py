"""Numbered schema migrations of the hub database; append, never edit a released one.

The fault harness and the data staff read these tables directly; the comments
below say what each column holds. ``events`` is the truth (every event as received, once);
``people``, ``doses`` and ``conflicts`` are derived from it by hub/merge.py and
recomputed per person, so they can always be rebuilt.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x76617848
"""PRAGMA application_id of a hub database ("vaxH"), so a kiosk's file is not taken for one."""

M001 = """
CREATE TABLE kiosks (
    kiosk TEXT PRIMARY KEY,
    site TEXT,
    password_hash TEXT,
    enrolled_at TEXT,                              -- NULL: events arrived from a kiosk never enrolled here
    watermark INTEGER NOT NULL DEFAULT 0,          -- every seq 1..watermark is merged
    highest INTEGER NOT NULL DEFAULT 0,            -- the highest seq merged
    duplicates INTEGER NOT NULL DEFAULT 0,         -- deliveries of an already merged event, absorbed
    last_seen TEXT,                                -- hub time of the last message of any kind from the kiosk
    status TEXT,                                   -- online / offline / stopped, from the retained status
    status_at TEXT,                                -- hub time that status was received
    boot TEXT,
    version TEXT,
    backlog INTEGER,                               -- the kiosk's outbox depth, as it reported it
    camera_fps REAL,
    clock_skew_s REAL                              -- hub time minus the kiosk's time, at its last status
);
CREATE TABLE events (
    event_id TEXT PRIMARY KEY,                     -- <kiosk>:<seq>
    kiosk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    boot TEXT NOT NULL,
    at TEXT NOT NULL,                              -- kiosk wall time, untrusted
    clock_synced INTEGER NOT NULL,
    id_number TEXT,                                -- the person the event is about, if any
    body TEXT NOT NULL,                            -- canonical JSON of the whole message
    received_at TEXT NOT NULL,
    UNIQUE (kiosk, seq)
);
CREATE INDEX events_by_person ON events (id_number) WHERE id_number IS NOT NULL;
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    topic TEXT NOT NULL,
    kiosk TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX quarantine_by_reason ON quarantine (reason);
CREATE TABLE voids (
    target_id TEXT NOT NULL,                       -- the voided event
    void_id TEXT NOT NULL,                         -- the EventVoided that voids it
    PRIMARY KEY (target_id, void_id)
) WITHOUT ROWID;
CREATE TABLE people (
    id_number TEXT PRIMARY KEY,
    full_name TEXT,                                -- NULL until a check-in that is not voided arrives
    birth_date TEXT,
    sex TEXT,
    old_id TEXT,
    first_event TEXT,                              -- earliest by kiosk time, then (kiosk, seq)
    events INTEGER NOT NULL
);
CREATE TABLE doses (
    event_id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL,
    kiosk TEXT NOT NULL,
    product TEXT NOT NULL,
    lot_number TEXT NOT NULL,
    dose_number INTEGER NOT NULL,
    booster INTEGER,
    given_at TEXT NOT NULL,
    given_on TEXT NOT NULL,
    vaccinator TEXT,
    voided_by TEXT                                 -- the EventVoided that voids this dose, if any
);
CREATE INDEX doses_by_person ON doses (id_number);
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,                           -- <kind>:<hash of kind and event ids>
    kind TEXT NOT NULL,                            -- duplicate_dose / interval_too_short / identity_mismatch
    id_number TEXT NOT NULL,
    event_ids TEXT NOT NULL,                       -- JSON list in (kiosk, seq) order
    detail TEXT NOT NULL                           -- JSON object
);
CREATE INDEX conflicts_by_person ON conflicts (id_number);
CREATE INDEX conflicts_by_kind ON conflicts (kind);
"""


def m001_merge(conn: sqlite3.Connection) -> None:
    """Kiosks (enrollment and fleet), events as received, quarantine, voids, and the derived people, doses, conflicts."""
    for statement in M001.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


M002 = """
CREATE TABLE merging (
    id INTEGER PRIMARY KEY CHECK (id = 1),         -- one row: the last word of the last `hub run` on this file
    pid INTEGER NOT NULL,                          -- that hub run's process id
    started_at TEXT NOT NULL,                      -- hub time it started
    noted_at TEXT NOT NULL,                        -- hub time of this row; a running hub writes it every 10 s
    stopped_at TEXT,                               -- hub time it stopped cleanly; NULL while it runs (or if it was killed)
    committed_at TEXT,                             -- hub time of the last batch its merge worker committed
    waiting INTEGER NOT NULL,                      -- messages received and not committed yet
    waiting_since TEXT,                            -- hub time the oldest of them arrived
    stalled_since TEXT,                            -- set while messages have waited longer than --stall-seconds
    last_error TEXT                                -- why the last commit failed (a database error), until one succeeds
);
"""


def m002_merging(conn: sqlite3.Connection) -> None:
    """Whether `hub run` is merging, for `hub stats` (another process): the liveness it notes."""
    conn.execute(M002)


MIGRATIONS = [m001_merge, m002_merging]
