"""What the user was told is saved against what the hub merged: lost, duplicate and unexpected records.

The kiosk side is each kiosk's SQLite file (``events`` joined to ``outbox``,
the body the publisher sends); the hub side is the hub's database as its
migrations lay it out: a district's SQLite file (hub/store/migrations.py) or the
province's PostgreSQL database, named by its URL (hub/store/postgres/migrations.py,
the same tables and columns). Both are read with plain SQL that both engines
run, apart from the code under test, so a bug there cannot hide itself.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

import wire
from hub.store.open import is_url

SAMPLE = 10
"""How many ids of each kind of failure a result names (the counts are complete)."""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    conn.execute("PRAGMA query_only = 1")
    return conn


@contextmanager
def reading(hub: Path | str) -> Iterator[sqlite3.Connection | psycopg.Connection]:
    """A read-only connection to a hub's database, a SQLite file or a PostgreSQL URL; closed on leaving."""
    if is_url(str(hub)):
        conn = psycopg.connect(str(hub), options="-c default_transaction_read_only=on")
    else:
        conn = connect(Path(hub))
    try:
        yield conn
    finally:
        conn.close()


@dataclass
class KioskLog:
    """One kiosk's acknowledged events: event id to (seq, parsed outbox body)."""

    kiosk: str
    events: dict[str, tuple[int, dict | None]]

    @property
    def max_seq(self) -> int:
        return max((seq for seq, _ in self.events.values()), default=0)


def read_kiosk(kiosk: str, db: Path) -> KioskLog:
    """Every row of the kiosk's events table with its outbox body (None when the outbox row is missing)."""
    if not db.exists():
        return KioskLog(kiosk, {})
    with connect(db) as conn:
        rows = conn.execute("select e.event_id, e.seq, o.body from events e left join outbox o on o.seq = e.seq").fetchall()
    conn.close()
    return KioskLog(kiosk, {event_id: (seq, json.loads(body) if body else None) for event_id, seq, body in rows})


def kiosk_watermark(db: Path) -> int:
    """The hub watermark the kiosk's publisher has heard (uplink.watermark), 0 when none."""
    try:
        with connect(db) as conn:
            row = conn.execute("select watermark from uplink where id = 1").fetchone()
        conn.close()
        return row[0] if row else 0
    except sqlite3.Error:
        return 0


def hub_watermarks(hub: Path | str) -> dict[str, int]:
    """The hub's committed watermark per kiosk (kiosks.watermark); a SQLite file or a PostgreSQL URL."""
    if not is_url(str(hub)) and not Path(hub).exists():
        return {}
    try:
        with reading(hub) as conn:
            return dict(conn.execute("select kiosk, watermark from kiosks").fetchall())
    except (sqlite3.Error, psycopg.Error):  # the hub has not created its tables yet
        return {}


@dataclass
class Tally:
    """The verdict on one run; ``ok`` when nothing is lost, duplicated or unexpected."""

    acknowledged: int = 0
    merged: int = 0
    lost: int = 0
    duplicate: int = 0
    unexpected: int = 0
    absorbed: int = 0
    """Deliveries of an already merged event the hub absorbed (kiosks.duplicates): expected under faults."""
    quarantine: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    """A few ids per kind of failure, for the report."""
    districts: dict[str, dict] = field(default_factory=dict)
    """Behind a province: each district hub's own count (its figures and quarantine); its failures are in the totals."""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicate == 0 and self.unexpected == 0

    def add_district(self, name: str, part: "Tally") -> None:
        """Count a district hub's tally in this (the province's): its failures add up, its figures are kept apart."""
        self.lost += part.lost
        self.duplicate += part.duplicate
        self.unexpected += part.unexpected
        for kind, ids in part.samples.items():
            self.samples[f"{name} {kind}"] = ids
        self.districts[name] = {"acknowledged": part.acknowledged, "merged": part.merged, "lost": part.lost,
                                "duplicate": part.duplicate, "unexpected": part.unexpected, "absorbed": part.absorbed,
                                "quarantine": part.quarantine}

    def note(self, kind: str, ids) -> int:
        ids = sorted(ids)
        if ids:
            self.samples.setdefault(kind, []).extend(ids[:SAMPLE])
        return len(ids)


