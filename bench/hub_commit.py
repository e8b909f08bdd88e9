"""Throughput of the hub store's commit() alone (no MQTT): batches of parsed events into a fresh SQLite file.

    .venv/bin/python -m bench.hub_commit --events 100000 --kiosks 50 --batch 500

Events are bench/hub_events.py's (half check-ins, half first doses, a distinct
person per pair), interleaved across kiosks as a catch-up delivers them.
Parsing (wire.parse_event) is done before the clock starts. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import wire
from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_events import kiosk_ids, wire_bodies


def interleaved(kiosks: int, per_kiosk: int, seed: int) -> list[wire.Event]:
    """Every kiosk's events, parsed, taken round-robin (kiosk order within each seq)."""
    streams = [
        [wire.parse_event(wire.topic(k, wire.EVENT), body) for body in wire_bodies(k, i, per_kiosk, seed)]
        for i, k in enumerate(kiosk_ids(kiosks))
    ]
    return [stream[n] for n in range(per_kiosk) for stream in streams]


def measure(events: list[wire.Event], batch: int, folder: Path) -> dict:
    """Commit events in batches of ``batch``; return events/s and commit latency percentiles."""
    took = []
    with open_store(folder / f"hub-{batch}.db") as store:
        start = time.perf_counter()
        for first in range(0, len(events), batch):
            t = time.perf_counter()
            store.commit(Batch(events=events[first:first + batch]), "2026-03-10T08:00:00+07:00")
            took.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        stats = store.stats()
    took.sort()
    return {
        "batch": batch, "events": len(events), "merged": stats["events"], "people": stats["people"],
        "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed),
        "commit_ms_p50": round(1000 * statistics.median(took), 2),
        "commit_ms_p99": round(1000 * took[int(0.99 * (len(took) - 1))], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--batch", type=int, action="append", help="batch size (repeatable); default 500 and 50")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    events = interleaved(args.kiosks, args.events // args.kiosks, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        runs = [measure(events, size, Path(folder)) for size in args.batch or [500, 50]]
    json.dump({"bench": "hub_commit", "sqlite": sqlite3.sqlite_version, "runs": runs},
              sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
