"""What one commit writes to the hub's SQLite database, inside the caller's transaction.

Events are kept as received (the truth); a delivery of an event already kept
is a duplicate when its body is the same and quarantined (replayed_changed)
when not. Each kiosk's watermark moves incrementally: only the sequence
numbers held above its old watermark are read. Every person a batch touches is
derived again, once, from all their events (hub/merge.py).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections import Counter, defaultdict
from typing import Any

import wire
from kiosk.queue.catalogue import Catalogue

from .merge import PERSON_EVENTS, PersonEvent, derive_person, id_number_of
from .store import Batch, Committed, KioskStatus, Quarantined

IN_LIST = "IN (SELECT value FROM json_each(?))"
"""One parameter for a whole list (a JSON array): no limit on the number of SQL variables, one statement per batch."""


def write(conn: sqlite3.Connection, batch: Batch, received_at: str, catalogue: Catalogue) -> Committed:
    """Write everything in batch; return the acks of the kiosks whose events it held and the counts."""
    fresh, duplicates, changed = sort_out(conn, batch.events)
    quarantined = [*batch.quarantined, *(replayed(event, received_at) for event in changed)]
    keep_quarantined(conn, quarantined)
    keep_events(conn, fresh, received_at)
    acks = advance(conn, batch.events, fresh, duplicates, received_at)
    note_seen(conn, batch, received_at)
    keep_statuses(conn, batch.statuses)
    derive(conn, fresh, catalogue)
    return Committed(acks, merged=len(fresh), duplicates=sum(duplicates.values()), quarantined=len(quarantined))


def sort_out(conn: sqlite3.Connection, events: list[wire.Event]) -> tuple[list[wire.Event], Counter, list[wire.Event]]:
    """Split events into new ones, duplicates (counted per kiosk) and replays with a changed body."""
    ids = [event.id for event in events]
    kept = dict(conn.execute(f"SELECT event_id, body FROM events WHERE event_id {IN_LIST}", (json.dumps(ids),)))
    fresh, changed, duplicates = [], [], Counter()
    for event_id, event in zip(ids, events):
        body = kept.get(event_id)
        if body is None:
            kept[event_id] = event.body
            fresh.append(event)
        elif wire.same_content(body, event.body):
            duplicates[event.kiosk] += 1
        else:
            changed.append(event)
    return fresh, duplicates, changed


def replayed(event: wire.Event, received_at: str) -> Quarantined:
    body = event.body.encode()
    return Quarantined(
        topic=wire.topic(event.kiosk, wire.EVENT), kiosk=event.kiosk, reason="replayed_changed",
        detail=f"event {event.id} was merged before with different content; the first is kept", body=body,
        received_at=received_at,
    )


def keep_quarantined(conn: sqlite3.Connection, quarantined: list[Quarantined]) -> None:
    conn.executemany(
        "INSERT INTO quarantine (received_at, topic, kiosk, reason, detail, size, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(q.received_at, q.topic, q.kiosk, q.reason, q.detail, len(q.body), q.body[: wire.MAX_MESSAGE_BYTES])
         for q in quarantined],
    )


def keep_events(conn: sqlite3.Connection, fresh: list[wire.Event], received_at: str) -> None:
    conn.executemany(
        "INSERT INTO events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(e.id, e.kiosk, e.seq, e.type, e.boot, e.at, int(e.clock_synced), id_number_of(e.payload), e.body, received_at)
         for e in fresh],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO voids (target_id, void_id) VALUES (?, ?)",
        [(e.payload["voids"], e.id) for e in fresh if e.type == wire.VOID_EVENT],
    )


def advance(conn: sqlite3.Connection, events: list[wire.Event], fresh: list[wire.Event], duplicates: Counter,
            received_at: str) -> dict[str, wire.Ack]:
    """Move each kiosk's watermark and highest past its new events; return one ack per kiosk in events."""
    kiosks = list(dict.fromkeys(event.kiosk for event in events))
    conn.executemany("INSERT OR IGNORE INTO kiosks (kiosk) VALUES (?)", [(k,) for k in kiosks])
    seqs: dict[str, list[int]] = defaultdict(list)
    for event in fresh:
        seqs[event.kiosk].append(event.seq)
    marks = {k: (w, h) for k, w, h in conn.execute(
        f"SELECT kiosk, watermark, highest FROM kiosks WHERE kiosk {IN_LIST}", (json.dumps(kiosks),))}
    acks, updates = {}, []
    for kiosk in kiosks:
        watermark, highest = marks[kiosk]
        new = seqs.get(kiosk, [])
        # nothing held above the watermark before: the new seqs are all there is above it
        held = sorted(new) if highest == watermark else held_above(conn, kiosk, watermark)
        watermark, rest = climb(watermark, held)
        highest = max(highest, *new) if new else highest
        acks[kiosk] = wire.Ack(kiosk, watermark, highest, wire.gaps_between(watermark, rest), received_at)
        updates.append((watermark, highest, duplicates[kiosk], kiosk))
    conn.executemany(
        "UPDATE kiosks SET watermark = ?, highest = ?, duplicates = duplicates + ? WHERE kiosk = ?", updates
    )
    return acks


