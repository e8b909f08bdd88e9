"""The province worker's merge throughput over MQTT: PostgreSQL with one and two workers, as ratios to the SQLite hub
and to raw paho in the same run (issue 15).

    .venv/bin/python -m bench.province_ingest                     # 20,000 events, 20 kiosks in 2 districts, 3 rounds
    .venv/bin/python -m bench.province_ingest --events 2000 --repeats 1   # a smoke test

Each round publishes the same signed events (bench/hub_events.py: half check-ins, half first doses) from bare paho
clients, one per kiosk, onto a fresh province broker under the district prefixes (``vax/d/<district>/k/<kiosk>/event``,
as the districts' bridges deliver them), half of the kiosks in each of two districts, and times how long the
receiving side takes to have them all:

- ``raw``: a bare paho subscriber (QoS 1, persistent session) counting them: what MQTT alone costs here;
- ``sqlite``: one `hub run --district d0 --district d1` on a SQLite file, until every kiosk's acknowledgement covers
  its last event;
- ``postgres_1``: the same `hub run` on a PostgreSQL database;
- ``postgres_2``: two `hub run`, one per district, on one PostgreSQL database (workers partitioned by district).

The order of the four rotates every round, so a drifting load hits each. The kiosks are known to each store as
`hub kiosks import` leaves them (their district set). PostgreSQL is a durable cluster of the bench's own
(tests/postgres.py, each commit flushed, as SQLite's synchronous=FULL file). Prints JSON: every run, the medians
and their ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.paths import REPO  # sets sys.path for the harness's flat imports

import wire  # noqa: E402
from hub_events import kiosk_ids  # noqa: E402
from hub_harness import HubProcess, Watcher, hub_command, raw_worker  # noqa: E402
from hub_scenarios import RUN_TIMEOUT_S, enrolled_template, fresh_broker, hub_database, kiosk_keys  # noqa: E402

MODES = ("raw", "sqlite", "postgres_1", "postgres_2")
DISTRICTS = ("d0", "d1")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--kiosks", type=int, default=20, help="split evenly between two districts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args(argv)


def districts_of(kiosks: list[str]) -> dict[str, str]:
    """kiosk -> its district: the first half d0, the rest d1."""
    return {kiosk: DISTRICTS[0] if n < len(kiosks) / 2 else DISTRICTS[1] for n, kiosk in enumerate(kiosks)}


def kiosk_files(kiosks: list[str], work: Path) -> dict[str, Path]:
    """One `hub kiosks export` file per district, cut from the enrolled template's (each district sends its own)."""
    exported = work / "kiosks.json"
    if not exported.exists():
        subprocess.run(hub_command("kiosks", "export", "--db", str(enrolled_template(kiosks, work)), "--out", str(exported)),
                       cwd=REPO, check=True, capture_output=True, timeout=120)
    whole, districts = json.loads(exported.read_text()), districts_of(kiosks)
    files = {}
    for district in DISTRICTS:
        files[district] = work / f"kiosks-{district}.json"
        files[district].write_text(json.dumps({**whole, "kiosks": [k for k in whole["kiosks"] if districts[k["kiosk"]] == district]}))
    return files


def import_kiosks(db: str, files: dict[str, Path]) -> None:
    for district, file in files.items():
        subprocess.run(hub_command("kiosks", "import", str(file), "--district", district, "--db", db), cwd=REPO, check=True,
                       capture_output=True, timeout=120)


def start_workers(mode: str, folder: Path, url: str, kiosks: list[str], work: Path, cluster) -> list[HubProcess]:
    """The hub side of one run, subscribed; its store made and its kiosks imported first."""
    files = kiosk_files(kiosks, work)
    if mode == "sqlite":
        db = str(hub_database(folder, kiosks, work))
    else:
        db = cluster.create_database()
    import_kiosks(db, files)
    shares = [DISTRICTS] if mode in ("sqlite", "postgres_1") else [(district,) for district in DISTRICTS]
    workers = [HubProcess(db, url, log=folder / f"hub-{n}.log",
                          extra=("--client-id", f"hub-province-{n}", *[o for d in share for o in ("--district", d)]))
               for n, share in enumerate(shares)]
    for worker in workers:
        if not worker.wait_subscribed(60):
            for w in workers:
                w.stop()
            raise RuntimeError(f"a hub did not come online; see {folder}")
    return workers


