"""Roster import throughput: a generated district's population list (CSV files of N people) imported into a fresh hub database.

    .venv/bin/python -m bench.roster --rows 200000 --runs 3

A district's roster arrives as one list per commune or ward, and one file may
hold at most 50 MiB (hub/roster/files.py): the N people are written as files
of ``--file-rows`` each (the last one shorter). Each run imports every file
into a new database (the first import: every row added) and then every file
again (every row unchanged), timing the whole of `hub roster import` but the
process start: reading and checking the file (hub/roster/files.py), the
store's compare, stage and apply (hub/store/roster.py), whose transactions
of 1,000 entries derive the entries' coverage rows too. Then one more first
import runs with a probe writer beside it in another process, committing a
one-row transaction every 5 ms as `hub run` commits its batches: the longest
it waited is the longest an import held up the merge. Batches of 500 kiosk
events are then committed into that database (what `hub run`'s own commits
take there, the yardstick). It reports rows/s (median of the runs, without
the probe), the probe's waits and the import's rows/s beside it, the batch
commits, the peak memory and the database size. Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.roster.files import read_roster
from hub.store import Batch
from hub.store.sqlite import begin, connect, open_store

from .hub_commit import interleaved

HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường,Địa chỉ,Nhóm ưu tiên,Số điện thoại"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh"]
GIVEN = ["Lan", "Hùng", "Mai", "Dũng", "Hoa", "Nam", "Tuấn", "Hương", "Linh", "Phúc", "An", "Bình"]
TODAY = datetime.date(2026, 12, 4)
AT = "2026-12-04T08:00:00+07:00"
SEED = 20261204
PROBE_EVERY_S = 0.005
"""The probe writer's pause between its commits."""
COMMUNES = [f"Phường {n}" for n in range(1, 31)] + [f"Xã Tân {n}" for n in range(1, 31)]


def roster_line(n: int, rng: random.Random) -> str:
    """Person n of the generated district: a 12-digit CCCD whose digits 4-6 agree with the birth year and sex."""
    year = rng.randint(1930, 2020)
    female = rng.random() < 0.5
    century_sex = 2 * ((year - 1900) // 100) + female
    id_number = f"0{(n // 1_000_000) % 96 + 1:02d}{century_sex}{year % 100:02d}{n % 1_000_000:06d}"
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}" if rng.random() < 0.9 else str(year)
    commune = rng.choice(COMMUNES)
    return (f'{id_number},{name},{born},{"Nữ" if female else "Nam"},{commune},"Số {n % 200}, {commune}",'
            f'{rng.randint(1, 10)},09{n % 100_000_000:08d}')


def write_roster(path: Path, rows: int, seed: int = 20261204, first: int = 0) -> Path:
    """Write a roster CSV of ``rows`` valid, distinct people (person ``first`` onwards); return its path."""
    rng = random.Random(seed + first)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        for n in range(first, first + rows):
            out.write(roster_line(n, rng) + "\r\n")
    return path


def write_district(folder: Path, rows: int, file_rows: int) -> list[Path]:
    """The district's roster as files of ``file_rows`` people each."""
    return [write_roster(folder / f"commune-{first // file_rows:03d}.csv", min(file_rows, rows - first), first=first)
            for first in range(0, rows, file_rows)]


def timed_import(file: Path, db: Path) -> dict:
    """Import file into db as `hub roster import` does (Store.import_roster, coverage included); the seconds."""
    started = time.perf_counter()
    parsed = read_roster(file, TODAY)
    read = time.perf_counter()
    with open_store(db) as store:
        done = store.import_roster(parsed, file.name, "bench", AT)
    return {"seconds": time.perf_counter() - started, "read_s": read - started, "added": done.added,
            "unchanged": done.unchanged, "rejected": done.rejected}


def probe_writer(db: str, ready: Any, stop: Any, out: Any) -> None:
    """In its own process, as `hub run` is: commit a one-row transaction every PROBE_EVERY_S until stopped; send back
    how long each waited for the write lock (its BEGIN IMMEDIATE), in seconds. (Its COMMIT is not counted: now and
    then it checkpoints the WAL, which is the probe's own work, not a wait.)"""
    conn = connect(Path(db))
    conn.execute("CREATE TABLE IF NOT EXISTS bench_probe (n INTEGER PRIMARY KEY, at REAL)")
    took = []
    while not stop.is_set():
        started = time.perf_counter()
        begin(conn, "IMMEDIATE")  # as the store's transactions, `hub run`'s among them, take the lock
        took.append(time.perf_counter() - started)
        conn.execute("INSERT INTO bench_probe (at) VALUES (?)", (started,))
        conn.execute("COMMIT")
        ready.set()
        time.sleep(PROBE_EVERY_S)
    conn.close()
    out.put(took)


