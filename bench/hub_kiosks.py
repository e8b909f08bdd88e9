#!/usr/bin/env python3
"""Real kiosks for the hub benchmarks: outboxes filled beforehand, and a worker running several real kiosk publishers.

``hub_kiosks.py publish --broker URL --kiosk ID=DB ...`` runs one
``kiosk.uplink.part.PublishPart`` per kiosk database (the real publisher on its
own thread, as `kiosk publish` and `kiosk run --broker` run it), in one process (50 separate processes
would spend more of a 2-core machine starting Python than publishing). Line
protocol as bench/mqtt_raw.py: ``ready``; ``go`` starts every publisher and the
worker prints ``{"go": t}``; ``stop`` stops them and it prints a last report.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from hub_events import fill_outbox  # noqa: E402
from kiosk.config import Config  # noqa: E402
from kiosk.queue.store import Store  # noqa: E402


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


def kiosk_config(kiosk: str, db: Path, broker: str, keys: Path) -> Config:
    """The settings `kiosk publish` would read from kiosk.toml: this kiosk, its database, the broker, its key in
    ``keys``; defaults otherwise."""
    return Config().replace("kiosk", id=kiosk, db=str(db)).replace("hub", broker=broker, key_file=str(keys / f"{kiosk}.key"))


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


def parse_args(argv=None) -> argparse.Namespace:
    """The worker's command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--broker", required=True)
    pub.add_argument("--kiosk", action="append", required=True, metavar="ID=DB")
    pub.add_argument("--keys", required=True, metavar="DIR", help="the kiosks' keys, <kiosk>.key")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    """Run the worker; its last line on stdout is a JSON report."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    print(json.dumps(run_publishers(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
