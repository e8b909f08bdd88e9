"""The roster, coverage, daily reports, the national-platform export and the clinical pages on PostgreSQL: ReportStore.

PostgresStore inherits these methods. Each runs the SQLite store's own query
module (hub/store/roster.py, coverage.py, daily.py, exports.py, clinical.py)
on a psycopg connection through the dialect (dialect.py): the SQL is written
once. What differs is how writers meet, since here several hub workers, a
roster import and the workspace write at once:

- A step that reads a person's rows and then writes them (a roster part's
  conflicts and coverage rows, the coverage queue worked off) first takes the
  person's advisory lock, the merge's own (derive.py lock_people, WRITERS);
  the counts they move are upserted in key order.
- A roster import holds a session advisory lock (IMPORT_LOCK) on a connection
  of its own for its whole run, in place of the SQLite store's lock file: the
  server lets it go when the session ends, however the importing process
  died. A transaction-scoped lock would not do: the import is many short
  transactions, and another import must not start between two of them. The
  resume rule is the SQLite store's: an import staged whole is applied by the
  next import or the next open of a store, one not staged whole is dropped.
- Two processes issuing a day's report at once take the day's advisory lock
  (REPORT_LOCK), as BEGIN IMMEDIATE serialises them on SQLite.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any

import psycopg

from ...errors import RosterImportBusy, RosterImportUnfinished, StoreError
from ...reports.daily import DayRows
from ...roster.files import Parsed
from .. import clinical, coverage, daily, exports, roster
from ..migrations import M008
from ..sqlite import frozen_heap
from ..writers import Writers
from .connection import connect, transaction
from .derive import lock_people, note_opened
from .dialect import Connection

logger = logging.getLogger(__name__)

IMPORT_LOCK = 0x726F7374
"""The session advisory lock a roster import holds while it runs ("rost"): one import into a database at a time."""
REPORT_LOCK = 0x64617920
"""The first key of the advisory lock per day a report is issued for ("day "; the second is hashtext of the day)."""
WRITERS = Writers(lock_people=lambda conn, keys: lock_people(conn.raw, keys),
                  conflicts_written=lambda conn, ids: note_opened(conn.raw, ids))
"""Several writers at once: people locked before their rows are read, and new conflicts timed (no trigger here)."""

COVERAGE = M008.replace(") WITHOUT ROWID", ")") + """;
ALTER TABLE coverage_state ADD COLUMN requeue_after TEXT;
"""
"""Coverage's tables: the SQLite store's migration 8 (its SQL is PostgreSQL's too, but for the tables' storage) and
migration 11's cursor."""

REPORT_MIGRATIONS = ["""
CREATE TABLE roster (
    id_number TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    commune TEXT NOT NULL,
    address TEXT NOT NULL,
    priority_group TEXT NOT NULL,
    phone TEXT NOT NULL,
    import_id BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE roster_imports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'done',
    conflicts INTEGER
);
CREATE TABLE roster_staged (
    import_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    entries TEXT NOT NULL,
    PRIMARY KEY (import_id, part)
);
CREATE TABLE roster_rejections (
    import_id BIGINT NOT NULL,
    row INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    id_number TEXT,
    PRIMARY KEY (import_id, row)
);
CREATE INDEX roster_rejections_file ON roster_rejections (file_name, import_id);
""" + COVERAGE + """
CREATE TABLE daily_reports (
    day TEXT NOT NULL,
    version INTEGER NOT NULL,
    cut_at TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    why TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (day, version)
);
CREATE TABLE aefi_follow_ups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aefi TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    staff_id INTEGER,
    staff_name TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX aefi_follow_ups_by_aefi ON aefi_follow_ups (aefi, id);
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER aefi_follow_ups_append_only BEFORE UPDATE OR DELETE ON aefi_follow_ups
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE INDEX outcomes_by_return ON outcomes (return_on) WHERE kind = 'deferred';
CREATE TABLE exports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day TEXT NOT NULL,
    format TEXT NOT NULL,
    made_at TEXT NOT NULL,
    made_by TEXT NOT NULL,
    staff_id INTEGER,
    rows INTEGER NOT NULL,
    mapping TEXT NOT NULL,
    content BYTEA NOT NULL,
    new_rows INTEGER NOT NULL DEFAULT 0,
    changed_rows INTEGER NOT NULL DEFAULT 0,
    voided_rows INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exports_by_day ON exports (day, id);
CREATE TABLE export_lines (
    event_id TEXT NOT NULL,
    export_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    digest BYTEA NOT NULL,
    PRIMARY KEY (event_id, export_id)
)
"""]
"""The SQLite store's tables of the roster, coverage, daily reports, AEFI follow-ups and exports, as they end after its
migrations 6-18: each column as hub/store/migrations.py describes it. The store makes coverage_state's row again when
it opens if it is gone (ReportStore.open_reports: a test database is emptied whole between tests). A follow-up is
never edited nor removed: a trigger refuses it, as SQLite's do (migrations.py statements keeps its $$ body whole)."""


