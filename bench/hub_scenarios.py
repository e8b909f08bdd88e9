"""One throughput or catch-up run of bench/hub.py, hub or raw, each on a fresh Mosquitto and fresh databases."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from hub_events import kiosk_ids
from hub_harness import HERE, HubProcess, Watcher, Worker, cpu_seconds, enroll, hub_stats, raw_worker
from hub_kiosks import copy_databases
from hub_kiosks import fill_outboxes as fill_kiosk_outboxes
from tests.mosquitto import MOSQUITTO, Broker

RUN_TIMEOUT_S = 600.0
HUB_READY_TIMEOUT_S = 30.0


def mosquitto_version() -> str | None:
    """The version `mosquitto -h` names (the broker every run starts)."""
    done = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].replace("mosquitto version ", "") if first else None


def fresh_broker(folder: Path) -> Broker:
    """A real Mosquitto with persistence on and no queue limit, on a free loopback port."""
    return Broker(folder / "mosquitto", max_queued=0).start()


def enrolled_template(kiosks: list[str], work: Path) -> Path:
    """The hub database with these kiosks enrolled, made once per set (`hub enroll` for each) and copied by every run;
    their keys are in ``<template>.keys/<kiosk>.key``."""
    template = work / f"hub-template-{len(kiosks)}-{kiosks[0]}-csr.db"  # -csr: enrolled with keys (older caches had none)
    if not template.exists():
        enroll(template, kiosks)
    return template


def kiosk_keys(kiosks: list[str], work: Path) -> Path:
    """The folder of these kiosks' keys (``<kiosk>.key``): raw runs publish the very messages the hub runs do, signed."""
    return Path(f"{enrolled_template(kiosks, work)}.keys")


def hub_database(folder: Path, kiosks: list[str], work: Path) -> Path:
    """Return a fresh hub database with these kiosks enrolled (a copy of their template)."""
    template = enrolled_template(kiosks, work)
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
    counts = {key: stats.get(key) for key in ("events", "duplicates", "people", "doses")}
    return {**counts, "quarantined": stats["quarantined"]["total"], "conflicts": stats["conflicts"]["total"]}


def sink_for(mode: str, folder: Path, broker: Broker, kiosks: list[str], per_kiosk: int):
    """The receiving side of one run: a raw counting subscriber, or the hub and a watcher of its acknowledgements."""
    if mode == "raw":
        return raw_worker("subscribe", "--broker", broker.url, "--client-id", "raw-sink", "--expect",
                          str(per_kiosk * len(kiosks)), log=folder / "sink.log"), None
    return start_hub(folder, broker, kiosks, {kiosk: per_kiosk for kiosk in kiosks})


def finish(mode: str, sink, watcher, total: int, started: float, publishers=()) -> dict:
    """Wait for the receiving side; return seconds from ``started`` until all ``total`` events were in, and CPU used.

    Kiosk publishers run until told to stop: they are stopped once the hub has
    everything, and their reports (CPU seconds) are returned under ``stopped``.
    """
    if mode == "raw":
        got = sink.result(RUN_TIMEOUT_S)
        sink.stop()
        seconds = got["last"] - started if got.get("count") == total else None
        return {"seconds": rounded(seconds), "received": got.get("count"), "receiver_cpu_s": got.get("cpu_s")}
    end = watcher.done_at(RUN_TIMEOUT_S)
    cpu = sink.cpu_since_ready()
    watcher.close()
    for pub in publishers:
        pub.send("stop")
    stopped = [pub.result(30) for pub in publishers]
    status = sink.stop()
    last_ack = max(watcher.reached_wall.values(), default=None)
    return {"seconds": rounded(end - started if end else None), "hub_exit": status, "merged": merged_counts(sink.db),
            "last_ack_after_last_commit_s": rounded(last_ack - last_commit(sink.db) if last_ack else None),
            "receiver_cpu_s": cpu, "stopped": stopped}


def last_commit(db: Path) -> float:
    """The hub's received_at of its last merged event (epoch seconds): when the batch holding it was committed."""
    with sqlite3.connect(db) as conn:
        at = conn.execute("SELECT max(received_at) FROM events").fetchone()[0]
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def cpu_per_event(total: int, receiver: float | None, broker: float, publishers: list[dict]) -> dict:
    """CPU microseconds per event of each side: receiver (hub or raw subscriber), broker, publishers (all processes)."""
    used = {"receiver": receiver, "broker": broker, "publishers": sum(r.get("cpu_s") or 0.0 for r in publishers)}
    return {side: None if seconds is None else round(seconds / total * 1e6, 1) for side, seconds in used.items()}


