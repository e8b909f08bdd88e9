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


def execute_all(conn: sqlite3.Connection, script: str) -> None:
    """Run each statement of script inside the caller's transaction (executescript would commit it).

    Statements are split at every ";", so a comment in a script never holds one.
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_merge(conn: sqlite3.Connection) -> None:
    """Kiosks (enrollment and fleet), events as received, quarantine, voids, and the derived people, doses, conflicts."""
    execute_all(conn, M001)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


M002 = """
CREATE TABLE kiosk_keys (
    key_id TEXT PRIMARY KEY,                       -- wire.signature.key_id: 16 hex digits of the SHA-256 of public_key
    kiosk TEXT NOT NULL,
    public_key BLOB NOT NULL,                      -- DER SubjectPublicKeyInfo of the kiosk's P-256 key
    certificate TEXT,                              -- PEM of the certificate the district CA issued for it, if any
    serial TEXT,                                   -- that certificate's serial number, hex
    not_after TEXT,                                -- that certificate's end of validity, ISO 8601 UTC
    added_at TEXT NOT NULL,
    revoked_at TEXT,                               -- NULL: the key signs this kiosk's events
    revoke_reason TEXT
);
CREATE INDEX kiosk_keys_by_kiosk ON kiosk_keys (kiosk);
"""


def m002_kiosk_keys(conn: sqlite3.Connection) -> None:
    """Each kiosk's public keys (the events it signs are checked against them), with their certificates and revocation."""
    execute_all(conn, M002)


M003 = """
ALTER TABLE events ADD COLUMN digest BLOB;         -- SHA-256 of the text the kiosk signed (wire/signature.py)
ALTER TABLE kiosks ADD COLUMN chain BLOB;          -- wire.chain_next over events 1..watermark (NULL: wire.chain_start)
ALTER TABLE kiosks ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;   -- rows in `refused` of this kiosk
ALTER TABLE kiosks ADD COLUMN disputed INTEGER NOT NULL DEFAULT 0;  -- rows in `disputes` of this kiosk
CREATE TABLE refused (
    event_id TEXT PRIMARY KEY,                     -- <kiosk>:<seq> of an event that verified as its kiosk's own but
    kiosk TEXT NOT NULL,                           -- breaks the contract. Settled (the watermark passes it), never merged
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,                          -- its quarantine reason
    digest BLOB NOT NULL,                          -- SHA-256 of the text the kiosk signed
    received_at TEXT NOT NULL,
    UNIQUE (kiosk, seq)
);
CREATE TABLE disputes (
    event_id TEXT PRIMARY KEY,                     -- an event for which two different texts arrived, each validly signed
    kiosk TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kept_digest BLOB NOT NULL,                     -- the text the hub holds (merged or refused): the first that arrived
    other_digest BLOB NOT NULL,                    -- the first other text (its message is in the quarantine)
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,         -- how many other texts arrived
    UNIQUE (kiosk, seq)
)
"""


def m003_confirmed_content(conn: sqlite3.Connection) -> None:
    """What acknowledgements confirm: each event's digest, each kiosk's chain, refused events, disputed events."""
    from wire import chain_next, chain_start
    from wire.signature import digest, unsigned

    execute_all(conn, M003)
    rows = conn.execute("SELECT event_id, body FROM events").fetchall()
    conn.executemany("UPDATE events SET digest = ? WHERE event_id = ?",
                     [(digest(unsigned(body.encode("utf-8"))), event_id) for event_id, body in rows])
    for kiosk, watermark in conn.execute("SELECT kiosk, watermark FROM kiosks").fetchall():
        chain = chain_start(kiosk)
        for (seq_digest,) in conn.execute("SELECT digest FROM events WHERE kiosk = ? AND seq <= ? ORDER BY seq", (kiosk, watermark)):
            chain = chain_next(chain, seq_digest)
        conn.execute("UPDATE kiosks SET chain = ? WHERE kiosk = ?", (chain, kiosk))


M004 = """
CREATE TABLE merging (
    id INTEGER PRIMARY KEY CHECK (id = 1),         -- one row: the last word of the last `hub run` on this file
    pid INTEGER NOT NULL,                          -- that hub run's process id
    started_at TEXT NOT NULL,                      -- hub time it started
    noted_at TEXT NOT NULL,                        -- hub time of this row (a running hub writes it every 10 s)
    stopped_at TEXT,                               -- hub time it stopped cleanly, NULL while it runs (or if it was killed)
    committed_at TEXT,                             -- hub time of the last batch its merge worker committed
    waiting INTEGER NOT NULL,                      -- messages received and not committed yet
    waiting_since TEXT,                            -- hub time the oldest of them arrived
    stalled_since TEXT,                            -- set while messages have waited longer than --stall-seconds
    last_error TEXT                                -- why the last commit failed (a database error), until one succeeds
);
"""


