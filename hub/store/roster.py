"""The roster's SQL: compare a checked file with the roster, stage what changes, apply it in short transactions.

An import runs on the importing process's own connection, holding the
database's import lock (SqliteStore.import_roster: one import at a time,
across processes; on PostgreSQL the same steps run on the import's own session,
holding a session advisory lock: hub/store/postgres/reports.py), in three steps:

1. ``compare``: the file's entries go into a TEMP table and are compared with
   the roster (which entries are new, which changed) under a read snapshot.
   TEMP tables belong to the connection, not to the database file: this takes
   no write lock, so `hub run` keeps committing batches meanwhile.
2. ``begin``, ``stage``: the import's row (state ``staging``), then the new
   and changed entries, in ID-number order and CHUNK per transaction, kept in
   ``roster_staged`` as parts of APPLY_CHUNK entries (a JSON array per row:
   cheap to write and to delete), and the file's refused rows in
   ``roster_rejections``;
   nobody reads them yet. ``ready`` then marks the import ``applying`` in one
   small transaction: from here on the import happens whatever befalls the
   process.
3. ``apply``: one part per transaction moves into ``roster``, with its
   entries' ``roster_mismatch`` conflicts and coverage rows derived again
   (hub/store/coverage.py refresh); then the refused rows of this file's
   earlier imports are dropped, and ``finish`` marks the import ``done``.

So `hub run` never waits for more than one chunk (15-30 ms at a million
people, about what a batch of its own takes there: bench/roster.py). The chunks are committed without an fsync
each (SqliteStore.transaction(durable=False)): a power cut may take back the
last of them, never more than the last durable step left to redo; ``ready``
and ``finish`` are durable, and with them every chunk before. A process
killed while staging leaves an import that never happened: ``discard`` drops
its rows and ``finish`` marks it ``abandoned``. One killed while applying
leaves an import that ``apply`` finishes. Either is done by the next import or the next open of the store
(SqliteStore.finish_unfinished_imports). While an import is applied, which takes
seconds for a large list, readers may see part of it; the roster page shows
the import's state. Re-importing the same file writes only the import's row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vaccines.catalogue import Catalogue

from ..merge import PersonEvent, PersonView, settle
from ..roster.link import KIND, mismatch
from ..roster.rows import Entry, Refused
from . import corrections
from .coverage import refresh as refresh_coverage
from .writers import ALONE, Writers

CHUNK = 5_000
"""Entries (or refused rows) staged or dropped per transaction."""
APPLY_CHUNK = 1_000
"""Entries applied per transaction, with their conflicts and coverage rows: 15-30 ms of write lock at a million people
on the roster. Half as many made the import a fifth slower (each transaction writes the index pages it touches again)
for waits a third shorter (bench/roster.py)."""
COLUMNS = Entry._fields
STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS roster_in ({', '.join(f'{c} TEXT NOT NULL' for c in COLUMNS)}, PRIMARY KEY (id_number))
WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS roster_touched (id_number TEXT PRIMARY KEY, new INTEGER NOT NULL) WITHOUT ROWID;
DELETE FROM roster_in;
DELETE FROM roster_touched
"""
DIFFERS = " OR ".join(f"r.{c} <> i.{c}" for c in COLUMNS[1:])
TOUCH = (f"INSERT INTO roster_touched (id_number, new) SELECT i.id_number, CASE WHEN r.id_number IS NULL THEN 1 ELSE 0 END "
         f"FROM roster_in i LEFT JOIN roster r ON r.id_number = i.id_number WHERE r.id_number IS NULL OR {DIFFERS}")
UPSERT = (f"INSERT INTO roster ({', '.join(COLUMNS)}, import_id, created_at, updated_at) "
          f"VALUES ({', '.join('?' * len(COLUMNS))}, ?, ?, ?) "
          f"ON CONFLICT (id_number) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS[1:])}, "
          f"import_id = excluded.import_id, updated_at = excluded.updated_at")