def rounded(value: float | None, digits: int = 3) -> float | None:
    """value rounded, None kept."""
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
                         "--count", str(per_kiosk), "--seed", str(args.seed), "--keys", str(kiosk_keys(kiosks, folder.parent)),
                         log=folder / "publisher.log")
        broker_cpu = cpu_seconds(broker.proc.pid)
        pub.go()
        published = pub.result(RUN_TIMEOUT_S)
        pub.stop()
        run = finish(mode, sink, watcher, total, published.get("go", 0.0))
        broker_cpu = cpu_seconds(broker.proc.pid) - broker_cpu
    finally:
        broker.stop()
    rate = total / run["seconds"] if run["seconds"] else None
    cpu = cpu_per_event(total, run.pop("receiver_cpu_s"), broker_cpu, [published])
    run.pop("stopped", None)
    return {"events": total, **run, "events_per_s": rounded(rate, 1), "publish_failed": published.get("failed"),
            "cpu_us_per_event": cpu}


def catch_up_once(mode: str, args, folder: Path, outboxes: dict[str, Path] | None) -> dict:
    """All kiosks connect at once with their backlog; seconds from the go until the last event is in.

    mode ``raw``: bare paho publishers into a counting subscriber; ``hub``: the
    real kiosk publishers (or bare ones when outboxes is None) into the hub;
    ``hub_raw_publishers``: bare publishers into the hub, which splits the
    hub's share from the kiosk publishers'.
    """
    folder.mkdir(parents=True)
    kiosks = kiosk_ids(args.catch_up_kiosks, prefix="site")
    per_kiosk = args.catch_up_events
    total = per_kiosk * len(kiosks)
    broker = fresh_broker(folder)
    publishers = []
    try:
        sink, watcher = sink_for("raw" if mode == "raw" else "hub", folder, broker, kiosks, per_kiosk)
        shares = [[(i, k) for i, k in enumerate(kiosks) if i % args.processes == p] for p in range(args.processes)]
        real = mode == "hub" and outboxes is not None
        dbs = copy_databases(outboxes, folder / "kiosks") if real else {}
        keys = kiosk_keys(kiosks, folder.parent)
        for p, share in enumerate(s for s in shares if s):
            if real:
                publishers.append(kiosk_worker(broker.url, {k: dbs[k] for _, k in share}, keys, log=folder / f"publisher-{p}.log"))
            else:
                publishers.append(raw_worker("publish", "--broker", broker.url, "--kiosks", ",".join(f"{i}={k}" for i, k in share),
                                             "--count", str(per_kiosk), "--seed", str(args.seed), "--connect-after-go",
                                             "--keys", str(keys), log=folder / f"publisher-{p}.log"))
        broker_cpu = cpu_seconds(broker.proc.pid)
        for pub in publishers:
            pub.go()
        reports = [pub.result(RUN_TIMEOUT_S) for pub in publishers]
        started = min(r.get("go", float("inf")) for r in reports)
        run = finish("raw" if mode == "raw" else "hub", sink, watcher, total, started, publishers if real else ())
        broker_cpu = cpu_seconds(broker.proc.pid) - broker_cpu
    finally:
        for pub in publishers:
            pub.stop()
        broker.stop()
    cpu = cpu_per_event(total, run.pop("receiver_cpu_s"), broker_cpu, run.pop("stopped", None) or reports)
    failed = None if real else sum(r.get("failed", 0) for r in reports)  # the kiosk publisher re-sends refused rows itself
    return {"events": total, **run, "publish_failed": failed, "cpu_us_per_event": cpu}


def kiosk_worker(url: str, dbs: dict[str, Path], keys: Path, *, log: Path) -> Worker:
    """Start a bench/hub_kiosks.py worker running one real kiosk publisher per database (signing with the kiosk's key
    in ``keys``); wait until it is ready."""
    pairs = [f"--kiosk={kiosk}={db}" for kiosk, db in dbs.items()]
    return Worker([sys.executable, str(HERE / "hub_kiosks.py"), "publish", "--broker", url, "--keys", str(keys), *pairs], log=log)


def fill_outboxes(args, folder: Path, say) -> dict[str, Path]:
    """Fill the catch-up kiosks' outboxes once (each run copies them)."""
    started = time.monotonic()
    kiosks = kiosk_ids(args.catch_up_kiosks, prefix="site")
    paths = fill_kiosk_outboxes(folder, kiosks, args.catch_up_events, args.seed)
    say(f"filled {len(kiosks)} kiosk outboxes with {args.catch_up_events} events each in {time.monotonic() - started:.1f} s")
    return paths
