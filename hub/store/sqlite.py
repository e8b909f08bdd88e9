"""The hub's SQLite store: one writer connection, WAL, synchronous=FULL, each batch one BEGIN IMMEDIATE transaction.

The hub acknowledges a kiosk's events only after ``commit`` returns, so a
commit must survive a power cut: synchronous=FULL. The merge itself is in
hub/store/commit.py (what a batch writes) and hub/merge.py (the pure rules).
"""

from __future__ import annotations

import dataclasses
import fcntl
import gc
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import wire
from vaccines.catalogue import Catalogue, load_catalogue

from ..corrections import Correction, check_dates
from ..district_time import local_day
from ..errors import RosterImportBusy, RosterImportUnfinished
from ..liveness import MergeState, judge
from ..merge import CONFLICT_KINDS, SECURITY_KINDS
from ..people import Match, PersonRecord, assemble, parse_search
from ..reports.daily import DayRows
from ..roster.files import Parsed
from ..roster.link import KIND as ROSTER_KIND
from . import Attempt, AuditEntry, Batch, Committed, KioskKey, LockRule, SessionLimits, StaffMember, StoreError
from . import acks
from . import conflicts as conflict_reads
from . import commit as commits
from . import corrections, coverage, daily, exports, fleet, live, people, roster, staff
from . import clinical as clinical_reads
from .migrations import APPLICATION_ID, MIGRATIONS

logger = logging.getLogger(__name__)

IMPORT_LOCK_SUFFIX = ".roster-import.lock"
"""The roster-import lock file is the database's path with this added (SqliteStore.import_lock)."""
CACHE_KIB = 32 * 1024
"""Page cache of the writer connection: the person and event-id indexes take random inserts (SQLite's default is 2 MiB)."""
BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another writer's lock before SQLite says busy."""
LOCK_POLL_S = 0.0001
"""How often a write transaction waiting for another writer's lock tries again (``begin``)."""
CHUNK_PAUSE_S = 0.00025
"""The pause between two chunk transactions of the same long job (a roster import, coverage catching up): longer than
LOCK_POLL_S, so a writer waiting meanwhile, `hub run`'s next batch, takes the lock before the job's next chunk."""
CHECKPOINT_PAGES = 8000
"""Copy the WAL into the database once it holds this many pages (~32 MiB; SQLite's default is 1000). Each batch
dirties pages all over the three indexes keyed by ID number; checkpointing less often writes each such page to the
database once for many batches: about a quarter less written per event, for a WAL file of up to ~32 MiB."""


REFUSED_VALUES = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, sqlite3.ProgrammingError)
"""SQLite errors that a value written causes, not the database: the same batch would fail again, so they are not
StoreErrors (hub/ingest.py splits the batch to find the message)."""


