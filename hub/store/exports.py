"""The national-platform export's reads and writes (tables of migration 13): a day's doses with what the line list
says of each and the digest of the row last exported, and each export kept (the file, who, when, the doses it held and
each row's digest), the doses it held marked in bulk in the transaction that records it.

A day's doses come through the index doses_by_day (given_on, kiosk); the person, their roster entry, the kiosk's site
and the dose's last export are joined on primary keys, so an export reads one day and nothing else.
"""

from __future__ import annotations

import sqlite3
import zlib
from typing import Any

from ..corrections import HUB_KIOSK

DAY_ROWS = f"""
SELECT d.event_id, d.id_number, coalesce(p.full_name, r.full_name), coalesce(p.birth_date, r.birth_date),
       coalesce(p.sex, r.sex), r.phone, r.commune, d.product, d.lot_number, d.given_on, d.given_at, d.dose_number,
       d.booster, CASE WHEN d.kiosk = '{HUB_KIOSK}' THEN coalesce(d.place, '') ELSE coalesce(k.site, d.kiosk) END,
       d.voided_by IS NOT NULL, x.digest, x.export_id
FROM doses d INDEXED BY doses_by_day
LEFT JOIN people p ON p.id_number = d.id_number
LEFT JOIN roster r ON r.id_number = d.id_number
LEFT JOIN kiosks k ON k.kiosk = d.kiosk
LEFT JOIN dose_exports x ON x.event_id = d.event_id
WHERE d.given_on = ?
"""
DAY_COLUMNS = ("event_id", "id_number", "full_name", "birth_date", "sex", "phone", "commune", "product", "lot_number",
               "given_on", "given_at", "dose_number", "booster", "site", "voided", "exported_digest", "export_id")
EXPORT_COLUMNS = ("id", "day", "format", "made_at", "made_by", "staff_id", "rows", "mapping")
COMPRESSION = 1
"""zlib level of the kept files: fast (an export must take at most 2 s), and a CSV still shrinks about fivefold."""


def day_rows(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """Every dose given on ``day`` (yyyy-mm-dd), voided ones too, with its person, roster entry, site and last export."""
    rows = []
    for values in conn.execute(DAY_ROWS, (day,)):
        row = dict(zip(DAY_COLUMNS, values))
        row["voided"] = bool(row["voided"])
        rows.append(row)
    return rows


def keep(conn: sqlite3.Connection, day: str, built: Any, made: tuple[str, str, int | None]) -> int:
    """Record an export (``built``: hub.reports.export.PlatformFile; ``made``: when, by whom, their staff id) and mark
    each dose it held as exported by it; return its id."""
    at, by, staff_id = made
    cursor = conn.execute(
        "INSERT INTO exports (day, format, made_at, made_by, staff_id, rows, mapping, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (day, built.format, at, by, staff_id, len(built.lines), built.mapping, zlib.compress(built.content, COMPRESSION)))
    export_id = cursor.lastrowid
    lines = sorted(built.lines)  # in key order: each B-tree insert lands beside the last one
    conn.executemany("INSERT INTO export_rows (export_id, event_id, action, digest) VALUES (?, ?, ?, ?)",
                     [(export_id, event_id, act, digest) for event_id, act, digest in lines])
    conn.executemany(
        "INSERT INTO dose_exports (event_id, export_id, digest) VALUES (?, ?, ?) "
        "ON CONFLICT (event_id) DO UPDATE SET export_id = excluded.export_id, digest = excluded.digest",
        [(event_id, export_id, digest) for event_id, _act, digest in lines])
    return export_id


def one(conn: sqlite3.Connection, export_id: int) -> dict[str, Any] | None:
    """An export with its file (``content``, decompressed) and its rows per action; None when there is none."""
    found = conn.execute(f"SELECT {', '.join(EXPORT_COLUMNS)}, content FROM exports WHERE id = ?", (export_id,)).fetchone()
    if found is None:
        return None
    export = dict(zip(EXPORT_COLUMNS, found[:-1]))
    export["content"] = zlib.decompress(found[-1])
    export["actions"] = actions(conn, [export_id]).get(export_id, {})
    return export


def of_day(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """The exports of a day's doses, newest first, without their files, each with its rows per action."""
    found = [dict(zip(EXPORT_COLUMNS, row)) for row in conn.execute(
        f"SELECT {', '.join(EXPORT_COLUMNS)} FROM exports WHERE day = ? ORDER BY id DESC", (day,))]
    counts = actions(conn, [export["id"] for export in found])
    for export in found:
        export["actions"] = counts.get(export["id"], {})
    return found


def actions(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    """{export id: {action: rows}} of these exports."""
    counts: dict[int, dict[str, int]] = {}
    if not ids:
        return counts
    marks = ", ".join("?" * len(ids))
    for export_id, act, count in conn.execute(
            f"SELECT export_id, action, count(*) FROM export_rows WHERE export_id IN ({marks}) GROUP BY export_id, action",
            ids):
        counts.setdefault(export_id, {})[act] = count
    return counts
