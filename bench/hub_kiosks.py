#!/usr/bin/env python3
"""Real kiosks for the hub benchmarks: outboxes filled beforehand, and a worker running several real kiosk publishers.

``hub_kiosks.py publish --broker URL --kiosk ID=DB ...`` runs one
``kiosk.uplink.part.PublishPart`` per kiosk database (the real publisher on its
own thread, as `kiosk publish` and `kiosk run --broker` run it), in one process (50 separate processes
would spend more of a 2-core machine starting Python than publishing). Line
protocol as bench/mqtt_raw.py: ``ready``; ``go`` starts every publisher and the
worker prints ``{"go": t}``; ``stop`` stops them and it prints a last report.

``hub_kiosks.py record --kiosk ID=DB=BROKER ... --keys DIR --rate R --seconds S``
(the province simulation, bench/province_sim.py) runs the same publishers, each
kiosk on its own district's broker, and records each kiosk's events on its
database at ``R`` events per second per kiosk, the kiosks' phases spread evenly,
for ``S`` seconds. After ``go`` it prints ``{"recorded": n}`` once the last is
recorded and waits for ``stop``; its report holds the moment each event's
transaction committed, by kiosk and seq (``time.time()``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from hub_events import fill_outbox, record_now  # noqa: E402
from kiosk.config import Config  # noqa: E402
from kiosk.queue.store import Store  # noqa: E402


SELECT_LIMIT = 1024
"""select()'s FD_SETSIZE: paho waits on its socket with select(), which fails for a descriptor of this or above."""


def fill_outboxes(folder: Path, kiosks: list[str], per_kiosk: int, seed: int) -> dict[str, Path]:
    """Return one kiosk database per kiosk with ``per_kiosk`` events recorded and none published."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for index, kiosk in enumerate(kiosks):
        path = paths[kiosk] = folder / f"{kiosk}.db"
        store = Store(path)
        fill_outbox(store, kiosk, index, per_kiosk, seed)
        store.close()  # the last connection checkpoints the WAL into the file
    return paths


def copy_databases(paths: dict[str, Path], folder: Path) -> dict[str, Path]:
    """Copy kiosk databases (and any WAL left) into folder: each run starts from the same untouched outboxes."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = {}
    for kiosk, path in paths.items():
        copies[kiosk] = folder / path.name
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").exists():
                shutil.copy(f"{path}{suffix}", f"{copies[kiosk]}{suffix}")
    return copies


def kiosk_config(kiosk: str, db: Path, broker: str, keys: Path, province_acks: bool = False) -> Config:
    """The settings `kiosk publish` would read from kiosk.toml: this kiosk, its database, the broker, its key in
    ``keys``, whether it also waits for the province's acknowledgements; defaults otherwise."""
    return Config().replace("kiosk", id=kiosk, db=str(db)).replace(
        "hub", broker=broker, key_file=str(keys / f"{kiosk}.key"), province_acks=province_acks)


def run_publishers(args: argparse.Namespace) -> dict:
    """The ``publish`` worker: one real publisher part per kiosk (as `kiosk run --broker` runs it), started at the go."""
    from kiosk.uplink.part import PublishPart

    parts = [PublishPart(kiosk_config(kiosk, Path(db), args.broker, Path(args.keys)))
             for kiosk, db in (p.split("=", 1) for p in args.kiosk)]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"error": "no go"}
    go, cpu = time.monotonic(), time.process_time()
    for part in parts:
        part.start()
    print(json.dumps({"go": go}), flush=True)
    sys.stdin.readline()  # "stop", or the end of the input
    used = time.process_time() - cpu
    for part in parts:
        part.publisher.stopping.set()  # all at once; each `stop` then waits for its own
    for part in parts:
        part.stop()
    return {"stopped": sum(not part.publisher.running for part in parts), "publishers": len(parts), "cpu_s": used}


def schedule(kiosks: int, rate: float, seconds: float) -> list[tuple[float, int]]:
    """(offset in seconds, kiosk index) of every event: each kiosk at ``rate``, the kiosks' phases spread evenly."""
    per_kiosk = int(rate * seconds)
    return sorted(((n + k / kiosks) / rate, k) for k in range(kiosks) for n in range(per_kiosk))


def run_recording(args: argparse.Namespace) -> dict:
    """The ``record`` worker: one real publisher per kiosk, each on its district's broker, and the kiosks' events
    recorded at a steady rate (see the module's docstring)."""
    from kiosk.uplink.part import PublishPart

    kiosks = [spec.split("=", 2) for spec in args.kiosk]
    parts = [PublishPart(kiosk_config(kiosk, Path(db), broker, Path(args.keys), args.province_acks))
             for kiosk, db, broker in kiosks]
    stores = [Store(Path(db)) for _, db, _ in kiosks]
    plan = schedule(len(kiosks), args.rate, args.seconds)
    descriptors = len(os.listdir("/proc/self/fd"))
    if descriptors > SELECT_LIMIT - 2 * len(kiosks):  # each connection opens one more socket, a reconnect another
        return {"error": f"{len(kiosks)} kiosks hold {descriptors} file descriptors in one process: paho's select() "
                         f"cannot watch one past {SELECT_LIMIT - 1}; give this process fewer kiosks"}
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"error": "no go"}
    for part in parts:
        part.start()
    start, cpu = time.monotonic(), time.process_time()
    committed: dict[str, dict[int, float]] = {kiosk: {} for kiosk, _, _ in kiosks}
    numbers = [0] * len(kiosks)
    late = 0.0
    for offset, index in plan:
        left = start + offset - time.monotonic()
        if left > 0:
            time.sleep(left)
        else:
            late = max(late, -left)
        kiosk = kiosks[index][0]
        seq, at = record_now(stores[index], kiosk, args.index_base + index, numbers[index], args.seed)
        numbers[index] += 1
        committed[kiosk][seq] = at
    for store in stores:
        store.close()
    print(json.dumps({"recorded": len(plan), "late_s": round(late, 3)}), flush=True)
    sys.stdin.readline()  # "stop", or the end of the input
    used = time.process_time() - cpu
    for part in parts:
        part.publisher.stopping.set()
    for part in parts:
        part.stop()
    return {"recorded": len(plan), "late_s": round(late, 3), "cpu_s": round(used, 2), "committed": committed}


def parse_args(argv=None) -> argparse.Namespace:
    """The worker's command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--broker", required=True)
    pub.add_argument("--kiosk", action="append", required=True, metavar="ID=DB")
    pub.add_argument("--keys", required=True, metavar="DIR", help="the kiosks' keys, <kiosk>.key")
    rec = sub.add_parser("record")
    rec.add_argument("--kiosk", action="append", required=True, metavar="ID=DB=BROKER")
    rec.add_argument("--keys", required=True, metavar="DIR", help="the kiosks' keys, <kiosk>.key")
    rec.add_argument("--rate", type=float, required=True, help="events per second per kiosk")
    rec.add_argument("--seconds", type=float, required=True, help="how long to record")
    rec.add_argument("--seed", type=int, default=15)
    rec.add_argument("--index-base", type=int, default=0, help="the first kiosk's index (the invented people's)")
    rec.add_argument("--province-acks", action="store_true",
                     help="the kiosks wait for their district hub's and the province's acknowledgements (hub.province_acks)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    """Run the worker; its last line on stdout is a JSON report."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.command == "publish" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    print(json.dumps(run_publishers(args) if args.command == "publish" else run_recording(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
