"""What one commit writes to the hub's SQLite database, inside the caller's transaction.

Events are kept as received (the truth). An event is *settled* once it is
merged, or refused for good (it verified as its kiosk's own but breaks the
contract: table `refused`). A delivery of a settled event is a duplicate when
its text is the same, and otherwise quarantined (replayed_changed) and kept as
a dispute for the data staff: the first text stays. Each kiosk's watermark
and chain (what its acknowledgement confirms, wire.Ack) move incrementally:
only the sequence numbers settled above the old watermark are read (acks.py).
Every person a batch touches is derived again, once, from all their events
(hub/merge.py). The kiosks' statuses go to the fleet columns (fleet.py); each visit's outcome and each lot event
to the reports' tables (outcomes.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from typing import Any

import wire
from vaccines.catalogue import Catalogue

from ..corrections import HUB_KIOSK
from ..merge import PERSON_EVENTS, PersonEvent, derive_person, id_number_of
from . import Batch, Committed, Quarantined
from . import corrections, outcomes
from .acks import climb, extend_chain, held_above, make_ack
from .coverage import refresh as refresh_coverage
from .fleet import keep_statuses, note_seen
from .live import count_doses
from .roster import linked_conflicts

IN_LIST = "IN (SELECT value FROM json_each(?))"
"""One parameter for a whole list (a JSON array): no limit on the number of SQL variables, one statement per batch."""


def write(conn: sqlite3.Connection, batch: Batch, received_at: str, catalogue: Catalogue) -> Committed:
    """Write everything in batch; return the acks of the kiosks whose events it held and the counts."""
    kiosks = list(dict.fromkeys([*(e.kiosk for e in batch.events), *(q.kiosk for q in batch.quarantined if q.settles)]))
    conn.executemany("INSERT OR IGNORE INTO kiosks (kiosk) VALUES (?)", [(k,) for k in kiosks])
    settled = settled_texts(conn, [e.id for e in batch.events] + [refusal_id(q) for q in batch.quarantined if q.settles])
    fresh, duplicates, changed = sort_out(batch.events, settled)
    refusals, redundant = sort_refusals(batch.quarantined, settled)
    quarantined = [*batch.quarantined, *(replayed(event, received_at) for event in changed)]
    keep_quarantined(conn, quarantined)
    keep_events(conn, fresh, received_at)
    keep_refused(conn, refusals, received_at)
    keep_disputes(conn, [(e.id, e.digest) for e in changed] + redundant, settled, received_at)
    acks = advance(conn, kiosks, fresh, refusals, duplicates, received_at)
    note_seen(conn, batch, received_at)
    keep_statuses(conn, batch.statuses)
    outcomes.keep(conn, [(e.id, e.kiosk, e.type, e.at, e.payload, received_at) for e in fresh])
    derive(conn, fresh, catalogue)
    return Committed(acks, merged=len(fresh), duplicates=sum(duplicates.values()), quarantined=len(quarantined))


def refusal_id(quarantined: Quarantined) -> str:
    return wire.event_id(quarantined.kiosk, quarantined.seq)


def settled_texts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str | None, bytes]]:
    """For the ids already settled here: (the merged body, or None for a refused event) and its digest."""
    if not ids:
        return {}
    keys = json.dumps(ids)
    settled: dict[str, tuple[str | None, bytes]] = {
        event_id: (None, digest) for event_id, digest in conn.execute(f"SELECT event_id, digest FROM refused WHERE event_id {IN_LIST}", (keys,))}
    settled.update((event_id, (body, digest)) for event_id, body, digest in conn.execute(
        f"SELECT event_id, body, digest FROM events WHERE event_id {IN_LIST}", (keys,)))
    return settled


def sort_out(events: list[wire.Event], settled: dict) -> tuple[list[wire.Event], Counter, list[wire.Event]]:
    """Split events into new ones, duplicates (counted per kiosk) and replays with a changed text.

    An event settled before as refused counts as a duplicate when it is the same text, else as a replay. ``settled``
    gains the new events, so that a repeat within the batch is a duplicate too.
    """
    fresh, changed, duplicates = [], [], Counter()
    for event in events:
        kept = settled.get(event.id)
        if kept is None:
            settled[event.id] = (event.body, event.digest)
            fresh.append(event)
        elif kept[1] == event.digest or (kept[0] is not None and wire.same_content(kept[0], event.body)):
            duplicates[event.kiosk] += 1
        else:
            changed.append(event)
    return fresh, duplicates, changed


def sort_refusals(quarantined: list[Quarantined], settled: dict) -> tuple[list[Quarantined], list[tuple[str, bytes]]]:
    """The refusals that settle an event not settled before, and (event id, digest) of those that differ from the
    text settled before (a dispute). A refusal of the very text settled before changes nothing."""
    new, disputed = [], []
    for refusal in (q for q in quarantined if q.settles):
        event_id = refusal_id(refusal)
        kept = settled.get(event_id)
        if kept is None:
            settled[event_id] = (None, refusal.digest)
            new.append(refusal)
        elif kept[1] != refusal.digest:
            disputed.append((event_id, refusal.digest))
    return new, disputed


def replayed(event: wire.Event, received_at: str) -> Quarantined:
    body = event.body.encode()
    return Quarantined(
        topic=wire.topic(event.kiosk, wire.EVENT), kiosk=event.kiosk, reason="replayed_changed",
        detail=f"event {event.id} was settled before with different content; the first is kept", body=body,
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
        "INSERT INTO events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, received_at, digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(e.id, e.kiosk, e.seq, e.type, e.boot, e.at, int(e.clock_synced), id_number_of(e.payload), e.body, received_at,
          e.digest) for e in fresh],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO voids (target_id, void_id) VALUES (?, ?)",
        [(e.payload["voids"], e.id) for e in fresh if e.type == wire.VOID_EVENT],
    )


def keep_refused(conn: sqlite3.Connection, refusals: list[Quarantined], received_at: str) -> None:
    """Settle each refused event: the watermark may pass it, and the kiosk's acknowledgements name it."""
    conn.executemany(
        "INSERT INTO refused (event_id, kiosk, seq, reason, digest, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(refusal_id(q), q.kiosk, q.seq, q.reason, q.digest, received_at) for q in refusals],
    )
    counts = Counter(q.kiosk for q in refusals)
    conn.executemany("UPDATE kiosks SET refused = refused + ? WHERE kiosk = ?", [(n, k) for k, n in counts.items()])


