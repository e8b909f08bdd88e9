"""Coverage's SQL: a row per rostered person and counts per (commune, birth year, level), kept up to date by ``refresh``.

``refresh(conn, keys, catalogue)`` is the one function that writes the
coverage tables (migration 8): it reads the roster entries and live doses of
the people named and makes their rows, and the counts, what they must be. The
merge calls it after rewriting a person's doses (commit.py derive), in the
batch's transaction. People who are on no roster have no row, so a batch of
unrostered people costs two index look-ups.

A roster import calls it for each part of the entries it applies, in that
part's transaction (hub/store/roster.py apply). ``rebuild`` (a changed
catalogue, the first open after migration 8) counts everyone again without
holding up `hub run`: ``requeue`` queues the roster (``coverage_pending``), a
QUEUE_CHUNK per transaction behind a cursor kept in ``coverage_state``, and
``drain`` works the queue off in transactions of CHUNK people, each about 10
ms; a queue or a cursor left by a crash is worked off when the store next
opens the file.

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
CHUNK = 250
"""People refreshed per transaction when the queue is worked off: about 10 ms of write lock each."""
QUEUE_CHUNK = 20_000
"""People a rebuild queues per transaction (``requeue``)."""
COLUMNS = ("id_number", "commune", "birth_date", "level", "doses", "due_number", "due_booster", "due_on", "due_until")


class Row(NamedTuple):
    """One person's row of ``coverage_people``."""

    id_number: str
    commune: str
    birth_date: str
    level: int
    doses: int
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
    new = {id_number: Row(id_number, commune, *facts(birth_date, doses.get(id_number), catalogue))
           for id_number, commune, birth_date in entries}
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


def facts(birth_date: str, doses: list[DoseFact] | None, catalogue: Catalogue) -> tuple:
    """A row but its ID number and commune: the birth date (a year alone as 1 January), level, live doses, the next
    dose. Without a dose it is the same for everyone born that day (coverage.first_due remembers it)."""
    if not doses:
        return tail(birth_date if len(birth_date) == 10 else f"{birth_date}-01-01", 0, 0,
                    coverage.first_due(birth_date, catalogue))
    birth = coverage.birth_day(birth_date)
    given = len({d.number for d in doses})  # a dose number recorded twice (duplicate_dose) is one dose
    return tail(birth.isoformat(), coverage.level(doses, catalogue), given, coverage.next_due(birth, doses, catalogue))


def tail(birth: str, level: int, doses: int, due: coverage.Due | None) -> tuple:
    if due is None:
        return birth, level, doses, None, None, None, None
    return birth, level, doses, due.number, due.booster, due.on.isoformat(), due.until and due.until.isoformat()


def count(conn: sqlite3.Connection, gone: list[Row], added: list[Row]) -> None:
    """Move the counts per (commune, birth year, level) by the rows that went and came. A count that reaches 0 stays
    (a few tens of thousands of rows at most, and deleting them on the merge's path cost more than they do)."""
    delta: Counter = Counter()
    for row in gone:
        delta[(row.commune, int(row.birth_date[:4]), row.level)] -= 1
    for row in added:
        delta[(row.commune, int(row.birth_date[:4]), row.level)] += 1
    changes = [(*key, n) for key, n in delta.items() if n]
    conn.executemany(
        "INSERT INTO coverage_counts (commune, birth_year, level, people) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (commune, birth_year, level) DO UPDATE SET people = people + excluded.people", changes)


def drain(conn: sqlite3.Connection, catalogue: Catalogue, limit: int = CHUNK) -> int:
    """Refresh up to ``limit`` queued people and take them off the queue; return how many (0: the queue is empty)."""
    keys = [n for (n,) in conn.execute("SELECT id_number FROM coverage_pending ORDER BY id_number LIMIT ?", (limit,))]
    if keys:
        listed = json.dumps(keys)
        refresh(conn, listed, catalogue)
        conn.execute(f"DELETE FROM coverage_pending WHERE id_number {IN_LIST}", (listed,))
    return len(keys)


