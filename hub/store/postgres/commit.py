"""What one commit writes to the hub's PostgreSQL database, inside the caller's transaction: hub/store/commit.py's merge.

The same rules as the SQLite store (see there), written for several hub workers
committing at once:

- Idempotency from keys: events and refusals go in with ``INSERT ... ON
  CONFLICT DO NOTHING RETURNING``; what a statement did not insert was settled
  before, and only those are read back (to tell a duplicate from a replay).
- A kiosk's watermark, chain and counters are read, then written: the commit
  first locks the rows of the batch's kiosks (``SELECT ... FOR UPDATE``, in
  kiosk order). It so holds each kiosk's sequence alone, and a void (always of
  its own kiosk's event, wire.parse_event) meets its target under that lock.
- A person is derived from all their events, then their rows rewritten under
  a lock per person (derive.py).
- Locks are always taken kiosks first, then people, then counters (the live
  dose counts), each in sorted order: no cycle, no deadlock.

Not ported yet (the SQLite store's tables for them do not exist here): the
coverage and the roster's conflicts.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import psycopg

import wire
from vaccines.catalogue import Catalogue

from ...merge import id_number_of
from .. import Batch, Committed, Quarantined
from ..commit import refusal_id, replayed
from .. import outcomes
from ..fleet import keep_statuses
from .acks import climb, extend_chain, held_above, make_ack
from .derive import derive
from .dialect import Connection
from .fleet import note_seen
from .outcomes import insert


def write(conn: psycopg.Connection, batch: Batch, received_at: str, catalogue: Catalogue) -> Committed:
    """Write everything in batch; return the acks of the kiosks whose events it held and the counts."""
    kiosks = sorted({*(e.kiosk for e in batch.events), *(q.kiosk for q in batch.quarantined if q.settles)}, key=str)
    named = {*kiosks, *(q.kiosk for q in batch.quarantined if q.kiosk), *(s.kiosk for s in batch.statuses)}
    marks = lock_kiosks(conn, kiosks, sorted(named, key=str))
    firsts = list({e.id: e for e in reversed(batch.events)}.values())  # the first delivery of each id
    inserted = keep_events(conn, sorted(firsts, key=lambda e: e.id), received_at)
    refusals = list({refusal_id(q): q for q in reversed([q for q in batch.quarantined if q.settles])}.values())
    refused = keep_refused(conn, refusals, received_at)
    settled = settled_texts(conn, [e.id for e in batch.events if e.id not in inserted]
                            + [refusal_id(q) for q in refusals if refusal_id(q) not in refused])
    fresh, duplicates, changed = sort_out(batch.events, inserted, settled)
    new_refusals = [q for q in refusals if refusal_id(q) in refused]
    disputed = sort_refusals(batch.quarantined, refused, settled)
    quarantined = [*batch.quarantined, *(replayed(event, received_at) for event in changed)]
    keep_quarantined(conn, quarantined)
    count_refused(conn, new_refusals)
    keep_disputes(conn, [(e.id, e.digest) for e in changed] + disputed, settled, received_at)
    acks = advance(conn, kiosks, marks, fresh, new_refusals, duplicates, received_at)
    note_seen(conn, batch, received_at)
    keep_statuses(Connection(conn), batch.statuses)
    outcomes.keep(Connection(conn), [(e.id, e.kiosk, e.type, e.at, e.payload, received_at) for e in fresh], insert=insert)
    derive(conn, fresh, catalogue)
    return Committed(acks, merged=len(fresh), duplicates=sum(duplicates.values()), quarantined=len(quarantined))


def lock_kiosks(conn: psycopg.Connection, kiosks: list[str], named: list[str]) -> dict[str, tuple]:
    """Make sure the kiosks whose events the batch settles have rows; lock the rows of every kiosk the batch names (its
    statuses and quarantined messages update theirs too), in kiosk order; return the marks (watermark, highest,
    chain, refused, disputed) by kiosk."""
    if kiosks:
        conn.execute("INSERT INTO kiosks (kiosk) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (kiosks,))
    if not named:
        return {}
    rows = conn.execute("SELECT kiosk, watermark, highest, chain, refused, disputed FROM kiosks WHERE kiosk = ANY(%s) "
                        "ORDER BY kiosk FOR UPDATE", (named,))
    return {row[0]: row[1:] for row in rows}


def keep_events(conn: psycopg.Connection, events: list[wire.Event], received_at: str) -> set[str]:
    """Insert the events not settled before (neither merged nor refused); return the ids inserted."""
    if not events:
        return set()
    columns = list(zip(*[(e.id, e.kiosk, e.seq, e.type, e.boot, e.at, int(e.clock_synced), id_number_of(e.payload),
                          e.body, e.digest) for e in events]))
    rows = conn.execute(
        "INSERT INTO events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, digest, received_at) "
        "SELECT n.*, %s FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], "
        "%b::int[], %b::text[], %b::text[], %b::bytea[]) AS n(event_id, kiosk, seq, type, boot, at, clock_synced, "
        "id_number, body, digest) WHERE NOT EXISTS (SELECT 1 FROM refused r WHERE r.event_id = n.event_id) "
        "ORDER BY n.event_id ON CONFLICT DO NOTHING RETURNING event_id",
        (received_at, *[list(column) for column in columns])).fetchall()
    inserted = {event_id for (event_id,) in rows}  # %b: arrays dumped binary (as text, each body's escaping costs)
    voids = sorted((e.payload["voids"], e.id) for e in events if e.id in inserted and e.type == wire.VOID_EVENT)
    if voids:
        conn.execute("INSERT INTO voids (target_id, void_id) SELECT * FROM unnest(%s::text[], %s::text[]) "
                     "ON CONFLICT DO NOTHING", [list(column) for column in zip(*voids)])
    return inserted


def keep_refused(conn: psycopg.Connection, refusals: list[Quarantined], received_at: str) -> set[str]:
    """Settle each refused event not settled before (merged or refused); return the ids inserted."""
    if not refusals:
        return set()
    rows = conn.execute(
        "INSERT INTO refused (event_id, kiosk, seq, reason, digest, received_at) "
        "SELECT n.*, %s FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::bytea[]) "
        "AS n(event_id, kiosk, seq, reason, digest) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = n.event_id) "
        "ORDER BY n.event_id ON CONFLICT DO NOTHING RETURNING event_id",
        (received_at, *[list(c) for c in zip(*[(refusal_id(q), q.kiosk, q.seq, q.reason, q.digest) for q in refusals])]),
    ).fetchall()
    return {event_id for (event_id,) in rows}


def count_refused(conn: psycopg.Connection, refusals: list[Quarantined]) -> None:
    counts = sorted(Counter(q.kiosk for q in refusals).items())
    for kiosk, n in counts:
        conn.execute("UPDATE kiosks SET refused = refused + %s WHERE kiosk = %s", (n, kiosk))


def settled_texts(conn: psycopg.Connection, ids: list[str]) -> dict[str, tuple[str | None, bytes]]:
    """For ids settled before this commit's inserts: (the merged body, or None for a refused event) and its digest."""
    if not ids:
        return {}
    settled: dict[str, tuple[str | None, bytes]] = {
        event_id: (None, bytes(digest)) for event_id, digest in conn.execute(
            "SELECT event_id, digest FROM refused WHERE event_id = ANY(%s)", (ids,))}
    settled.update((event_id, (body, bytes(digest))) for event_id, body, digest in conn.execute(
        "SELECT event_id, body, digest FROM events WHERE event_id = ANY(%s)", (ids,)))
    return settled


