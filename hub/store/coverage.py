"""Coverage's SQL: a row per rostered person and counts per (district, commune, birth year, level), kept by ``refresh``.

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
rows by exact birth date, through the index on (birth_date, district, commune,
level), only for the years a band boundary cuts: five years, whatever the day
asked.

A place is a (district, commune) pair: the district is the one a province's
roster import gave its list (migration 21), '' at a district's hub, so a
commune's name in two districts is two places. Every read takes an optional
district (None: the whole hub, a province's totals) and commune.
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
from .writers import ALONE, Writers

IN_LIST = "IN (SELECT value FROM json_each(?))"
"""One parameter for a whole list of ID numbers (a JSON array), as commit.py's IN_LIST."""
CHUNK = 250
"""People refreshed per transaction when the queue is worked off: about 10 ms of write lock each."""
QUEUE_CHUNK = 20_000
"""People a rebuild queues per transaction (``requeue``)."""
COLUMNS = ("id_number", "district", "commune", "birth_date", "level", "doses", "due_number", "due_booster", "due_on", "due_until")


class Row(NamedTuple):
    """One person's row of ``coverage_people``."""

    id_number: str
    district: str
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
    entries = conn.execute(f"SELECT id_number, district, commune, birth_date FROM roster WHERE id_number {IN_LIST}",
                           (keys,)).fetchall()
    if not entries and not old:
        return 0
    doses = live_doses(conn, json.dumps([e[0] for e in entries])) if entries else {}
    new = {id_number: Row(id_number, district, commune, *facts(birth_date, doses.get(id_number), catalogue))
           for id_number, district, commune, birth_date in entries}
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
    """A row but its ID number, district and commune: the birth date (a year alone as 1 January), level, live doses, the next
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
    """Move the counts per (district, commune, birth year, level) by the rows that went and came. A count that reaches 0 stays
    (a few tens of thousands of rows at most, and deleting them on the merge's path cost more than they do)."""
    delta: Counter = Counter()
    for row in gone:
        delta[(row.district, row.commune, int(row.birth_date[:4]), row.level)] -= 1
    for row in added:
        delta[(row.district, row.commune, int(row.birth_date[:4]), row.level)] += 1
    changes = sorted((*key, n) for key, n in delta.items() if n)  # in key order: writers at once never wait in a cycle
    conn.executemany(
        "INSERT INTO coverage_counts (district, commune, birth_year, level, people) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (district, commune, birth_year, level) DO UPDATE SET people = coverage_counts.people + excluded.people",
        changes)


def drain(conn: sqlite3.Connection, catalogue: Catalogue, limit: int = CHUNK, writers: Writers = ALONE) -> int:
    """Refresh up to ``limit`` queued people (locked first where writers run at once) and take them off the queue;
    return how many (0: the queue is empty)."""
    keys = [n for (n,) in conn.execute("SELECT id_number FROM coverage_pending ORDER BY id_number LIMIT ?", (limit,))]
    if keys:
        writers.lock_people(conn, keys)
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
    conn.executemany("INSERT INTO coverage_pending (id_number) VALUES (?) ON CONFLICT DO NOTHING", keys)
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


def report(conn: sqlite3.Connection, as_of: datetime.date, commune: str | None = None,
           district: str | None = None) -> dict[str, Any]:
    """Per place (district and commune; only those of ``district`` and of the commune named ``commune`` when given) and
    band as of ``as_of``: the roster count and, per level of LEVELS, how many have reached it and what percentage of the
    roster that is; the totals of every place shown (``district``: the district's, or a province's); the under-5s
    apart. A commune named but found nowhere is one empty place."""
    cells = band_counts(conn, as_of, *place_filter(commune, district))
    by_place: dict[tuple[str, str], dict[tuple[int, int], int]] = defaultdict(dict)
    totals: Counter = Counter()
    for (place, band, level_), n in cells.items():
        by_place[place][(band, level_)] = n
        totals[(band, level_)] += n
    places = sorted(by_place, key=place_order) or ([(district or "", commune)] if commune is not None else [])
    built = conn.execute("SELECT built_at, catalogue FROM coverage_state WHERE id = 1").fetchone()
    return {
        "as_of": as_of.isoformat(), "commune": commune, "only_district": district, "bands": [b.name for b in BANDS],
        "levels": list(LEVELS), "communes": [summary(place, by_place.get(place, {})) for place in places],
        "district": summary(None, totals),
        "built_at": built[0] if built else None, "catalogue": built[1] if built else None, "pending": pending(conn),
    }


def place_filter(commune: str | None, district: str | None) -> tuple[str, list]:
    """The SQL to append to a WHERE clause that keeps the rows of one district, of one commune's name, or of both, with
    its parameters (none: every row)."""
    kept = [(column, value) for column, value in (("district", district), ("commune", commune)) if value is not None]
    return "".join(f" AND {column} = ?" for column, _ in kept), [value for _, value in kept]


def place_order(place: tuple[str, str]) -> tuple:
    """Places by district, then commune, each in natural order."""
    return natural(place[0]), natural(place[1])


def band_counts(conn: sqlite3.Connection, as_of: datetime.date, where: str = "", args: list | None = None) -> Counter:
    """((district, commune), band index (-1: under 5), level) -> people, as of the day, of the rows ``where`` keeps
    (place_filter).

    Band i holds the birth dates from the day after thresholds[i + 1] to thresholds[i] (coverage.band_thresholds):
    every other birth year lies wholly in one band and is summed from the counts. Each threshold's year (a different
    year for each, the bands' ages being whole years) is split at the threshold: the counts give the year's total,
    and the people rows, counted by exact birth date, give the smaller side of the split; the other side is the rest.
    """
    thresholds = coverage.band_thresholds(as_of)
    args = args or []
    split = " ".join(f"WHEN birth_year = {t.year} THEN {SPLIT + i}" for i, t in enumerate(thresholds))
    by_year = " ".join(f"WHEN birth_year > {t.year} THEN {i - 1}" for i, t in enumerate(thresholds))
    cells: Counter = Counter()
    year_totals: dict[int, Counter] = defaultdict(Counter)
    rows = conn.execute(f"SELECT district, commune, CASE {split} {by_year} ELSE {len(BANDS) - 1} END, level, "
                        f"sum(people) FROM coverage_counts WHERE true {where} GROUP BY 1, 2, 3, 4", args)
    for district, commune, band, level_, n in rows:
        if not n:
            continue  # a place, year and level whose people all moved on
        if band >= SPLIT:
            year_totals[band - SPLIT][((district, commune), level_)] += n
        else:
            cells[((district, commune), band, level_)] += n
    for i, threshold in enumerate(thresholds):
        older, younger = split_year(conn, threshold, year_totals[i], where, args)
        for (place, level_), n in older.items():
            cells[(place, i, level_)] += n
        for (place, level_), n in younger.items():
            cells[(place, i - 1, level_)] += n
    return cells


SPLIT = 100
"""In band_counts' first query, SPLIT + i marks the rows of threshold i's birth year."""


def split_year(conn: sqlite3.Connection, threshold: datetime.date, totals: Counter, where: str,
               args: list) -> tuple[Counter, Counter]:
    """The people of the threshold's birth year per ((district, commune), level): born up to it (the older band) and
    after it."""
    first_half = threshold.timetuple().tm_yday <= 183
    span = (f"{threshold.year:04d}-01-01", threshold.isoformat()) if first_half else \
        ((threshold + datetime.timedelta(days=1)).isoformat(), f"{threshold.year:04d}-12-31")
    counted: Counter = Counter({((district, commune), level_): n for district, commune, level_, n in conn.execute(
        f"SELECT district, commune, level, count(*) FROM coverage_people WHERE birth_date >= ? AND birth_date <= ? "
        f"{where} GROUP BY 1, 2, 3", [*span, *args])})
    rest = Counter(totals)
    rest.subtract(counted)
    rest = Counter({key: n for key, n in rest.items() if n})
    return (counted, rest) if first_half else (rest, counted)


def summary(place: tuple[str, str] | None, cells: dict[tuple[int, int], int]) -> dict[str, Any]:
    """One place's (district and commune; None: the totals) bands and its total over the bands, each with its levels."""
    bands = [figures(band.name, [cells.get((i, lv), 0) for lv in range(len(LEVELS) + 1)]) for i, band in enumerate(BANDS)]
    total = figures("5+", [sum(cells.get((i, lv), 0) for i in range(len(BANDS))) for lv in range(len(LEVELS) + 1)])
    under_5 = sum(n for (band, _), n in cells.items() if band == -1)
    found = {"bands": bands, "total": total, "under_5": under_5}
    if place is None:
        return found
    district, commune = place
    return {"commune": commune, "district": district, "key": coverage.commune_key(commune, district), **found}


def figures(band: str, by_level: list[int]) -> dict[str, Any]:
    """The roster count and, per level, those at it or beyond, with the percentage (None for an empty cell)."""
    roster = sum(by_level)
    cell = {"band": band, "roster": roster}
    for n, name in enumerate(LEVELS, start=1):
        reached = sum(by_level[n:])
        cell[name] = {"count": reached, "percent": round(100 * reached / roster, 1) if roster else None}
    return cell


def communes(conn: sqlite3.Connection, district: str | None = None) -> list[tuple[str, str]]:
    """Every place (district, commune) that has people on the roster, of one district when given, by district and name
    (natural order: Phường 2 before Phường 10)."""
    where, args = place_filter(None, district)
    return sorted(((d, c) for d, c in conn.execute(
        f"SELECT DISTINCT district, commune FROM coverage_counts WHERE people > 0 {where}", args)), key=place_order)


def natural(name: str) -> tuple:
    """A sort key that reads runs of digits as numbers."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name))


EVERYONE = 2 ** 62
"""A LIMIT that keeps every row on both engines (SQLite's -1 is an error on PostgreSQL, its NULL one on SQLite)."""
DUE = "c.district = ? AND c.commune = ? AND c.due_on <= ? AND (c.due_until IS NULL OR c.due_until > ?)"
"""The people of a place due for a dose on a day (the index on (district, commune, due_on, due_until) answers it
alone)."""


def outreach(conn: sqlite3.Connection, commune: str, as_of: datetime.date, limit: int | None = None,
             offset: int = 0, district: str = "") -> tuple[int, list[dict[str, Any]]]:
    """The people of the commune (of ``district``: "" at a district's hub) on the roster whose next dose is due on
    ``as_of`` (never vaccinated, or due or overdue for the next): how many, and ``limit`` of them (None: all) from
    ``offset``, longest waiting first."""
    day = as_of.isoformat()
    total = conn.execute(f"SELECT count(*) FROM coverage_people c WHERE {DUE}", (district, commune, day, day)).fetchone()[0]
    keys = ("id_number", "full_name", "birth_date", "sex", "address", "phone", "priority_group", "level", "doses",
            "due_number", "due_booster", "due_on")
    cursor = conn.execute(
        f"SELECT c.id_number, r.full_name, r.birth_date, r.sex, r.address, r.phone, r.priority_group, c.level, c.doses, "
        f"c.due_number, c.due_booster, c.due_on FROM coverage_people c JOIN roster r ON r.id_number = c.id_number "
        f"WHERE {DUE} ORDER BY c.due_on, c.id_number LIMIT ? OFFSET ?",
        (district, commune, day, day, EVERYONE if limit is None else limit, offset))
    return total, [dict(zip(keys, row)) for row in cursor]
