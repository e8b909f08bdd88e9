"""The roster's SQL: stage a checked file, apply it in one short write transaction, link it to the merged people.

An import runs in two steps on the importing process's own connection:

1. ``stage``: the file's entries go into a TEMP table and are compared with
   the roster (which entries are new, which changed) under a read snapshot.
   TEMP tables belong to the connection, not to the database file: this takes
   no write lock, so `hub run` keeps committing batches meanwhile.
2. ``apply``: one BEGIN IMMEDIATE transaction writes only the new and changed
   entries (one INSERT ... SELECT with ON CONFLICT DO UPDATE), the import's
   row, the file's refused rows and the roster_mismatch conflicts of the
   people those entries name. If another import committed since step 1 the
   comparison is made again inside the transaction, so it is never stale.

All or nothing: step 1 writes nothing anyone else sees, step 2 is one
transaction. Re-importing the same file writes only the import's row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..merge import settle
from ..roster.link import KIND, mismatch
from ..roster.rows import Entry, Refused
from . import corrections
from .coverage import queue as queue_coverage

COLUMNS = Entry._fields
STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS roster_in ({', '.join(f'{c} TEXT NOT NULL' for c in COLUMNS)}, PRIMARY KEY (id_number))
WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS roster_touched (id_number TEXT PRIMARY KEY, new INTEGER NOT NULL) WITHOUT ROWID;
DELETE FROM temp.roster_in;
DELETE FROM temp.roster_touched
"""
DIFFERS = " OR ".join(f"r.{c} <> i.{c}" for c in COLUMNS[1:])
TOUCH = (f"INSERT INTO temp.roster_touched (id_number, new) SELECT i.id_number, r.id_number IS NULL "
         f"FROM temp.roster_in i LEFT JOIN main.roster r ON r.id_number = i.id_number WHERE r.id_number IS NULL OR {DIFFERS}")
UPSERT = (f"INSERT INTO main.roster ({', '.join(COLUMNS)}, import_id, created_at, updated_at) "
          f"SELECT {', '.join('i.' + c for c in COLUMNS)}, :import_id, :at, :at FROM temp.roster_touched t "
          f"JOIN temp.roster_in i ON i.id_number = t.id_number WHERE true "
          f"ON CONFLICT (id_number) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS[1:])}, "
          f"import_id = excluded.import_id, updated_at = excluded.updated_at")


@dataclass(frozen=True)
class RosterImported:
    """What an import did: its id and the counts (``rows`` = data rows read = added + changed + unchanged + rejected)."""

    import_id: int
    file_name: str
    rows: int
    added: int
    changed: int
    unchanged: int
    rejected: int
    conflicts: int
    """roster_mismatch conflicts the import's new and changed entries hold now."""


def stage(conn: sqlite3.Connection, entries: list[Entry]) -> int:
    """Fill this connection's TEMP tables with the entries and the new or changed ones; return the last import id seen.

    Run inside a DEFERRED transaction: it reads the main database and writes TEMP tables only.
    """
    for statement in STAGE.split(";"):
        conn.execute(statement)
    conn.executemany(f"INSERT INTO temp.roster_in VALUES ({', '.join('?' * len(COLUMNS))})", entries)
    conn.execute(TOUCH)
    return last_import(conn)


