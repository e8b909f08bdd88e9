"""A connection to the hub's PostgreSQL database and one transaction on it, with the database's failures as StoreErrors.

The store's own connection (PostgresStore) and a roster import's session
(reports.py) both come from here, so both fail alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from .. import StoreError

REFUSED_VALUES = (psycopg.errors.IntegrityError, psycopg.errors.DataError, psycopg.errors.ProgrammingError)
"""Errors that a value written causes, not the database: the same batch would fail again, so they are not
StoreErrors (hub/ingest.py splits the batch to find the message)."""


def connect(url: str) -> psycopg.Connection:
    """A connection in autocommit mode (each transaction opens its own); raise StoreError when it cannot be had."""
    try:
        # hub times are ISO 8601 with their offset; one without is UTC, as SQLite's datetime() reads it
        return psycopg.connect(url, autocommit=True, options="-c TimeZone=UTC")
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the hub database: {first_line(exc)}") from None


@contextmanager
def transaction(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """One transaction (READ COMMITTED) on conn: all of it is kept or none. Raise StoreError when the database fails
    (down, full, read-only, a deadlock it broke); a value it refuses (REFUSED_VALUES) raises as it is."""
    try:
        with conn.transaction():
            yield conn
    except psycopg.Error as exc:
        if isinstance(exc, REFUSED_VALUES):
            raise
        raise StoreError(f"the hub database failed: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