def rebuild(conn: sqlite3.Connection, catalogue: Catalogue, at: str) -> int:
    """Count everyone on the roster again with this catalogue: note it, and start the cursor with which ``requeue``
    queues the roster for ``drain`` a QUEUE_CHUNK at a time; return how many people are on the roster.

    The tables are not emptied: ``refresh`` moves the counts by the difference between a person's old row and new
    one, so the tables stay right for everyone not yet counted again and reach what a count from scratch gives."""
    conn.execute("UPDATE coverage_state SET built_at = ?, catalogue = ?, requeue_after = '' WHERE id = 1",
                 (at, fingerprint(catalogue)))
    return conn.execute("SELECT count(*) FROM roster").fetchone()[0]


def requeue(conn: sqlite3.Connection, limit: int = QUEUE_CHUNK) -> int:
    """Queue the next ``limit`` people on the roster after a rebuild's cursor and move it on (at the end: no cursor);
    return how many were queued (0: no rebuild under way, or it has queued everyone)."""
    after = requeue_cursor(conn)
    if after is None:
        return 0
    keys = [(n,) for (n,) in conn.execute("SELECT id_number FROM roster WHERE id_number > ? ORDER BY id_number LIMIT ?",
                                          (after, limit))]
    conn.executemany("INSERT OR IGNORE INTO coverage_pending (id_number) VALUES (?)", keys)
    conn.execute("UPDATE coverage_state SET requeue_after = ? WHERE id = 1", (keys[-1][0] if len(keys) == limit else None,))
    return len(keys)


def ensure_built(conn: sqlite3.Connection, catalogue: Catalogue, at: str) -> bool:
    """On the first open after migration 8 (which has no catalogue), queue everyone on the roster; return whether it did."""
    if conn.execute("SELECT built_at FROM coverage_state WHERE id = 1").fetchone()[0] is not None:
        return False
    rebuild(conn, catalogue, at)
    return True


def pending(conn: sqlite3.Connection) -> int:
    """People still to refresh (a rebuild being worked off, or a queue an import left before migration 11)."""
    queued = conn.execute("SELECT count(*) FROM coverage_pending").fetchone()[0]
    after = requeue_cursor(conn)
    if after is None:
        return queued
    return queued + conn.execute("SELECT count(*) FROM roster WHERE id_number > ?", (after,)).fetchone()[0]


def requeue_cursor(conn: sqlite3.Connection) -> str | None:
    """Where a rebuild under way has queued the roster up to; None when none is."""
    return conn.execute("SELECT requeue_after FROM coverage_state WHERE id = 1").fetchone()[0]


def fingerprint(catalogue: Catalogue) -> str:
    """16 hex digits that change when anything coverage reads of the catalogue changes."""
    text = repr((sorted(catalogue.products.items()), catalogue.max_boosters, catalogue.bands))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# Reading


def report(conn: sqlite3.Connection, as_of: datetime.date, commune: str | None = None) -> dict[str, Any]:
    """Per commune (or one commune) and band as of ``as_of``: the roster count and, per level of LEVELS, how many have
    reached it and what percentage of the roster that is; the district's totals; the under-5s apart."""
    cells = band_counts(conn, as_of, commune)
    by_commune: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    district: Counter = Counter()
    for (name, band, level_), n in cells.items():
        by_commune[name][(band, level_)] = n
        district[(band, level_)] += n
    names = sorted(by_commune, key=natural) if commune is None else [commune]
    communes = [summary(name, by_commune.get(name, {})) for name in names]
    built = conn.execute("SELECT built_at, catalogue FROM coverage_state WHERE id = 1").fetchone()
    return {
        "as_of": as_of.isoformat(), "commune": commune, "bands": [b.name for b in BANDS], "levels": list(LEVELS),
        "communes": communes, "district": summary(None, district),
        "built_at": built[0] if built else None, "catalogue": built[1] if built else None, "pending": pending(conn),
    }


