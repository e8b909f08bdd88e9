"""`hub roster import` of a large list while the real `hub run` merges a kiosk's events from a real Mosquitto: nothing
lost, the ingest keeps acknowledging, and the import is whole."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import wire
from bench.roster import write_roster
from tests.hub_process import Client, HubProcess, event

ROOT = Path(__file__).resolve().parent.parent
ROWS = 40_000
EVENTS = 400


@pytest.mark.timeout(180)
def test_ok__an_import_beside_the_ingest_loses_nothing_and_blocks_no_batch(broker, db, watcher, tmp_path):
    roster = write_roster(tmp_path / "district.csv", ROWS)
    kiosk = Client(broker, "kiosk-test")
    acks: list[tuple[float, int]] = []
    stop = threading.Event()

    def publish() -> None:
        for seq in range(1, EVENTS + 1):
            kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
            time.sleep(0.01)
        stop.set()

    def watch() -> None:
        while not stop.is_set() or (watcher.last_ack("k1") or wire.Ack("k1", 0, 0, (), "")).watermark < EVENTS:
            ack = watcher.last_ack("k1")
            if ack is not None and (not acks or acks[-1][1] != ack.watermark):
                acks.append((time.monotonic(), ack.watermark))
            time.sleep(0.005)
            if acks and time.monotonic() - acks[-1][0] > 30:
                return

    try:
        with HubProcess(broker.url, db) as hub:
            publisher, watching = threading.Thread(target=publish), threading.Thread(target=watch)
            watching.start()
            publisher.start()
            time.sleep(0.3)
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "hub", "roster", "import", str(roster), "--db", str(db), "--json"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120)
            finished = time.monotonic()
            publisher.join(60)
            watching.join(60)
            watcher.wait_watermark("k1", EVENTS, timeout=30)
            assert hub.proc.poll() is None
            log = hub.log
    finally:
        kiosk.close()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows"], report["added"], report["rejected"]) == (ROWS, ROWS, 0)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE kiosk = 'k1'").fetchone()[0] == EVENTS
        assert conn.execute("SELECT count(*) FROM roster").fetchone()[0] == ROWS
    during = [at for at, _ in acks if started <= at <= finished]
    assert len(during) >= 3, f"the ingest acknowledged {len(during)} times during the {finished - started:.1f} s import"
    gaps = [later - earlier for earlier, later in zip(during, during[1:])]
    assert max(gaps, default=0) < 2.0, f"the ingest stalled {max(gaps):.2f} s during the import"
    assert "busy" not in log and "ERROR" not in log
