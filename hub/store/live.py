"""The live front page's reads (hub/web/live.py): doses per site and hour on a few days, doses per site and day, the
serious adverse reactions of a few days with the count per lot, and a cheap marker that changes when anything does.

The dose counts read dose_counts, the live doses per day, kiosk and hour that triggers keep as doses are written
(migration 16): a few thousand rows a day, never the doses themselves; the reactions read outcomes_by_kind (kind,
day). No names and no ID numbers leave here.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any, Sequence

HUB_PLACE = "@hub"
"""The kiosk column of the doses the district entered (hub/merge.py): no site, no hour."""

PER_HOUR = (
    "SELECT c.given_on, c.kiosk, k.site, c.hour, c.doses FROM dose_counts c LEFT JOIN kiosks k ON k.kiosk = c.kiosk "
    "WHERE c.given_on = ? AND c.doses > 0"
)


def doses_by_hour(conn: sqlite3.Connection, days: Sequence[date]) -> list[dict[str, Any]]:
    """Live doses per day, kiosk (its site) and hour of the kiosk's clock (None: a dose the district entered)."""
    rows = []
    for day in days:
        for given_on, kiosk, site, hour, count in conn.execute(PER_HOUR, (day.isoformat(),)):
            rows.append({"day": given_on, "kiosk": kiosk, "site": site if kiosk != HUB_PLACE else None,
                         "hour": hour if hour >= 0 else None, "count": count})
    return rows


PER_DAY = (
    "SELECT c.given_on, k.site, sum(c.doses) FROM dose_counts c LEFT JOIN kiosks k ON k.kiosk = c.kiosk "
    "WHERE c.given_on >= ? AND c.given_on <= ? GROUP BY c.given_on, c.kiosk"
)


def doses_by_day(conn: sqlite3.Connection, first: date, last: date) -> list[dict[str, Any]]:
    """Live doses per day and site from ``first`` to ``last`` (site None: the district's own entries)."""
    totals: dict[tuple[str, str | None], int] = {}
    for given_on, site, count in conn.execute(PER_DAY, (first.isoformat(), last.isoformat())):
        totals[given_on, site] = totals.get((given_on, site), 0) + count
    return [{"day": day, "site": site, "count": count} for (day, site), count in sorted(totals.items(), key=str)]


SEVERE = (
    "SELECT o.event_id, o.day, o.at, o.kiosk, k.site, d.product, d.lot_number FROM outcomes o INDEXED BY outcomes_by_kind "
    "LEFT JOIN kiosks k ON k.kiosk = o.kiosk LEFT JOIN doses d ON d.event_id = o.ref "
    "WHERE o.kind = 'aefi' AND o.day = ? AND o.severity = 'severe' AND o.voided_by IS NULL"
)
PER_LOT = (
    "SELECT d.product, d.lot_number, count(*) FROM outcomes o INDEXED BY outcomes_by_kind JOIN doses d ON d.event_id = o.ref "
    "WHERE o.kind = 'aefi' AND o.severity = 'severe' AND o.voided_by IS NULL GROUP BY d.product, d.lot_number"
)


def severe_reactions(conn: sqlite3.Connection, days: Sequence[date]) -> dict[str, Any]:
    """The serious reactions of ``days`` not voided, newest first (event id, day, kiosk time, site, product, lot), and
    for each of their lots the serious reactions it has had so far, all days."""
    rows = []
    for day in days:
        for event_id, on, at, kiosk, site, product, lot in conn.execute(SEVERE, (day.isoformat(),)):
            rows.append({"event_id": event_id, "day": on, "at": at, "kiosk": kiosk, "site": site, "product": product,
                         "lot_number": lot})
    rows.sort(key=lambda row: (row["at"], row["event_id"]), reverse=True)
    wanted = {(row["product"], row["lot_number"]) for row in rows if row["product"]}
    lots = [{"product": product, "lot_number": lot, "count": count}
            for product, lot, count in conn.execute(PER_LOT) if (product, lot) in wanted] if wanted else []
    lots.sort(key=lambda row: (-row["count"], row["product"], row["lot_number"]))
    return {"reactions": rows, "lots": lots}


def marker(conn: sqlite3.Connection) -> tuple:
    """Changes whenever an event, a hub event, a status or a message of any kiosk was merged (three index lookups)."""
    events = conn.execute("SELECT max(rowid) FROM events").fetchone()[0]
    hub_events = conn.execute("SELECT max(rowid) FROM hub_events").fetchone()[0]
    kiosks = conn.execute("SELECT max(status_at), max(last_seen), count(*) FROM kiosks").fetchone()
    return (events, hub_events, *kiosks)