def held_above(conn: sqlite3.Connection, kiosk: str, watermark: int) -> list[int]:
    """The kiosk's merged seqs above watermark, in order (read from the (kiosk, seq) index alone)."""
    rows = conn.execute("SELECT seq FROM events WHERE kiosk = ? AND seq > ? ORDER BY seq", (kiosk, watermark))
    return [seq for (seq,) in rows]


def climb(watermark: int, held: list[int]) -> tuple[int, list[int]]:
    """Return the watermark raised over the contiguous run in held (sorted), and the seqs left above it."""
    i = 0
    while i < len(held) and held[i] == watermark + 1:
        watermark += 1
        i += 1
    return watermark, held[i:]


def ack_for(conn: sqlite3.Connection, kiosk: str, at: str) -> wire.Ack:
    row = conn.execute("SELECT watermark, highest FROM kiosks WHERE kiosk = ?", (kiosk,)).fetchone()
    watermark, highest = row or (0, 0)
    rest = held_above(conn, kiosk, watermark) if highest > watermark else []
    return wire.Ack(kiosk, watermark, highest, wire.gaps_between(watermark, rest), at)


def note_seen(conn: sqlite3.Connection, batch: Batch, received_at: str) -> None:
    """Set each kiosk's last_seen to the latest hub time any of its messages arrived (enrolled kiosks only)."""
    latest: dict[str, str] = {}
    arrivals = [(e.kiosk, received_at) for e in batch.events]
    arrivals += [(q.kiosk, q.received_at) for q in batch.quarantined if q.kiosk]
    arrivals += [(s.kiosk, s.received_at) for s in batch.statuses]
    for kiosk, at in arrivals:
        latest[kiosk] = max(latest.get(kiosk, at), at)
    conn.executemany(
        "UPDATE kiosks SET last_seen = max(coalesce(last_seen, ''), ?) WHERE kiosk = ?",
        [(at, kiosk) for kiosk, at in latest.items()],
    )


def keep_statuses(conn: sqlite3.Connection, statuses: list[KioskStatus]) -> None:
    """Copy each status into the fleet columns, unless a later one was kept already (a kiosk not enrolled: ignored)."""
    conn.executemany(
        "UPDATE kiosks SET status = :state, status_at = :received_at, boot = :boot, version = :version, "
        "backlog = :backlog, camera_fps = :camera_fps, clock_skew_s = :skew "
        "WHERE kiosk = :kiosk AND (status_at IS NULL OR status_at <= :received_at)",
        [fleet_columns(s) for s in statuses],
    )


def fleet_columns(status: KioskStatus) -> dict[str, Any]:
    message = status.message
    return {
        "kiosk": status.kiosk, "received_at": status.received_at, "state": message.get("state"),
        "boot": text_or_none(message.get("boot")), "version": text_or_none(message.get("version")),
        "backlog": number_or_none(message.get("outbox"), int), "camera_fps": number_or_none(message.get("camera_fps"), float),
        "skew": clock_skew(status.received_at, message.get("at")),
    }


