"""Each kiosk's watermark, chain and acknowledgement as the hub's SQLite database holds them (wire.Ack).

commit.py moves a kiosk's watermark past the events a batch settles; these
read what is settled above a watermark, fold the chain and build the
acknowledgement, for a commit and for `hub run` re-publishing the acks.
"""

from __future__ import annotations

import sqlite3

import wire


def held_above(conn: sqlite3.Connection, kiosk: str, watermark: int) -> list[int]:
    """The kiosk's settled seqs above watermark, in order (read from the (kiosk, seq) indexes alone)."""
    rows = conn.execute(
        "SELECT seq FROM events WHERE kiosk = ? AND seq > ? UNION SELECT seq FROM refused WHERE kiosk = ? AND seq > ? "
        "ORDER BY seq", (kiosk, watermark, kiosk, watermark))
    return [seq for (seq,) in rows]


def climb(watermark: int, held: list[int]) -> tuple[int, list[int]]:
    """Return the watermark raised over the contiguous run in held (sorted), and the seqs left above it."""
    i = 0
    while i < len(held) and held[i] == watermark + 1:
        watermark += 1
        i += 1
    return watermark, held[i:]


def extend_chain(conn: sqlite3.Connection, kiosk: str, chain: bytes, start: int, end: int,
                 known: dict[int, tuple[bool, bytes]]) -> bytes:
    """The chain folded over the settled events start+1..end; their digests from ``known`` or else the database."""
    if end <= start:
        return chain
    if any(seq not in known for seq in range(start + 1, end + 1)):
        known = {**settled_digests(conn, kiosk, start, end), **known}
    for seq in range(start + 1, end + 1):
        refused, digest = known[seq]
        chain = wire.chain_next(chain, digest, refused)
    return chain


def settled_digests(conn: sqlite3.Connection, kiosk: str, start: int, end: int) -> dict[int, tuple[bool, bytes]]:
    found = {seq: (True, digest) for seq, digest in conn.execute(
        "SELECT seq, digest FROM refused WHERE kiosk = ? AND seq > ? AND seq <= ?", (kiosk, start, end))}
    found.update((seq, (False, digest)) for seq, digest in conn.execute(
        "SELECT seq, digest FROM events WHERE kiosk = ? AND seq > ? AND seq <= ?", (kiosk, start, end)))
    return found


def make_ack(conn: sqlite3.Connection, kiosk: str, watermark: int, highest: int, gaps: tuple, chain: bytes, at: str, *,
             listing: tuple[int, int] | None = None) -> wire.Ack:
    """The acknowledgement of one kiosk, with its refused and disputed events up to the watermark when it has any.

    ``listing`` is the kiosk's (refused, disputed) counts when the caller has read them already.
    """
    refused_total, disputed_total = listing or conn.execute("SELECT refused, disputed FROM kiosks WHERE kiosk = ?", (kiosk,)).fetchone()
    refused, refused_count = listed(conn, "SELECT seq, reason FROM refused", kiosk, watermark) if refused_total else ((), 0)
    disputed, disputed_count = listed(conn, "SELECT seq, hex(kept_digest) FROM disputes", kiosk, watermark) if disputed_total else ((), 0)
    disputed = tuple((seq, digest.lower()) for seq, digest in disputed)
    return wire.Ack(kiosk, watermark, highest, gaps, at, chain.hex(), refused, refused_count, disputed, disputed_count)


def listed(conn: sqlite3.Connection, select: str, kiosk: str, watermark: int) -> tuple[tuple, int]:
    """The newest wire.MAX_LISTED rows of a per-event table up to the watermark, oldest first, and how many there are."""
    where = "WHERE kiosk = ? AND seq <= ?"
    rows = conn.execute(f"{select} {where} ORDER BY seq DESC LIMIT {wire.MAX_LISTED}", (kiosk, watermark)).fetchall()
    count = conn.execute(f"SELECT count(*) FROM ({select} {where})", (kiosk, watermark)).fetchone()[0]
    return tuple(tuple(row) for row in reversed(rows)), count


def ack_for(conn: sqlite3.Connection, kiosk: str, at: str) -> wire.Ack:
    row = conn.execute("SELECT watermark, highest, chain FROM kiosks WHERE kiosk = ?", (kiosk,)).fetchone()
    if row is None:
        return wire.Ack(kiosk, 0, 0, (), at, wire.chain_start(kiosk).hex())
    watermark, highest, chain = row
    rest = held_above(conn, kiosk, watermark) if highest > watermark else []
    return make_ack(conn, kiosk, watermark, highest, wire.gaps_between(watermark, rest), chain or wire.chain_start(kiosk), at)
