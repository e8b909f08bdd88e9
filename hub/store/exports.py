"""The national-platform export's reads and writes (tables of migrations 15 and 18): a day's doses with what the line
list says of each and the digest of the row last exported, and each export kept (the file, who, when, its rows per
action) with a line per dose it held (export_lines, keyed by the dose: its latest export is its last line), written in
the transaction that records the export.

A day's doses come through the index doses_by_day (given_on, kiosk); the person, their roster entry, the kiosk's site
and the dose's last export line are looked up on primary keys, so an export reads one day and nothing else.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections import Counter
from typing import Any

from ..corrections import HUB_KIOSK
from .kiosks import in_district

DAY_ROWS = f"""
SELECT d.event_id, d.id_number, coalesce(p.full_name, r.full_name), coalesce(p.birth_date, r.birth_date),
       coalesce(p.sex, r.sex), r.phone, r.commune, d.product, d.lot_number, d.given_on, d.given_at, d.dose_number,
       d.booster, CASE WHEN d.kiosk = '{HUB_KIOSK}' THEN coalesce(d.place, '') ELSE coalesce(k.site, d.kiosk) END,
       d.voided_by IS NOT NULL, x.digest, x.export_id
FROM doses d INDEXED BY doses_by_day
LEFT JOIN people p ON p.id_number = d.id_number
LEFT JOIN roster r ON r.id_number = d.id_number
LEFT JOIN kiosks k ON k.kiosk = d.kiosk
LEFT JOIN export_lines x ON x.event_id = d.event_id
    AND x.export_id = (SELECT max(export_id) FROM export_lines WHERE event_id = d.event_id)
WHERE d.given_on = ?
"""
DAY_COLUMNS = ("event_id", "id_number", "full_name", "birth_date", "sex", "phone", "commune", "product", "lot_number",
               "given_on", "given_at", "dose_number", "booster", "site", "voided", "exported_digest", "export_id")
EXPORT_COLUMNS = ("id", "day", "format", "made_at", "made_by", "staff_id", "rows", "mapping", "new_rows", "changed_rows",
                  "voided_rows")
ACTIONS = ("new", "changed", "voided")
COMPRESSION = {"csv": 1, "xlsx": 0}
"""zlib level of the kept files, per format: fast for a CSV (an export must take at most 2 s), which still shrinks
about fivefold; none for an XLSX, a zip already (stored as it is, in a zlib frame all the same)."""


def day_rows(conn: sqlite3.Connection, day: str, district: str | None = None) -> list[dict[str, Any]]:
    """Every dose given on ``day`` (yyyy-mm-dd), voided ones too, with its person, roster entry, site and last export;
    with ``district``, those its kiosks gave only (the export's gauge of one district of a province)."""
    rows = []
    mine, chosen = in_district("d.kiosk", district)
    for values in conn.execute(DAY_ROWS + mine, (day, *chosen)):
        row = dict(zip(DAY_COLUMNS, values))
        row["voided"] = bool(row["voided"])
        rows.append(row)
    return rows


def keep(conn: sqlite3.Connection, day: str, built: Any, made: tuple[str, str, int | None]) -> int:
    """Record an export (``built``: hub.reports.export.PlatformFile; ``made``: when, by whom, their staff id) with a
    line per dose it held; return its id."""
    at, by, staff_id = made
    counts = Counter(act for _event_id, act, _digest in built.lines)
    content = zlib.compress(built.content, COMPRESSION.get(built.format, 1))
    export_id = conn.execute(
        "INSERT INTO exports (day, format, made_at, made_by, staff_id, rows, mapping, content, new_rows, changed_rows, "
        "voided_rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (day, built.format, at, by, staff_id, len(built.lines), built.mapping, content,
         *(counts[act] for act in ACTIONS))).fetchone()[0]
    conn.executemany("INSERT INTO export_lines (event_id, export_id, action, digest) VALUES (?, ?, ?, ?)",
                     sorted((event_id, export_id, act, digest) for event_id, act, digest in built.lines))  # key order
    return export_id


def one(conn: sqlite3.Connection, export_id: int) -> dict[str, Any] | None:
    """An export with its file (``content``, decompressed) and its rows per action; None when there is none."""
    found = conn.execute(f"SELECT {', '.join(EXPORT_COLUMNS)}, content FROM exports WHERE id = ?", (export_id,)).fetchone()
    if found is None:
        return None
    export = described(found[:-1])
    export["content"] = zlib.decompress(found[-1])
    return export


def of_day(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """The exports of a day's doses, newest first, without their files, each with its rows per action."""
    return [described(row) for row in conn.execute(
        f"SELECT {', '.join(EXPORT_COLUMNS)} FROM exports WHERE day = ? ORDER BY id DESC", (day,))]


def described(row: tuple) -> dict[str, Any]:
    """An exports row as a dict, its rows per action (those it held) as ``actions``."""
    export = dict(zip(EXPORT_COLUMNS, row))
    export["actions"] = {act: export.pop(f"{act}_rows") for act in ACTIONS if export[f"{act}_rows"]}
    return export