class ReportStore:
    """The roster, coverage, reports, exports and clinical half of the Store protocol (hub.store.Store), for
    PostgresStore: its ``transaction``, ``url`` and ``catalogue``, and ``refs_for`` for the pages that show names."""

    url: str
    catalogue: Any
    transaction: Callable[[], Any]

    @contextmanager
    def queries(self) -> Iterator[Connection]:
        """One transaction that speaks the SQLite store's SQL (the query modules of hub/store)."""
        with self.transaction() as conn:
            yield Connection(conn)

    def open_reports(self) -> None:
        """What opening the store does (SqliteStore.__init__): the coverage's state row, the first build of coverage,
        a roster import killed half way finished (unless another import is running), the coverage queue worked off."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.queries() as conn:
            conn.execute("INSERT INTO coverage_state (id) VALUES (1) ON CONFLICT DO NOTHING")
            coverage.ensure_built(conn, self.catalogue, now)
            behind = coverage.pending(conn) + (coverage.requeue_cursor(conn) is not None)
            imports_left = bool(roster.unfinished(conn))
        if imports_left:
            with self.import_session() as session:
                if session is not None:
                    self.finish_unfinished_imports(session, now)
        if behind:
            self.catch_up_coverage()

    # The roster (hub/store/roster.py)

    @contextmanager
    def import_session(self) -> Iterator[psycopg.Connection | None]:
        """A connection of its own holding the import lock (IMPORT_LOCK) while the block runs; None when another
        session holds it. The server releases the lock when the session ends, however its process ended."""
        with connect(self.url) as conn:
            held = conn.execute("SELECT pg_try_advisory_lock(%s)", (IMPORT_LOCK,)).fetchone()[0]
            yield conn if held else None

    def import_roster(self, parsed: Parsed, file_name: str, by: str, at: str) -> roster.RosterImported:
        """Import a checked roster file in short transactions (see hub.store.Store.import_roster and SqliteStore's)."""
        with self.import_session() as session, frozen_heap():  # no collection of the parsed file within a part
            if session is None:
                raise RosterImportBusy("another roster import into this database is under way: try again when it has "
                                       "finished (nothing was imported)")
            self.finish_unfinished_imports(session, at)
            with in_transaction(session) as conn:  # the TEMP tables are the import session's own
                found = roster.compare(conn, parsed.entries)
                import_id = roster.begin(conn, file_name, by, at, parsed.rows, found, len(parsed.refused),
                                          parsed.district)
            try:
                stage_import(session, import_id, file_name, found.changes, parsed.refused)
            except BaseException:
                self.abandon_quietly(session, import_id)
                raise
            try:
                self.apply_import(session, import_id, at)
            except StoreError as exc:
                raise RosterImportUnfinished(
                    f"roster import {import_id} of {file_name} is kept but not yet applied whole ({exc}); it will be "
                    f"finished by the next import or the next start of the hub", import_id) from exc
        with self.queries() as conn:
            done = roster.progress(conn, import_id)
        logger.info("roster import %d of %s: %d rows, %d added, %d changed, %d unchanged, %d rejected, %d conflicts",
                    done.import_id, file_name, done.rows, done.added, done.changed, done.unchanged, done.rejected,
                    done.conflicts)
        return done

    def apply_import(self, session: psycopg.Connection, import_id: int, at: str) -> None:
        """Apply a staged import a part per transaction until it is done."""
        in_chunks(lambda: in_transaction(session, durable=False),
                  lambda conn: roster.apply(conn, import_id, at, self.catalogue, WRITERS))
        with in_transaction(session) as conn:
            roster.finish(conn, import_id)

    def abandon_quietly(self, session: psycopg.Connection, import_id: int) -> None:
        """Drop what a failed staging wrote; if the database fails again, the next import or open drops it."""
        try:
            discard_import(session, import_id)
        except StoreError as exc:
            logger.warning("roster import %d: what its staging wrote stays until the next import: %s", import_id, exc)

    def finish_unfinished_imports(self, session: psycopg.Connection, at: str) -> int:
        """Finish what killed imports left (the session holds the import lock): apply those staged whole, drop the
        others."""
        with in_transaction(session) as conn:
            left = roster.unfinished(conn)
        for import_id, state in left:
            if state == "applying":
                logger.info("roster import %d was stopped while it was applied: applying the rest", import_id)
                self.apply_import(session, import_id, at)
            else:
                logger.info("roster import %d was stopped before it was staged whole: dropping it", import_id)
                discard_import(session, import_id)
        return len(left)

    def roster_rejections(self, file_name: str | None = None, per_file: int | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return roster.rejections(conn, file_name, per_file)

    def roster_imports(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return roster.imports(conn, limit)

    def unrostered(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return roster.unrostered(conn, limit, offset)

    # Coverage (hub/store/coverage.py)

    def coverage(self, as_of: date, commune: str | None = None, district: str | None = None) -> dict[str, Any]:
        with self.queries() as conn:
            return coverage.report(conn, as_of, commune, district)

    def coverage_communes(self, district: str | None = None) -> list[tuple[str, str]]:
        with self.queries() as conn:
            return coverage.communes(conn, district)

    def outreach(self, commune: str, as_of: date, limit: int | None = None, offset: int = 0,
                 district: str = "") -> tuple[int, list[dict[str, Any]]]:
        with self.queries() as conn:
            return coverage.outreach(conn, commune, as_of, limit, offset, district)

    def rebuild_coverage(self) -> int:
        """Recompute the coverage tables whole with this store's catalogue; return the people on the roster."""
        with self.queries() as conn:
            people = coverage.rebuild(conn, self.catalogue, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.catch_up_coverage()
        return people

    def catch_up_coverage(self) -> int:
        """Refresh the people queued for coverage, a transaction per coverage.CHUNK of them; return how many."""
        return in_chunks(self.queries, lambda conn: coverage.drain(conn, self.catalogue, writers=WRITERS)
                         or coverage.requeue(conn))

    # The daily report (hub/store/daily.py)

    def day_rows(self, day: date, district: str | None = None) -> DayRows:
        with self.queries() as conn:
            return daily.day_rows(conn, day, district)

    def issue_daily_report(self, day: date, report: dict[str, Any], *, cut_at: str, issued_at: str, by: str, why: str,
                           note: str = "") -> int | None:
        with self.queries() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (REPORT_LOCK, day.isoformat()))
            return daily.issue(conn, day, report, cut_at=cut_at, issued_at=issued_at, by=by, why=why, note=note)

    def daily_report_versions(self, day: date) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return daily.versions(conn, day)

    def daily_report_version(self, day: date, version: int) -> dict[str, Any] | None:
        with self.queries() as conn:
            return daily.version(conn, day, version)

    def daily_report_days(self, limit: int = 14) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return daily.recent_days(conn, limit)

    # The national-platform export (hub/store/exports.py)

    def platform_rows(self, day: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return exports.day_rows(conn, day.isoformat(), district)

    def export_platform(self, day: date, build: Callable[[list[dict[str, Any]]], Any], *, by: str,
                        staff_id: int | None, at: str) -> tuple[int, Any] | None:
        """Read and build in one transaction, keep and mark in another (as SqliteStore.export_platform: a dose changed
        in between is marked with the digest of the row the file holds, so it goes out again)."""
        built = build(self.platform_rows(day))
        if not built.lines:
            return None
        with self.queries() as conn:
            return exports.keep(conn, day.isoformat(), built, (at, by, staff_id)), built

    def platform_export(self, export_id: int) -> dict[str, Any] | None:
        with self.queries() as conn:
            return exports.one(conn, export_id)

    def platform_exports(self, day: date) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return exports.of_day(conn, day.isoformat())

    # Adverse reactions, deferrals, stock and wastage (hub/store/clinical.py)

    def aefi_list(self, first: date, last: date, filters: dict[str, str], *, names: bool,
                  limit: int = 500) -> list[dict[str, Any]]:
        with self.queries() as conn:
            rows = clinical.aefi_list(conn, first.isoformat(), last.isoformat(), filters, names, limit)
        return self.with_refs(rows) if names else rows

    def aefi(self, event_id: str, *, names: bool) -> dict[str, Any] | None:
        with self.queries() as conn:
            found = clinical.aefi_one(conn, event_id, names)
        return self.with_refs([found])[0] if found and names else found

    def aefi_lots(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return clinical.aefi_lots(conn, first.isoformat(), last.isoformat(), district)

    def clinical_sites(self, district: str | None = None) -> list[str]:
        with self.queries() as conn:
            return clinical.aefi_sites(conn, district)

    def add_aefi_follow_up(self, aefi: str, status: str, note: str, *, staff_id: int | None, staff_name: str,
                           at: datetime) -> bool:
        with self.queries() as conn:
            return clinical.add_follow_up(conn, aefi, status, note, staff_id, staff_name,
                                          at.astimezone(timezone.utc).isoformat(timespec="seconds"))

    def deferrals(self, day: date, *, names: bool, district: str | None = None) -> dict[str, list[dict[str, Any]]]:
        with self.queries() as conn:
            found = {"due": clinical.deferrals_due(conn, day.isoformat(), names, district),
                     "recorded": clinical.deferrals_on(conn, day.isoformat(), names, district)}
        return {part: self.with_refs(rows) for part, rows in found.items()} if names else found

    def refusal_counts(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return clinical.refusal_counts(conn, first.isoformat(), last.isoformat(), district)

    def stock(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return clinical.stock(conn, first.isoformat(), last.isoformat(), district)

    def lots_in_use(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.queries() as conn:
            return clinical.lots_in_use(conn, first.isoformat(), last.isoformat(), district)

    def with_refs(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows, each with its person's opaque ``ref`` (``refs_for``: the workspace's person refs)."""
        refs = self.refs_for([row["id_number"] for row in rows if row.get("id_number")])
        return [{**row, "ref": refs.get(row.get("id_number"))} for row in rows]


@contextmanager
def in_transaction(session: psycopg.Connection, durable: bool = True) -> Iterator[Connection]:
    """One transaction on the import's own session, speaking the SQLite store's SQL. One not ``durable`` commits without
    waiting for its WAL to reach the disk (as the SQLite store's chunks): the next durable commit flushes it too."""
    with transaction(session):
        if not durable:
            session.execute("SET LOCAL synchronous_commit TO OFF")
        yield Connection(session)


def in_chunks(begin: Callable[[], Any], step: Callable[[Connection], Any]) -> int:
    """Run step in one transaction after another (each ``begin()``) until it returns a false value; return the sum of
    what it returned."""
    done = 0
    while True:
        with begin() as conn:
            step_done = step(conn)
        if not step_done:
            return done
        done += step_done


def stage_import(session: psycopg.Connection, import_id: int, file_name: str, changes: list, refused: list) -> None:
    """Keep the new and changed entries and the refused rows, a chunk per transaction; mark the import ready."""
    step = roster.APPLY_CHUNK * roster.parts_per_transaction()
    for start in range(0, len(changes), step):
        with in_transaction(session, durable=False) as conn:
            roster.stage(conn, import_id, start, changes[start:start + step])
    for start in range(0, len(refused), roster.CHUNK):
        with in_transaction(session, durable=False) as conn:
            roster.stage_refused(conn, import_id, file_name, refused[start:start + roster.CHUNK])
    with in_transaction(session) as conn:  # durable, and with it every chunk before it
        roster.ready(conn, import_id)


def discard_import(session: psycopg.Connection, import_id: int) -> None:
    """Drop what an import staged, a chunk per transaction; mark it abandoned."""
    in_chunks(lambda: in_transaction(session, durable=False), lambda conn: roster.discard(conn, import_id))
    with in_transaction(session) as conn:
        roster.finish(conn, import_id)
