"""Throughput of the hub's commit() on PostgreSQL with 1 and 2 workers, against the SQLite store in the same run.

    .venv/bin/python -m bench.pg_commit --events 20000 --kiosks 20 --batch 500 --repeat 3

Events are bench/hub_commit.py's (half check-ins, half first doses, a person
per pair, interleaved across kiosks as a catch-up delivers them), parsed before
the clock starts. Each run commits them all into an empty database: SQLite (a
fresh file, the baseline), PostgreSQL with one worker, and PostgreSQL with two
worker processes, each with its own connection and half of the kiosks (workers
partitioned by kiosk, as docs/province.md recommends). PostgreSQL is a cluster
this bench starts (tests/postgres.py), durable as a province's server is: each
commit flushed, as SQLite's file is with synchronous=FULL (``--fsync-off``
measures the merge alone, without the disk). Prints JSON: medians
over --repeat runs and their ratios to SQLite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import wire
from hub.store import Batch
from hub.store import postgres

from .hub_commit import interleaved, measure

AT = "2026-03-10T08:00:00+07:00"


def commit_all(url: str, events: list[wire.Event], batch: int, start=None) -> None:
    """Commit events in batches of ``batch`` through one store; wait at ``start`` (a barrier) first when given."""
    with postgres.open_store(url) as store:
        if start is not None:
            start.wait()
        for first in range(0, len(events), batch):
            store.commit(Batch(events=events[first:first + batch]), AT)


def by_kiosk(events: list[wire.Event], workers: int) -> list[list[wire.Event]]:
    """Each worker's share: the events of its kiosks (kiosk i to worker i mod workers), in delivery order."""
    kiosks = sorted({e.kiosk for e in events})
    owner = {kiosk: i % workers for i, kiosk in enumerate(kiosks)}
    return [[e for e in events if owner[e.kiosk] == w] for w in range(workers)]


def run_workers(url: str, events: list[wire.Event], batch: int, workers: int) -> float:
    """Seconds from the moment every worker has connected until the last has committed its share."""
    if workers == 1:
        postgres.open_store(url).close()  # migrate outside the clock, as with several workers
        started = time.perf_counter()
        commit_all(url, events, batch)
        return time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers + 1)
    procs = [context.Process(target=commit_all, args=(url, share, batch, start)) for share in by_kiosk(events, workers)]
    for proc in procs:
        proc.start()
    start.wait()
    started = time.perf_counter()
    for proc in procs:
        proc.join()
    took = time.perf_counter() - started
    if any(proc.exitcode != 0 for proc in procs):
        raise RuntimeError("a worker failed")
    return took


def check(url: str) -> dict:
    with postgres.open_store(url) as store:
        stats = store.stats()
    return {"merged": stats["events"], "people": stats["people"], "doses": stats["doses"]}


def one_round(cluster, events: list[wire.Event], batch: int, folder: Path, n: int) -> dict:
    """One run of each: events/s on SQLite, and on PostgreSQL with 1 and 2 workers (each into an empty database)."""
    (folder / f"round-{n}").mkdir()
    figures = {"sqlite": measure(events, batch, folder / f"round-{n}")["events_per_s"]}
    for workers in (1, 2):
        url = cluster.create_database()
        took = run_workers(url, events, batch, workers)
        merged = check(url)
        if merged["merged"] != len(events):
            raise RuntimeError(f"{workers} workers merged {merged['merged']} of {len(events)} events")
        figures[f"postgres_{workers}"] = round(len(events) / took)
        cluster.drop_database(url)
    return figures


def summary(rounds: list[dict]) -> dict:
    medians = {key: round(statistics.median(r[key] for r in rounds)) for key in rounds[0]}
    return {
        "events_per_s_median": medians,
        "ratio_to_sqlite": {key: round(medians[key] / medians["sqlite"], 3) for key in medians if key != "sqlite"},
        "ratio_2_to_1_workers": round(medians["postgres_2"] / medians["postgres_1"], 3),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fsync-off", action="store_true", help="a test cluster: commits not flushed to disk")
    args = parser.parse_args(argv)
    from tests.postgres import Cluster

    events = interleaved(args.kiosks, args.events // args.kiosks, args.seed)
    with tempfile.TemporaryDirectory() as folder, Cluster(durable=not args.fsync_off) as cluster:
        rounds = [one_round(cluster, events, args.batch, Path(folder), n) for n in range(args.repeat)]
        version = cluster.server_version()
    report = {"bench": "pg_commit", "events": len(events), "kiosks": args.kiosks, "batch": args.batch,
              "postgresql": version, "postgresql_fsync": not args.fsync_off, **summary(rounds)}
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
