"""The live front page's counts, kept by the merge, and its reads (hub/web/live.py): doses per site and hour on a few
days, doses per site and day, the serious adverse reactions of a few days with the count per lot, and a cheap marker
that changes when anything does.

The dose counts read dose_counts, the live doses per day, kiosk and hour that the merge keeps as it writes doses
(count_doses): a few thousand rows a day, never the doses themselves; the reactions read outcomes_by_kind (kind,
day). No names and no ID numbers leave here.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any, Sequence

from .kiosks import in_district

HUB_PLACE = "@hub"
"""The kiosk column of the doses the district entered (hub/merge.py): no site, no hour."""

COUNT = ("INSERT INTO dose_counts (given_on, kiosk, hour, doses) VALUES (?, ?, ?, ?) "
         "ON CONFLICT (given_on, kiosk, hour) DO UPDATE SET doses = doses + excluded.doses")


def count_doses(conn: sqlite3.Connection, removed: Iterable[tuple[str, str, str | None]],
                added: Iterable[tuple[str, str, str | None]]) -> None:
    """Move dose_counts by the live doses the merge deleted and inserted, each (given_on, kiosk, given_at): one write
    per day, kiosk and hour a batch touched, not one per dose (the triggers of migration 16 did that)."""
    moved: Counter = Counter()
    for given_on, kiosk, given_at in removed:
        moved[given_on, kiosk, hour_of(given_at)] -= 1
    for given_on, kiosk, given_at in added:
        moved[given_on, kiosk, hour_of(given_at)] += 1
    conn.executemany(COUNT, [(*key, n) for key, n in moved.items() if n])


def hour_of(given_at: Any) -> int:
    """The hour of the kiosk's clock a dose was given at (``yyyy-mm-ddTHH...``), -1 without one: a dose the district
    entered (the rule migration 16 counted the doses already merged by)."""
    hour = given_at[11:13] if isinstance(given_at, str) else ""
    return int(hour) if len(hour) == 2 and hour.isascii() and hour.isdigit() else -1


PER_HOUR = (
    "SELECT c.given_on, c.kiosk, k.site, c.hour, c.doses, k.district FROM dose_counts c LEFT JOIN kiosks k ON k.kiosk = c.kiosk "
    "WHERE c.given_on = ? AND c.doses > 0"
)


def doses_by_hour(conn: sqlite3.Connection, days: Sequence[date], district: str | None = None) -> list[dict[str, Any]]:
    """Live doses per day, kiosk (its site and district) and hour of the kiosk's clock (None: a dose the district
    entered); with
    ``district``, that district's kiosks only (dose_counts' key, given_on then kiosk, serves both)."""
    rows = []
    where, params = in_district("c.kiosk", district)
    for day in days:
        for given_on, kiosk, site, hour, count, place in conn.execute(PER_HOUR + where, (day.isoformat(), *params)):
            rows.append({"day": given_on, "kiosk": kiosk, "site": site if kiosk != HUB_PLACE else None,
                         "district": place, "hour": hour if hour >= 0 else None, "count": count})
    return rows


PER_DAY = (
    "SELECT c.given_on, k.site, k.district, sum(c.doses) FROM dose_counts c LEFT JOIN kiosks k ON k.kiosk = c.kiosk "
    "WHERE c.given_on >= ? AND c.given_on <= ?{where} GROUP BY c.given_on, c.kiosk, k.site, k.district"
)


def doses_by_day(conn: sqlite3.Connection, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
    """Live doses per day and site (with its district) from ``first`` to ``last`` (site None: the district's own
    entries); with ``district``, that district's kiosks only."""
    totals: dict[tuple[str, str | None, str | None], int] = {}
    where, params = in_district("c.kiosk", district)
    for given_on, site, place, count in conn.execute(PER_DAY.format(where=where),
                                                      (first.isoformat(), last.isoformat(), *params)):
        totals[given_on, site, place] = totals.get((given_on, site, place), 0) + count
    return [{"day": day, "site": site, "district": place, "count": count}
            for (day, site, place), count in sorted(totals.items(), key=str)]


SEVERE = (
    "SELECT o.event_id, o.day, o.at, o.kiosk, k.site, d.product, d.lot_number FROM outcomes o INDEXED BY outcomes_by_kind "
    "LEFT JOIN kiosks k ON k.kiosk = o.kiosk LEFT JOIN doses d ON d.event_id = o.ref "
    "WHERE o.kind = 'aefi' AND o.day = ? AND o.severity = 'severe' AND o.voided_by IS NULL"
)
PER_LOT = (
    "SELECT d.product, d.lot_number, count(*) FROM outcomes o INDEXED BY outcomes_by_kind JOIN doses d ON d.event_id = o.ref "
    "WHERE o.kind = 'aefi' AND o.severity = 'severe' AND o.voided_by IS NULL GROUP BY d.product, d.lot_number"
)


def severe_reactions(conn: sqlite3.Connection, days: Sequence[date], district: str | None = None) -> dict[str, Any]:
    """The serious reactions of ``days`` not voided, newest first (event id, day, kiosk time, site, product, lot), and
    for each of their lots the serious reactions it has had so far, all days, everywhere (a lot is the province's
    concern wherever it was given); with ``district``, the reactions at that district's kiosks only."""
    rows = []
    where, params = in_district("o.kiosk", district)
    for day in days:
        for event_id, on, at, kiosk, site, product, lot in conn.execute(SEVERE + where, (day.isoformat(), *params)):
            rows.append({"event_id": event_id, "day": on, "at": at, "kiosk": kiosk, "site": site, "product": product,
                         "lot_number": lot})
    rows.sort(key=lambda row: (row["at"], row["event_id"]), reverse=True)
    wanted = {(row["product"], row["lot_number"]) for row in rows if row["product"]}
    lots = [{"product": product, "lot_number": lot, "count": count}
            for product, lot, count in conn.execute(PER_LOT) if (product, lot) in wanted] if wanted else []
    lots.sort(key=lambda row: (-row["count"], row["product"], row["lot_number"]))
    return {"reactions": rows, "lots": lots}


MARKER = ("SELECT (SELECT max(rowid) FROM events), (SELECT max(seq) FROM hub_events), max(status_at), max(last_seen), "
          "count(*) FROM kiosks")
"""The marker's query on SQLite: the newest event's rowid, hub event and status, the latest message, the kiosks."""


def marker(conn: sqlite3.Connection, sql: str = MARKER) -> tuple:
    """Changes whenever an event, a hub event, a status or a message of any kiosk was merged (three index lookups and
    the kiosks); ``sql`` is the engine's MARKER."""
    return tuple(conn.execute(sql).fetchone())