def m004_merging(conn: sqlite3.Connection) -> None:
    """Whether `hub run` is merging, for `hub stats` (another process): the liveness it notes."""
    execute_all(conn, M004)


M005 = """
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,                            -- as given to `hub staff add` (NFC, spaces collapsed)
    name_key TEXT NOT NULL UNIQUE,                 -- the name case-folded: what sign-in matches (hub/passwords.py)
    role TEXT NOT NULL CHECK (role IN ('officer', 'data', 'admin')),
    password_hash TEXT NOT NULL,                   -- scrypt$n=..,r=..,p=..$salt$key (hub/passwords.py)
    created_at TEXT NOT NULL,
    password_set_at TEXT NOT NULL,
    disabled_at TEXT                               -- NULL while the account may sign in
);
CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,                      -- SHA-256 of the random id in the cookie (the id is not stored)
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,                         -- the last request, written at most once a minute
    expires_at TEXT NOT NULL,                      -- the session ends then, however busy
    ended_at TEXT,                                 -- NULL while it lasts
    ended_why TEXT                                 -- signed_out, idle, expired, disabled, password_changed
);
CREATE INDEX staff_sessions_live ON staff_sessions (staff_id) WHERE ended_at IS NULL;
CREATE TABLE sign_in_attempts (
    key TEXT PRIMARY KEY,                          -- staff:<id>, name:<hash of an unknown name>, address:<client>
    failures INTEGER NOT NULL,                     -- wrong passwords in a row
    locked_until TEXT,                             -- NULL: not locked
    lock_seconds REAL NOT NULL DEFAULT 0,
    last_at TEXT NOT NULL
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    staff_id INTEGER,                              -- who (NULL: the command line on the hub machine)
    action TEXT NOT NULL,                          -- sign_in, sign_out, view_audit, staff_add, view_person, ...
    record TEXT,                                   -- kind:key of what was acted on, never personal data
    address TEXT                                   -- the browser's address (NULL from the command line)
);
CREATE INDEX audit_by_staff ON audit (staff_id, id)
"""


def m005_staff(conn: sqlite3.Connection) -> None:
    """The district workspace: staff accounts, their sessions, sign-in lockouts and the audit log."""
    execute_all(conn, M005)


M006 = """
CREATE TABLE IF NOT EXISTS roster (
    id_number TEXT PRIMARY KEY,                    -- CCCD (12 digits) or, where that is all the list has, CMND (9)
    full_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,                      -- yyyy-mm-dd, or yyyy where the list has the year only
    sex TEXT NOT NULL,                             -- Nam / Nữ
    commune TEXT NOT NULL,                         -- commune or ward, as the list writes it
    address TEXT NOT NULL,
    priority_group TEXT NOT NULL,
    phone TEXT NOT NULL,
    import_id INTEGER NOT NULL,                    -- the roster_imports row that last wrote this entry
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roster_imports (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,                       -- the file's name, without its folder
    imported_by TEXT NOT NULL,                     -- the staff member (web) or the system user (CLI)
    imported_at TEXT NOT NULL,
    rows INTEGER NOT NULL,                         -- data rows read
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    rejected INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roster_rejections (
    file_name TEXT NOT NULL,                       -- the rows refused by the last import of each file name
    row INTEGER NOT NULL,                          -- as the spreadsheet numbers it (the header's row counts)
    reason TEXT NOT NULL,                          -- a code of hub/roster/reasons.py, never the row's other cells
    id_number TEXT,                                -- the row's ID number when it is a valid one
    import_id INTEGER NOT NULL,
    PRIMARY KEY (file_name, row)
) WITHOUT ROWID
"""


def m006_roster(conn: sqlite3.Connection) -> None:
    """The population list: its entries, its imports and the rows each file's last import refused."""
    execute_all(conn, M006)


