"""Numbered schema migrations of the hub's PostgreSQL database; append, never edit a released one.

The tables and columns are the SQLite store's (hub/store/migrations.py), so the
fault harness and the tests read both alike: TEXT times as the hub writes them
(ISO 8601), BYTEA for digests and chains. So far: the tables of the merge's
commit, the acknowledgements and ``stats``, then kiosks.py's KIOSK_MIGRATIONS
(keys, districts, each worker's merging row), reports.py's REPORT_MIGRATIONS
(the roster, coverage, reports, exports, AEFI follow-ups), workspace.py's
WORKSPACE_MIGRATIONS (accounts, sessions, audit, refs, the name indexes) and
the provincial workspace's district index (issue 15) and the roster's district
(coverage per district at a province), then each roster import's district. A script is split into
statements at each ";" outside a $$-quoted function body.
Several hub workers may open the database at once: the migration runs under
a transaction-scoped advisory lock, so one of them applies it and the others
find it applied.
"""

from __future__ import annotations

import psycopg

from ...errors import StoreError
from ..migrations import DISTRICT_INDEX, M021, M022
from .kiosks import KIOSK_MIGRATIONS
from .reports import REPORT_MIGRATIONS
from .workspace import WORKSPACE_MIGRATIONS

MIGRATE_LOCK = 0x76617848
"""The advisory lock key that serialises migrations (the SQLite store's application id, "vaxH")."""

M001 = """
CREATE TABLE kiosks (
    kiosk TEXT PRIMARY KEY,
    site TEXT,
    password_hash TEXT,
    enrolled_at TEXT,                              -- NULL: events arrived from a kiosk never enrolled here
    watermark BIGINT NOT NULL DEFAULT 0,           -- every seq 1..watermark is settled
    highest BIGINT NOT NULL DEFAULT 0,             -- the highest seq settled
    duplicates BIGINT NOT NULL DEFAULT 0,          -- deliveries of an already settled event, absorbed
    chain BYTEA,                                   -- wire.chain_next over events 1..watermark (NULL: wire.chain_start)
    refused BIGINT NOT NULL DEFAULT 0,             -- rows in `refused` of this kiosk
    disputed BIGINT NOT NULL DEFAULT 0,            -- rows in `disputes` of this kiosk
    last_seen TEXT,                                -- hub time of the last message of any kind from the kiosk
    status TEXT,                                   -- online / offline / stopped, from the retained status
    status_at TEXT,
    boot TEXT,
    version TEXT,
    backlog BIGINT,
    backlog_before BIGINT,
    backlog_before_at TEXT,
    camera_fps DOUBLE PRECISION,
    clock_skew_s DOUBLE PRECISION,
    clock_synced INTEGER
);
CREATE TABLE events (
    event_id TEXT PRIMARY KEY,                     -- <kiosk>:<seq>
    kiosk TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    boot TEXT NOT NULL,
    at TEXT NOT NULL,                              -- kiosk wall time, untrusted
    clock_synced INTEGER NOT NULL,
    id_number TEXT,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    digest BYTEA NOT NULL,                         -- SHA-256 of the text the kiosk signed
    UNIQUE (kiosk, seq)
);
CREATE INDEX events_by_person ON events (id_number) WHERE id_number IS NOT NULL;
CREATE TABLE refused (
    event_id TEXT PRIMARY KEY,
    kiosk TEXT NOT NULL,
    seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    digest BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (kiosk, seq)
);
CREATE TABLE disputes (
    event_id TEXT PRIMARY KEY,
    kiosk TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kept_digest BYTEA NOT NULL,
    other_digest BYTEA NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    deliveries BIGINT NOT NULL DEFAULT 1,
    UNIQUE (kiosk, seq)
);
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TEXT NOT NULL,
    topic TEXT NOT NULL,
    kiosk TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    size INTEGER NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX quarantine_by_reason ON quarantine (reason);
CREATE TABLE voids (
    target_id TEXT NOT NULL,
    void_id TEXT NOT NULL,
    PRIMARY KEY (target_id, void_id)
);
CREATE TABLE people (
    id_number TEXT PRIMARY KEY,
    full_name TEXT,
    birth_date TEXT,
    sex TEXT,
    old_id TEXT,
    first_event TEXT,
    events BIGINT NOT NULL
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
    voided_by TEXT,
    place TEXT,
    merged_at TEXT
);
CREATE INDEX doses_by_person ON doses (id_number);
CREATE INDEX doses_by_day ON doses (given_on, kiosk);
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    id_number TEXT NOT NULL,
    event_ids TEXT NOT NULL,                       -- JSON list in (kiosk, seq) order
    detail TEXT NOT NULL,                          -- JSON object
    state TEXT NOT NULL DEFAULT 'open',
    resolved_by TEXT,
    referred_by TEXT
);
CREATE INDEX conflicts_by_person ON conflicts (id_number);
CREATE INDEX conflicts_queue ON conflicts (state, kind, id)
"""

