"""The latency runs of bench/hub.py: kiosk COMMIT -> real publisher -> Mosquitto -> real hub commit, and bare paho at the same rate."""

from __future__ import annotations

import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from hub_events import kiosk_ids, record_now, wire_bodies
from hub_harness import Worker, raw_worker
from hub_scenarios import RUN_TIMEOUT_S, fresh_broker, kiosk_keys, start_hub
from mqtt_raw import Counter, Publisher
from kiosk.queue.store import Store
from wire.signature import Signer

WARMUP_EVENTS = 50
"""The first events (first connections, first SQLite pages) are recorded but not counted."""


def latency_raw(args, folder: Path) -> dict:
    """Bare paho publisher (this process) -> Mosquitto -> bare subscriber (its own process) at a steady rate."""
    folder.mkdir(parents=True)
    count = int(args.rate * args.seconds)
    kiosk = kiosk_ids(1, prefix="lat")[0]
    bodies = wire_bodies(kiosk, 0, count, args.seed, Signer.from_file(kiosk_keys([kiosk], folder.parent) / f"{kiosk}.key"))
    broker = fresh_broker(folder)
    try:
        sink = raw_worker("subscribe", "--broker", broker.url, "--client-id", "raw-sink", "--expect", str(count), "--timed",
                          log=folder / "sink.log")
        pub = Publisher(kiosk, bodies, broker.url)
        pub.connect()
        sent = {}
        start = time.monotonic()
        for n, body in enumerate(bodies):
            pause(start + n / args.rate)
            sent[f"{kiosk}:{n + 1}"] = time.time()
            pub.client.publish(pub.topic, body, qos=1)
        got = sink.result(RUN_TIMEOUT_S)
        sink.stop()
        pub.close()
    finally:
        broker.stop()
    times = got.get("times", {})
    measured = [times[i] - sent[i] for i in list(sent)[warmup(count):] if i in times]
    return {"events": count, "measured": len(measured), "lost": count - len(times), "latency_ms": percentiles(measured)}


def latency_hub(args, folder: Path) -> dict:
    """Events recorded on a kiosk database at a steady rate -> real `kiosk publish` -> Mosquitto -> real hub, committed.

    Per event: the hub's ``received_at`` (the batch's commit, ms) and the arrival
    of the first acknowledgement covering it, each minus the moment the kiosk's
    transaction committed (``time.time()`` right after COMMIT, in this process).
    """
    folder.mkdir(parents=True)
    count = int(args.rate * args.seconds)
    kiosk = kiosk_ids(1, prefix="lat")[0]
    broker = fresh_broker(folder)
    publisher = None
    committed: dict[int, float] = {}
    try:
        hub, watcher = start_hub(folder, broker, [kiosk], {kiosk: count})
        spy = Counter(broker.url, "bench-spy", count, timed=True).start()
        spy.subscribed.wait(10)
        store = Store(folder / "kiosk.db")
        publisher = kiosk_publish(folder, kiosk, broker.url, kiosk_keys([kiosk], folder.parent) / f"{kiosk}.key")
        start = time.monotonic()
        for n in range(count):
            pause(start + n / args.rate)
            seq, at = record_now(store, kiosk, 0, n, args.seed)
            committed[seq] = at
        store.close()
        done = watcher.done_at(RUN_TIMEOUT_S)
        watcher.close()
        spy.close()
        publisher.stop()
        hub_exit = hub.stop()
        received = received_times(hub.db, kiosk)
    finally:
        if publisher is not None:
            publisher.stop()
        broker.stop()
    measured = sorted(committed)[warmup(count):]
    to_commit = [received[seq] - committed[seq] for seq in measured if seq in received]
    to_ack = ack_latencies(watcher.acks, committed, measured)
    seen = {int(event_id.rsplit(":", 1)[1]): at for event_id, at in spy.times.items()}
    to_broker = [seen[seq] - committed[seq] for seq in measured if seq in seen]
    on_to_hub = [received[seq] - seen[seq] for seq in measured if seq in seen and seq in received]
    return {"events": count, "measured": len(to_commit), "lost": count - len(received), "all_acknowledged": done is not None,
            "hub_exit": hub_exit, "latency_ms": percentiles(to_commit), "to_ack_ms": percentiles(to_ack),
            "stages_ms": {"kiosk_to_broker": percentiles(to_broker), "broker_to_hub_commit": percentiles(on_to_hub)}}


def kiosk_publish(folder: Path, kiosk: str, url: str, key: Path) -> Worker:
    """Start the real `kiosk publish` on folder/kiosk.db, signing with ``key``, and wait for its ready line."""
    config = folder / "kiosk.toml"
    config.write_text(f'[kiosk]\nid = "{kiosk}"\ndb = "{folder / "kiosk.db"}"\n\n[hub]\nbroker = "{url}"\nkey_file = "{key}"\n')
    return Worker([sys.executable, "-m", "kiosk", "--config", str(config), "publish"], log=folder / "publisher.log",
                  ready=f"kiosk {kiosk}:")


def received_times(db: Path, kiosk: str) -> dict[int, float]:
    """seq -> the hub's received_at (epoch seconds) of every event of this kiosk in the hub database."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq, received_at FROM events WHERE kiosk = ?", [kiosk]).fetchall()
    return {seq: datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() for seq, at in rows}


def ack_latencies(acks: list[tuple[float, str, int]], committed: dict[int, float], measured: list[int]) -> list[float]:
    """For each measured seq: arrival of the first acknowledgement whose watermark covers it, minus its commit."""
    latencies, marks = [], sorted((at, mark) for at, _, mark in acks)
    i = 0
    for seq in measured:
        while i < len(marks) and marks[i][1] < seq:
            i += 1
        if i < len(marks):
            latencies.append(marks[i][0] - committed[seq])
    return latencies


def warmup(count: int) -> int:
    """How many of the first events a latency run leaves out (fewer in a tiny run)."""
    return min(WARMUP_EVENTS, count // 4)


def pause(until: float) -> None:
    """Sleep until the monotonic time ``until`` (no sleep when it has passed)."""
    left = until - time.monotonic()
    if left > 0:
        time.sleep(left)


def percentiles(seconds: list[float]) -> dict:
    """Return p50, p95, p99, max and mean in milliseconds (nearest rank below, as bench/latency.py)."""
    ms = sorted(s * 1000 for s in seconds) or [float("nan")]
    at = {f"p{q}": ms[int(q / 100 * (len(ms) - 1))] for q in (50, 95, 99)}
    return {key: round(value, 2) for key, value in {**at, "max": ms[-1], "mean": statistics.fmean(ms)}.items()}
