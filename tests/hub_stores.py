"""The hub's two stores behind one face for tests that must hold on both: a SQLite file, or a PostgreSQL database in
the session's cluster (tests/postgres.py). Each opens a store, reads one row and snapshots the merged state."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

import wire
from hub.store import KioskStatus, Quarantined, postgres, sqlite
from hub.store import roster as roster_sql
from hub.store.postgres import reports
from hub.store.writers import ALONE

from .hub_helpers import SNAPSHOT, check_in, snapshot

PG_SNAPSHOT = {name: sql.replace("hex(chain)", "upper(encode(chain, 'hex'))") for name, sql in SNAPSHOT.items()}
"""hub_helpers.SNAPSHOT in PostgreSQL's spelling: the same rows, in the same order (the cluster's collation is C)."""
PG_TABLES = ("kiosks, events, refused, disputes, quarantine, voids, people, doses, conflicts, outcomes, lot_events, dose_counts, "
             "conflict_seen, hub_events, kiosk_keys, merging, roster, roster_imports, roster_staged, roster_rejections, "
             "coverage_people, coverage_counts, coverage_pending, daily_reports, aefi_follow_ups, exports, export_lines")


class SqliteDb:
    name = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        """What `hub --db` takes."""

    def open(self, catalogue=None):
        return sqlite.open_store(self.path, catalogue)

    def row(self, sql: str) -> tuple | None:
        conn = sqlite3.connect(str(self.path))
        try:
            return conn.execute(sql).fetchone()
        finally:
            conn.close()

    def rows(self, sql: str) -> list[tuple]:
        conn = sqlite3.connect(str(self.path))
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def snapshot(self) -> dict[str, list[tuple]]:
        return snapshot(self.path)

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)


class PostgresDb:
    name = "postgres"

    def __init__(self, url: str):
        self.url = url
        self.location = url

    def open(self, catalogue=None):
        return postgres.open_store(self.url, catalogue)

    def row(self, sql: str) -> tuple | None:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchone()

    def rows(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def snapshot(self) -> dict[str, list[tuple]]:
        with psycopg.connect(self.url) as conn:
            return {name: conn.execute(sql).fetchall() for name, sql in PG_SNAPSHOT.items()}

    def reset(self) -> None:
        """Empty the merge's tables (far faster than a new database, for each hypothesis example)."""
        with psycopg.connect(self.url) as conn:
            if conn.execute("SELECT to_regclass('kiosks')").fetchone()[0]:
                conn.execute(f"TRUNCATE {PG_TABLES} RESTART IDENTITY")


def database(request, tmp_path: Path):
    """The database a test parametrized with "sqlite" / "postgres" asks for."""
    if request.param == "postgres":
        return PostgresDb(request.getfixturevalue("pg_url"))
    return SqliteDb(tmp_path / "hub.db")


def both_stores():
    """A ``db`` fixture for a test module (``db = both_stores()``): each test that asks for it runs on SQLite and on
    PostgreSQL, on a database of its own (conftest's ``store_db``, under the name the module's tests use)."""

    @pytest.fixture
    def db(store_db):
        return store_db

    return db


def at_once(db, jobs: list[Callable], connections: int) -> list:
    """Run each job(store) in a thread of its own, all released at the same moment, on ``connections`` stores of db
    (as many hub processes would have; job n gets store n % connections); return what the jobs returned."""
    stores = [db.open() for _ in range(connections)]
    start, results = threading.Barrier(len(jobs)), []

    def run(job, store):
        start.wait()
        results.append(job(store))

    threads = [threading.Thread(target=run, args=(job, stores[n % connections])) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for store in stores:
        store.close()
    return results


# -- batches both stores' tests commit --------------------------------------------------------------------------------

AT = "2024-05-01T10:00:00+07:00"
LATER = "2024-05-01T10:05:00+07:00"


def seqs(kiosk, numbers):
    return [check_in(kiosk, n) for n in numbers]


def status(kiosk, state="online", *, at=AT, received_at=LATER, **extra):
    body = wire.kiosk_status(kiosk, state, boot="boot-2", version="0.1.0", at=at, clock_synced=True, **extra)
    return KioskStatus(kiosk, wire.parse_kiosk_status(kiosk, body), received_at)


def garbage(kiosk="ka", reason="not_json"):
    return Quarantined(topic=wire.topic(kiosk, wire.EVENT), kiosk=kiosk, reason=reason, detail="no", body=b"{oops",
                       received_at=AT)


# -- steps of a roster import, for tests that stop one half way -------------------------------------------------------


def queries(store):
    """A write transaction that speaks the SQLite store's SQL (the query modules of hub/store), on either store."""
    return store.queries() if isinstance(store, postgres.PostgresStore) else store.transaction()


def writers(store):
    """What the store's roster and coverage steps are run with (hub/store/writers.py)."""
    return reports.WRITERS if isinstance(store, postgres.PostgresStore) else ALONE


def staged_whole(store, entries: list, refused: list, rows: int, name: str, at: str) -> int:
    """What import_roster does up to the import's being ready to apply, through the same functions; its id."""
    if isinstance(store, postgres.PostgresStore):
        with store.import_session() as session:
            with reports.in_transaction(session) as conn:
                found = roster_sql.compare(conn, entries)
                import_id = roster_sql.begin(conn, name, "tester", at, rows, found, len(refused))
            reports.stage_import(session, import_id, name, found.changes, refused)
        return import_id
    with store.transaction("DEFERRED") as conn:
        found = roster_sql.compare(conn, entries)
    with store.transaction() as conn:
        import_id = roster_sql.begin(conn, name, "tester", at, rows, found, len(refused))
    store.stage_import(import_id, name, found.changes, refused)
    return import_id


def apply_part(store, import_id: int, at: str) -> bool:
    """One part of a staged import applied, as the import does it, in a transaction of its own."""
    with queries(store) as conn:
        return roster_sql.apply(conn, import_id, at, store.catalogue, writers(store))