M002 = """
CREATE TABLE outcomes (
    event_id TEXT PRIMARY KEY,                     -- a kiosk event about a visit (hub/store/outcomes.py), as merged
    id_number TEXT,
    kiosk TEXT NOT NULL,
    kind TEXT NOT NULL,                            -- checked_in, deferred, refused, contraindicated, referred, aefi, aefi_ack
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    return_on TEXT,
    severity TEXT,
    symptoms TEXT,
    ref TEXT,
    voided_by TEXT,
    merged_at TEXT NOT NULL
);
CREATE INDEX outcomes_by_kind ON outcomes (kind, day);
CREATE INDEX outcomes_by_ref ON outcomes (ref) WHERE ref IS NOT NULL;
CREATE TABLE lot_events (
    event_id TEXT PRIMARY KEY,                     -- a kiosk's LotOpened, VialOpened, DosesWasted or LotClosed
    kiosk TEXT NOT NULL,
    kind TEXT NOT NULL,                            -- opened, vial, wasted, closed
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    product TEXT,
    lot_number TEXT,
    expiry TEXT,
    doses_per_vial INTEGER,
    vials_opened INTEGER,
    doses INTEGER,
    given INTEGER,
    wasted INTEGER,
    reason TEXT,
    voided_by TEXT,
    merged_at TEXT NOT NULL
);
CREATE INDEX lot_events_by_day ON lot_events (day, kiosk);
CREATE INDEX lot_events_by_lot ON lot_events (product, lot_number)
"""
"""The reports' rows besides doses: each visit's outcome and each lot event, as merged (hub/store/outcomes.py)."""

M003 = """
CREATE TABLE dose_counts (
    given_on TEXT NOT NULL,                        -- the live doses per day, kiosk and hour, kept by the merge
    kiosk TEXT NOT NULL,                           -- (hub/store/live.py count_doses: the front page's counts)
    hour INTEGER NOT NULL,                         -- of the kiosk's clock (given_at), -1: none (a dose the district entered)
    doses BIGINT NOT NULL,
    PRIMARY KEY (given_on, kiosk, hour)
)
"""
"""The live doses per day, kiosk and hour (the SQLite store's migrations 16 and 17)."""

M004 = """
CREATE TABLE conflict_seen (
    id TEXT PRIMARY KEY,                           -- a conflict's id, from the first time it was derived
    opened_at TEXT NOT NULL                        -- hub time (UTC) it became a conflict (commit.py OPENED_AT)
);
ALTER TABLE conflicts ADD COLUMN opened_at TEXT;
DROP INDEX conflicts_queue;
CREATE INDEX conflicts_queue ON conflicts (state, kind, opened_at, id)
"""
"""Each conflict's opening time, kept from its first derivation (the SQLite store's migration 10)."""

M005 = """
CREATE TABLE hub_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the event is @hub:<seq> (hub/corrections.py), in the order made
    type TEXT NOT NULL,
    id_number TEXT NOT NULL,
    at TEXT NOT NULL,
    staff_id INTEGER,
    staff_name TEXT NOT NULL,
    payload TEXT NOT NULL                          -- canonical JSON: what changed, the reason and the evidence
);
CREATE INDEX hub_events_by_person ON hub_events (id_number)
"""
"""The district's corrections as the hub's own events (the SQLite store's migration 7), which the derivation reads."""

DISTRICTS = DISTRICT_INDEX
"""The provincial workspace's district filter: the SQLite store's migration 20, the same index."""

ROSTER_DISTRICT = M021.replace(") WITHOUT ROWID", ")")
"""The roster's and coverage's district, the counts per (district, commune, birth year, level): the SQLite store's
migration 21, the same script but for the table's storage."""

IMPORT_DISTRICT = M022
"""The district each roster import was for: the SQLite store's migration 22, the same statement."""

MIGRATIONS = [M001, M002, M003, M004, M005, *KIOSK_MIGRATIONS, *REPORT_MIGRATIONS, *WORKSPACE_MIGRATIONS, DISTRICTS,
              ROSTER_DISTRICT, IMPORT_DISTRICT]
"""Migration n is MIGRATIONS[n - 1]; the database's version is the highest applied."""


def migrate(conn: psycopg.Connection) -> int:
    """Apply the migrations this database lacks, each in its own transaction; return the version it is at.

    Raise StoreError when the database's schema is newer than this code's (a hub older than the database).
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ "
                     "NOT NULL DEFAULT now())")
        version = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"the hub database's schema is version {version}, newer than this hub's "
                             f"{len(MIGRATIONS)}: upgrade the hub")
        for number in range(version + 1, len(MIGRATIONS) + 1):
            for statement in statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
    return len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The statements of a script, split at each ";" but those inside a $$-quoted body (a function's); no comment in a
    script holds a ";"."""
    parts = script.split("$$")
    found, current = [], ""
    for n, part in enumerate(parts):
        if n % 2:  # inside $$ ... $$: kept whole
            current += f"$${part}$$"
            continue
        pieces = part.split(";")
        current += pieces[0]
        for piece in pieces[1:]:
            found.append(current)
            current = piece
    found.append(current)
    return [statement for statement in found if statement.strip()]
