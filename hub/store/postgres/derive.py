"""A person's derived rows on PostgreSQL: people, doses, conflicts (the roster's too, with their opening time), the live
dose counts and the coverage rows, rewritten from all the person's events by hub/merge.py's derivation
(hub/store/commit.py's derive, ported; the roster's conflicts and the coverage by hub/store/roster.py and coverage.py
themselves, through the dialect).

A person is derived, then their rows rewritten: a read then a write, so each person is locked first (a transaction
advisory lock, in ID-number order, after the commit's kiosk locks). Whichever worker takes a person's lock second
does so after the first committed, and so derives from both workers' events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import psycopg
from psycopg.types.json import Json

import wire
from vaccines.catalogue import Catalogue

from ...merge import PERSON_EVENTS, PersonEvent, derive_person, id_number_of
from ...corrections import HUB_KIOSK
from ..commit import DERIVED, live_doses
from ..corrections import COLUMNS
from ..corrections import event_id as hub_event_id
from ..coverage import refresh as refresh_coverage
from ..live import hour_of
from ..roster import linked_conflicts
from .dialect import Connection

PERSON_LOCK = 0x70657273
"""The first key of the per-person advisory locks ("pers"; the second is hashtext of the ID number)."""


def derive(conn: psycopg.Connection, fresh: list[wire.Event], catalogue: Catalogue) -> None:
    """Derive again every person a new event is about, or whose event a new void targets, from all their events."""
    people = {n for n in (id_number_of(e.payload) for e in fresh) if n}
    targets = [e.payload["voids"] for e in fresh if e.type == wire.VOID_EVENT]
    if targets:
        people.update(n for (n,) in conn.execute(
            "SELECT id_number FROM events WHERE event_id = ANY(%s) AND id_number IS NOT NULL", (targets,)))
    derive_people(conn, people, catalogue, {e.id: e.payload for e in fresh})


def derive_people(conn: psycopg.Connection, people: set[str], catalogue: Catalogue,
                  known: dict[str, dict] | None = None) -> None:
    """Lock these people (in order), then rewrite their people, doses and conflicts rows from all their events, the
    kiosks' and the hub's; ``known`` holds payloads already parsed (the batch's), by event id."""
    if not people:
        return
    keys = sorted(people)
    lock_people(conn, keys)
    events, voided = person_events(conn, keys, known or {})
    views = [derive_person(n, events[n], voided, catalogue) for n in keys]
    rewrite(conn, "people", keys, [view.person for view in views])
    removed, added = rewrite(conn, "doses", keys, [dose for view in views for dose in view.doses])
    count_doses(conn, live_doses(removed), live_doses(added))
    queries, listed = Connection(conn), json.dumps(keys)  # the roster's and coverage's SQL is the SQLite store's
    linked = linked_conflicts(queries, listed, views, [e for n in keys for e in events[n] if e.kiosk == HUB_KIOSK])
    _, opened = rewrite(conn, "conflicts", keys, [c for view in views for c in view.conflicts] + linked)
    note_opened(conn, sorted(row[0] for row in opened))
    refresh_coverage(queries, listed, catalogue)


def lock_people(conn: psycopg.Connection, keys: list[str]) -> None:
    """Take these people's advisory locks (``keys``: ID numbers) until the transaction ends, in ID-number order."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(n)) FROM unnest(%s::text[]) AS n ORDER BY n",
                 (PERSON_LOCK, keys))


UTC_SECONDS = "to_char(max(({}::timestamptz) AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS')"
OPENED_AT = f"""coalesce(
  (SELECT max(t) FROM (
     SELECT {UTC_SECONDS.format("e.received_at")} FROM json_array_elements_text(c.event_ids::json) AS j(id)
       JOIN events e ON e.event_id = j.id
     UNION ALL
     SELECT {UTC_SECONDS.format("h.at")} FROM json_array_elements_text(c.event_ids::json) AS j(id)
       JOIN hub_events h ON j.id LIKE '@hub:%%' AND h.seq = substr(j.id, 6)::bigint) AS found(t)),
  (SELECT max(t) FROM (
     SELECT {UTC_SECONDS.format("received_at")} FROM events WHERE id_number = c.id_number
     UNION ALL SELECT {UTC_SECONDS.format("updated_at")} FROM roster WHERE id_number = c.id_number
     UNION ALL SELECT {UTC_SECONDS.format("at")} FROM hub_events WHERE id_number = c.id_number) AS found(t)),
  '1970-01-01T00:00:00') || '+00:00'"""
"""When a conflict became one, in hub time (hub/store/migrations.py OPENED_AT): when the last of its events arrived (a
kiosk's, or the hub's), else the newest hub time known of the person (their last event, roster entry or hub event)."""


def note_opened(conn: psycopg.Connection, ids: list[str]) -> None:
    """Give the conflicts just written their opening time: kept from the first time each was derived."""
    if ids:
        conn.execute(f"INSERT INTO conflict_seen (id, opened_at) SELECT c.id, {OPENED_AT} FROM conflicts c "
                     "WHERE c.id = ANY(%s) ORDER BY c.id ON CONFLICT DO NOTHING", (ids,))
        conn.execute("UPDATE conflicts c SET opened_at = s.opened_at FROM conflict_seen s "
                     "WHERE s.id = c.id AND c.id = ANY(%s)", (ids,))


def count_doses(conn: psycopg.Connection, removed: list[tuple], added: list[tuple]) -> None:
    """Move dose_counts by the live doses deleted and inserted (hub/store/live.py count_doses): one upsert for all,
    in key order (another worker's person may have doses on the same day, kiosk and hour)."""
    moved: Counter = Counter()
    for given_on, kiosk, given_at in removed:
        moved[given_on, kiosk, hour_of(given_at)] -= 1
    for given_on, kiosk, given_at in added:
        moved[given_on, kiosk, hour_of(given_at)] += 1
    rows = sorted((*key, n) for key, n in moved.items() if n)
    if rows:
        conn.execute("INSERT INTO dose_counts (given_on, kiosk, hour, doses) SELECT * FROM unnest(%s::text[], %s::text[], "
                     "%s::int[], %s::bigint[]) ON CONFLICT (given_on, kiosk, hour) DO UPDATE "
                     "SET doses = dose_counts.doses + excluded.doses", [list(column) for column in zip(*rows)])


def rewrite(conn: psycopg.Connection, table: str, keys: list[str], rows: list[dict[str, Any]]) -> tuple[list, list]:
    """Make table's rows for these people exactly rows, deleting and inserting only those that differ; return the rows
    deleted and the rows inserted (tuples in DERIVED order)."""
    columns = DERIVED[table]
    old = {row[0]: row for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id_number = ANY(%s)", (keys,))}
    new = {row[0]: row for row in (tuple(r[c] for c in columns) for r in rows)}
    stale = sorted(key for key, row in old.items() if new.get(key) != row)
    added = sorted((row for key, row in new.items() if old.get(key) != row), key=lambda row: row[0])
    if stale:
        conn.execute(f"DELETE FROM {table} WHERE {columns[0]} = ANY(%s)", (stale,))
    if added:  # one statement: the rows as a JSON array, typed by the table's own row type
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                     f"FROM json_populate_recordset(NULL::{table}, %s)", (Json([dict(zip(columns, row)) for row in added]),))
    return [old[key] for key in stale], added


def person_events(conn: psycopg.Connection, keys: list[str], known: dict[str, dict]) -> tuple[dict, dict[str, str]]:
    """All kiosk events of these people (bodies parsed only for the types the merge reads) and the voids of any."""
    rows = conn.execute(
        "SELECT id_number, event_id, kiosk, seq, type, at, CASE WHEN type = ANY(%s) THEN body END, received_at "
        "FROM events WHERE id_number = ANY(%s)", (sorted(PERSON_EVENTS), keys))
    events: dict[str, list[PersonEvent]] = defaultdict(list)
    for id_number, event_id, kiosk, seq, kind, at, body, received_at in rows:
        payload = known.get(event_id) or (json.loads(body)["payload"] if body else {})
        events[id_number].append(PersonEvent(kiosk, seq, event_id, kind, at, payload, received_at))
    for id_number, event in hub_events(conn, keys):
        events[id_number].append(event)
    voided: dict[str, str] = {}
    for target, void in conn.execute(
            "SELECT v.target_id, v.void_id FROM voids v JOIN events e ON e.event_id = v.target_id "
            "WHERE e.id_number = ANY(%s)", (keys,)):
        if target not in voided or seq_of(void) < seq_of(voided[target]):  # the earliest void is the one named
            voided[target] = void
    return events, voided


def hub_events(conn: psycopg.Connection, keys: list[str]):
    """(ID number, event) for every hub event of these people, as the merge reads them (hub/store/corrections.py
    person_events): the payload with ``by`` (the staff member) added, as a kiosk's events carry it."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM hub_events WHERE id_number = ANY(%s)", (keys,))
    for seq, kind, number, at, staff_id, name, payload in rows:
        body = {**json.loads(payload), "id_number": number, "by": {"staff_id": staff_id, "name": name}}
        yield number, PersonEvent(HUB_KIOSK, seq, hub_event_id(seq), kind, at, body, at)


def seq_of(event_id: str) -> int:
    return int(event_id.rsplit(":", 1)[1])
