"""Coverage's SQL: a row per rostered person and counts per (commune, birth year, level), kept up to date by ``refresh``.

``refresh(conn, keys, catalogue)`` is the one function that writes the
coverage tables (migration 8): it reads the roster entries and live doses of
the people named and makes their rows, and the counts, what they must be. It
is called after the merge rewrites a person's doses (commit.py derive), after
a roster import writes entries (roster.py apply), and after anything else
that changes either. People who are on no roster have no row, so a batch of
unrostered people costs two index look-ups.

The report sums the counts (a few tens of thousands of rows at province scale)
for every birth year that lies wholly inside a band, and counts the people
rows by exact birth date, through the index on (birth_date, commune, level),
only for the years a band boundary cuts: five years, whatever the day asked.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import sqlite3
from collections import Counter, defaultdict
from typing import Any, NamedTuple

from vaccines.catalogue import Catalogue

from .. import coverage
from ..coverage import BANDS, LEVELS, DoseFact

IN_LIST = "IN (SELECT value FROM json_each(?))"
"""One parameter for a whole list of ID numbers (a JSON array), as commit.py's IN_LIST."""
REBUILD_CHUNK = 50_000
COLUMNS = ("id_number", "commune", "birth_date", "level", "doses", "last_dose_on", "due_number", "due_booster", "due_on",
           "due_until")


class Row(NamedTuple):
    """One person's row of ``coverage_people``."""

    id_number: str
    commune: str
    birth_date: str
    level: int
    doses: int
    last_dose_on: str | None
    due_number: int | None
    due_booster: int | None
    due_on: str | None
    due_until: str | None