def sort_out(events: list[wire.Event], inserted: set[str], settled: dict) -> tuple[list[wire.Event], Counter, list[wire.Event]]:
    """Split the batch into the events inserted (first delivery of each), duplicates (per kiosk) and changed replays;
    ``settled`` gains the inserted ones, so that a later delivery in the batch is compared with the first."""
    settled_here: set[str] = set()
    fresh, changed, duplicates = [], [], Counter()
    for event in events:
        kept = settled.get(event.id) if event.id not in inserted or event.id in settled_here else None
        if kept is None:
            settled[event.id] = (event.body, event.digest)
            settled_here.add(event.id)
            fresh.append(event)
        elif kept[1] == event.digest or (kept[0] is not None and wire.same_content(kept[0], event.body)):
            duplicates[event.kiosk] += 1
        else:
            changed.append(event)
    return fresh, duplicates, changed


def sort_refusals(quarantined: list[Quarantined], refused: set[str], settled: dict) -> list[tuple[str, bytes]]:
    """(event id, digest) of each refusal whose text differs from the one settled (before, or first in this batch)."""
    disputed = []
    for refusal in (q for q in quarantined if q.settles):
        event_id = refusal_id(refusal)
        kept = settled.get(event_id)
        if kept is None and event_id in refused:
            settled[event_id] = (None, refusal.digest)
        elif kept[1] != refusal.digest:
            disputed.append((event_id, refusal.digest))
    return disputed


