"""The kiosk's SQLite file: WAL, synchronous=FULL, numbered migrations, writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import DatabaseBusy, StoreError
from .migrations import MIGRATIONS

logger = logging.getLogger(__name__)


class Store:
    """Opens one connection per thread on the same file; every write is one IMMEDIATE transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the database {self.path}: {exc.strerror}") from None
        with self.write() as db:
            migrate(db)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        db = getattr(self.local, "db", None)
        if db is None:
            db = self.local.db = connect(self.path)
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction; raises StoreError saying why when SQLite refuses it (full disk, locked)."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.rollback()
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if db.conn.in_transaction:
                db.conn.rollback()
            kind = DatabaseBusy if isinstance(exc, sqlite3.OperationalError) and is_busy(str(exc)) else StoreError
            raise kind(explain(exc)) from exc

    def quick_check(self) -> str:
        """SQLite's quick integrity check of the file: "ok", or what is damaged."""
        return self.db.execute("PRAGMA quick_check").fetchone()[0]

    def count_writable(self, table: str) -> int:
        """The rows in ``table``, counted inside a write transaction: raises StoreError when the file cannot be written."""
        with self.write() as db:
            return db[table].count

    def ping(self) -> None:
        """Read from the file once; raises StoreError, with SQLite's words, when it cannot be opened or read."""
        try:
            self.db.execute("select 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    def relax(self, busy_ms: int) -> None:
        """For this thread's writes that can be re-derived: no fsync per commit, and wait at most ``busy_ms`` for the
        write lock (past it a write raises DatabaseBusy)."""
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(f"PRAGMA busy_timeout={int(busy_ms)}")

    def data_version(self) -> int:
        """A number that changes when another connection commits to the file (this thread's own commits leave it)."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        db = getattr(self.local, "db", None)
        if db is not None:
            db.close()
            self.local.db = None


def connect(path: Path) -> sqlite_utils.Database:
    try:
        conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a lost write here is a lost check-in or dose
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from None
    return sqlite_utils.Database(conn)


def explain(exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "full" in text:
        return "the disk is full: the record was not saved; free some space"
    if is_busy(text):
        return "the database is busy: the record was not saved; try again"
    if "readonly" in text:
        return "the database is read-only: the record was not saved"
    return f"the database refused the write: {text}"


def is_busy(text: str) -> bool:
    return "locked" in text or "busy" in text


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this file has not seen yet; return the schema version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
        logger.info("database migrated to version %d", number)
    return len(MIGRATIONS)
