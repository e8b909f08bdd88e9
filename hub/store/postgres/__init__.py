"""The hub's store on PostgreSQL (issue 15): the province's, by URL.

``open_store("postgresql://user@host:port/db")`` connects, applies the
migrations (migrations.py) and returns a PostgresStore. Its ``commit`` is the
SQLite store's merge (hub/merge.py is shared; commit.py here ports
hub/store/commit.py's SQL) and is safe with several hub workers committing to
one database at once, each with its own store. The rest of the Store protocol
is its mixins': kiosks.py (enrollments, keys, each worker's merging row),
workspace.py (accounts, people, corrections, conflicts, the kiosks and live
pages) and reports.py (the roster, coverage, daily reports, the platform export
and the clinical pages).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg

import wire
from vaccines.catalogue import Catalogue, load_catalogue

from .. import Batch, Committed, StoreError
from ..stats import read_counts
from . import acks
from . import commit as commits
from .connection import connect, first_line, transaction
from .dialect import Connection
from .kiosks import KioskStore, merging
from .migrations import migrate
from .reports import ReportStore
from .workspace import WorkspaceStore

class PostgresStore(KioskStore, WorkspaceStore, ReportStore):
    """Part of the Store protocol on one PostgreSQL database; one connection, shared between threads behind a lock.
    The workspace's half is workspace.py's (the SQLite store's methods, hub/store/workspace.py); the roster, coverage,
    reports, exports and clinical pages are ReportStore's (reports.py).

    ``worker`` names the `hub run` using it (its MQTT client id): several share a database, each with its merging row.
    """

    def __init__(self, url: str, catalogue: Catalogue | None = None, worker: str = "hub"):
        self.url = url
        self.worker = worker
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.lock = threading.Lock()
        self.conn = connect(url)
        try:
            migrate(self.conn)
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"cannot migrate the hub database: {first_line(exc)}") from exc
            raise
        try:
            self.open_reports()
        except BaseException:
            self.conn.close()
            raise

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One transaction (READ COMMITTED): all of it is kept or none. Raise StoreError when the database fails (down,
        full, read-only, a deadlock it broke); a value it refuses (connection.py REFUSED_VALUES) raises as it is."""
        with self.lock:
            if self.conn.broken or self.conn.closed:  # the server restarted, or ended this session: a new one
                self.conn = connect(self.url)
            with transaction(self.conn) as conn:
                yield conn

    def commit(self, batch: Batch, received_at: str) -> Committed:
        """Merge the batch in one transaction and return the acks to publish (see hub.store.Store.commit)."""
        if not len(batch):
            return Committed({}, merged=0, duplicates=0, quarantined=0)
        with self.transaction() as conn:
            return commits.write(conn, batch, received_at, self.catalogue)

    def ack_for(self, kiosk: str, at: str) -> wire.Ack:
        """The current acknowledgement for one kiosk (watermark 0 for one not heard from)."""
        with self.transaction() as conn:
            return acks.ack_for(conn, kiosk, at)

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Counts for `hub stats --json`: the SQLite store's, with every worker's merging state (kiosks.py merging)."""
        with self.transaction() as conn:
            return {**read_counts(Connection(conn)), **merging(conn, now or datetime.now(timezone.utc))}


def open_store(url: str, catalogue: Catalogue | None = None, worker: str = "hub") -> PostgresStore:
    return PostgresStore(url, catalogue, worker)