def keep_disputes(conn: sqlite3.Connection, others: list[tuple[str, bytes]], settled: dict, received_at: str) -> None:
    """Record each event that arrived with a text other than the one settled: a security conflict for the data staff."""
    for event_id, digest in others:
        kiosk, seq = event_id.rsplit(":", 1)
        added = conn.execute(
            "INSERT INTO disputes (event_id, kiosk, seq, kept_digest, other_digest, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1, last_at = excluded.last_at RETURNING deliveries",
            (event_id, kiosk, int(seq), settled[event_id][1], digest, received_at, received_at),
        ).fetchone()[0]
        if added == 1:
            conn.execute("UPDATE kiosks SET disputed = disputed + 1 WHERE kiosk = ?", (kiosk,))


def advance(conn: sqlite3.Connection, kiosks: list[str], fresh: list[wire.Event], refusals: list[Quarantined],
            duplicates: Counter, received_at: str) -> dict[str, wire.Ack]:
    """Move each kiosk's watermark, chain and highest past its newly settled events; return one ack per kiosk."""
    new: dict[str, dict[int, tuple[bool, bytes]]] = defaultdict(dict)
    for event in fresh:
        new[event.kiosk][event.seq] = (False, event.digest)
    for refusal in refusals:
        new[refusal.kiosk][refusal.seq] = (True, refusal.digest)
    marks = {row[0]: row[1:] for row in conn.execute(
        f"SELECT kiosk, watermark, highest, chain, refused, disputed FROM kiosks WHERE kiosk {IN_LIST}", (json.dumps(kiosks),))}
    acks, updates = {}, []
    for kiosk in kiosks:
        watermark, highest, chain, refused, disputed = marks[kiosk]
        added = new.get(kiosk, {})
        # nothing held above the watermark before: the new seqs are all there is above it
        held = sorted(added) if highest == watermark else held_above(conn, kiosk, watermark)
        climbed, rest = climb(watermark, held)
        chain = extend_chain(conn, kiosk, chain or wire.chain_start(kiosk), watermark, climbed, added)
        highest = max(highest, *added) if added else highest
        updates.append((climbed, highest, chain, duplicates[kiosk], kiosk))
        acks[kiosk] = make_ack(conn, kiosk, climbed, highest, wire.gaps_between(climbed, rest), chain, received_at,
                               listing=(refused, disputed))
    conn.executemany(
        "UPDATE kiosks SET watermark = ?, highest = ?, chain = ?, duplicates = duplicates + ? WHERE kiosk = ?", updates
    )
    return acks


