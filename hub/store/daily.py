"""The daily report's reads and its issued versions (table daily_reports, m012).

A day's rows are read whole, voided ones too, each with the hub time it was merged (its ``merged_at``: its event's
received_at, the hub's own doses their hub event's ``at``) and the hub time its void was: hub/reports/daily.py counts
what a cut at any time would have counted, so an issued report can be recounted, and listed, exactly.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from typing import Any

from ..reports.daily import DayRows, Dose, LotRow, Outcome
from .kiosks import in_district

HUB_TIME = ("CASE WHEN {id} IS NULL THEN NULL "
            "WHEN {id} LIKE '@hub:%' THEN (SELECT at FROM hub_events WHERE seq = CAST(substr({id}, 6) AS INTEGER)) "
            "ELSE (SELECT received_at FROM events WHERE event_id = {id}) END")
"""The hub time the event ``{id}`` was merged: a kiosk's from events, the hub's own from hub_events (a void: the rows
carry their own time, merged_at, and only the few voided look up their void's)."""

DOSES = f"""
SELECT d.event_id, coalesce(k.site, d.place, d.kiosk), d.product, d.lot_number, d.dose_number, d.booster, d.id_number,
       p.birth_date, d.merged_at, {HUB_TIME.format(id="d.voided_by")}, k.district
FROM doses d LEFT JOIN kiosks k ON k.kiosk = d.kiosk LEFT JOIN people p ON p.id_number = d.id_number
WHERE d.given_on = ?{{where}}
"""
OUTCOMES = f"""
SELECT o.event_id, coalesce(k.site, o.kiosk), o.kind, o.id_number, o.severity, o.merged_at,
       {HUB_TIME.format(id="o.voided_by")}, k.district
FROM outcomes o LEFT JOIN kiosks k ON k.kiosk = o.kiosk
WHERE o.day = ? AND o.kind IN ('checked_in', 'deferred', 'refused', 'contraindicated', 'referred', 'aefi'){{where}}
"""
DISCARDS = f"""
SELECT l.event_id, l.kiosk, coalesce(k.site, l.kiosk), l.kind, l.product, l.lot_number, l.doses, l.wasted,
       l.merged_at, {HUB_TIME.format(id="l.voided_by")}, k.district
FROM lot_events l LEFT JOIN kiosks k ON k.kiosk = l.kiosk
WHERE l.day = ? AND l.kind IN ('wasted', 'closed'){{where}} ORDER BY l.kiosk, CAST(substr(l.event_id, instr(l.event_id, ':') + 1) AS INTEGER)
"""


def day_rows(conn: sqlite3.Connection, day: datetime.date, district: str | None = None) -> DayRows:
    """Every dose given, outcome recorded and dose discarded on ``day``, and the sites of the enrolled kiosks, each
    with its kiosk's district; with ``district``, that district's only (the day's rows of its kiosks: doses_by_day,
    outcomes_by_kind's day filtered by kiosk, lot_events_by_day)."""
    chosen = () if district is None else (district,)
    day_of = (day.isoformat(), *chosen)

    def of(sql: str, column: str) -> list:
        return conn.execute(sql.format(where=in_district(column, district)[0]), day_of).fetchall()

    doses = [Dose(*row) for row in of(DOSES, "d.kiosk")]
    outcomes = [Outcome(*row) for row in of(OUTCOMES, "o.kiosk")]
    sites = [(place, site) for place, site in conn.execute(
        "SELECT district, site FROM kiosks WHERE enrolled_at IS NOT NULL AND site IS NOT NULL"
        + in_district("kiosk", district)[0] + " GROUP BY district, site ORDER BY coalesce(district, ''), site", chosen)]
    lots = [LotRow(*row) for row in of(DISCARDS, "l.kiosk")]
    return DayRows(day, doses, outcomes, lots, sites)


def issue(conn: sqlite3.Connection, day: datetime.date, report: dict[str, Any], *, cut_at: str, issued_at: str,
          by: str, why: str, note: str = "") -> int | None:
    """Keep a version of the day's report; return its number. A ``cutoff`` version is kept once per day: a second
    (another process saw the cut-off too) returns None and keeps nothing."""
    text = day.isoformat()
    if why == "cutoff" and conn.execute("SELECT 1 FROM daily_reports WHERE day = ? AND why = 'cutoff'", (text,)).fetchone():
        return None
    version = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM daily_reports WHERE day = ?", (text,)).fetchone()[0]
    content = json.dumps({**report, "note": note}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    conn.execute("INSERT INTO daily_reports (day, version, issued_at, cut_at, issued_by, why, content) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (text, version, issued_at, cut_at, by, why, content))
    return version


VERSION_COLUMNS = "day, version, issued_at, cut_at, issued_by, why"


def versions(conn: sqlite3.Connection, day: datetime.date) -> list[dict[str, Any]]:
    """The versions issued for the day, the first first, without their content."""
    rows = conn.execute(f"SELECT {VERSION_COLUMNS} FROM daily_reports WHERE day = ? ORDER BY version", (day.isoformat(),))
    return [dict(zip(VERSION_COLUMNS.split(", "), row)) for row in rows]


def version(conn: sqlite3.Connection, day: datetime.date, number: int) -> dict[str, Any] | None:
    """One issued version with its report (``report``), or None."""
    row = conn.execute(f"SELECT {VERSION_COLUMNS}, content FROM daily_reports WHERE day = ? AND version = ?",
                       (day.isoformat(), number)).fetchone()
    if row is None:
        return None
    return {**dict(zip(VERSION_COLUMNS.split(", "), row[:-1])), "report": json.loads(row[-1])}


def recent_days(conn: sqlite3.Connection, limit: int = 14) -> list[dict[str, Any]]:
    """The newest days that have an issued report: day, versions, the last issue time."""
    rows = conn.execute("SELECT day, count(*), max(issued_at) FROM daily_reports GROUP BY day ORDER BY day DESC LIMIT ?",
                        (limit,))
    return [{"day": day, "versions": count, "last_issued_at": last} for day, count, last in rows]