def text_or_none(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


def number_or_none(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def clock_skew(received_at: str, kiosk_at: Any) -> float | None:
    """Seconds the hub's clock is ahead of the kiosk's (negative: behind); None when a time does not parse."""
    try:
        hub = datetime.datetime.fromisoformat(received_at)
        kiosk = datetime.datetime.fromisoformat(kiosk_at)
        return round((hub - kiosk).total_seconds(), 3)
    except (TypeError, ValueError):  # TypeError: not a string, or one time has a zone and the other not
        return None


def derive(conn: sqlite3.Connection, fresh: list[wire.Event], catalogue: Catalogue) -> None:
    """Derive again every person a new event is about, or whose event a new void targets, from all their events."""
    people = {n for n in (id_number_of(e.payload) for e in fresh) if n}
    targets = [e.payload["voids"] for e in fresh if e.type == wire.VOID_EVENT]
    if targets:
        people.update(n for (n,) in conn.execute(
            f"SELECT id_number FROM events WHERE event_id {IN_LIST} AND id_number IS NOT NULL", (json.dumps(targets),)))
    if not people:
        return
    keys = json.dumps(sorted(people))
    events, voided = person_events(conn, keys, {e.id: e.payload for e in fresh})
    views = [derive_person(n, events[n], voided, catalogue) for n in sorted(people)]
    rewrite(conn, "people", keys, [view.person for view in views])
    rewrite(conn, "doses", keys, [dose for view in views for dose in view.doses])
    rewrite(conn, "conflicts", keys, [c for view in views for c in view.conflicts])


DERIVED = {
    "people": ("id_number", "full_name", "birth_date", "sex", "old_id", "first_event", "events"),
    "doses": ("event_id", "id_number", "kiosk", "product", "lot_number", "dose_number", "booster", "given_at",
              "given_on", "vaccinator", "voided_by"),
    "conflicts": ("id", "kind", "id_number", "event_ids", "detail"),
}
"""The derived tables' columns, primary key first; each has an id_number column."""


def rewrite(conn: sqlite3.Connection, table: str, keys: str, rows: list[dict[str, Any]]) -> None:
    """Make table's rows for these people exactly rows, deleting and inserting only those that differ.

    Most events (a call, a screening) change no dose and no conflict: leaving
    unchanged rows alone spares their pages in the indexes keyed by ID number.
    """
    columns = DERIVED[table]
    old = {row[0]: row for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id_number {IN_LIST}", (keys,))}
    new = {row[0]: row for row in (tuple(r[c] for c in columns) for r in rows)}
    stale = [key for key, row in old.items() if new.get(key) != row]
    if stale:
        conn.execute(f"DELETE FROM {table} WHERE {columns[0]} {IN_LIST}", (json.dumps(stale),))
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [row for key, row in new.items() if old.get(key) != row],
    )


def person_events(conn: sqlite3.Connection, keys: str, known: dict[str, dict]) -> tuple[dict, dict[str, str]]:
    """All events of these people (bodies parsed only for the types the merge reads) and the voids of any of them."""
    relevant = ", ".join(f"'{t}'" for t in sorted(PERSON_EVENTS))
    rows = conn.execute(
        f"SELECT id_number, event_id, kiosk, seq, type, at, CASE WHEN type IN ({relevant}) THEN body END "
        f"FROM events WHERE id_number {IN_LIST}", (keys,))
    events: dict[str, list[PersonEvent]] = defaultdict(list)
    for id_number, event_id, kiosk, seq, kind, at, body in rows:
        payload = known.get(event_id) or (json.loads(body)["payload"] if body else {})
        events[id_number].append(PersonEvent(kiosk, seq, event_id, kind, at, payload))
    voided: dict[str, str] = {}
    for target, void in conn.execute(
        f"SELECT v.target_id, v.void_id FROM voids v JOIN events e ON e.event_id = v.target_id WHERE e.id_number {IN_LIST}",
        (keys,),
    ):
        # several voids of one event: the earliest (same kiosk, so by seq) is the one named
        if target not in voided or seq_of(void) < seq_of(voided[target]):
            voided[target] = void
    return events, voided


def seq_of(event_id: str) -> int:
    return int(event_id.rsplit(":", 1)[1])