def tally(kiosks: list[KioskLog], hub: Path | str) -> Tally:
    """Compare the kiosks' acknowledged events with the hub's tables (a SQLite file or a PostgreSQL URL)."""
    acknowledged = {event_id: body for log in kiosks for event_id, (_, body) in log.events.items()}
    result = Tally(acknowledged=len(acknowledged))
    with reading(hub) as conn:
        merged = {event_id: (kiosk, seq, body) for event_id, kiosk, seq, body in
                  conn.execute("select event_id, kiosk, seq, body from events")}
        result.merged = len(merged)
        result.lost += result.note("lost", acknowledged.keys() - merged.keys())
        result.lost += result.note("no_outbox_row", [i for i, body in acknowledged.items() if body is None])
        result.unexpected += result.note("unexpected", merged.keys() - acknowledged.keys())
        result.unexpected += result.note("body_differs", changed_bodies(acknowledged, merged))
        result.unexpected += result.note("id_mismatch", [i for i, (k, s, _) in merged.items() if i != wire.event_id(k, s)])
        count_derived(conn, {i: b for i, b in acknowledged.items() if i in merged}, acknowledged, result)
        result.absorbed = int(conn.execute("select coalesce(sum(duplicates), 0) from kiosks").fetchone()[0])
        result.quarantine = dict(conn.execute("select reason, count(*) from quarantine group by reason"))
    return result


def changed_bodies(acknowledged: dict[str, dict | None], merged: dict[str, tuple]) -> list[str]:
    """Merged events whose content is not what the kiosk stored (compared as parsed JSON, without the signature the
    publisher appends as it sends)."""
    return [event_id for event_id, (_, _, body) in merged.items()
            if event_id in acknowledged and acknowledged[event_id] is not None and unsigned(body) != acknowledged[event_id]]


def unsigned(body: str) -> dict:
    message = json.loads(body)
    message.pop("sig", None)
    return message


def count_derived(conn: sqlite3.Connection | psycopg.Connection, merged: dict[str, dict | None],
                  acknowledged: dict[str, dict | None], result: Tally) -> None:
    """Duplicates in the hub's records, and derived records missing or invented.

    One row per (kiosk, seq) in events, one doses row per dose event, one people
    row per ID number; every merged dose has its doses row and every person whose
    check-in was merged has a people row (an event not merged at all is counted
    once, as lost, above).
    """
    result.duplicate += result.note("events_per_kiosk_seq", [
        f"{k}:{s} x{n}" for k, s, n in conn.execute("select kiosk, seq, count(*) from events group by kiosk, seq having count(*) > 1")])
    result.duplicate += sum(n - 1 for n, in conn.execute("select count(*) from doses group by event_id having count(*) > 1"))
    result.duplicate += sum(n - 1 for n, in conn.execute("select count(*) from people group by id_number having count(*) > 1"))
    doses = {event_id for event_id, in conn.execute("select event_id from doses")}
    people = {id_number for id_number, in conn.execute("select id_number from people")}
    result.lost += result.note("dose_without_record", of_type(merged, wire.DOSE_EVENT) - doses)
    result.unexpected += result.note("dose_record_not_acknowledged", doses - of_type(acknowledged, wire.DOSE_EVENT))
    # ID numbers are personal data: count them, never name them.
    checked_in = {merged[i]["payload"]["id_number"] for i in of_type(merged, wire.CHECK_IN_EVENT)}
    result.lost += len(checked_in - people)
    result.unexpected += len(people - {b["payload"].get("id_number") for b in acknowledged.values() if b})


def of_type(events: dict[str, dict | None], event_type: str) -> set[str]:
    return {i for i, body in events.items() if body and body["type"] == event_type}


def converged(kiosks: dict[str, Path], hub_db: Path | str) -> dict[str, tuple[int, int, int]]:
    """Per kiosk: (max seq acknowledged, hub watermark, kiosk's heard watermark)."""
    hub = hub_watermarks(hub_db)
    state = {}
    for kiosk, db in kiosks.items():
        log = read_kiosk(kiosk, db)
        state[kiosk] = (log.max_seq, hub.get(kiosk, 0), kiosk_watermark(db))
    return state


def wait_for_convergence(kiosks: dict[str, Path], hub_db: Path | str, timeout: float, *, heard: bool = False) -> tuple[bool, dict]:
    """Wait until the hub's watermark covers every kiosk's last event (and, with heard, each kiosk has heard so).

    Return (done, state) where state is what converged() last read.
    """
    deadline = time.monotonic() + timeout
    while True:
        state = converged(kiosks, hub_db)
        if all(top <= hub and (not heard or top <= known) for top, hub, known in state.values()):
            return True, state
        if time.monotonic() >= deadline:
            return False, state
        time.sleep(0.25)