def last_import(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM main.roster_imports").fetchone()[0]


def apply(conn: sqlite3.Connection, staged_at: int, file_name: str, by: str, at: str, rows: int,
          refused: list[Refused]) -> RosterImported:
    """Write what ``stage`` found (inside the caller's BEGIN IMMEDIATE) and queue the entries written for their
    coverage rows (hub/store/coverage.py drain, which the caller runs next); return the counts."""
    if last_import(conn) != staged_at:  # another import committed between stage and apply: compare again
        conn.execute("DELETE FROM temp.roster_touched")
        conn.execute(TOUCH)
    added, changed = conn.execute("SELECT coalesce(sum(new), 0), coalesce(sum(1 - new), 0) FROM temp.roster_touched").fetchone()
    staged = conn.execute("SELECT count(*) FROM temp.roster_in").fetchone()[0]
    import_id = conn.execute(
        "INSERT INTO roster_imports (file_name, imported_by, imported_at, rows, added, changed, unchanged, rejected) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (file_name, by, at, rows, added, changed, staged - added - changed, len(refused))).fetchone()[0]
    conn.execute(UPSERT, {"import_id": import_id, "at": at})
    keep_refused(conn, file_name, import_id, refused)
    conflicts = relink(conn)
    queue_coverage(conn, "SELECT id_number FROM temp.roster_touched")  # refreshed in short transactions: coverage.drain
    return RosterImported(import_id, file_name, rows, added, changed, staged - added - changed, len(refused), conflicts)


def keep_refused(conn: sqlite3.Connection, file_name: str, import_id: int, refused: list[Refused]) -> None:
    """Replace the refused rows kept for this file name with this import's."""
    conn.execute("DELETE FROM roster_rejections WHERE file_name = ?", (file_name,))
    conn.executemany("INSERT INTO roster_rejections (file_name, row, reason, id_number, import_id) VALUES (?, ?, ?, ?, ?)",
                     [(file_name, r.row, r.reason, r.id_number, import_id) for r in refused])


def relink(conn: sqlite3.Connection) -> int:
    """Derive again the roster_mismatch conflicts of the people whose entries the import wrote; return how many hold.

    Only people whose stored identity is not exactly the entry's need the comparison (wire/identity.py's rule); a
    conflict the staff settled before (hub/corrections.py) stays settled."""
    conn.execute(f"DELETE FROM conflicts WHERE kind = '{KIND}' AND id_number IN (SELECT id_number FROM temp.roster_touched)")
    rows = conn.execute(
        "SELECT p.id_number, p.full_name, p.birth_date, p.sex, i.full_name, i.birth_date, i.sex "
        "FROM temp.roster_touched t JOIN main.people p ON p.id_number = t.id_number "
        "JOIN temp.roster_in i ON i.id_number = t.id_number "
        "WHERE p.full_name IS NOT NULL AND (p.full_name <> i.full_name OR p.birth_date <> i.birth_date OR p.sex <> i.sex)")
    found = [c for c in (mismatch(person(row[:4]), entry(row[4:])) for row in rows) if c]
    hub = [event for _, event in corrections.person_events(conn, json.dumps(sorted({c["id_number"] for c in found})))]
    conn.executemany("INSERT INTO conflicts (id, kind, id_number, event_ids, detail, state, resolved_by, referred_by) "
                     "VALUES (:id, :kind, :id_number, :event_ids, :detail, :state, :resolved_by, :referred_by)",
                     settle(found, hub, {}))
    return len(found)


def person(row: Iterable[Any]) -> dict[str, Any]:
    return dict(zip(("id_number", "full_name", "birth_date", "sex"), row))


def entry(row: Iterable[Any]) -> dict[str, Any]:
    return dict(zip(("full_name", "birth_date", "sex"), row))


def roster_conflicts(conn: sqlite3.Connection, keys: str, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roster_mismatch conflicts of these merged people (``keys``: their ID numbers as a JSON array), for the merge's
    recomputation of a person (hub/store/commit.py), which rewrites every conflict of the people it derives."""
    entries = {row[0]: entry(row[1:]) for row in conn.execute(
        "SELECT id_number, full_name, birth_date, sex FROM roster WHERE id_number IN (SELECT value FROM json_each(?))", (keys,))}
    if not entries:
        return []
    return [c for c in (mismatch(p, entries[p["id_number"]]) for p in people if p["id_number"] in entries) if c]


def rejections(conn: sqlite3.Connection, file_name: str | None, per_file: int | None = None) -> list[dict[str, Any]]:
    """The rows the last import of each file (or of this file) refused: file, row, reason, ID number when valid; the
    first ``per_file`` rows of each file when given (a page shows a sample, the import's count says how many)."""
    where, args = ("WHERE file_name = ?", (file_name,)) if file_name else ("", ())
    cursor = conn.execute(
        f"SELECT file_name, row, reason, id_number, import_id FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY file_name ORDER BY row) AS n FROM roster_rejections {where}) WHERE ? IS NULL OR n <= ? "
        f"ORDER BY file_name, row", (*args, per_file, per_file))
    return [dict(zip(("file_name", "row", "reason", "id_number", "import_id"), row)) for row in cursor]


def imports(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` imports first: id, file name, who, when, and the counts."""
    keys = ("import_id", "file_name", "imported_by", "imported_at", "rows", "added", "changed", "unchanged", "rejected")
    cursor = conn.execute("SELECT id, file_name, imported_by, imported_at, rows, added, changed, unchanged, rejected "
                          "FROM roster_imports ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(zip(keys, row)) for row in cursor]


def unrostered(conn: sqlite3.Connection, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """People with a live dose whose ID number is on no roster (they live elsewhere, or the list is incomplete), by ID
    number: ``limit`` of them after the first ``offset``. It walks the people in ID order and stops when it has enough,
    so a page costs about as many people as it skips and shows, not the whole district."""
    cursor = conn.execute(
        "SELECT p.id_number, p.full_name, p.birth_date, p.sex, count(d.event_id), max(d.given_on) FROM people p "
        "JOIN doses d ON d.id_number = p.id_number AND d.voided_by IS NULL "
        "WHERE NOT EXISTS (SELECT 1 FROM roster r WHERE r.id_number = p.id_number) "
        "GROUP BY p.id_number ORDER BY p.id_number LIMIT ? OFFSET ?", (limit, offset))
    keys = ("id_number", "full_name", "birth_date", "sex", "doses", "last_dose_on")
    return [dict(zip(keys, row)) for row in cursor]