def refresh(conn: sqlite3.Connection, keys: str, catalogue: Catalogue) -> int:
    """Make the coverage rows and counts of these people (``keys``: their ID numbers as a JSON array) agree with the
    roster and their live doses, inside the caller's transaction; return how many rows changed."""
    old = {row[0]: Row(*row) for row in conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM coverage_people WHERE id_number {IN_LIST}", (keys,))}
    entries = conn.execute(f"SELECT id_number, commune, birth_date FROM roster WHERE id_number {IN_LIST}", (keys,)).fetchall()
    if not entries and not old:
        return 0
    doses = live_doses(conn, json.dumps([e[0] for e in entries])) if entries else {}
    dues: dict[str, coverage.Due | None] = {}  # people without a dose: the same due for the same birth date
    new = {}
    for id_number, commune, birth_date in entries:
        new[id_number] = person_row(id_number, commune, birth_date, doses.get(id_number, ()), catalogue, dues)
    stale = [key for key, row in old.items() if new.get(key) != row]
    fresh = [row for key, row in new.items() if old.get(key) != row]
    if stale:
        conn.execute(f"DELETE FROM coverage_people WHERE id_number {IN_LIST}", (json.dumps(stale),))
    conn.executemany(f"INSERT INTO coverage_people ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", fresh)
    count(conn, [old[key] for key in stale], fresh)
    return len(stale) + len(fresh)


def live_doses(conn: sqlite3.Connection, keys: str) -> dict[str, list[DoseFact]]:
    found: dict[str, list[DoseFact]] = defaultdict(list)
    for id_number, *fact in conn.execute(
            f"SELECT id_number, product, dose_number, booster, given_on FROM doses WHERE id_number {IN_LIST} "
            f"AND voided_by IS NULL", (keys,)):
        found[id_number].append(DoseFact(*fact))
    return found


def person_row(id_number: str, commune: str, birth_date: str, doses: list[DoseFact], catalogue: Catalogue,
               dues: dict[str, coverage.Due | None]) -> Row:
    """A rostered person's row; a birth date of the year only is kept as 1 January of that year."""
    birth = coverage.birth_day(birth_date)
    if doses:
        due = coverage.next_due(birth, doses, catalogue)
    else:
        due = dues[birth_date] if birth_date in dues else dues.setdefault(birth_date, coverage.next_due(birth, (), catalogue))
    return Row(id_number, commune, birth.isoformat(), coverage.level(doses, catalogue), len(doses),
               max((d.given_on for d in doses), default=None),
               due and due.number, due and due.booster, due and due.on.isoformat(), due and due.until and due.until.isoformat())


def count(conn: sqlite3.Connection, gone: list[Row], added: list[Row]) -> None:
    """Move the counts per (commune, birth year, level) by the rows that went and came; drop those that reach 0."""
    delta: Counter = Counter()
    for row in gone:
        delta[(row.commune, int(row.birth_date[:4]), row.level)] -= 1
    for row in added:
        delta[(row.commune, int(row.birth_date[:4]), row.level)] += 1
    changes = [(*key, n) for key, n in delta.items() if n]
    conn.executemany(
        "INSERT INTO coverage_counts (commune, birth_year, level, people) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (commune, birth_year, level) DO UPDATE SET people = people + excluded.people", changes)
    conn.executemany("DELETE FROM coverage_counts WHERE commune = ? AND birth_year = ? AND level = ? AND people = 0",
                     [change[:3] for change in changes if change[3] < 0])


def rebuild(conn: sqlite3.Connection, catalogue: Catalogue, at: str) -> int:
    """Recompute every coverage row and count from the roster and the doses; return the rows (people on the roster)."""
    conn.execute("DELETE FROM coverage_people")
    conn.execute("DELETE FROM coverage_counts")
    last, total = "", 0
    while True:
        chunk = [n for (n,) in conn.execute("SELECT id_number FROM roster WHERE id_number > ? ORDER BY id_number LIMIT ?",
                                            (last, REBUILD_CHUNK))]
        if not chunk:
            break
        total += refresh(conn, json.dumps(chunk), catalogue)
        last = chunk[-1]
    conn.execute("UPDATE coverage_state SET built_at = ?, catalogue = ? WHERE id = 1", (at, fingerprint(catalogue)))
    return total


def ensure_built(conn: sqlite3.Connection, catalogue: Catalogue, at: str) -> bool:
    """Build the coverage tables once, on the first open after migration 8 (the migration has no catalogue); return
    whether it did."""
    if conn.execute("SELECT built_at FROM coverage_state WHERE id = 1").fetchone()[0] is not None:
        return False
    rebuild(conn, catalogue, at)
    return True


def fingerprint(catalogue: Catalogue) -> str:
    """16 hex digits that change when anything coverage reads of the catalogue changes."""
    text = repr((sorted(catalogue.products.items()), catalogue.max_boosters, catalogue.bands))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# Reading


def report(conn: sqlite3.Connection, as_of: datetime.date, commune: str | None = None) -> dict[str, Any]:
    """Per commune (or one commune) and band as of ``as_of``: the roster count and, per level of LEVELS, how many have
    reached it and what percentage of the roster that is; the district's totals; the under-5s apart."""
    cells = band_counts(conn, as_of, commune)
    names = sorted({name for name, _, _ in cells}, key=natural) if commune is None else [commune]
    communes = [summary(name, {(b, lv): n for (c, b, lv), n in cells.items() if c == name}) for name in names]
    district: Counter = Counter()
    for (_, band, level_), n in cells.items():
        district[(band, level_)] += n
    built = conn.execute("SELECT built_at, catalogue FROM coverage_state WHERE id = 1").fetchone()
    return {
        "as_of": as_of.isoformat(), "commune": commune, "bands": [b.name for b in BANDS], "levels": list(LEVELS),
        "communes": communes, "district": summary(None, district),
        "built_at": built[0] if built else None, "catalogue": built[1] if built else None,
    }


def band_counts(conn: sqlite3.Connection, as_of: datetime.date, commune: str | None) -> Counter:
    """(commune, band index (-1: under 5), level) -> people, as of the day."""
    thresholds = coverage.band_thresholds(as_of)
    years = sorted({t.year for t in thresholds})
    where, args = ("AND commune = ?", [commune]) if commune is not None else ("", [])
    by_year = " ".join(f"WHEN birth_year > {t.year} THEN {i - 1}" for i, t in enumerate(thresholds))
    cells: Counter = Counter()
    rows = conn.execute(
        f"SELECT commune, CASE {by_year} ELSE {len(BANDS) - 1} END, level, sum(people) FROM coverage_counts "
        f"WHERE birth_year NOT IN ({', '.join(map(str, years))}) {where} GROUP BY 1, 2, 3", args)
    for name, band, level_, n in rows:
        cells[(name, band, level_)] += n
    by_day = " ".join(f"WHEN birth_date > '{t.isoformat()}' THEN {i - 1}" for i, t in enumerate(thresholds))
    for year in years:  # the years a band boundary cuts: each person's birth date
        rows = conn.execute(
            f"SELECT commune, CASE {by_day} ELSE {len(BANDS) - 1} END, level, count(*) FROM coverage_people "
            f"WHERE birth_date >= ? AND birth_date <= ? {where} GROUP BY 1, 2, 3", [f"{year:04d}-01-01", f"{year:04d}-12-31", *args])
        for name, band, level_, n in rows:
            cells[(name, band, level_)] += n
    return cells


def summary(name: str | None, cells: dict[tuple[int, int], int]) -> dict[str, Any]:
    """One commune's (or the district's) bands and its total over the bands, each with its levels."""
    bands = [figures(band.name, [cells.get((i, lv), 0) for lv in range(len(LEVELS) + 1)]) for i, band in enumerate(BANDS)]
    total = figures("5+", [sum(cells.get((i, lv), 0) for i in range(len(BANDS))) for lv in range(len(LEVELS) + 1)])
    under_5 = sum(n for (band, _), n in cells.items() if band == -1)
    found = {"bands": bands, "total": total, "under_5": under_5}
    return {"commune": name, "key": coverage.commune_key(name), **found} if name is not None else found


def figures(band: str, by_level: list[int]) -> dict[str, Any]:
    """The roster count and, per level, those at it or beyond, with the percentage (None for an empty cell)."""
    roster = sum(by_level)
    cell = {"band": band, "roster": roster}
    for n, name in enumerate(LEVELS, start=1):
        reached = sum(by_level[n:])
        cell[name] = {"count": reached, "percent": round(100 * reached / roster, 1) if roster else None}
    return cell


def communes(conn: sqlite3.Connection) -> list[str]:
    """Every commune that has people on the roster, by name (natural order: Phường 2 before Phường 10)."""
    return sorted((name for (name,) in conn.execute("SELECT DISTINCT commune FROM coverage_counts")), key=natural)


def natural(name: str) -> tuple:
    """A sort key that reads runs of digits as numbers."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name))


OUTREACH = ("FROM coverage_people c JOIN roster r ON r.id_number = c.id_number "
            "WHERE c.commune = ? AND c.due_on <= ? AND (c.due_until IS NULL OR c.due_until > ?)")


def outreach(conn: sqlite3.Connection, commune: str, as_of: datetime.date, limit: int | None = None,
             offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The commune's people on the roster whose next dose is due on ``as_of`` (never vaccinated, or due or overdue for
    the next): how many, and ``limit`` of them (None: all) from ``offset``, longest waiting first."""
    day = as_of.isoformat()
    total = conn.execute(f"SELECT count(*) {OUTREACH}", (commune, day, day)).fetchone()[0]
    keys = ("id_number", "full_name", "birth_date", "sex", "address", "phone", "priority_group", "level", "doses",
            "last_dose_on", "due_number", "due_booster", "due_on")
    cursor = conn.execute(
        f"SELECT c.id_number, r.full_name, r.birth_date, r.sex, r.address, r.phone, r.priority_group, c.level, c.doses, "
        f"c.last_dose_on, c.due_number, c.due_booster, c.due_on {OUTREACH} ORDER BY c.due_on, c.id_number LIMIT ? OFFSET ?",
        (commune, day, day, -1 if limit is None else limit, offset))
    return total, [dict(zip(keys, row)) for row in cursor]