STATES = ("staging", "applying", "done", "abandoned")
"""An import's life (roster_imports.state): only ``done`` imports' refused rows are shown."""


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


@dataclass(frozen=True)
class Compared:
    """What ``compare`` found: how many entries are new to the roster, changed, and the same; the new and changed ones
    in ID-number order (the order they are staged and applied in: neighbours in the roster's index)."""

    added: int
    changed: int
    unchanged: int
    changes: list[Entry]


def compare(conn: sqlite3.Connection, entries: list[Entry]) -> Compared:
    """Fill this connection's TEMP tables with the entries and the new or changed ones; count them.

    Run inside a DEFERRED transaction: it reads the main database and writes TEMP tables only.
    """
    for statement in STAGE.split(";"):
        conn.execute(statement)
    conn.executemany(f"INSERT INTO roster_in VALUES ({', '.join('?' * len(COLUMNS))})", entries)
    conn.execute(TOUCH)
    touched = dict(conn.execute("SELECT id_number, new FROM roster_touched"))
    conn.execute("DELETE FROM roster_in")  # the file is in memory already: the TEMP tables served the comparison
    conn.execute("DELETE FROM roster_touched")
    added = sum(touched.values())
    changes = sorted(entry for entry in entries if entry.id_number in touched)
    return Compared(added, len(touched) - added, len(entries) - len(touched), changes)


def begin(conn: sqlite3.Connection, file_name: str, by: str, at: str, rows: int, found: Compared, rejected: int,
          district: str = "") -> int:
    """The import's row, in state ``staging``, for ``district`` (a province's import; "" at a district's hub); return
    its id."""
    return conn.execute(
        "INSERT INTO roster_imports (file_name, imported_by, imported_at, rows, added, changed, unchanged, rejected, "
        "state, conflicts, district) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'staging', 0, ?) RETURNING id",
        (file_name, by, at, rows, found.added, found.changed, found.unchanged, rejected, district)).fetchone()[0]