M007 = """
CREATE TABLE hub_events (
    seq INTEGER PRIMARY KEY,                       -- the event is @hub:<seq> (hub/corrections.py), in the order made
    type TEXT NOT NULL,                            -- hub.identity_corrected, hub.dose_voided, hub.dose_added, ...
    id_number TEXT NOT NULL,                       -- the person it is about
    at TEXT NOT NULL,                              -- hub time it was made
    staff_id INTEGER,                              -- who made it (NULL: the command line on the hub machine)
    staff_name TEXT NOT NULL,                      -- their name as it was then
    payload TEXT NOT NULL                          -- canonical JSON: what changed, the reason and the evidence
);
CREATE INDEX hub_events_by_person ON hub_events (id_number);
ALTER TABLE doses ADD COLUMN place TEXT;           -- where a dose the district entered was given (NULL: a kiosk's)
ALTER TABLE conflicts ADD COLUMN state TEXT NOT NULL DEFAULT 'open';  -- open / police / resolved
ALTER TABLE conflicts ADD COLUMN resolved_by TEXT; -- the hub event that settled it
ALTER TABLE conflicts ADD COLUMN referred_by TEXT; -- the hub event that sent it to the commune police
CREATE INDEX conflicts_by_state ON conflicts (state, kind)
"""


def m007_hub_events(conn: sqlite3.Connection) -> None:
    """The district's corrections as the hub's own events, and what they settle in the derived doses and conflicts."""
    execute_all(conn, M007)


M008 = """
CREATE TABLE coverage_people (
    id_number TEXT PRIMARY KEY,                    -- a person on the roster (no row for anyone else)
    commune TEXT NOT NULL,                         -- the roster's commune or ward
    birth_date TEXT NOT NULL,                      -- yyyy-mm-dd, a year-only roster date as yyyy-01-01 (docs/coverage.md)
    level INTEGER NOT NULL,                        -- 0 no live dose, 1 a dose, 2 primary series complete, 3 booster 1, 4 booster 2
    doses INTEGER NOT NULL,                        -- live (not voided) doses, a dose number recorded twice once
    due_number INTEGER,                            -- the next dose (hub/coverage.py next_due), NULL when none will be offered
    due_booster INTEGER,                           -- 0 for a primary dose, N for booster N
    due_on TEXT,                                   -- the first day it may be given (vaccines/eligibility.py)
    due_until TEXT                                 -- the day it no longer may (an age limit), NULL: no end
) WITHOUT ROWID;
CREATE INDEX coverage_people_by_birth ON coverage_people (birth_date, commune, level);
CREATE INDEX coverage_people_due ON coverage_people (commune, due_on, due_until) WHERE due_on IS NOT NULL;
CREATE TABLE coverage_counts (
    commune TEXT NOT NULL,
    birth_year INTEGER NOT NULL,
    level INTEGER NOT NULL,
    people INTEGER NOT NULL,                       -- rows of coverage_people with this commune, birth year and level (0 kept)
    PRIMARY KEY (commune, birth_year, level)
) WITHOUT ROWID;
CREATE TABLE coverage_pending (
    id_number TEXT PRIMARY KEY                     -- a person whose row is still to refresh (queued by a roster import)
) WITHOUT ROWID;
CREATE TABLE coverage_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    built_at TEXT,                                 -- when the tables were last rebuilt whole (NULL: not yet, the store builds
    catalogue TEXT                                 -- them when it opens the file) and the catalogue's fingerprint then
);
INSERT INTO coverage_state (id) VALUES (1)
"""


def m008_coverage(conn: sqlite3.Connection) -> None:
    """Coverage against the roster: a row per rostered person and counts per (commune, birth year, level), kept by
    hub/store/coverage.py refresh, and the people still to refresh; filled by the store on its first open (it needs
    the vaccine catalogue)."""
    execute_all(conn, M008)



M009 = """
CREATE TABLE person_refs (
    ref TEXT PRIMARY KEY,                          -- random (hub/store/people.py): what /people/<ref> and the audit log name
    id_number TEXT NOT NULL UNIQUE                 -- the person it stands for, never changed once given
) WITHOUT ROWID;
ALTER TABLE staff ADD COLUMN rights TEXT NOT NULL DEFAULT '';  -- space-separated rights given with `hub staff grant`
"""


def m009_person_refs(conn: sqlite3.Connection) -> None:
    """A person's record: opaque refs for their pages, the name indexes of the search, the officers' see_people right.

    The name indexes (people_by_name, roster_by_name: year of birth, length of the name, the name; hub/store/people.py)
    are plain expression indexes: SQLite keeps them with every people and roster row written, whoever writes it.
    """
    from .people import INDEXES

    execute_all(conn, M009)
    execute_all(conn, INDEXES)


