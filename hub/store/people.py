"""A person's record in SQL: the search (by ID number, by folded name and year of birth), the opaque refs, the reads.

Each function runs inside the caller's transaction (hub/store/workspace.py opens it, on either engine).

Refs: a person's page is /people/<ref>, where ref is a random key kept in
``person_refs`` (one per ID number, made the first time a search or a conflict
leads to the person, never changed), so no ID number reaches a URL, a log or
the audit log.

Name search: the expression indexes ``people_by_name`` and ``roster_by_name``
(migration m009) hold the year of birth, the length of the full name and the
name; a search reads the entries of one year and one length (a few thousand at
most in a district of a million) and keeps those matching hub/people.py's
GLOB pattern, all inside the index. SQLite keeps these indexes with every row
written, whoever writes it; the queries repeat the indexed expressions, which
is how SQLite knows to use them. PostgreSQL has the same indexes (its store's
migrations) and no GLOB: its search matches the name with the same pattern
written as a regular expression (``NameMatch``, hub/store/postgres/workspace.py).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..people import Match, Search, fold_name, name_pattern
from . import corrections

BIRTH_YEAR = "substr(birth_date, 1, 4)"
NAME_LENGTH = "length(full_name)"
INDEXES = f"""
CREATE INDEX IF NOT EXISTS people_by_name ON people ({BIRTH_YEAR}, {NAME_LENGTH}, full_name);
CREATE INDEX IF NOT EXISTS roster_by_name ON roster ({BIRTH_YEAR}, {NAME_LENGTH}, full_name)
"""
"""The name indexes (migration m009); each query below names the same expressions."""
MAX_MATCHES = 50
"""A name search lists at most this many people (more: the member narrows it with the ID number)."""
REF_BYTES = 12
"""A ref is token_urlsafe(REF_BYTES): 16 characters, 96 random bits."""
BY_NUMBER = ("SELECT id_number FROM people WHERE id_number = :number "
             "UNION SELECT id_number FROM roster WHERE id_number = :number")


def by_name(operator: str) -> str:
    """The name search, matching names with ``operator`` (GLOB, or PostgreSQL's ``~``) against :pattern."""
    return (f"SELECT id_number, full_name FROM people WHERE {BIRTH_YEAR} = :year AND {NAME_LENGTH} = :length "
            f"AND full_name {operator} :pattern UNION SELECT id_number, full_name FROM roster WHERE {BIRTH_YEAR} = :year "
            f"AND {NAME_LENGTH} = :length AND full_name {operator} :pattern")


@dataclass(frozen=True)
class NameMatch:
    """How an engine matches a stored name with a folded one: the search's SQL and the pattern it binds."""

    sql: str
    pattern: Callable[[str], str]
    """The pattern for a folded name (hub/people.py name_pattern for GLOB)."""


BY_NAME = by_name("GLOB")
GLOB = NameMatch(BY_NAME, name_pattern)


def search_numbers(conn: sqlite3.Connection, search: Search, match: NameMatch = GLOB) -> list[str]:
    """The ID numbers of the people (merged or on the roster) the search finds, at most MAX_MATCHES, in order."""
    if search.number is not None:
        return sorted(number for (number,) in conn.execute(BY_NUMBER, {"number": search.number}))
    rows = conn.execute(match.sql, {"year": search.birth_year, "length": len(search.name),
                                    "pattern": match.pattern(search.name)})
    return sorted({number for number, name in rows if fold_name(name) == search.name})[:MAX_MATCHES]


def matches(conn: sqlite3.Connection, numbers: list[str], refs: dict[str, str]) -> list[Match]:
    """What tells the people found apart: merged name (else the roster's), year of birth, sex, commune, live doses."""
    found = []
    for number in numbers:
        person = conn.execute("SELECT full_name, birth_date, sex FROM people WHERE id_number = ?", (number,)).fetchone()
        entry = conn.execute("SELECT full_name, birth_date, sex, commune FROM roster WHERE id_number = ?", (number,)).fetchone()
        doses = conn.execute("SELECT count(*) FROM doses WHERE id_number = ? AND voided_by IS NULL", (number,)).fetchone()[0]
        name, born, sex = person if person and person[0] else (entry[:3] if entry else (None, None, None))
        found.append(Match(refs[number], number, name, (born or "")[:4] or None, sex, entry[3] if entry else None, doses,
                           entry is not None))
    return found


def refs_of(conn: sqlite3.Connection, numbers: list[str]) -> dict[str, str]:
    """The refs these ID numbers already have."""
    rows = conn.execute("SELECT id_number, ref FROM person_refs WHERE id_number IN (SELECT value FROM json_each(?))",
                        (json.dumps(numbers),))
    return dict(rows.fetchall())


def make_refs(conn: sqlite3.Connection, numbers: list[str]) -> dict[str, str]:
    """Give each ID number without one a new random ref (inside a write transaction); return every one's ref."""
    for number in numbers:
        conn.execute("INSERT INTO person_refs (ref, id_number) VALUES (?, ?) ON CONFLICT (id_number) DO NOTHING",
                     (secrets.token_urlsafe(REF_BYTES), number))
    return refs_of(conn, numbers)


def briefs(conn: sqlite3.Connection, refs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """For a list of people (a report's figure; ``refs``: their ID numbers' refs): each one's ref, merged name (else
    the roster's), birth date and sex."""
    found = {}
    for number, ref in refs.items():
        person = conn.execute("SELECT full_name, birth_date, sex FROM people WHERE id_number = ?", (number,)).fetchone()
        if not person or not person[0]:
            person = conn.execute("SELECT full_name, birth_date, sex FROM roster WHERE id_number = ?", (number,)).fetchone()
        name, born, sex = person or (None, None, None)
        found[number] = {"ref": ref, "id_number": number, "full_name": name, "birth_date": born, "sex": sex}
    return found


def number_of(conn: sqlite3.Connection, ref: str) -> str | None:
    row = conn.execute("SELECT id_number FROM person_refs WHERE ref = ?", (ref,)).fetchone()
    return row[0] if row else None


def conflict_person(conn: sqlite3.Connection, conflict_id: str) -> str | None:
    """The ID number a conflict is about, or None when there is no such conflict."""
    row = conn.execute("SELECT id_number FROM conflicts WHERE id = ?", (conflict_id,)).fetchone()
    return row[0] if row else None


# The record's reads


def read_record(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    """Everything hub/people.py ``assemble`` needs of one person; None when neither the merge nor the roster has them."""
    person = one_row(conn, "SELECT * FROM people WHERE id_number = ?", number)
    roster = one_row(conn, "SELECT * FROM roster WHERE id_number = ?", number)
    if person is None and roster is None:
        return None
    events = person_events(conn, number)
    voids = voids_of(conn, [e["id"] for e in events])
    events += void_events(conn, voids, {e["id"] for e in events})
    hub_events = corrections.events_of(conn, number)
    doses = rows_of(conn, "SELECT * FROM doses WHERE id_number = ?", number)
    kiosks = sorted({d["kiosk"] for d in doses} | {e["kiosk"] for e in events})
    places = conn.execute("SELECT kiosk, site, district FROM kiosks WHERE kiosk IN (SELECT value FROM json_each(?))",
                          (json.dumps(kiosks),)).fetchall()
    sites = {kiosk: site for kiosk, site, _district in places}
    conflicts = rows_of(conn, "SELECT * FROM conflicts WHERE id_number = ? ORDER BY kind, id", number)
    for row in conflicts:
        row["detail"] = json.loads(row["detail"])
    return {"id_number": number, "person": person, "roster": roster, "doses": doses, "events": events, "voids": voids,
            "hub_events": hub_events, "conflicts": conflicts, "sites": {k: v for k, v in sites.items() if v},
            "districts": {kiosk: district for kiosk, _site, district in places if district}}


def one_row(conn: sqlite3.Connection, sql: str, *args: Any) -> dict[str, Any] | None:
    cursor = conn.execute(sql, args)
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row)) if row else None


def rows_of(conn: sqlite3.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, args)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def person_events(conn: sqlite3.Connection, number: str) -> list[dict[str, Any]]:
    """The kiosks' events about the person (index events_by_person), payloads parsed."""
    rows = conn.execute("SELECT event_id, kiosk, seq, type, at, body FROM events WHERE id_number = ?", (number,))
    return [event_dict(*row) for row in rows.fetchall()]


def event_dict(event_id: str, kiosk: str, seq: int, kind: str, at: str, body: str) -> dict[str, Any]:
    return {"id": event_id, "kiosk": kiosk, "seq": seq, "type": kind, "at": at, "payload": json.loads(body)["payload"]}


def voids_of(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    """Each of these events that a kiosk's EventVoided voids, mapped to the earliest such void (hub/merge.py's rule)."""
    voided: dict[str, str] = {}
    rows = conn.execute("SELECT target_id, void_id FROM voids WHERE target_id IN (SELECT value FROM json_each(?))",
                        (json.dumps(ids),))
    for target, void in rows.fetchall():
        if target not in voided or int(void.rsplit(":", 1)[1]) < int(voided[target].rsplit(":", 1)[1]):
            voided[target] = void
    return voided


def void_events(conn: sqlite3.Connection, voids: dict[str, str], known: set[str]) -> list[dict[str, Any]]:
    """The EventVoided events of the person's events that name no person themselves (so are not among them)."""
    wanted = sorted(set(voids.values()) - known)
    if not wanted:
        return []
    rows = conn.execute("SELECT event_id, kiosk, seq, type, at, body FROM events WHERE event_id IN "
                        "(SELECT value FROM json_each(?))", (json.dumps(wanted),))
    return [event_dict(*row) for row in rows.fetchall()]