def derive(conn: sqlite3.Connection, fresh: list[wire.Event], catalogue: Catalogue) -> None:
    """Derive again every person a new event is about, or whose event a new void targets, from all their events."""
    people = {n for n in (id_number_of(e.payload) for e in fresh) if n}
    targets = [e.payload["voids"] for e in fresh if e.type == wire.VOID_EVENT]
    if targets:
        people.update(n for (n,) in conn.execute(
            f"SELECT id_number FROM events WHERE event_id {IN_LIST} AND id_number IS NOT NULL", (json.dumps(targets),)))
    derive_people(conn, people, catalogue, {e.id: e.payload for e in fresh})


def derive_people(conn: sqlite3.Connection, people: set[str], catalogue: Catalogue, known: dict[str, dict] | None = None) -> None:
    """Rewrite these people's derived rows (people, doses, conflicts, and their coverage rows: hub/store/coverage.py)
    from all their events, the kiosks' and the hub's; ``known`` holds payloads already parsed (the batch's), by event id."""
    if not people:
        return
    keys = json.dumps(sorted(people))
    events, voided = person_events(conn, keys, known or {})
    views = [derive_person(n, events[n], voided, catalogue) for n in sorted(people)]
    rewrite(conn, "people", keys, [view.person for view in views])
    removed, added = rewrite(conn, "doses", keys, [dose for view in views for dose in view.doses])
    count_doses(conn, live_doses(removed), live_doses(added))
    linked = linked_conflicts(conn, keys, views, [e for n in people for e in events[n] if e.kiosk == HUB_KIOSK])
    rewrite(conn, "conflicts", keys, [c for view in views for c in view.conflicts] + linked)
    refresh_coverage(conn, keys, catalogue)


DERIVED = {
    "people": ("id_number", "full_name", "birth_date", "sex", "old_id", "first_event", "events"),
    "doses": ("event_id", "id_number", "kiosk", "product", "lot_number", "dose_number", "booster", "given_at",
              "given_on", "vaccinator", "voided_by", "place", "merged_at"),
    "conflicts": ("id", "kind", "id_number", "event_ids", "detail", "state", "resolved_by", "referred_by"),
}
"""The derived tables' columns, primary key first; each has an id_number column."""


DOSE_AT = {column: n for n, column in enumerate(DERIVED["doses"])}


def live_doses(rows: list[tuple]) -> list[tuple[str, str, str | None]]:
    """(given_on, kiosk, given_at) of the live ones among these doses rows."""
    on, kiosk, at, voided = DOSE_AT["given_on"], DOSE_AT["kiosk"], DOSE_AT["given_at"], DOSE_AT["voided_by"]
    return [(row[on], row[kiosk], row[at]) for row in rows if row[voided] is None]


def rewrite(conn: sqlite3.Connection, table: str, keys: str, rows: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple]]:
    """Make table's rows for these people exactly rows, deleting and inserting only those that differ; return the rows
    deleted and the rows inserted (tuples in DERIVED order).

    Most events (a call, a screening) change no dose and no conflict: leaving
    unchanged rows alone spares their pages in the indexes keyed by ID number.
    """
    columns = DERIVED[table]
    old = {row[0]: row for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id_number {IN_LIST}", (keys,))}
    new = {row[0]: row for row in (tuple(r[c] for c in columns) for r in rows)}
    stale = [row for key, row in old.items() if new.get(key) != row]
    added = [row for key, row in new.items() if old.get(key) != row]
    if stale:
        conn.execute(f"DELETE FROM {table} WHERE {columns[0]} {IN_LIST}", (json.dumps([row[0] for row in stale]),))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", added)
    return stale, added


def person_events(conn: sqlite3.Connection, keys: str, known: dict[str, dict]) -> tuple[dict, dict[str, str]]:
    """All events of these people, the kiosks' (bodies parsed only for the types the merge reads) and the hub's, and the
    kiosks' voids of any of them."""
    relevant = ", ".join(f"'{t}'" for t in sorted(PERSON_EVENTS))
    rows = conn.execute(
        f"SELECT id_number, event_id, kiosk, seq, type, at, CASE WHEN type IN ({relevant}) THEN body END, received_at "
        f"FROM events WHERE id_number {IN_LIST}", (keys,))
    events: dict[str, list[PersonEvent]] = defaultdict(list)
    for id_number, event_id, kiosk, seq, kind, at, body, received_at in rows:
        payload = known.get(event_id) or (json.loads(body)["payload"] if body else {})
        events[id_number].append(PersonEvent(kiosk, seq, event_id, kind, at, payload, received_at))
    for id_number, event in corrections.person_events(conn, keys):
        events[id_number].append(event)
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
