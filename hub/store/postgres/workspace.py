"""The district workspace on PostgreSQL: hub/store/workspace.py's methods (the SQLite store's, the same query modules)
on this store's transactions through the dialect (dialect.py), the locks SQLite's one writer made unneeded, and the
workspace's tables (WORKSPACE_MIGRATIONS).

Where the engines differ:

- Transactions: a read is one REPEATABLE READ, READ ONLY transaction (one snapshot, as SQLite's DEFERRED read); a
  write is READ COMMITTED, and a step that reads then writes holds what it reads first: a person (the merge's
  per-person advisory lock, derive.py PERSON_LOCK: a correction's checks and its derivation, against a worker
  deriving the same person) or a sign-in lockout key (ATTEMPT_LOCK: attempts racing on one key are counted one by
  one). Keys are taken in sorted order.
- The name search: PostgreSQL has no GLOB; the same pattern as a regular expression (hub/people.py name_regex) on
  the same expression indexes (people_by_name, roster_by_name).
- The live page's marker: no rowid; the kiosks' watermarks and the events held above them (MARKER).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ...people import name_regex
from ..people import BIRTH_YEAR, NAME_LENGTH, NameMatch, by_name
from ..workspace import Workspace
from .derive import PERSON_LOCK, derive_people
from .dialect import Connection

ATTEMPT_LOCK = 0x7369676E
"""The first key of the per-lockout-key advisory locks ("sign"; the second is hashtext of the key)."""
REGEX = NameMatch(by_name("~"), name_regex)
MARKER = ("SELECT sum(k.watermark), sum(c.above), (SELECT max(seq) FROM hub_events), max(k.status_at), "
          "max(k.last_seen), count(*) FROM kiosks k, LATERAL (SELECT count(*) AS above FROM events e "
          "WHERE e.kiosk = k.kiosk AND e.seq > k.watermark) c")
"""The live marker without a rowid: an event merged either raises its kiosk's watermark or is one more above it (the
(kiosk, seq) index, a few rows a kiosk), and watermarks only rise; the newest hub event, status and message too."""

WORKSPACE_MIGRATIONS = [
    """
CREATE TABLE staff (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('officer', 'data', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    password_set_at TEXT NOT NULL,
    disabled_at TEXT,
    rights TEXT NOT NULL DEFAULT ''
);
CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    ended_why TEXT
);
CREATE INDEX staff_sessions_live ON staff_sessions (staff_id) WHERE ended_at IS NULL;
CREATE TABLE sign_in_attempts (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until TEXT,
    lock_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_at TEXT NOT NULL
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    staff_id BIGINT,
    action TEXT NOT NULL,
    record TEXT,
    address TEXT
);
CREATE INDEX audit_by_staff ON audit (staff_id, id)
""",
    f"""
CREATE TABLE person_refs (
    ref TEXT PRIMARY KEY,
    id_number TEXT NOT NULL UNIQUE
);
CREATE INDEX people_by_name ON people ({BIRTH_YEAR}, {NAME_LENGTH}, full_name)
""",
    f"""
CREATE INDEX roster_by_name ON roster ({BIRTH_YEAR}, {NAME_LENGTH}, full_name)
""",
]
"""The workspace's tables, the SQLite store's (its migrations 5, 6 and 9, which say what each column holds): accounts,
sessions, lockouts, the audit log, the people's refs and the name indexes, the roster's too (its table is the reports'
half's, REPORT_MIGRATIONS, applied before these: docs/province.md)."""


class WorkspaceStore(Workspace):
    """The workspace's half of the Store protocol on PostgreSQL (PostgresStore mixes it in beside ``transaction``)."""

    NAME_MATCH = REGEX
    MARKER = MARKER

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield Connection(conn)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.transaction() as conn:
            yield Connection(conn)

    def lock_people(self, conn: Connection, numbers: Sequence[str]) -> None:
        hold(conn, PERSON_LOCK, numbers)

    def lock_attempts(self, conn: Connection, keys: Sequence[str]) -> None:
        hold(conn, ATTEMPT_LOCK, keys)

    def derive_again(self, conn: Connection, numbers: set[str]) -> None:
        derive_people(conn.raw, numbers, self.catalogue)


def hold(conn: Connection, space: int, keys: Sequence[str]) -> None:
    """Take the transaction advisory locks (space, hashtext(key)) of these keys, in sorted order."""
    conn.raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(k)) FROM unnest(%s::text[]) AS k ORDER BY k",
                     (space, sorted(set(keys))))
