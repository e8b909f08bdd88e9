"""Each kiosk's watermark, chain and acknowledgement as the hub's PostgreSQL database holds them (wire.Ack).

The SQL of hub/store/acks.py in PostgreSQL's spelling; the pure step (climb) is shared.
"""

from __future__ import annotations

import psycopg

import wire

from ..acks import climb

__all__ = ["ack_for", "climb", "extend_chain", "held_above", "make_ack"]


def held_above(conn: psycopg.Connection, kiosk: str, watermark: int) -> list[int]:
    """The kiosk's settled seqs above watermark, in order."""
    rows = conn.execute(
        "SELECT seq FROM events WHERE kiosk = %(k)s AND seq > %(w)s UNION SELECT seq FROM refused "
        "WHERE kiosk = %(k)s AND seq > %(w)s ORDER BY seq", {"k": kiosk, "w": watermark})
    return [seq for (seq,) in rows]


def extend_chain(conn: psycopg.Connection, kiosk: str, chain: bytes, start: int, end: int,
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


def settled_digests(conn: psycopg.Connection, kiosk: str, start: int, end: int) -> dict[int, tuple[bool, bytes]]:
    span = {"k": kiosk, "a": start, "b": end}
    found = {seq: (True, bytes(digest)) for seq, digest in conn.execute(
        "SELECT seq, digest FROM refused WHERE kiosk = %(k)s AND seq > %(a)s AND seq <= %(b)s", span)}
    found.update((seq, (False, bytes(digest))) for seq, digest in conn.execute(
        "SELECT seq, digest FROM events WHERE kiosk = %(k)s AND seq > %(a)s AND seq <= %(b)s", span))
    return found


def make_ack(conn: psycopg.Connection, kiosk: str, watermark: int, highest: int, gaps: tuple, chain: bytes, at: str, *,
             listing: tuple[int, int] | None = None) -> wire.Ack:
    """The acknowledgement of one kiosk, with its refused and disputed events up to the watermark when it has any."""
    refused_total, disputed_total = listing or conn.execute(
        "SELECT refused, disputed FROM kiosks WHERE kiosk = %s", (kiosk,)).fetchone()
    refused, refused_count = listed(conn, "SELECT seq, reason FROM refused", kiosk, watermark) if refused_total else ((), 0)
    disputed, disputed_count = (listed(conn, "SELECT seq, encode(kept_digest, 'hex') FROM disputes", kiosk, watermark)
                                if disputed_total else ((), 0))
    return wire.Ack(kiosk, watermark, highest, gaps, at, chain.hex(), refused, refused_count, disputed, disputed_count)


def listed(conn: psycopg.Connection, select: str, kiosk: str, watermark: int) -> tuple[tuple, int]:
    """The newest wire.MAX_LISTED rows of a per-event table up to the watermark, oldest first, and how many there are."""
    where = "WHERE kiosk = %s AND seq <= %s"
    rows = conn.execute(f"{select} {where} ORDER BY seq DESC LIMIT {wire.MAX_LISTED}", (kiosk, watermark)).fetchall()
    count = conn.execute(f"SELECT count(*) FROM ({select} {where}) AS kept", (kiosk, watermark)).fetchone()[0]
    return tuple(tuple(row) for row in reversed(rows)), count


def ack_for(conn: psycopg.Connection, kiosk: str, at: str) -> wire.Ack:
    row = conn.execute("SELECT watermark, highest, chain FROM kiosks WHERE kiosk = %s", (kiosk,)).fetchone()
    if row is None:
        return wire.Ack(kiosk, 0, 0, (), at, wire.chain_start(kiosk).hex())
    watermark, highest, chain = row
    rest = held_above(conn, kiosk, watermark) if highest > watermark else []
    chain = bytes(chain) if chain is not None else wire.chain_start(kiosk)
    return make_ack(conn, kiosk, watermark, highest, wire.gaps_between(watermark, rest), chain, at)
