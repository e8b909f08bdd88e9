"""One run of each bench/hub.py measurement, hub or raw, each on a fresh Mosquitto and fresh databases."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path

from hub_events import kiosk_ids, wire_bodies
from hub_harness import HubProcess, Watcher, enroll, hub_stats, raw_worker
from mqtt_raw import Publisher
from tests.mosquitto import MOSQUITTO, Broker

RUN_TIMEOUT_S = 600.0
HUB_READY_TIMEOUT_S = 30.0
WARMUP_EVENTS = 50
"""Latency: the first events (first connections, first SQLite pages) are recorded but not counted."""


def mosquitto_version() -> str | None:
    done = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].replace("mosquitto version ", "") if first else None


def fresh_broker(folder: Path) -> Broker:
    """A real Mosquitto with persistence on and no queue limit, on a free loopback port."""
    return Broker(folder / "mosquitto", max_queued=0).start()


def hub_database(folder: Path, kiosks: list[str], work: Path) -> Path:
    """Return a fresh hub database with these kiosks enrolled (`hub enroll` runs once per set; later runs copy it)."""
    template = work / f"hub-template-{len(kiosks)}-{kiosks[0]}.db"
    if not template.exists():
        enroll(template, kiosks)
    db = folder / "hub.db"
    for suffix in ("", "-wal"):
        if Path(f"{template}{suffix}").exists():
            shutil.copy(f"{template}{suffix}", f"{db}{suffix}")
    return db


def start_hub(folder: Path, broker: Broker, kiosks: list[str], targets: dict[str, int]) -> tuple[HubProcess, Watcher]:
    """Start `hub run` on a database with the kiosks enrolled; return it once it is subscribed."""
    db = hub_database(folder, kiosks, folder.parent)
    watcher = Watcher(broker.url, targets)
    hub = HubProcess(db, broker.url, log=folder / "hub.log")
    if not hub.wait_subscribed(HUB_READY_TIMEOUT_S):
        hub.stop()
        watcher.close()
        raise RuntimeError(f"the hub did not come online; see {folder / 'hub.log'}")
    return hub, watcher


def merged_counts(db: Path) -> dict:
    """The hub's own counts after a run (`hub stats --json`): what was merged, absorbed, quarantined."""
    stats = hub_stats(db)
    return {key: stats.get(key) for key in ("events", "duplicates", "quarantined", "people", "doses", "conflicts")}


def sink_for(mode: str, folder: Path, broker: Broker, kiosks: list[str], per_kiosk: int):
    """The receiving side of one run: a raw counting subscriber, or the hub and a watcher of its acknowledgements."""
    if mode == "raw":
        return raw_worker("subscribe", "--broker", broker.url, "--client-id", "raw-sink", "--expect",
                          str(per_kiosk * len(kiosks)), log=folder / "sink.log"), None
    return start_hub(folder, broker, kiosks, {kiosk: per_kiosk for kiosk in kiosks})


def finish(mode: str, sink, watcher, total: int, started: float, folder: Path) -> dict:
    """Wait for the receiving side; return seconds from ``started`` until all ``total`` events were in."""
    if mode == "raw":
        got = sink.result(RUN_TIMEOUT_S)
        sink.stop()
        seconds = got["last"] - started if got.get("count") == total else None
        return {"seconds": rounded(seconds), "received": got.get("count")}
    end = watcher.done_at(RUN_TIMEOUT_S)
    watcher.close()
    status = sink.stop()
    return {"seconds": rounded(end - started if end else None), "hub_exit": status,
            "merged": merged_counts(sink.db)}


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def throughput_once(mode: str, args, folder: Path) -> dict:
    """Publish args.events from args.kiosks bare paho clients (one process) into the hub or a raw subscriber."""
    folder.mkdir(parents=True)
    kiosks = kiosk_ids(args.kiosks)
    per_kiosk = args.events // len(kiosks)
    total = per_kiosk * len(kiosks)
    broker = fresh_broker(folder)
    try:
        sink, watcher = sink_for(mode, folder, broker, kiosks, per_kiosk)
        pub = raw_worker("publish", "--broker", broker.url, "--kiosks", ",".join(f"{i}={k}" for i, k in enumerate(kiosks)),
                         "--count", str(per_kiosk), "--seed", str(args.seed), log=folder / "publisher.log")
        pub.go()
        published = pub.result(RUN_TIMEOUT_S)
        pub.stop()
        run = finish(mode, sink, watcher, total, published.get("go", 0.0), folder)
    finally:
        broker.stop()
    rate = total / run["seconds"] if run["seconds"] else None
    return {"events": total, **run, "events_per_s": rounded(rate, 1), "publish_failed": published.get("failed")}


def catch_up_once(mode: str, args, folder: Path, outboxes: Path | None) -> dict:
    """All kiosks connect at once with their backlog; seconds from the go until the last event is in."""
    folder.mkdir(parents=True)
    kiosks = kiosk_ids(args.catch_up_kiosks, prefix="site")
    per_kiosk = args.catch_up_events
    total = per_kiosk * len(kiosks)
    broker = fresh_broker(folder)
    publishers = []
    try:
        sink, watcher = sink_for(mode, folder, broker, kiosks, per_kiosk)
        for p in range(args.processes):
            share = ",".join(f"{i}={k}" for i, k in enumerate(kiosks) if i % args.processes == p)
            if share:
                publishers.append(raw_worker("publish", "--broker", broker.url, "--kiosks", share, "--count", str(per_kiosk),
                                             "--seed", str(args.seed), "--connect-after-go", log=folder / f"publisher-{p}.log"))
        for pub in publishers:
            pub.go()
        reports = [pub.result(RUN_TIMEOUT_S) for pub in publishers]
        started = min(r.get("go", float("inf")) for r in reports)
        run = finish(mode, sink, watcher, total, started, folder)
    finally:
        for pub in publishers:
            pub.stop()
        broker.stop()
    return {"events": total, **run, "publish_failed": sum(r.get("failed", 0) for r in reports)}


def fill_outboxes(args, folder: Path, say) -> Path:
    raise NotImplementedError("the kiosk publisher is not integrated yet")


def latency_raw(args, folder: Path) -> dict:
    """Bare paho publisher (this process) -> Mosquitto -> bare subscriber (its own process) at a steady rate."""
    folder.mkdir(parents=True)
    count = int(args.rate * args.seconds)
    kiosk = kiosk_ids(1, prefix="lat")[0]
    bodies = wire_bodies(kiosk, 0, count, args.seed)
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
    measured = [times[i] - sent[i] for i in list(sent)[WARMUP_EVENTS:] if i in times]
    return {"events": count, "measured": len(measured), "lost": count - len(times), "latency_ms": percentiles(measured)}


def latency_hub(args, folder: Path) -> dict:
    return {"error": "the kiosk publisher is not integrated yet"}


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
