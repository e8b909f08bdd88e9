"""Adverse reactions, deferrals, stock and wastage in SQL: the reads of hub/web/clinical.py and the AEFI follow-ups.

Each function runs inside the caller's transaction (hub/store/sqlite.py opens it). Every read starts from an index
on a kind and a day range (outcomes_by_kind, outcomes_by_return, lot_events_by_day, doses_by_day): the district holds
millions of doses and outcomes. At a province a read may keep one district's kiosks (``district``, kiosks.py
in_district: its kiosks on kiosks_by_district, then the same index filtered by kiosk). Names and ID numbers are read
only when the caller asks (``names``), for the staff who may see people.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from typing import Any

from ..clinical import FOLLOW_UP_STATUSES, lot_signal, stock_rows, walk_lots
from ..reports.daily import LotRow, counted, discards
from .kiosks import in_district
from .people import rows_of

LIVE_AEFI = "o.kind = 'aefi' AND o.voided_by IS NULL"
LATEST_STATUS = "(SELECT status FROM aefi_follow_ups f WHERE f.aefi = o.event_id ORDER BY f.id DESC LIMIT 1)"
ACKED = ("CASE WHEN EXISTS (SELECT 1 FROM outcomes a WHERE a.ref = o.event_id AND a.kind = 'aefi_ack' "
         "AND a.voided_by IS NULL) THEN 1 ELSE 0 END")
"""1 or 0, not a truth value: the same on both engines (PostgreSQL's are booleans)."""
AEFI_COLUMNS = (f"o.event_id, o.kiosk, o.day, o.at, o.severity, o.symptoms, o.ref AS dose_event, k.site, "
                f"d.product, d.lot_number, d.given_at, CASE WHEN d.voided_by IS NULL THEN 0 ELSE 1 END AS dose_voided, "
                f"{ACKED} AS acknowledged, {LATEST_STATUS} AS status")
AEFI_FROM = ("FROM outcomes o INDEXED BY outcomes_by_kind LEFT JOIN doses d ON d.event_id = o.ref "
             "LEFT JOIN kiosks k ON k.kiosk = o.kiosk")
NAMES = ", o.id_number, p.full_name"
PEOPLE_JOIN = " LEFT JOIN people p ON p.id_number = o.id_number"


def aefi_list(conn: sqlite3.Connection, first: str, last: str, filters: dict[str, str], names: bool,
              limit: int) -> list[dict[str, Any]]:
    """The live adverse reactions of the days first..last (filters: site, severity, status; status "none": not
    followed up yet; district: its kiosks'), severe first, then newest; with the person's ID number and name when
    ``names``."""
    where, args = [f"{LIVE_AEFI}", "o.day BETWEEN ? AND ?"], [first, last]
    if filters.get("site"):
        where.append("k.site = ?")
        args.append(filters["site"])
    if filters.get("severity"):
        where.append("o.severity = ?")
        args.append(filters["severity"])
    if filters.get("status"):
        where.append(f"coalesce({LATEST_STATUS}, 'none') = ?")
        args.append(filters["status"])
    mine, district = in_district("o.kiosk", filters.get("district") or None)
    sql = (f"SELECT {AEFI_COLUMNS}{NAMES if names else ''} {AEFI_FROM}{PEOPLE_JOIN if names else ''} "
           f"WHERE {' AND '.join(where)}{mine} ORDER BY o.severity = 'severe' DESC, o.at DESC, o.event_id LIMIT ?")
    return rows_of(conn, sql, *args, *district, limit)


def aefi_one(conn: sqlite3.Connection, event_id: str, names: bool) -> dict[str, Any] | None:
    """One live adverse reaction with its follow-ups (oldest first); None when there is none."""
    sql = (f"SELECT {AEFI_COLUMNS}{NAMES if names else ''} {AEFI_FROM.replace(' INDEXED BY outcomes_by_kind', '')}"
           f"{PEOPLE_JOIN if names else ''} WHERE o.event_id = ? AND {LIVE_AEFI}")
    found = rows_of(conn, sql, event_id)
    if not found:
        return None
    found[0]["follow_ups"] = rows_of(conn, "SELECT status, note, staff_name, at FROM aefi_follow_ups WHERE aefi = ? "
                                           "ORDER BY id", event_id)
    return found[0]


def aefi_lots(conn: sqlite3.Connection, first: str, last: str, district: str | None = None) -> list[dict[str, Any]]:
    """Per lot (product, lot number) with live reactions in the days first..last: reactions, severe ones, and the
    live doses given from the lot in those days (at ``district``'s kiosks only, when given); most severe first."""
    mine, chosen = in_district("o.kiosk", district)
    lots = rows_of(conn, f"SELECT d.product, d.lot_number, count(*) AS reactions, "
                         f"count(*) FILTER (WHERE o.severity = 'severe') AS severe {AEFI_FROM} WHERE {LIVE_AEFI} AND o.day BETWEEN ? AND ? "
                         f"AND d.product IS NOT NULL{mine} GROUP BY d.product, d.lot_number", first, last, *chosen)
    wanted = json.dumps([f"{lot['product']}\x1f{lot['lot_number']}" for lot in lots])
    given = dict(((product, lot), count) for product, lot, count in conn.execute(
        "SELECT product, lot_number, count(*) FROM doses INDEXED BY doses_by_day WHERE given_on BETWEEN ? AND ? "
        "AND voided_by IS NULL AND product || char(31) || lot_number IN (SELECT value FROM json_each(?))"
        + in_district("kiosk", district)[0] + " GROUP BY product, lot_number", (first, last, wanted, *chosen)))
    for lot in lots:
        lot["given"] = given.get((lot["product"], lot["lot_number"]), 0)
        lot["signal"] = lot_signal(lot["reactions"], lot["severe"])
    return sorted(lots, key=lambda lot: (-lot["severe"], -lot["reactions"], lot["product"], lot["lot_number"]))


def aefi_sites(conn: sqlite3.Connection, district: str | None = None) -> list[str]:
    """Every site a kiosk is enrolled for (of ``district``, when given): the filter's choices."""
    mine, chosen = in_district("kiosk", district)
    return [site for (site,) in conn.execute(
        f"SELECT DISTINCT site FROM kiosks WHERE site IS NOT NULL{mine} ORDER BY site", chosen)]


def add_follow_up(conn: sqlite3.Connection, aefi: str, status: str, note: str, staff_id: int | None, staff_name: str,
                  at: str) -> bool:
    """Append a follow-up to a live adverse reaction; False (nothing written) when there is no such reaction."""
    if status not in FOLLOW_UP_STATUSES:
        raise ValueError(f"unknown follow-up status {status!r}")
    if conn.execute("SELECT 1 FROM outcomes o WHERE o.event_id = ? AND " + LIVE_AEFI, (aefi,)).fetchone() is None:
        return False
    conn.execute("INSERT INTO aefi_follow_ups (aefi, status, note, staff_id, staff_name, at) VALUES (?, ?, ?, ?, ?, ?)",
                 (aefi, status, note, staff_id, staff_name, at))
    return True


# Deferrals and refusals

DEFERRAL_COLUMNS = "o.event_id, o.kiosk, k.site, o.day, o.at, o.reason, o.return_on"
SINCE = ("(SELECT min(given_on) FROM doses d WHERE d.id_number = o.id_number AND d.voided_by IS NULL "
         "AND d.given_on >= o.day) AS vaccinated_on")


def deferrals_due(conn: sqlite3.Connection, day: str, names: bool, district: str | None = None) -> list[dict[str, Any]]:
    """The live deferrals whose return day is ``day`` (at ``district``'s kiosks, when given), by site, with the day
    the person was vaccinated since, if so (anywhere: a person deferred in one district may come back in another)."""
    mine, chosen = in_district("o.kiosk", district)
    sql = (f"SELECT {DEFERRAL_COLUMNS}, {SINCE}{NAMES if names else ''} FROM outcomes o INDEXED BY outcomes_by_return "
           f"LEFT JOIN kiosks k ON k.kiosk = o.kiosk{PEOPLE_JOIN if names else ''} "
           f"WHERE o.kind = 'deferred' AND o.return_on = ? AND o.voided_by IS NULL{mine} ORDER BY k.site, o.day, o.at")
    return rows_of(conn, sql, day, *chosen)


def deferrals_on(conn: sqlite3.Connection, day: str, names: bool, district: str | None = None) -> list[dict[str, Any]]:
    """The live deferrals recorded on ``day`` (the ticket's day; at ``district``'s kiosks, when given), by site."""
    mine, chosen = in_district("o.kiosk", district)
    sql = (f"SELECT {DEFERRAL_COLUMNS}{NAMES if names else ''} FROM outcomes o INDEXED BY outcomes_by_kind "
           f"LEFT JOIN kiosks k ON k.kiosk = o.kiosk{PEOPLE_JOIN if names else ''} "
           f"WHERE o.kind = 'deferred' AND o.day = ? AND o.voided_by IS NULL{mine} ORDER BY k.site, o.at")
    return rows_of(conn, sql, day, *chosen)


REFUSAL_KINDS = ("deferred", "refused", "contraindicated", "referred")


def refusal_counts(conn: sqlite3.Connection, first: str, last: str, district: str | None = None) -> list[dict[str, Any]]:
    """Per site and day of first..last (newest first): live deferrals, refusals, contraindications and referrals (at
    ``district``'s kiosks, when given)."""
    mine, chosen = in_district("o.kiosk", district)
    rows = conn.execute(
        "SELECT coalesce(k.site, o.kiosk), o.day, o.kind, count(*) FROM outcomes o INDEXED BY outcomes_by_kind "
        "LEFT JOIN kiosks k ON k.kiosk = o.kiosk WHERE o.kind IN (SELECT value FROM json_each(?)) "
        f"AND o.day BETWEEN ? AND ? AND o.voided_by IS NULL{mine} GROUP BY 1, 2, 3",
        (json.dumps(REFUSAL_KINDS), first, last, *chosen))
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for site, day, kind, count in rows:
        counts.setdefault((site, day), {"site": site, "day": day, **dict.fromkeys(REFUSAL_KINDS, 0)})[kind] = count
    return sorted(counts.values(), key=lambda row: (row["day"], row["site"]), reverse=True)


# Stock and wastage

LOT_EVENTS = ("SELECT kiosk, day, kind, product, lot_number, expiry, vials_opened, doses, wasted "
              "FROM lot_events INDEXED BY lot_events_by_day WHERE day BETWEEN ? AND ? AND voided_by IS NULL{where} "
              "ORDER BY kiosk, CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER)")


WASTES = ("SELECT event_id, kiosk, day, kind, product, lot_number, doses, wasted, voided_by "
          "FROM lot_events INDEXED BY lot_events_by_day WHERE day BETWEEN ? AND ? AND kind IN ('wasted', 'closed'){where} "
          "ORDER BY kiosk, CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER)")


def stock(conn: sqlite3.Connection, first: str, last: str, district: str | None = None) -> list[dict[str, Any]]:
    """Per site, day and product of first..last (hub/clinical.py stock_rows): the lots' days walked from their live
    events, the live doses the kiosks gave from each (not the district's own entries), and the doses wasted; at
    ``district``'s kiosks only, when given."""
    mine, chosen = in_district("kiosk", district)
    lots = walk_lots(rows_of(conn, LOT_EVENTS.format(where=mine), first, last, *chosen))
    given = {(kiosk, day, product, lot): count for kiosk, day, product, lot, count in conn.execute(
        "SELECT kiosk, given_on, product, lot_number, count(*) FROM doses INDEXED BY doses_by_day "
        f"WHERE given_on BETWEEN ? AND ? AND voided_by IS NULL AND kiosk != '@hub'{mine} GROUP BY 1, 2, 3, 4",
        (first, last, *chosen))}
    return stock_rows(lots, given, wasted(conn, first, last, district), sites_of(conn))


def wasted(conn: sqlite3.Connection, first: str, last: str, district: str | None = None) -> Counter:
    """Doses wasted per (kiosk, day, product, lot number) of first..last (at ``district``'s kiosks, when given), by
    the daily report's rule (hub/reports/daily.py discards: each DosesWasted, and what a LotClosed's total adds to
    them), so the stock page and the report never disagree."""
    days: dict[str, list[LotRow]] = defaultdict(list)
    mine, chosen = in_district("kiosk", district)
    for event_id, kiosk, day, kind, product, lot_number, doses, total, voided_by in conn.execute(
            WASTES.format(where=mine), (first, last, *chosen)):
        # the site is the kiosk here: the stock page adds its lots up per kiosk, then names the site
        days[day].append(LotRow(event_id, kiosk, kiosk, kind, product, lot_number, doses, total, "", voided_by))
    found: Counter = Counter()
    for day, rows in days.items():
        for discard in counted(discards(rows, None), None):
            found[discard.site, day, discard.product or "?", discard.lot_number or "?"] += discard.doses
    return found


def lots_in_use(conn: sqlite3.Connection, first: str, last: str, district: str | None = None) -> list[dict[str, Any]]:
    """Each lot (site, product, lot number, expiry) with a live event in the days first..last (at ``district``'s
    kiosks, when given), and the last day it was used; soonest expiry first."""
    mine, chosen = in_district("e.kiosk", district)
    return rows_of(conn, "SELECT coalesce(k.site, e.kiosk) AS site, e.product, e.lot_number, max(e.expiry) AS expiry, "
                         "max(e.day) AS last_used FROM lot_events e INDEXED BY lot_events_by_day "
                         "LEFT JOIN kiosks k ON k.kiosk = e.kiosk WHERE e.day BETWEEN ? AND ? AND e.voided_by IS NULL "
                         f"AND e.expiry IS NOT NULL{mine} GROUP BY 1, 2, 3 ORDER BY 4, 1, 2, 3", first, last, *chosen)


def sites_of(conn: sqlite3.Connection) -> dict[str, str]:
    return {kiosk: site for kiosk, site in conn.execute("SELECT kiosk, site FROM kiosks") if site}