M010 = """
CREATE TABLE conflict_seen (
    id TEXT PRIMARY KEY,                           -- a conflict's id, from the first time it was derived
    opened_at TEXT NOT NULL                        -- hub time (UTC) it became a conflict (see OPENED_AT)
) WITHOUT ROWID;
ALTER TABLE conflicts ADD COLUMN opened_at TEXT;   -- conflict_seen's, copied by the trigger conflicts_opened
CREATE INDEX conflicts_queue ON conflicts (state, kind, opened_at, id);
DROP INDEX conflicts_by_state                      -- m007's (state, kind): conflicts_queue serves all it did
"""
OPENED_AT = """
strftime('%Y-%m-%dT%H:%M:%S+00:00', coalesce(
  (SELECT max(t) FROM (
     SELECT max(datetime(e.received_at)) AS t FROM json_each(NEW.event_ids) j JOIN events e ON e.event_id = j.value
     UNION ALL
     SELECT max(datetime(h.at)) FROM json_each(NEW.event_ids) j JOIN hub_events h
       ON j.value LIKE '@hub:%' AND h.seq = CAST(substr(j.value, 6) AS INTEGER))),
  (SELECT max(t) FROM (
     SELECT max(datetime(received_at)) AS t FROM events WHERE id_number = NEW.id_number
     UNION ALL SELECT datetime(updated_at) FROM roster WHERE id_number = NEW.id_number
     UNION ALL SELECT max(datetime(at)) FROM hub_events WHERE id_number = NEW.id_number)),
  '1970-01-01 00:00:00'))
"""
"""When a conflict became one, in hub time: when the last of its events arrived; for a conflict of no events (a roster
mismatch, an ID number that contradicts the birth date), the newest hub time known of its person then (their last
event, roster entry or hub event), which is what made it one."""
OPENED = f"""
CREATE TRIGGER conflicts_opened AFTER INSERT ON conflicts BEGIN
  INSERT OR IGNORE INTO conflict_seen (id, opened_at) VALUES (NEW.id, {OPENED_AT});
  UPDATE conflicts SET opened_at = (SELECT opened_at FROM conflict_seen WHERE id = NEW.id) WHERE id = NEW.id;
END
"""


