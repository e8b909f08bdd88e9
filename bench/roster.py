"""Roster import throughput: a generated district's population list (CSV files of N people) imported into a fresh hub database.

    .venv/bin/python -m bench.roster --rows 200000 --runs 3

A district's roster arrives as one list per commune or ward, and one file may
hold at most 50 MiB (hub/roster/files.py): the N people are written as files
of ``--file-rows`` each (the last one shorter). Each run imports every file
into a new database (the first import: every row added) and then every file
again (every row unchanged), timing the whole of `hub roster import` but the
process start: reading and checking the file (hub/roster/files.py), the
store's two steps (hub/store/roster.py) and the coverage rows of the entries
written (hub/store/coverage.py drain, short transactions after the import's). It reports rows/s (median of the
runs), the longest write lock held (the apply step, during which `hub run`
would wait), the peak memory and the database size. Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hub.roster.files import read_roster
from hub.store import coverage as coverage_sql
from hub.store import roster as roster_sql
from hub.store.sqlite import open_store

HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường,Địa chỉ,Nhóm ưu tiên,Số điện thoại"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh"]
GIVEN = ["Lan", "Hùng", "Mai", "Dũng", "Hoa", "Nam", "Tuấn", "Hương", "Linh", "Phúc", "An", "Bình"]
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
    """Import file into db as `hub roster import` does; the seconds for the whole and for the write lock."""
    started = time.perf_counter()
    parsed = read_roster(file, datetime.date.today())
    read = time.perf_counter()
    with open_store(db) as store:
        with store.transaction("DEFERRED") as conn:
            staged_at = roster_sql.stage(conn, parsed.entries)
        staged = time.perf_counter()
        with store.transaction() as conn:
            done = roster_sql.apply(conn, staged_at, file.name, "bench", "2026-12-04T00:00:00+00:00", parsed.rows,
                                    parsed.refused)
        applied = time.perf_counter()
        locks = coverage_locks(store)
        covered = time.perf_counter()
    return {"seconds": covered - started, "read_s": read - started, "stage_s": staged - read,
            "write_lock_s": applied - staged, "coverage_s": covered - applied, "coverage_lock_s": max(locks, default=0.0),
            "added": done.added, "unchanged": done.unchanged, "rejected": done.rejected}


def coverage_locks(store) -> list[float]:
    """Work off the coverage queue the import left as the store does (hub/store/coverage.py drain); each transaction's
    seconds."""
    locks = []
    while True:
        started = time.perf_counter()
        with store.transaction() as conn:
            step = coverage_sql.drain(conn, store.catalogue)
        if not step:
            return locks
        locks.append(time.perf_counter() - started)


def import_all(files: list[Path], db: Path) -> dict:
    """Import every file into db; the totals and the longest write lock."""
    results = [timed_import(file, db) for file in files]
    total = {key: sum(r[key] for r in results)
             for key in ("seconds", "read_s", "stage_s", "coverage_s", "added", "unchanged", "rejected")}
    return {**total, "write_lock_s": max(r["write_lock_s"] for r in results),
            "coverage_lock_s": max(r["coverage_lock_s"] for r in results)}


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
    return {
        "rows": rows, "runs": runs, "files": len(files), "file_bytes_max": max(f.stat().st_size for f in files),
        "first_import": summary(first, rows), "re_import": summary(again, rows),
        "db_bytes": db.stat().st_size + sum(p.stat().st_size for p in folder.glob("hub-0.db-*")),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "coverage": {"median_s": round(statistics.median(r["coverage_s"] for r in first), 3),
                     "max_lock_s": round(max(r["coverage_lock_s"] for r in first + again), 3)},
        "target_rows_per_s": 20_000,
    }


def summary(results: list[dict], rows: int) -> dict:
    median = statistics.median(r["seconds"] for r in results)
    return {
        "median_rows_per_s": round(rows / median), "median_s": round(median, 3),
        "median_read_s": round(statistics.median(r["read_s"] for r in results), 3),
        "median_stage_s": round(statistics.median(r["stage_s"] for r in results), 3),
        "max_write_lock_s": round(max(r["write_lock_s"] for r in results), 3),
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