class Probe:
    """A writer beside the imports (probe_writer): the longest it waited is the longest an import held up `hub run`."""

    def __init__(self, db: Path):
        context = multiprocessing.get_context("spawn")
        self.ready, self.stop, self.out = context.Event(), context.Event(), context.Queue()
        self.process = context.Process(target=probe_writer, args=(str(db), self.ready, self.stop, self.out), daemon=True)
        self.took: list[float] = []

    def __enter__(self) -> Probe:
        self.process.start()
        if not self.ready.wait(timeout=60):
            raise RuntimeError("the probe writer did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.took = self.out.get(timeout=60)
        self.process.join(timeout=60)

    def figures(self) -> dict:
        took = sorted(self.took)
        return {"commits": len(took), "p50_ms": round(1000 * statistics.median(took), 1),
                "p99_ms": round(1000 * took[int(0.99 * (len(took) - 1))], 1), "max_ms": round(1000 * took[-1], 1)}


def import_all(files: list[Path], db: Path) -> dict:
    """Import every file into db; the totals."""
    results = [timed_import(file, db) for file in files]
    return {key: sum(r[key] for r in results) for key in ("seconds", "read_s", "added", "unchanged", "rejected")}


def batch_commits(db: Path, batches: int = 12, size: int = 500) -> dict:
    """What the probe is compared with: Store.commit of ``batches`` batches of ``size`` signed kiosk events (bench/
    hub_commit.py's) into the imported database, as `hub run` commits them; p50 and max in ms."""
    events = interleaved(kiosks=20, per_kiosk=batches * size // 20, seed=SEED)
    took = []
    with open_store(db) as store:
        for first in range(0, len(events), size):
            started = time.perf_counter()
            store.commit(Batch(events=events[first:first + size]), AT)
            took.append(time.perf_counter() - started)
    return {"batch": size, "batches": len(took), "p50_ms": round(1000 * statistics.median(took), 1),
            "max_ms": round(1000 * max(took), 1)}


def run(rows: int, runs: int, file_rows: int, folder: Path) -> dict:
    files = write_district(folder, rows, file_rows)
    first, again = [], []
    for n in range(runs):
        db = folder / f"hub-{n}.db"
        first.append(import_all(files, db))
        again.append(import_all(files, db))
        print(f"run {n + 1}: {first[-1]['seconds']:.2f} s, again {again[-1]['seconds']:.2f} s", file=sys.stderr)
    assert all(r["added"] == rows for r in first) and all(r["unchanged"] == rows for r in again)
    db = folder / "hub-0.db"
    size = db.stat().st_size + sum(p.stat().st_size for p in folder.glob("hub-0.db-*"))
    probed = folder / "hub-probed.db"
    open_store(probed).close()
    with Probe(probed) as probe:  # one more first import, with a writer beside it
        beside = import_all(files, probed)
    waits = probe.figures()
    print(f"with the probe: {beside['seconds']:.2f} s, probe max {waits['max_ms']} ms", file=sys.stderr)
    batch = batch_commits(probed)
    return {
        "rows": rows, "runs": runs, "files": len(files), "file_bytes_max": max(f.stat().st_size for f in files),
        "first_import": summary(first, rows), "re_import": summary(again, rows), "db_bytes": size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "writer_wait": {**waits, "import_rows_per_s": round(rows / beside["seconds"]), "batch_commit": batch,
                        "max_over_batch_max": round(waits["max_ms"] / batch["max_ms"], 2)},
        "target_rows_per_s": 20_000,
    }


def summary(results: list[dict], rows: int) -> dict:
    median = statistics.median(r["seconds"] for r in results)
    return {
        "median_rows_per_s": round(rows / median), "median_s": round(median, 3),
        "median_read_s": round(statistics.median(r["read_s"] for r in results), 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rows", type=int, default=1_000_000, help="people on the roster (default: 1,000,000)")
    args.add_argument("--runs", type=int, default=3, help="imports into fresh databases; the median is reported (default: 3)")
    args.add_argument("--file-rows", type=int, default=200_000,
                      help="people per file, as communes send them (default: 200,000, about 19 MB)")
    options = args.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as folder:
        print(json.dumps(run(options.rows, options.runs, options.file_rows, Path(folder)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