def m010_conflict_queue(conn: sqlite3.Connection) -> None:
    """Each conflict's opening time, kept from its first derivation (the merge rewrites a conflict's row whenever it
    changes: its state, its detail), and an index that serves the queue oldest first and the front page's counts and
    oldest age without reading every conflict. A trigger keeps it: the merge and the roster import write conflicts
    without knowing about it."""
    execute_all(conn, M010)
    conn.execute(OPENED)  # one statement holding ";": execute_all would split it
    conn.execute("UPDATE conflicts SET opened_at = NULL")  # fill in the rows already there, as a fresh insert would
    rows = conn.execute("SELECT id, kind, id_number, event_ids, detail, state, resolved_by, referred_by FROM conflicts")
    conn.execute("DELETE FROM conflicts")
    conn.executemany("INSERT INTO conflicts (id, kind, id_number, event_ids, detail, state, resolved_by, referred_by) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows.fetchall())


M011 = """
ALTER TABLE roster_imports ADD COLUMN state TEXT NOT NULL DEFAULT 'done';  -- staging, applying, done, abandoned
ALTER TABLE roster_imports ADD COLUMN conflicts INTEGER;                    -- roster_mismatch conflicts its entries hold
CREATE TABLE roster_staged (
    import_id INTEGER NOT NULL,                    -- an import being staged or applied (hub/store/roster.py)
    part INTEGER NOT NULL,                         -- 1, 2, ...: applied in this order, one per transaction
    entries TEXT NOT NULL,                         -- a JSON array of entries, each [id_number, full_name, birth_date,
                                                   -- sex, commune, address, priority_group, phone]: new or changed
    PRIMARY KEY (import_id, part)
);
CREATE TABLE roster_rejections_by_import (
    import_id INTEGER NOT NULL,
    row INTEGER NOT NULL,                          -- as the spreadsheet numbers it (the header's row counts)
    file_name TEXT NOT NULL,
    reason TEXT NOT NULL,                          -- a code of hub/roster/reasons.py, never the row's other cells
    id_number TEXT,                                -- the row's ID number when it is a valid one
    PRIMARY KEY (import_id, row)
) WITHOUT ROWID;
INSERT INTO roster_rejections_by_import (import_id, row, file_name, reason, id_number)
    SELECT import_id, row, file_name, reason, id_number FROM roster_rejections;
DROP TABLE roster_rejections;
ALTER TABLE roster_rejections_by_import RENAME TO roster_rejections;
CREATE INDEX roster_rejections_file ON roster_rejections (file_name, import_id);
-- a coverage rebuild's cursor: the roster is still to be queued past this ID number (NULL: no rebuild under way).
-- (No comment after a column that ALTER TABLE adds: SQLite copies it into the table's CREATE text, before the ")".)
ALTER TABLE coverage_state ADD COLUMN requeue_after TEXT
"""


def m011_in_chunks(conn: sqlite3.Connection) -> None:
    """A roster import and a coverage rebuild in short transactions: each import's state, the entries staged for it,
    refused rows kept per import (an import's rows are written before it is done; the pages show the last done
    import's), and the rebuild's cursor."""
    execute_all(conn, M011)




M012 = """
CREATE TABLE outcomes (
    event_id TEXT PRIMARY KEY,                     -- a kiosk event about a visit (hub/store/outcomes.py), as merged
    id_number TEXT,                                -- the person
    kiosk TEXT NOT NULL,                           -- the site is the kiosk's (kiosks.site)
    kind TEXT NOT NULL,                            -- checked_in, deferred, refused, contraindicated, referred, aefi, aefi_ack
    day TEXT NOT NULL,                             -- the ticket's day (the site's queue day), yyyy-mm-dd
    at TEXT NOT NULL,                              -- kiosk wall time of the event, untrusted
    reason TEXT,                                   -- deferred and refused: as staff wrote it
    return_on TEXT,                                -- deferred: the day the person should come back
    severity TEXT,                                 -- aefi: mild, moderate, severe
    symptoms TEXT,                                 -- aefi: as staff wrote them
    ref TEXT,                                      -- aefi: the dose it followed, aefi_ack: the aefi acknowledged
    voided_by TEXT,                                -- the EventVoided that voids it, if any
    merged_at TEXT NOT NULL                        -- hub time its event was merged (events.received_at)
) WITHOUT ROWID;
CREATE INDEX outcomes_by_kind ON outcomes (kind, day);
CREATE INDEX outcomes_by_ref ON outcomes (ref) WHERE ref IS NOT NULL;
CREATE TABLE lot_events (
    event_id TEXT PRIMARY KEY,                     -- a kiosk's LotOpened, VialOpened, DosesWasted or LotClosed
    kiosk TEXT NOT NULL,
    kind TEXT NOT NULL,                            -- opened, vial, wasted, closed
    day TEXT NOT NULL,                             -- the kiosk's day (its wall time's date): a lot is opened per day
    at TEXT NOT NULL,
    product TEXT,
    lot_number TEXT,
    expiry TEXT,
    doses_per_vial INTEGER,
    vials_opened INTEGER,                          -- vial, closed: the lot's vials opened that day so far
    doses INTEGER,                                 -- wasted: doses lost in this event
    given INTEGER,                                 -- closed: doses given from the lot that day, as the kiosk counted
    wasted INTEGER,                                -- closed: doses wasted that day, the ones left in opened vials too
    reason TEXT,                                   -- wasted: as staff wrote it
    voided_by TEXT,
    merged_at TEXT NOT NULL                        -- hub time its event was merged (events.received_at)
) WITHOUT ROWID;
CREATE INDEX lot_events_by_day ON lot_events (day, kiosk);
CREATE INDEX lot_events_by_lot ON lot_events (product, lot_number);
CREATE INDEX doses_by_day ON doses (given_on, kiosk);
-- the hub time each dose's event was merged (events.received_at, the hub's own: hub_events.at), derived with the dose
-- so that a report cut at any time reads it without looking up the event
-- (No comment after a column that ALTER TABLE adds: SQLite copies it into the table's CREATE text, before the ")".)
ALTER TABLE doses ADD COLUMN merged_at TEXT;
UPDATE doses SET merged_at = CASE WHEN event_id LIKE '@hub:%'
    THEN (SELECT at FROM hub_events WHERE seq = CAST(substr(doses.event_id, 6) AS INTEGER))
    ELSE (SELECT received_at FROM events WHERE event_id = doses.event_id) END;
CREATE TABLE daily_reports (
    day TEXT NOT NULL,                             -- the day reported, yyyy-mm-dd (Vietnam)
    version INTEGER NOT NULL,                      -- 1, 2, ...: every issued version is kept
    cut_at TEXT NOT NULL,                          -- hub time (UTC) of the cut: what was merged by then is counted
    issued_at TEXT NOT NULL,                       -- hub time it was issued (after the cut when no hub ran at the cut)
    issued_by TEXT NOT NULL,                       -- a staff member's name, or `cut-off` when the hub issued it itself
    why TEXT NOT NULL,                             -- cutoff, reissue
    content TEXT NOT NULL,                         -- canonical JSON of the report as issued (hub/reports/daily.py)
    PRIMARY KEY (day, version)
) WITHOUT ROWID
"""


def m012_reports(conn: sqlite3.Connection) -> None:
    """The district's reports: each visit's outcome and each lot event as merged (hub/store/outcomes.py), doses by
    day, and the daily reports issued."""
    from .outcomes import backfill

    execute_all(conn, M012)
    backfill(conn)


M013 = """
CREATE TABLE aefi_follow_ups (
    id INTEGER PRIMARY KEY,                        -- append-only: the latest row of an aefi is its status
    aefi TEXT NOT NULL,                            -- the AefiRecorded event id (outcomes.event_id, kind aefi)
    status TEXT NOT NULL,                          -- reported, investigating, recovered, hospitalised, died, closed
    note TEXT NOT NULL,                            -- up to 500 characters, as the district's staff wrote it
    staff_id INTEGER,                              -- who recorded it (staff.id) and their name at the time
    staff_name TEXT NOT NULL,
    at TEXT NOT NULL                               -- hub time (UTC)
);
CREATE INDEX aefi_follow_ups_by_aefi ON aefi_follow_ups (aefi, id);
CREATE INDEX outcomes_by_return ON outcomes (return_on) WHERE kind = 'deferred'
"""
APPEND_ONLY = ("CREATE TRIGGER aefi_follow_ups_{verb} BEFORE {verb} ON aefi_follow_ups "
               "BEGIN SELECT RAISE(ABORT, 'aefi_follow_ups is append-only'); END")
"""A follow-up is never edited nor removed: a new one supersedes it (run whole: a trigger's body holds a ";")."""


def m013_aefi_follow_up(conn: sqlite3.Connection) -> None:
    """The district's follow-up of each adverse reaction (hub/store/clinical.py), append-only, and the deferrals by
    the day they are due back."""
    execute_all(conn, M013)
    for verb in ("UPDATE", "DELETE"):
        conn.execute(APPEND_ONLY.format(verb=verb))


M014 = """
-- the kiosks page (hub/store/fleet.py keep_statuses): whether the kiosk's clock was synchronised at its last status
-- (1, 0, NULL: not said), and the backlog of the status before the last one with the hub time it was received, so a
-- backlog that grows shows without keeping every status
ALTER TABLE kiosks ADD COLUMN clock_synced INTEGER;
ALTER TABLE kiosks ADD COLUMN backlog_before INTEGER;
ALTER TABLE kiosks ADD COLUMN backlog_before_at TEXT
"""


def m014_fleet_history(conn: sqlite3.Connection) -> None:
    """The kiosks page's flags: the clock's synchronisation at the last status and the backlog reported before it."""
    execute_all(conn, M014)


M015 = """
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,                        -- the export file's id: `export:<id>` in the audit log
    day TEXT NOT NULL,                             -- the day whose doses it holds (doses.given_on), yyyy-mm-dd
    format TEXT NOT NULL,                          -- xlsx, csv
    made_at TEXT NOT NULL,                         -- hub time (UTC)
    made_by TEXT NOT NULL,                         -- a staff member's name, or the system user of `hub export platform`
    staff_id INTEGER,                              -- who (NULL: the command line on the hub machine)
    rows INTEGER NOT NULL,                         -- data rows written
    mapping TEXT NOT NULL,                         -- SHA-256 of the mapping file it followed (hub/reports/platform.toml)
    content BLOB NOT NULL                          -- the file as handed out, zlib-compressed: a re-download is the same file
);
CREATE INDEX exports_by_day ON exports (day, id);
CREATE TABLE export_rows (
    export_id INTEGER NOT NULL,                    -- an export
    event_id TEXT NOT NULL,                        -- a dose it held (doses.event_id)
    action TEXT NOT NULL,                          -- new, changed, voided
    digest TEXT NOT NULL,                          -- SHA-256 of the row's content as written (hub/reports/export.py)
    PRIMARY KEY (export_id, event_id)
) WITHOUT ROWID;
CREATE TABLE dose_exports (
    event_id TEXT PRIMARY KEY,                     -- a dose exported at least once: its latest export row
    export_id INTEGER NOT NULL,
    digest TEXT NOT NULL                           -- as export_rows: a dose whose current row differs changed after export
) WITHOUT ROWID
"""


def m015_exports(conn: sqlite3.Connection) -> None:
    """The national-platform export: each file handed out, the doses it held and the digest of each row, and each
    dose's latest export (hub/store/exports.py)."""
    execute_all(conn, M015)



M016 = """
CREATE TABLE dose_counts (
    given_on TEXT NOT NULL,                        -- the live doses per day, kiosk and hour, kept by the triggers below
    kiosk TEXT NOT NULL,                           -- (the front page reads two days of them, not 80,000 doses)
    hour INTEGER NOT NULL,                         -- of the kiosk's clock (given_at), -1: none (a dose the district entered)
    doses INTEGER NOT NULL,
    PRIMARY KEY (given_on, kiosk, hour)
) WITHOUT ROWID;
INSERT INTO dose_counts (given_on, kiosk, hour, doses)
    SELECT given_on, kiosk, HOUR_OF_DOSES, count(*) FROM doses WHERE voided_by IS NULL GROUP BY 1, 2, 3
"""
HOUR = "CASE WHEN substr({row}.given_at, 12, 2) GLOB '[0-9][0-9]' THEN CAST(substr({row}.given_at, 12, 2) AS INTEGER) ELSE -1 END"
COUNT_UP = ("INSERT INTO dose_counts (given_on, kiosk, hour, doses) SELECT NEW.given_on, NEW.kiosk, {hour}, 1 "
            "WHERE NEW.voided_by IS NULL "
            "ON CONFLICT (given_on, kiosk, hour) DO UPDATE SET doses = doses + 1").format(hour=HOUR.format(row="NEW"))
COUNT_DOWN = ("UPDATE dose_counts SET doses = doses - 1 "
              "WHERE given_on = OLD.given_on AND kiosk = OLD.kiosk AND hour = {hour} AND OLD.voided_by IS NULL"
              ).format(hour=HOUR.format(row="OLD"))
DOSE_COUNT_TRIGGERS = (
    f"CREATE TRIGGER dose_counts_in AFTER INSERT ON doses WHEN NEW.voided_by IS NULL BEGIN {COUNT_UP}; END",
    f"CREATE TRIGGER dose_counts_out AFTER DELETE ON doses WHEN OLD.voided_by IS NULL BEGIN {COUNT_DOWN}; END",
    f"CREATE TRIGGER dose_counts_moved AFTER UPDATE OF given_on, given_at, kiosk, voided_by ON doses BEGIN "
    f"{COUNT_DOWN}; {COUNT_UP}; END",
)
"""The merge writes doses by deleting and inserting a person's changed rows (hub/store/commit.py rewrite), whoever
else writes them; the triggers keep dose_counts whatever the writer (each holds a ";": run whole)."""


def m016_dose_counts(conn: sqlite3.Connection) -> None:
    """Live doses per day, kiosk and hour, kept by triggers as doses are written: the front page's counts
    (hub/store/live.py)."""
    execute_all(conn, M016.replace("HOUR_OF_DOSES", HOUR.format(row="doses")))
    for trigger in DOSE_COUNT_TRIGGERS:
        conn.execute(trigger)


def m017_dose_counts_by_the_merge(conn: sqlite3.Connection) -> None:
    """The merge keeps dose_counts itself, a write per day, kiosk and hour in a batch (hub/store/live.py count_doses):
    the per-dose triggers of migration 16 go (the counts they kept stay: the same rule)."""
    for trigger in ("dose_counts_in", "dose_counts_out", "dose_counts_moved"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")


M018 = """
CREATE TABLE export_lines (
    event_id TEXT NOT NULL,                        -- a dose an export held (doses.event_id)
    export_id INTEGER NOT NULL,                    -- the export: a dose's latest is its line with the highest id
    action TEXT NOT NULL,                          -- new, changed, voided
    digest BLOB NOT NULL,                          -- the row's content as written: 16 bytes of SHA-256 (hub/reports/export.py)
    PRIMARY KEY (event_id, export_id)
) WITHOUT ROWID;
ALTER TABLE exports ADD COLUMN new_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exports ADD COLUMN changed_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exports ADD COLUMN voided_rows INTEGER NOT NULL DEFAULT 0
"""


def m018_export_lines(conn: sqlite3.Connection) -> None:
    """One row per dose an export holds, keyed by the dose (its latest export is its last row), in place of two: an
    export writes each line once, beside the day's other doses, and the counts per action go on the export itself.
    The digests kept as hex text become their first 16 bytes (the same SHA-256)."""
    execute_all(conn, M018)
    lines = conn.execute("SELECT event_id, export_id, action, digest FROM export_rows ORDER BY event_id, export_id")
    conn.executemany("INSERT INTO export_lines (event_id, export_id, action, digest) VALUES (?, ?, ?, ?)",
                     [(event_id, export_id, act, bytes.fromhex(digest)[:16]) for event_id, export_id, act, digest in lines])
    for act in ("new", "changed", "voided"):
        conn.execute(f"UPDATE exports SET {act}_rows = (SELECT count(*) FROM export_rows r "
                     f"WHERE r.export_id = exports.id AND r.action = '{act}')")
    conn.execute("DROP TABLE export_rows")
    conn.execute("DROP TABLE dose_exports")


M019 = """
-- the district a kiosk imported from (`hub kiosks import`) belongs to (a comment after the column would end up in
-- the table's CREATE statement, before its closing parenthesis)
ALTER TABLE kiosks ADD COLUMN district TEXT
"""


def m019_kiosk_district(conn: sqlite3.Connection) -> None:
    """The district of a kiosk a province hub imported (NULL: enrolled here): events under another district's topic
    prefix are quarantined as ``wrong_district``."""
    execute_all(conn, M019)


DISTRICT_INDEX = "CREATE INDEX IF NOT EXISTS kiosks_by_district ON kiosks (district, kiosk) WHERE district IS NOT NULL"
"""A province's district filter (hub/store/kiosks.py in_district): a district's kiosks without reading the others;
the rows of those kiosks then come from each table's index on day and kiosk (dose_counts' key (given_on, kiosk, hour),
doses_by_day, lot_events_by_day) or, for outcomes, one day of outcomes_by_kind filtered by kiosk."""


def m020_district_index(conn: sqlite3.Connection) -> None:
    """The kiosks of one district, for the provincial workspace's filter."""
    conn.execute(DISTRICT_INDEX)


M021 = """
ALTER TABLE roster ADD COLUMN district TEXT NOT NULL DEFAULT '';
ALTER TABLE coverage_people ADD COLUMN district TEXT NOT NULL DEFAULT '';
DROP INDEX coverage_people_by_birth;
CREATE INDEX coverage_people_by_birth ON coverage_people (birth_date, district, commune, level);
DROP INDEX coverage_people_due;
CREATE INDEX coverage_people_due ON coverage_people (district, commune, due_on, due_until) WHERE due_on IS NOT NULL;
CREATE TABLE coverage_counts_by_district (
    district TEXT NOT NULL,                        -- the roster's district ('' at a district's hub)
    commune TEXT NOT NULL,
    birth_year INTEGER NOT NULL,
    level INTEGER NOT NULL,
    people INTEGER NOT NULL,                       -- rows of coverage_people with these, 0 kept
    PRIMARY KEY (district, commune, birth_year, level)
) WITHOUT ROWID;
INSERT INTO coverage_counts_by_district (district, commune, birth_year, level, people)
    SELECT '', commune, birth_year, level, people FROM coverage_counts;
DROP TABLE coverage_counts;
ALTER TABLE coverage_counts_by_district RENAME TO coverage_counts
"""
"""The district of each roster entry and coverage row (roster.district, coverage_people.district: the district a
province's import said the list is for, '' at a district's hub and for every entry before), and the counts per
(district, commune, birth year, level): a commune's name in two districts is two places. The PostgreSQL store runs the
same script (hub/store/postgres/migrations.py)."""


def m021_roster_district(conn: sqlite3.Connection) -> None:
    """Coverage per district at a province: the roster's and coverage's district, the counts keyed by it."""
    execute_all(conn, M021)


M022 = "ALTER TABLE roster_imports ADD COLUMN district TEXT NOT NULL DEFAULT ''"
"""The district each roster import was for ('' at a district's hub and for the imports before): the roster page's
list of imports says it at a province. The PostgreSQL store runs the same statement."""


def m022_import_district(conn: sqlite3.Connection) -> None:
    """The district of each roster import."""
    conn.execute(M022)


MIGRATIONS = [m001_merge, m002_kiosk_keys, m003_confirmed_content, m004_merging, m005_staff, m006_roster,
              m007_hub_events, m008_coverage, m009_person_refs, m010_conflict_queue,
              m011_in_chunks, m012_reports, m013_aefi_follow_up, m014_fleet_history, m015_exports,
              m016_dose_counts, m017_dose_counts_by_the_merge, m018_export_lines, m019_kiosk_district,
              m020_district_index, m021_roster_district,
              m022_import_district]