def parts_per_transaction() -> int:
    """Staged parts written or dropped per transaction: whole parts, about CHUNK entries."""
    return max(1, CHUNK // APPLY_CHUNK)


def stage(conn: sqlite3.Connection, import_id: int, offset: int, entries: list[Entry]) -> None:
    """Keep these new and changed entries (the compared ``changes`` from ``offset``, a multiple of APPLY_CHUNK) in
    roster_staged as parts of APPLY_CHUNK entries, each a JSON array in one row: one row, not hundreds, to write and to
    delete."""
    conn.executemany("INSERT INTO roster_staged (import_id, part, entries) VALUES (?, ?, ?)",
                     [(import_id, (offset + start) // APPLY_CHUNK + 1,
                       json.dumps(entries[start:start + APPLY_CHUNK], ensure_ascii=False))
                      for start in range(0, len(entries), APPLY_CHUNK)])


def stage_refused(conn: sqlite3.Connection, import_id: int, file_name: str, refused: list[Refused]) -> None:
    """Keep these refused rows (at most a CHUNK of them) under the import."""
    conn.executemany("INSERT INTO roster_rejections (file_name, row, reason, id_number, import_id) VALUES (?, ?, ?, ?, ?)",
                     [(file_name, r.row, r.reason, r.id_number, import_id) for r in refused])


def ready(conn: sqlite3.Connection, import_id: int) -> None:
    """Everything is staged: the import is to be applied, now or, after a crash, by whoever opens the store next."""
    conn.execute("UPDATE roster_imports SET state = 'applying' WHERE id = ? AND state = 'staging'", (import_id,))


def unfinished(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """Imports neither done nor abandoned, oldest first: (id, state)."""
    return conn.execute("SELECT id, state FROM roster_imports WHERE state IN ('staging', 'applying') ORDER BY id").fetchall()


def apply(conn: sqlite3.Connection, import_id: int, at: str, catalogue: Catalogue, writers: Writers = ALONE) -> bool:
    """Move the import's next staged part (APPLY_CHUNK entries) into the roster and derive their roster_mismatch
    conflicts and coverage rows again (inside the caller's write transaction, with the part's people locked where
    writers run at once: ``writers``); once none are left, drop the refused rows of this file's earlier imports, a
    CHUNK at a time. Return whether there was anything (False: ``finish`` it)."""
    staged = conn.execute("SELECT part, entries FROM roster_staged WHERE import_id = ? ORDER BY part LIMIT 1",
                          (import_id,)).fetchone()
    if staged is not None:
        part, entries = staged[0], json.loads(staged[1])
        writers.lock_people(conn, sorted(entry[0] for entry in entries))
        # Entry(): a part staged before migration 21 holds entries without a district
        conn.executemany(UPSERT, [(*Entry(*entry), import_id, at, at) for entry in entries])
        keys = json.dumps([entry[0] for entry in entries])
        found = relink(conn, keys, writers)
        refresh_coverage(conn, keys, catalogue)
        conn.execute("DELETE FROM roster_staged WHERE import_id = ? AND part = ?", (import_id, part))
        conn.execute("UPDATE roster_imports SET conflicts = conflicts + ? WHERE id = ?", (found, import_id))
        return True
    (file_name,) = conn.execute("SELECT file_name FROM roster_imports WHERE id = ?", (import_id,)).fetchone()
    return drop_rejections(conn, "file_name = ? AND import_id < ?", (file_name, import_id))


def discard(conn: sqlite3.Connection, import_id: int) -> bool:
    """Drop the next CHUNK of what an import killed while staging left; return whether there was anything (False:
    ``finish`` it)."""
    gone = conn.execute("DELETE FROM roster_staged WHERE (import_id, part) IN (SELECT import_id, part FROM "
                        "roster_staged WHERE import_id = ? LIMIT ?)", (import_id, parts_per_transaction())).rowcount
    return gone > 0 or drop_rejections(conn, "import_id = ?", (import_id,))


def finish(conn: sqlite3.Connection, import_id: int) -> None:
    """Mark an import applied whole ``done``, one dropped whole ``abandoned``."""
    conn.execute("UPDATE roster_imports SET state = CASE state WHEN 'applying' THEN 'done' ELSE 'abandoned' END "
                 "WHERE id = ? AND state IN ('staging', 'applying')", (import_id,))


def drop_rejections(conn: sqlite3.Connection, where: str, args: tuple) -> bool:
    """Delete up to a CHUNK of the refused rows that match; return whether any did."""
    return conn.execute(f"DELETE FROM roster_rejections WHERE (import_id, row) IN (SELECT import_id, row FROM "
                        f"roster_rejections WHERE {where} LIMIT ?)", (*args, CHUNK)).rowcount > 0


def progress(conn: sqlite3.Connection, import_id: int) -> RosterImported:
    """The import's counts as kept in its row."""
    row = conn.execute("SELECT id, file_name, rows, added, changed, unchanged, rejected, conflicts FROM roster_imports "
                       "WHERE id = ?", (import_id,)).fetchone()
    return RosterImported(*row)


def relink(conn: sqlite3.Connection, keys: str, writers: Writers = ALONE) -> int:
    """Derive again the roster_mismatch conflicts of these people (``keys``: their ID numbers as a JSON array, whose
    roster entries were just written); return how many hold.

    Only people whose stored identity is not exactly the entry's need the comparison (wire/identity.py's rule); a
    conflict the staff settled before (hub/corrections.py) stays settled."""
    conn.execute(f"DELETE FROM conflicts WHERE kind = '{KIND}' AND id_number IN (SELECT value FROM json_each(?))", (keys,))
    rows = conn.execute(
        "SELECT p.id_number, p.full_name, p.birth_date, p.sex, r.full_name, r.birth_date, r.sex "
        "FROM people p JOIN roster r ON r.id_number = p.id_number "
        "WHERE p.id_number IN (SELECT value FROM json_each(?)) "
        "AND p.full_name IS NOT NULL AND (p.full_name <> r.full_name OR p.birth_date <> r.birth_date OR p.sex <> r.sex)",
        (keys,))
    found = [c for c in (mismatch(person(row[:4]), entry(row[4:])) for row in rows) if c]
    hub = [event for _, event in corrections.person_events(conn, json.dumps(sorted({c["id_number"] for c in found})))]
    settled = settle(found, hub, {})
    conn.executemany("INSERT INTO conflicts (id, kind, id_number, event_ids, detail, state, resolved_by, referred_by) "
                     "VALUES (:id, :kind, :id_number, :event_ids, :detail, :state, :resolved_by, :referred_by)", settled)
    writers.conflicts_written(conn, sorted(c["id"] for c in settled))
    return len(found)


def person(row: Iterable[Any]) -> dict[str, Any]:
    return dict(zip(("id_number", "full_name", "birth_date", "sex"), row))


def entry(row: Iterable[Any]) -> dict[str, Any]:
    return dict(zip(("full_name", "birth_date", "sex"), row))


def roster_conflicts(conn: sqlite3.Connection, keys: str, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roster_mismatch conflicts of these merged people (``keys``: their ID numbers as a JSON array)."""
    entries = {row[0]: entry(row[1:]) for row in conn.execute(
        "SELECT id_number, full_name, birth_date, sex FROM roster WHERE id_number IN (SELECT value FROM json_each(?))", (keys,))}
    if not entries:
        return []
    return [c for c in (mismatch(p, entries[p["id_number"]]) for p in people if p["id_number"] in entries) if c]


def linked_conflicts(conn: sqlite3.Connection, keys: str, views: list[PersonView], hub: list[PersonEvent]) -> list[dict[str, Any]]:
    """The roster_mismatch conflicts of people the merge just derived (``views``; ``keys``: their ID numbers as a JSON
    array; ``hub``: their hub events), as recorded and as now, settled by the hub events: the merge rewrites every
    conflict of the people it derives (hub/store/commit.py, hub/store/postgres/derive.py)."""
    recorded = [view.recorded for view in views if view.recorded]  # identities a hub correction replaced
    linked = {c["id"]: c for c in roster_conflicts(conn, keys, recorded)} if recorded else {}
    linked.update((c["id"], c) for c in roster_conflicts(conn, keys, [view.person for view in views]))
    return settle(list(linked.values()), hub, {})


def rejections(conn: sqlite3.Connection, file_name: str | None, per_file: int | None = None) -> list[dict[str, Any]]:
    """The rows the last import of each file (or of this file) refused: file, row, reason, ID number when valid; the
    first ``per_file`` rows of each file when given (a page shows a sample, the import's count says how many)."""
    where, args = ("AND file_name = ?", (file_name,)) if file_name else ("", ())
    first, most = ("WHERE n <= ?", (per_file,)) if per_file is not None else ("", ())
    cursor = conn.execute(
        f"SELECT file_name, row, reason, id_number, import_id FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY file_name ORDER BY row) AS n FROM roster_rejections WHERE import_id IN (SELECT max(id) "
        f"FROM roster_imports WHERE state = 'done' {where} GROUP BY file_name)) AS numbered {first} "
        f"ORDER BY file_name, row", (*args, *most))
    return [dict(zip(("file_name", "row", "reason", "id_number", "import_id"), row)) for row in cursor]


def imports(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` imports first: id, file name, who, when, the counts, the state (STATES) and the district
    the list was for ("" at a district's hub)."""
    keys = ("import_id", "file_name", "imported_by", "imported_at", "rows", "added", "changed", "unchanged", "rejected",
            "state", "district")
    cursor = conn.execute("SELECT id, file_name, imported_by, imported_at, rows, added, changed, unchanged, rejected, "
                          "state, district FROM roster_imports ORDER BY id DESC LIMIT ?", (limit,))
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