class SqliteStore:
    """The Store protocol on one SQLite file; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path, catalogue: Catalogue | None = None):
        self.path = Path(path)
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the hub database {self.path}: {exc.strerror}") from None
        self.conn = connect(self.path)
        with self.transaction() as conn:
            migrate(conn, self.path)
            coverage.ensure_built(conn, self.catalogue, datetime.now(timezone.utc).isoformat(timespec="seconds"))
            behind = coverage.pending(conn) + (coverage.requeue_cursor(conn) is not None)
            imports_left = bool(roster.unfinished(conn))
        if imports_left:  # a roster import killed half way, unless another process is importing right now
            with self.import_lock() as held, frozen_heap():
                if held:
                    self.finish_unfinished_imports(datetime.now(timezone.utc).isoformat(timespec="seconds"))
        if behind:  # the first build after migration 8, or a rebuild (or an import before migration 11) left a queue
            self.catch_up_coverage()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, mode: str = "IMMEDIATE", wait: bool = True, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is kept or none. An IMMEDIATE one waits for another writer's lock up to
        BUSY_TIMEOUT_MS (``begin``), or not at all when ``wait`` is false. A transaction not ``durable`` commits
        without an fsync (synchronous=NORMAL): a power cut may take it back, never half of it, and the next durable
        commit on the database, by any connection, makes it durable too.

        Raise StoreError saying why when SQLite itself fails (full, locked, read-only, corrupt); a value it refuses
        (a constraint, a type it cannot bind: REFUSED_VALUES) raises as it is, for the caller to find the message.
        """
        with self.lock:
            conn = self.conn
            try:
                if not durable:
                    conn.execute("PRAGMA synchronous = NORMAL")
                begin(conn, mode, BUSY_TIMEOUT_MS / 1000 if wait else 0)
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.rollback()
                if isinstance(exc, REFUSED_VALUES):
                    raise
                raise StoreError(explain(exc)) from exc
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

    def commit(self, batch: Batch, received_at: str) -> Committed:
        """Merge the batch in one transaction and return the acks to publish (see hub.store.Store.commit)."""
        if not len(batch):
            return Committed({}, merged=0, duplicates=0, quarantined=0)
        with self.transaction() as conn:
            return commits.write(conn, batch, received_at, self.catalogue)

    def import_roster(self, parsed: Parsed, file_name: str, by: str, at: str) -> roster.RosterImported:
        """Import a checked roster file, in transactions of roster.CHUNK rows (hub/store/roster.py); return the counts.

        Raise RosterImportBusy when another import into this database is under way (nothing is written), StoreError
        when the database failed before the import was staged whole (nothing is kept), and RosterImportUnfinished when
        it failed after that (the import will be finished by the next import or the next open of the store)."""
        with self.import_lock() as held, frozen_heap():
            if not held:
                raise RosterImportBusy("another roster import into this database is under way: try again when it has "
                                       "finished (nothing was imported)")
            self.finish_unfinished_imports(at)
            with self.transaction("DEFERRED") as conn:  # TEMP tables and reads: no write lock
                found = roster.compare(conn, parsed.entries)
            with self.transaction() as conn:
                import_id = roster.begin(conn, file_name, by, at, parsed.rows, found, len(parsed.refused))
            try:
                self.stage_import(import_id, file_name, found.changes, parsed.refused)
            except BaseException:
                self.abandon_quietly(import_id)
                raise
            try:
                self.apply_import(import_id, at)
            except StoreError as exc:
                raise RosterImportUnfinished(
                    f"roster import {import_id} of {file_name} is kept but not yet applied whole ({exc}); it will be "
                    f"finished by the next import or the next start of the hub", import_id) from exc
        with self.transaction("DEFERRED") as conn:
            done = roster.progress(conn, import_id)
        logger.info("roster import %d of %s: %d rows, %d added, %d changed, %d unchanged, %d rejected, %d conflicts",
                    done.import_id, file_name, done.rows, done.added, done.changed, done.unchanged, done.rejected,
                    done.conflicts)
        return done

    @contextmanager
    def import_lock(self) -> Iterator[bool]:
        """Hold the database's roster-import lock (a file lock beside it, which the kernel releases when its process
        dies, however it dies) while the block runs: True when it was free, False when another import holds it."""
        try:
            fd = os.open(self.path.with_name(self.path.name + IMPORT_LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o660)
        except OSError as exc:
            raise StoreError(f"cannot open the roster import lock beside {self.path}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def stage_import(self, import_id: int, file_name: str, changes: list, refused: list) -> None:
        """Keep the new and changed entries (compare's ``changes``) and the refused rows in the database, a chunk per
        transaction; mark the import ready to apply."""
        step = roster.APPLY_CHUNK * roster.parts_per_transaction()
        for start in range(0, len(changes), step):
            with self.transaction(durable=False) as conn:
                roster.stage(conn, import_id, start, changes[start:start + step])
            time.sleep(CHUNK_PAUSE_S)
        for start in range(0, len(refused), roster.CHUNK):
            with self.transaction(durable=False) as conn:
                roster.stage_refused(conn, import_id, file_name, refused[start:start + roster.CHUNK])
            time.sleep(CHUNK_PAUSE_S)
        with self.transaction() as conn:  # durable, and with it every chunk before it in the WAL
            roster.ready(conn, import_id)

    def apply_import(self, import_id: int, at: str) -> None:
        """Apply a staged import a chunk per transaction until it is done."""
        self.in_chunks(lambda conn: roster.apply(conn, import_id, at, self.catalogue))
        with self.transaction() as conn:
            roster.finish(conn, import_id)

    def abandon_quietly(self, import_id: int) -> None:
        """Drop what a failed staging wrote; if the database fails again, the next import or open drops it."""
        try:
            self.discard_import(import_id)
        except StoreError as exc:
            logger.warning("roster import %d: what its staging wrote stays until the next import: %s", import_id, exc)

    def discard_import(self, import_id: int) -> None:
        """Drop what an import staged a chunk per transaction; mark it abandoned."""
        self.in_chunks(lambda conn: roster.discard(conn, import_id))
        with self.transaction() as conn:
            roster.finish(conn, import_id)

    def in_chunks(self, step: Callable[[sqlite3.Connection], Any]) -> int:
        """Run step in one transaction after another, each committed without its own fsync (a durable commit after
        them makes them durable too) and a CHUNK_PAUSE_S pause after each, until it returns a false value; return the
        sum of what it returned."""
        done = 0
        while True:
            with self.transaction(durable=False) as conn:
                step_done = step(conn)
            if not step_done:
                return done
            done += step_done
            time.sleep(CHUNK_PAUSE_S)

    def finish_unfinished_imports(self, at: str) -> int:
        """Finish what killed imports left (inside the import lock): apply those staged whole, drop the others."""
        with self.transaction("DEFERRED") as conn:
            left = roster.unfinished(conn)
        for import_id, state in left:
            if state == "applying":
                logger.info("roster import %d was stopped while it was applied: applying the rest", import_id)
                self.apply_import(import_id, at)
            else:
                logger.info("roster import %d was stopped before it was staged whole: dropping it", import_id)
                self.discard_import(import_id)
        return len(left)

    def roster_rejections(self, file_name: str | None = None, per_file: int | None = None) -> list[dict[str, Any]]:
        """The rows the last import of each file (or of this file name) refused, without the rows' personal data."""
        with self.transaction("DEFERRED") as conn:
            return roster.rejections(conn, file_name, per_file)

    def roster_imports(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest roster imports first, with their counts."""
        with self.transaction("DEFERRED") as conn:
            return roster.imports(conn, limit)

    def correct(self, correction: Correction, *, staff_id: int | None, by: str, at: str) -> str:
        """Keep the correction as a hub event and derive its person again, in one transaction; return its id."""
        check_dates(correction, local_day(datetime.fromisoformat(at)))
        with self.transaction() as conn:
            event_id = corrections.keep(conn, correction, staff_id, by, at, self.catalogue)
            commits.derive_people(conn, {correction.id_number}, self.catalogue)
        logger.info("correction %s (%s) by staff %s", event_id, correction.type, staff_id)
        return event_id

    def hub_events(self, id_number: str) -> list[dict[str, Any]]:
        """One person's hub events in the order made."""
        with self.transaction("DEFERRED") as conn:
            return corrections.events_of(conn, id_number)

    def unrostered(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """People with a live dose who are on no roster, by ID number: ``limit`` after the first ``offset``."""
        with self.transaction("DEFERRED") as conn:
            return roster.unrostered(conn, limit, offset)

    def enroll(self, kiosk: str, site: str, password_hash: str | None, at: str) -> None:
        """Register a kiosk, or give an enrolled one a new site and password; raise ValueError for a bad kiosk id."""
        wire.check_kiosk_id(kiosk)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kiosks (kiosk, site, password_hash, enrolled_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kiosk) DO UPDATE SET site = excluded.site, password_hash = excluded.password_hash, "
                "enrolled_at = coalesce(kiosks.enrolled_at, excluded.enrolled_at)",
                (kiosk, site, password_hash, at),
            )
        logger.info("kiosk %s enrolled", kiosk)

    def enrolled(self) -> dict[str, str]:
        """Map every enrolled kiosk id to its site."""
        with self.transaction("DEFERRED") as conn:
            return dict(conn.execute("SELECT kiosk, site FROM kiosks WHERE enrolled_at IS NOT NULL ORDER BY kiosk"))

    def add_key(self, key: KioskKey) -> None:
        """Register a kiosk's public key (see hub.store.Store.add_key)."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM kiosks WHERE kiosk = ? AND enrolled_at IS NOT NULL", (key.kiosk,)).fetchone() is None:
                raise ValueError(f"kiosk {key.kiosk!r} is not enrolled")
            owner = conn.execute("SELECT kiosk FROM kiosk_keys WHERE key_id = ?", (key.key_id,)).fetchone()
            if owner is not None and owner[0] != key.kiosk:
                raise ValueError(f"key {key.key_id} is already registered to kiosk {owner[0]!r}")
            conn.execute(
                "INSERT INTO kiosk_keys (key_id, kiosk, public_key, certificate, serial, not_after, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET certificate = excluded.certificate, "
                "serial = excluded.serial, not_after = excluded.not_after",
                (key.key_id, key.kiosk, key.public_key, key.certificate, key.serial, key.not_after, key.added_at),
            )
        logger.info("kiosk %s: key %s registered", key.kiosk, key.key_id)

    def revoke_keys(self, kiosk: str, at: str, reason: str, *, keep: str | None = None) -> list[str]:
        """Revoke every valid key of the kiosk but ``keep``; return the revoked key ids."""
        with self.transaction() as conn:
            ids = [key_id for (key_id,) in conn.execute(
                "SELECT key_id FROM kiosk_keys WHERE kiosk = ? AND revoked_at IS NULL AND key_id IS NOT ? ORDER BY key_id",
                (kiosk, keep))]
            conn.executemany("UPDATE kiosk_keys SET revoked_at = ?, revoke_reason = ? WHERE key_id = ?",
                             [(at, reason, key_id) for key_id in ids])
        for key_id in ids:
            logger.warning("kiosk %s: key %s revoked", kiosk, key_id)  # the reason is free text: the database keeps it, not the log
        return ids

    def keys(self) -> dict[str, KioskKey]:
        """Every registered key, valid or revoked, by key id."""
        with self.transaction("DEFERRED") as conn:
            rows = conn.execute("SELECT key_id, kiosk, public_key, added_at, revoked_at, certificate, serial, not_after "
                                "FROM kiosk_keys").fetchall()
        return {row[0]: KioskKey(*row) for row in rows}

    def ack_for(self, kiosk: str, at: str) -> wire.Ack:
        """The current acknowledgement for one kiosk (watermark 0 for one not heard from)."""
        with self.transaction("DEFERRED") as conn:
            return acks.ack_for(conn, kiosk, at)

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Counts for `hub stats --json`: a JSON-able dict; ``now`` (default: the clock) judges the merging state."""
        with self.transaction("DEFERRED") as conn:
            return read_stats(conn, now or datetime.now(timezone.utc))

    def note_merging(self, state: MergeState) -> None:
        """Write the one ``merging`` row; never wait for another writer (StoreError at once) and never fsync for it.

        `hub run`'s MQTT side calls this every few seconds beside the merge worker's commits: waiting for the lock
        would stall its loop, and the row is worth no fsync (a lost one is written again).
        """
        row = dataclasses.asdict(state)
        with self.transaction(wait=False, durable=False) as conn:
            conn.execute(
                f"INSERT INTO merging (id, {', '.join(row)}) VALUES (1, {', '.join(':' + key for key in row)}) "
                f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{key} = excluded.{key}' for key in row)}", row)

    # The workspace's accounts, sessions, lockouts and audit log: see hub/store/staff.py and hub.store.Store

    def add_staff(self, name: str, role: str, password_hash: str, at: datetime) -> StaffMember:
        with self.transaction() as conn:
            return staff.add_staff(conn, name, role, password_hash, at)

    def staff_named(self, name: str) -> StaffMember | None:
        with self.transaction("DEFERRED") as conn:
            return staff.find_staff(conn, name)

    def list_staff(self) -> list[StaffMember]:
        with self.transaction("DEFERRED") as conn:
            return staff.list_staff(conn)

    def disable_staff(self, name: str, at: datetime) -> StaffMember:
        with self.transaction() as conn:
            return staff.disable_staff(conn, name, at)

    def set_staff_password(self, staff_id: int, password_hash: str, at: datetime, *, keep: str | None = None) -> None:
        with self.transaction() as conn:
            staff.set_password(conn, staff_id, password_hash, at, keep)

    def reserve_attempt(self, rules: Sequence[LockRule], at: datetime) -> Attempt:
        with self.transaction() as conn:
            return staff.reserve_attempt(conn, rules, at)

    def clear_failures(self, keys: Sequence[str]) -> None:
        with self.transaction() as conn:
            staff.clear_failures(conn, keys)

    def open_session(self, staff_id: int, limits: SessionLimits, at: datetime) -> str:
        with self.transaction() as conn:
            return staff.open_session(conn, staff_id, limits, at)

    def session_holder(self, session_id: str, limits: SessionLimits, at: datetime) -> StaffMember | None:
        with self.transaction() as conn:
            return staff.session_holder(conn, session_id, limits, at)

    def end_session(self, session_id: str, at: datetime, why: str = "signed_out") -> None:
        with self.transaction() as conn:
            staff.end_session(conn, session_id, at, why)

    def audit(self, staff_id: int | None, action: str, record: str | None, address: str | None, at: datetime) -> None:
        with self.transaction() as conn:
            staff.write_audit(conn, staff_id, action, record, address, at)

    def audit_log(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        with self.transaction("DEFERRED") as conn:
            return staff.audit_log(conn, limit, before)

    def grant_right(self, name: str, right: str, at: datetime) -> StaffMember:
        with self.transaction() as conn:
            return staff.set_right(conn, name, right, True)

    def revoke_right(self, name: str, right: str, at: datetime) -> StaffMember:
        with self.transaction() as conn:
            return staff.set_right(conn, name, right, False)

    # A person's record: see hub/store/people.py and hub.store.Store

    def find_people(self, *, number: str = "", name: str = "", birth_year: str = "") -> list[Match]:
        """Find by ID number, or by folded name and year of birth (both on indexes); refs are made only when missing."""
        search = parse_search(number, name, birth_year)
        with self.transaction("DEFERRED") as conn:
            numbers = people.search_numbers(conn, search)
            refs = people.refs_of(conn, numbers)
            if len(refs) == len(numbers):
                return people.matches(conn, numbers, refs)
        with self.transaction() as conn:
            return people.matches(conn, numbers, people.make_refs(conn, numbers))

    def person_record(self, ref: str) -> PersonRecord | None:
        with self.transaction("DEFERRED") as conn:
            number = people.number_of(conn, ref)
            raw = people.read_record(conn, number) if number else None
        return assemble(ref, raw) if raw else None

    def conflict_ref(self, conflict_id: str) -> str | None:
        with self.transaction("DEFERRED") as conn:
            number = people.conflict_person(conn, conflict_id)
        return self.refs_for([number])[number] if number else None

    def people_briefs(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        refs = self.refs_for(numbers)
        with self.transaction("DEFERRED") as conn:
            return people.briefs(conn, refs)

    def refs_for(self, numbers: list[str]) -> dict[str, str]:
        """Each ID number's opaque ref, read; made (one short write) only for those that have none yet."""
        unique = sorted(set(numbers))
        with self.transaction("DEFERRED") as conn:
            refs = people.refs_of(conn, unique)
        if len(refs) < len(unique):
            with self.transaction() as conn:
                refs = people.make_refs(conn, unique)
        return refs

    # The conflict queue and the police lists: see hub/store/conflicts.py and hub.store.Store

    def conflict_counts(self, states: tuple[str, ...] = ("open", "police", "resolved")) -> dict[str, dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return conflict_reads.counts(conn, states)

    def conflict_queue(self, kind: str, *, after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return conflict_reads.queue(conn, kind, after, limit)

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        with self.transaction("DEFERRED") as conn:
            return conflict_reads.conflict(conn, conflict_id)

    def police_cases(self) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return conflict_reads.police_cases(conn)

    def ping(self) -> None:
        """Raise StoreError when the database cannot be read."""
        with self.transaction("DEFERRED") as conn:
            conn.execute("SELECT 1 FROM staff LIMIT 1").fetchall()

    # Coverage against the roster: see hub/store/coverage.py and hub.store.Store

    def coverage(self, as_of: date, commune: str | None = None) -> dict[str, Any]:
        with self.transaction("DEFERRED") as conn:
            return coverage.report(conn, as_of, commune)

    def coverage_communes(self) -> list[str]:
        with self.transaction("DEFERRED") as conn:
            return coverage.communes(conn)

    def outreach(self, commune: str, as_of: date, limit: int | None = None, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        with self.transaction("DEFERRED") as conn:
            return coverage.outreach(conn, commune, as_of, limit, offset)

    def rebuild_coverage(self) -> int:
        """Recompute the coverage tables whole, with this store's catalogue (after the catalogue changed)."""
        with self.transaction() as conn:
            people = coverage.rebuild(conn, self.catalogue, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.catch_up_coverage()
        return people

    def catch_up_coverage(self) -> int:
        """Refresh the people queued for coverage (hub/store/coverage.py drain), a transaction per CHUNK of them, so
        that `hub run` never waits long for the write lock; return how many."""
        return self.in_chunks(lambda conn: coverage.drain(conn, self.catalogue) or coverage.requeue(conn))

    # The daily report (hub/store/daily.py, hub/reports/daily.py)

    def day_rows(self, day: date) -> DayRows:
        with self.transaction("DEFERRED") as conn:
            return daily.day_rows(conn, day)

    def issue_daily_report(self, day: date, report: dict[str, Any], *, cut_at: str, issued_at: str, by: str, why: str,
                           note: str = "") -> int | None:
        with self.transaction() as conn:
            return daily.issue(conn, day, report, cut_at=cut_at, issued_at=issued_at, by=by, why=why, note=note)

    def daily_report_versions(self, day: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return daily.versions(conn, day)

    def daily_report_version(self, day: date, version: int) -> dict[str, Any] | None:
        with self.transaction("DEFERRED") as conn:
            return daily.version(conn, day, version)

    def daily_report_days(self, limit: int = 14) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return daily.recent_days(conn, limit)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # Adverse reactions, deferrals, stock and wastage: see hub/store/clinical.py and hub.store.Store

    def aefi_list(self, first: date, last: date, filters: dict[str, str], *, names: bool,
                  limit: int = 500) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            rows = clinical_reads.aefi_list(conn, first.isoformat(), last.isoformat(), filters, names, limit)
        return self.with_refs(rows) if names else rows

    def aefi(self, event_id: str, *, names: bool) -> dict[str, Any] | None:
        with self.transaction("DEFERRED") as conn:
            found = clinical_reads.aefi_one(conn, event_id, names)
        return self.with_refs([found])[0] if found and names else found

    def aefi_lots(self, first: date, last: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.aefi_lots(conn, first.isoformat(), last.isoformat())

    def clinical_sites(self) -> list[str]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.aefi_sites(conn)

    def add_aefi_follow_up(self, aefi: str, status: str, note: str, *, staff_id: int | None, staff_name: str,
                           at: datetime) -> bool:
        with self.transaction() as conn:
            return clinical_reads.add_follow_up(conn, aefi, status, note, staff_id, staff_name,
                                                at.astimezone(timezone.utc).isoformat(timespec="seconds"))

    def deferrals(self, day: date, *, names: bool) -> dict[str, list[dict[str, Any]]]:
        with self.transaction("DEFERRED") as conn:
            found = {"due": clinical_reads.deferrals_due(conn, day.isoformat(), names),
                     "recorded": clinical_reads.deferrals_on(conn, day.isoformat(), names)}
        return {part: self.with_refs(rows) for part, rows in found.items()} if names else found

    def refusal_counts(self, first: date, last: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.refusal_counts(conn, first.isoformat(), last.isoformat())

    def stock(self, first: date, last: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.stock(conn, first.isoformat(), last.isoformat())

    def lots_in_use(self, first: date, last: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.lots_in_use(conn, first.isoformat(), last.isoformat())

    def with_refs(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows, each with its person's opaque ``ref`` (made for those who have none yet: refs_for)."""
        refs = self.refs_for([row["id_number"] for row in rows if row.get("id_number")])
        return [{**row, "ref": refs.get(row.get("id_number"))} for row in rows]

    # The kiosks page and the live front page: see hub/store/fleet.py, hub/store/live.py and hub.store.Store

    def fleet_kiosks(self) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return fleet.kiosks(conn)

    def doses_by_hour(self, days: Sequence[date]) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return live.doses_by_hour(conn, days)

    def doses_by_day(self, first: date, last: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return live.doses_by_day(conn, first, last)

    def severe_reactions(self, days: Sequence[date]) -> dict[str, Any]:
        with self.transaction("DEFERRED") as conn:
            return live.severe_reactions(conn, days)

    def live_marker(self) -> tuple:
        with self.transaction("DEFERRED") as conn:
            return live.marker(conn)

    # The national-platform export (hub/store/exports.py)

    def platform_rows(self, day: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return exports.day_rows(conn, day.isoformat())

    def export_platform(self, day: date, build: Callable[[list[dict[str, Any]]], Any], *, by: str, staff_id: int | None,
                        at: str) -> tuple[int, Any] | None:
        """Read and build without the write lock (seconds for a busy day), then keep and mark in one short write
        transaction. A dose merged, voided or corrected in between is marked with the digest of the row the file holds,
        so it shows as changed after export and goes out again: nothing slips through."""
        built = build(self.platform_rows(day))
        if not built.lines:
            return None
        with self.transaction() as conn:
            return exports.keep(conn, day.isoformat(), built, (at, by, staff_id)), built

    def platform_export(self, export_id: int) -> dict[str, Any] | None:
        with self.transaction("DEFERRED") as conn:
            return exports.one(conn, export_id)

    def platform_exports(self, day: date) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return exports.of_day(conn, day.isoformat())


def open_store(path: str | Path, catalogue: Catalogue | str | Path | None = None) -> SqliteStore:
    """Open (creating and migrating as needed) the hub database at path, with the vaccine catalogue given or read from
    the TOML file it names (None: the packaged one); raise StoreError when the database cannot be opened."""
    if isinstance(catalogue, (str, Path)):
        catalogue = load_catalogue(catalogue) if catalogue else None
    return SqliteStore(path, catalogue)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now (a parsed roster file: millions of them) out of Python's garbage collections until the
    block ends: a full collection walks every object, and one that falls inside a transaction (the collector runs
    whenever enough objects were allocated) holds the write lock for a tenth of a second or more."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def begin(conn: sqlite3.Connection, mode: str, wait_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """BEGIN a transaction; an IMMEDIATE one tries for the write lock every LOCK_POLL_S for up to ``wait_s`` seconds
    (0: once), then raises SQLite's "database is locked".

    SQLite's own busy handler waits longer and longer between tries (up to 100 ms), so a writer that commits chunk
    after chunk, pausing a millisecond between them, would keep a writer using it waiting for seconds. Trying every
    0.2 ms, a waiting writer (`hub run`'s next batch) gets in at the first pause."""
    if mode != "IMMEDIATE":
        conn.execute(f"BEGIN {mode}")
        return
    deadline = time.monotonic() + wait_s
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL_S)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def connect(path: Path) -> sqlite3.Connection:
    try:
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), never the sqlite3 module's implicit ones
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # acknowledged means merged: a commit must survive a power cut
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the hub database {path}: {exc}") from None
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations this file has not seen yet; return the schema version; refuse a file that is not ours."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    application = conn.execute("PRAGMA application_id").fetchone()[0]
    if version and application != APPLICATION_ID:
        raise StoreError(f"{path} is not a hub database (a kiosk's, perhaps)")
    if version > len(MIGRATIONS):
        raise StoreError(f"{path} has schema version {version}; this hub knows up to {len(MIGRATIONS)}: upgrade the hub")
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
        logger.info("hub database migrated to version %d", number)
    return len(MIGRATIONS)


def explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "full" in text:
        return "the disk is full: the batch was not merged; free some space"
    if "locked" in text or "busy" in text:
        return "the hub database is busy: the batch was not merged; try again"
    if "readonly" in text:
        return "the hub database is read-only: the batch was not merged"
    return f"the hub database refused the batch: {text}"


def read_stats(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    """Counts of events, doses, people, duplicates, quarantine and conflicts, one dict per kiosk, and the merging state."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    by_reason = dict(conn.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason"))
    by_kind = {kind: 0 for kind in (*CONFLICT_KINDS, ROSTER_KIND, *SECURITY_KINDS)}
    by_kind.update(conn.execute("SELECT kind, count(*) FROM conflicts GROUP BY kind"))
    by_kind["disputed_event"] = one("SELECT count(*) FROM disputes")
    return {
        "events": one("SELECT count(*) FROM events"),
        "doses": one("SELECT count(*) FROM doses WHERE voided_by IS NULL"),
        "voided_doses": one("SELECT count(*) FROM doses WHERE voided_by IS NOT NULL"),
        "people": one("SELECT count(*) FROM people"),
        "duplicates": one("SELECT coalesce(sum(duplicates), 0) FROM kiosks"),
        "quarantined": {"total": sum(by_reason.values()), "by_reason": by_reason},
        "conflicts": {"total": sum(by_kind.values()), "by_kind": by_kind,
                      "open": one("SELECT count(*) FROM conflicts WHERE state = 'open'") + by_kind["disputed_event"],
                      "police": one("SELECT count(*) FROM conflicts WHERE state = 'police'"),
                      "resolved": one("SELECT count(*) FROM conflicts WHERE state = 'resolved'")},
        "corrections": corrections.counts(conn),
        "kiosks": [kiosk_stats(conn, row) for row in conn.execute(KIOSK_STATS).fetchall()],
        "merging": judge(merging_row(conn), now),
    }


def merging_row(conn: sqlite3.Connection) -> dict[str, Any] | None:
    cursor = conn.execute("SELECT * FROM merging WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        return None
    return {name: value for (name, *_), value in zip(cursor.description, row) if name != "id"}


KIOSK_STATS = (
    "SELECT kiosk, site, enrolled_at IS NOT NULL, watermark, highest, duplicates, last_seen, status, status_at, boot, "
    "version, backlog, camera_fps, clock_skew_s, refused, disputed FROM kiosks ORDER BY kiosk"
)


def kiosk_stats(conn: sqlite3.Connection, row: tuple) -> dict[str, Any]:
    keys = ("kiosk", "site", "enrolled", "watermark", "highest", "duplicates", "last_seen", "status", "status_at",
            "boot", "version", "backlog", "camera_fps", "clock_skew_s", "refused", "disputed")
    kiosk = dict(zip(keys, row))
    kiosk["enrolled"] = bool(kiosk["enrolled"])
    held = acks.held_above(conn, kiosk["kiosk"], kiosk["watermark"]) if kiosk["highest"] > kiosk["watermark"] else []
    kiosk["missing"] = kiosk["highest"] - kiosk["watermark"] - len(held)
    kiosk["gaps"] = count_gaps(kiosk["watermark"], held)
    return kiosk


def count_gaps(watermark: int, held: list[int]) -> int:
    """The number of missing ranges above watermark (all of them, not only the first wire.MAX_GAPS)."""
    return sum(1 for previous, seq in zip([watermark, *held], held) if seq > previous + 1)