def band_counts(conn: sqlite3.Connection, as_of: datetime.date, commune: str | None) -> Counter:
    """(commune, band index (-1: under 5), level) -> people, as of the day.

    Band i holds the birth dates from the day after thresholds[i + 1] to thresholds[i] (coverage.band_thresholds):
    every other birth year lies wholly in one band and is summed from the counts. Each threshold's year (a different
    year for each, the bands' ages being whole years) is split at the threshold: the counts give the year's total,
    and the people rows, counted by exact birth date, give the smaller side of the split; the other side is the rest.
    """
    thresholds = coverage.band_thresholds(as_of)
    where, args = ("AND commune = ?", [commune]) if commune is not None else ("", [])
    split = " ".join(f"WHEN birth_year = {t.year} THEN {SPLIT + i}" for i, t in enumerate(thresholds))
    by_year = " ".join(f"WHEN birth_year > {t.year} THEN {i - 1}" for i, t in enumerate(thresholds))
    cells: Counter = Counter()
    year_totals: dict[int, Counter] = defaultdict(Counter)
    rows = conn.execute(f"SELECT commune, CASE {split} {by_year} ELSE {len(BANDS) - 1} END, level, sum(people) "
                        f"FROM coverage_counts WHERE true {where} GROUP BY 1, 2, 3", args)
    for name, band, level_, n in rows:
        if not n:
            continue  # a commune, year and level whose people all moved on
        if band >= SPLIT:
            year_totals[band - SPLIT][(name, level_)] += n
        else:
            cells[(name, band, level_)] += n
    for i, threshold in enumerate(thresholds):
        older, younger = split_year(conn, threshold, year_totals[i], where, args)
        for (name, level_), n in older.items():
            cells[(name, i, level_)] += n
        for (name, level_), n in younger.items():
            cells[(name, i - 1, level_)] += n
    return cells


SPLIT = 100
"""In band_counts' first query, SPLIT + i marks the rows of threshold i's birth year."""


def split_year(conn: sqlite3.Connection, threshold: datetime.date, totals: Counter, where: str,
               args: list) -> tuple[Counter, Counter]:
    """The people of the threshold's birth year per (commune, level): born up to it (the older band) and after it."""
    first_half = threshold.timetuple().tm_yday <= 183
    span = (f"{threshold.year:04d}-01-01", threshold.isoformat()) if first_half else \
        ((threshold + datetime.timedelta(days=1)).isoformat(), f"{threshold.year:04d}-12-31")
    counted: Counter = Counter({(name, level_): n for name, level_, n in conn.execute(
        f"SELECT commune, level, count(*) FROM coverage_people WHERE birth_date >= ? AND birth_date <= ? {where} "
        f"GROUP BY 1, 2", [*span, *args])})
    rest = Counter(totals)
    rest.subtract(counted)
    rest = Counter({key: n for key, n in rest.items() if n})
    return (counted, rest) if first_half else (rest, counted)


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
    return sorted((name for (name,) in conn.execute("SELECT DISTINCT commune FROM coverage_counts WHERE people > 0")),
                  key=natural)


def natural(name: str) -> tuple:
    """A sort key that reads runs of digits as numbers."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name))


DUE = "c.commune = ? AND c.due_on <= ? AND (c.due_until IS NULL OR c.due_until > ?)"
"""The people of a commune due for a dose on a day (the index on (commune, due_on, due_until) answers it alone)."""


def outreach(conn: sqlite3.Connection, commune: str, as_of: datetime.date, limit: int | None = None,
             offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The commune's people on the roster whose next dose is due on ``as_of`` (never vaccinated, or due or overdue for
    the next): how many, and ``limit`` of them (None: all) from ``offset``, longest waiting first."""
    day = as_of.isoformat()
    total = conn.execute(f"SELECT count(*) FROM coverage_people c WHERE {DUE}", (commune, day, day)).fetchone()[0]
    keys = ("id_number", "full_name", "birth_date", "sex", "address", "phone", "priority_group", "level", "doses",
            "due_number", "due_booster", "due_on")
    cursor = conn.execute(
        f"SELECT c.id_number, r.full_name, r.birth_date, r.sex, r.address, r.phone, r.priority_group, c.level, c.doses, "
        f"c.due_number, c.due_booster, c.due_on FROM coverage_people c JOIN roster r ON r.id_number = c.id_number "
        f"WHERE {DUE} ORDER BY c.due_on, c.id_number LIMIT ? OFFSET ?", (commune, day, day, -1 if limit is None else limit, offset))
    return total, [dict(zip(keys, row)) for row in cursor]
