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
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import wire
from vaccines.catalogue import Catalogue, load_catalogue

from ..errors import RosterImportBusy, RosterImportUnfinished
from ..liveness import MergeState, judge
from ..reports.daily import DayRows
from ..roster.files import Parsed
from . import Batch, Committed, KioskKey, StoreError
from . import acks
from . import commit as commits
from . import coverage, daily, exports, kiosks, roster
from . import clinical as clinical_reads
from .migrations import APPLICATION_ID, MIGRATIONS
from .stats import read_counts
from .workspace import Workspace

logger = logging.getLogger(__name__)

IMPORT_LOCK_SUFFIX = ".roster-import.lock"
"""The roster-import lock file is the database's path with this added (SqliteStore.import_lock)."""
CACHE_KIB = 32 * 1024
"""Page cache of the writer connection: the person and event-id indexes take random inserts (SQLite's default is 2 MiB)."""
MMAP_BYTES = 4 << 30
"""Read the database through a memory map, up to this size (SQLite holds it to its build's limit, 2 GiB on Debian):
a page the OS has cached is read in place, not copied by a read() each time. A day's export looks up its person and
roster entry on random pages for each dose, and reads in a third less time so (bench/README.md, issue 13)."""
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


class SqliteStore(Workspace):
    """The Store protocol on one SQLite file; safe to share between threads (one connection behind a lock). The
    workspace's methods are hub/store/workspace.py's, on the transactions below."""

    def __init__(self, path: str | Path, catalogue: Catalogue | None = None):
        self.path = Path(path)
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.lock = threading.Lock()
        self.write_wait_s = BUSY_TIMEOUT_MS / 1000
        """How long a write waits for another writer's lock (tests that hold it on purpose shorten it)."""
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
        ``write_wait_s`` (BUSY_TIMEOUT_MS: ``begin``), or not at all when ``wait`` is false. A transaction not ``durable`` commits
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
                begin(conn, mode, self.write_wait_s if wait else 0)
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

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A transaction that reads (DEFERRED: one snapshot, no write lock)."""
        return self.transaction("DEFERRED")

    def writing(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: one writer at a time, so a read-then-write step needs no other lock)."""
        return self.transaction()

    def derive_again(self, conn: sqlite3.Connection, numbers: set[str]) -> None:
        commits.derive_people(conn, numbers, self.catalogue)

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
                import_id = roster.begin(conn, file_name, by, at, parsed.rows, found, len(parsed.refused),
                                          parsed.district)
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

    def unrostered(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """People with a live dose who are on no roster, by ID number: ``limit`` after the first ``offset``."""
        with self.transaction("DEFERRED") as conn:
            return roster.unrostered(conn, limit, offset)

    def enroll(self, kiosk: str, site: str, password_hash: str | None, at: str, district: str | None = None) -> None:
        """Register a kiosk, or give an enrolled one a new site and password; raise ValueError for a bad kiosk id."""
        with self.transaction() as conn:
            kiosks.enroll(conn, kiosk, site, password_hash, at, district)
        logger.info("kiosk %s enrolled", kiosk)

    def enrolled(self) -> dict[str, str]:
        """Map every enrolled kiosk id to its site."""
        with self.transaction("DEFERRED") as conn:
            return kiosks.enrolled(conn)

    def districts(self) -> dict[str, str]:
        """Map every enrolled kiosk that belongs to a district (`hub kiosks import`) to it."""
        with self.transaction("DEFERRED") as conn:
            return kiosks.districts(conn)

    def import_kiosks(self, imported: list, district: str, at: str) -> None:
        """Enroll a district's kiosks and their keys (hub/kiosk_files.py), all in one transaction."""
        with self.transaction() as conn:
            for kiosk in imported:
                kiosks.import_kiosk(conn, kiosk, district, at)
        logger.info("imported %d kiosks of district %s", len(imported), district)

    def add_key(self, key: KioskKey) -> None:
        """Register a kiosk's public key (see hub.store.Store.add_key)."""
        with self.transaction() as conn:
            kiosks.add_key(conn, key)
        logger.info("kiosk %s: key %s registered", key.kiosk, key.key_id)

    def revoke_keys(self, kiosk: str, at: str, reason: str, *, keep: str | None = None) -> list[str]:
        """Revoke every valid key of the kiosk but ``keep``; return the revoked key ids."""
        with self.transaction() as conn:
            ids = kiosks.revoke_keys(conn, kiosk, at, reason, keep)
        for key_id in ids:
            logger.warning("kiosk %s: key %s revoked", kiosk, key_id)  # the reason is free text: the database keeps it, not the log
        return ids

    def keys(self) -> dict[str, KioskKey]:
        """Every registered key, valid or revoked, by key id."""
        with self.transaction("DEFERRED") as conn:
            return kiosks.keys(conn)

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

    # Coverage against the roster: see hub/store/coverage.py and hub.store.Store

    def coverage(self, as_of: date, commune: str | None = None, district: str | None = None) -> dict[str, Any]:
        with self.transaction("DEFERRED") as conn:
            return coverage.report(conn, as_of, commune, district)

    def coverage_communes(self, district: str | None = None) -> list[tuple[str, str]]:
        with self.transaction("DEFERRED") as conn:
            return coverage.communes(conn, district)

    def outreach(self, commune: str, as_of: date, limit: int | None = None, offset: int = 0,
                 district: str = "") -> tuple[int, list[dict[str, Any]]]:
        with self.transaction("DEFERRED") as conn:
            return coverage.outreach(conn, commune, as_of, limit, offset, district)

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

    def day_rows(self, day: date, district: str | None = None) -> DayRows:
        with self.transaction("DEFERRED") as conn:
            return daily.day_rows(conn, day, district)

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

    def aefi_lots(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.aefi_lots(conn, first.isoformat(), last.isoformat(), district)

    def clinical_sites(self, district: str | None = None) -> list[str]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.aefi_sites(conn, district)

    def add_aefi_follow_up(self, aefi: str, status: str, note: str, *, staff_id: int | None, staff_name: str,
                           at: datetime) -> bool:
        with self.transaction() as conn:
            return clinical_reads.add_follow_up(conn, aefi, status, note, staff_id, staff_name,
                                                at.astimezone(timezone.utc).isoformat(timespec="seconds"))

    def deferrals(self, day: date, *, names: bool, district: str | None = None) -> dict[str, list[dict[str, Any]]]:
        with self.transaction("DEFERRED") as conn:
            found = {"due": clinical_reads.deferrals_due(conn, day.isoformat(), names, district),
                     "recorded": clinical_reads.deferrals_on(conn, day.isoformat(), names, district)}
        return {part: self.with_refs(rows) for part, rows in found.items()} if names else found

    def refusal_counts(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.refusal_counts(conn, first.isoformat(), last.isoformat(), district)

    def stock(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.stock(conn, first.isoformat(), last.isoformat(), district)

    def lots_in_use(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return clinical_reads.lots_in_use(conn, first.isoformat(), last.isoformat(), district)

    # The national-platform export (hub/store/exports.py)

    def platform_rows(self, day: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.transaction("DEFERRED") as conn:
            return exports.day_rows(conn, day.isoformat(), district)

    def export_platform(self, day: date, build: Callable[[list[dict[str, Any]]], Any], *, by: str, staff_id: int | None,
                        at: str) -> tuple[int, Any] | None:
        """Read and build without the write lock (seconds for a busy day), then keep and mark in one short write
        transaction. A dose merged, voided or corrected in between is marked with the digest of the row the file holds,
        so it shows as changed after export and goes out again: nothing slips through."""
        with paused_collections():
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


@contextmanager
def paused_collections() -> Iterator[None]:
    """No garbage collection while the block runs: a day's export makes a few hundred thousand objects (its rows and
    cells), none of them in a cycle, and the collections they would set off cost a fifth of its time. The collector is
    switched back on by whoever switched it off (two exports at once in two threads: the first one's end)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


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
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
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
    """`hub stats`' counts (hub/store/stats.py) and the merging state of the one `hub run` on this file."""
    return {**read_counts(conn), "merging": judge(merging_row(conn), now)}


def merging_row(conn: sqlite3.Connection) -> dict[str, Any] | None:
    cursor = conn.execute("SELECT * FROM merging WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        return None
    return {name: value for (name, *_), value in zip(cursor.description, row) if name != "id"}