def keep_quarantined(conn: psycopg.Connection, quarantined: list[Quarantined]) -> None:
    if not quarantined:
        return
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO quarantine (received_at, topic, kiosk, reason, detail, size, body) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(q.received_at, q.topic, q.kiosk, q.reason, q.detail, len(q.body), q.body[: wire.MAX_MESSAGE_BYTES])
             for q in quarantined])


def keep_disputes(conn: psycopg.Connection, others: list[tuple[str, bytes]], settled: dict, received_at: str) -> None:
    """Record each event that arrived with a text other than the one settled: a security conflict for the data staff."""
    for event_id, digest in others:
        kiosk, seq = event_id.rsplit(":", 1)
        added = conn.execute(
            "INSERT INTO disputes (event_id, kiosk, seq, kept_digest, other_digest, first_at, last_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO UPDATE SET "
            "deliveries = disputes.deliveries + 1, last_at = excluded.last_at RETURNING deliveries",
            (event_id, kiosk, int(seq), settled[event_id][1], digest, received_at, received_at)).fetchone()[0]
        if added == 1:
            conn.execute("UPDATE kiosks SET disputed = disputed + 1 WHERE kiosk = %s", (kiosk,))


def newly_settled(fresh: list[wire.Event], refusals: list[Quarantined]) -> dict[str, dict[int, tuple[bool, bytes]]]:
    """By kiosk, by seq: (refused, digest) of what this commit settled."""
    new: dict[str, dict[int, tuple[bool, bytes]]] = defaultdict(dict)
    for event in fresh:
        new[event.kiosk][event.seq] = (False, event.digest)
    for refusal in refusals:
        new[refusal.kiosk][refusal.seq] = (True, refusal.digest)
    return new


def advance(conn: psycopg.Connection, kiosks: list[str], marks: dict[str, tuple], fresh: list[wire.Event],
            refusals: list[Quarantined], duplicates: Counter, received_at: str) -> dict[str, wire.Ack]:
    """Move each kiosk's watermark, chain and highest past its newly settled events; return one ack per kiosk.

    The kiosks' rows are locked (lock_kiosks) since before this commit's inserts: every seq settled above a
    watermark by a commit that ended is counted in its kiosk's ``highest``.
    """
    new = newly_settled(fresh, refusals)
    listings = {row[0]: row[1:] for row in conn.execute(
        "SELECT kiosk, refused, disputed FROM kiosks WHERE kiosk = ANY(%s)", (kiosks,))} if kiosks else {}
    acks, updates = {}, []
    for kiosk in kiosks:
        watermark, highest, chain = marks[kiosk][:3]
        added = new.get(kiosk, {})
        held = sorted(added) if highest == watermark else held_above(conn, kiosk, watermark)
        climbed, rest = climb(watermark, held)
        chain = extend_chain(conn, kiosk, bytes(chain) if chain else wire.chain_start(kiosk), watermark, climbed, added)
        highest = max(highest, *added) if added else highest
        updates.append((kiosk, climbed, highest, chain, duplicates[kiosk]))
        acks[kiosk] = make_ack(conn, kiosk, climbed, highest, wire.gaps_between(climbed, rest), chain, received_at,
                               listing=listings[kiosk])
    if updates:  # the rows are locked (lock_kiosks): one statement for all
        conn.execute("UPDATE kiosks k SET watermark = n.watermark, highest = n.highest, chain = n.chain, "
                     "duplicates = k.duplicates + n.duplicates FROM unnest(%b::text[], %b::bigint[], %b::bigint[], "
                     "%b::bytea[], %b::bigint[]) AS n(kiosk, watermark, highest, chain, duplicates) WHERE k.kiosk = n.kiosk",
                     [list(column) for column in zip(*updates)])
    return acks