def run_once(mode: str, args, folder: Path, work: Path, cluster) -> dict:
    folder.mkdir(parents=True)
    kiosks = kiosk_ids(args.kiosks)
    per_kiosk = args.events // len(kiosks)
    total = per_kiosk * len(kiosks)
    districts = districts_of(kiosks)
    broker = fresh_broker(folder)
    workers, watcher, sink = [], None, None
    try:
        if mode == "raw":
            sink = raw_worker("subscribe", "--broker", broker.url, "--client-id", "raw-sink", "--expect", str(total),
                              "--filter", f"{wire.ROOT}/{wire.DISTRICT_LEVEL}/+/k/+/{wire.EVENT}", log=folder / "sink.log")
        else:
            workers = start_workers(mode, folder, broker.url, kiosks, work, cluster)
            watcher = Watcher(broker.url, {kiosk: per_kiosk for kiosk in kiosks},
                              ack_filter=f"{wire.ROOT}/{wire.DISTRICT_LEVEL}/+/k/+/{wire.ACK}")
        pub = raw_worker("publish", "--broker", broker.url,
                         "--kiosks", ",".join(f"{i}={k}@{districts[k]}" for i, k in enumerate(kiosks)),
                         "--count", str(per_kiosk), "--seed", str(args.seed), "--keys", str(kiosk_keys(kiosks, work)),
                         log=folder / "publisher.log")
        pub.go()
        published = pub.result(RUN_TIMEOUT_S)
        pub.stop()
        started = published.get("go", 0.0)
        if mode == "raw":
            got = sink.result(RUN_TIMEOUT_S)
            sink.stop()
            seconds = got["last"] - started if got.get("count") == total else None
        else:
            end = watcher.done_at(RUN_TIMEOUT_S)
            seconds = end - started if end else None
    finally:
        if watcher is not None:
            watcher.close()
        for worker in workers:
            worker.stop()
        broker.stop()
    return {"events": total, "seconds": round(seconds, 3) if seconds else None,
            "events_per_s": round(total / seconds, 1) if seconds else None, "publish_failed": published.get("failed")}


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def main(argv=None) -> int:
    args = parse_args(argv)
    from tests.postgres import Cluster

    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="province-ingest-") as folder:
        work = Path(folder)
        work.chmod(0o755)  # the cluster's programs run as the postgres user when we are root
        (work / "pg").mkdir()
        with Cluster(work / "pg", durable=True) as cluster:
            for n in range(args.repeats):
                order = MODES[n % len(MODES):] + MODES[: n % len(MODES)]
                for mode in order:
                    run = run_once(mode, args, work / f"{mode}-{n}", work, cluster)
                    print(f"round {n + 1} {mode}: {run['events_per_s']} events/s", file=sys.stderr)
                    runs[mode].append(run)
            version = cluster.server_version()
    medians = {mode: median([r["events_per_s"] for r in runs[mode]]) for mode in MODES}
    report = {"bench": "province_ingest", "events": runs["raw"][0]["events"], "kiosks": args.kiosks, "districts": len(DISTRICTS),
              "repeats": args.repeats, "postgresql": version, "runs": runs, "median_events_per_s": medians,
              "ratios": {f"{mode}_to_{base}": ratio(medians[mode], medians[base])
                         for mode in ("postgres_1", "postgres_2") for base in ("sqlite", "raw")}
              | {"sqlite_to_raw": ratio(medians["sqlite"], medians["raw"])}}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0 if all(r["seconds"] for mode in MODES for r in runs[mode]) else 1


if __name__ == "__main__":
    sys.exit(main())
