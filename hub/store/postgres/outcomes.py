"""The reports' outcome and lot rows on PostgreSQL: hub/store/outcomes.py keep itself (through dialect.py), with its
rows inserted in one statement a table instead of one a row.

Each row is its own event's, inserted once (ON CONFLICT DO NOTHING); a void marks its target whichever arrives first.
A void names an event of its own kiosk, whose row the commit has locked (commit.py lock_kiosks): no other worker
writes the target's row meanwhile.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Json

from .dialect import Connection


def insert(conn: Connection, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert the rows in one statement (a JSON array typed by the table's row type); a row already there stays."""
    if rows:
        conn.raw.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                         f"FROM json_populate_recordset(NULL::{table}, %s) ORDER BY event_id ON CONFLICT DO NOTHING",
                         (Json([{c: row[c] for c in columns} for row in rows]),))
