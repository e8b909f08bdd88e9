"""A province-sized district for coverage: 1,000,000 people on the roster and 2,500,000 merged doses; how long
`hub coverage` and the /coverage pages take, and how large the database is.

    .venv/bin/python -m bench.province                                  # the issue's scale (about 5 minutes)
    .venv/bin/python -m bench.province --people 20000 --doses 50000 --calls 20 --page-calls 5   # a smoke test

What is real and what is generated:

- The roster is bench/roster.py's district (CSV files of 200,000 people in 60
  communes, 10% with the birth year only), imported through the real path
  (hub/roster/files.py read_roster, Store.import_roster: hub/store/roster.py
  in short transactions, then the coverage rows of every entry it wrote),
  while a probe writer in another process commits every 5 ms as `hub run`
  would (bench/roster.py Probe): the longest it waited is reported, next to
  what 12 batches of 500 signed kiosk events take to commit once the
  district is built (Store.commit; their 6,000 events and people, on no
  roster, stay in the database).
- The merged doses are written straight into the derived tables ``doses`` and
  ``people`` in SQL, not through the real ingest: 2.5 million signed events
  through `hub run` (or Store.commit) would take 10 to 20 minutes here and
  add their events (about 0.6 KB each) to the database. So the database
  holds no ``events`` rows of them, and ``db_bytes`` is the roster, the derived tables
  and coverage's; bench/README.md says what the events would add. 98% of
  the doses go to people on the roster (0 to 4 each: comirnaty_10 under 12,
  else mostly comirnaty_30, some vaxzevria, spikevax, bbibp), 2% to people on
  no roster, 0.5% are voided.
- The coverage tables are then built whole by hub/store/coverage.py rebuild,
  the same refresh that the merge and the import call.

Then, in a new process (as `hub web` would be, without the generator's
heap), it measures the functions the command and the pages use:
Store.coverage (the district, and one commune) on days spread over two
years, `hub coverage --json` as a process, and through the Flask test client
(signed in) GET /coverage, GET /coverage?commune=KEY, an outreach page and
its XLSX; and one refresh of 500 rostered people (what the merge adds to a
batch). Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hub import passwords
from hub.coverage import commune_key
from hub.store import coverage as coverage_sql
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .roster import Probe, batch_commits, timed_import, write_district

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261205
AT = "2026-12-05T08:00:00+07:00"
SEARCH_P95_MS = 50
"""Issue 12's target for a person search at province scale."""
TARGET_P95_MS = 300
PASSWORD = "bench-password-1"
KIOSKS = [f"site-{n:03d}" for n in range(40)]
ADULT = ["comirnaty_30"] * 6 + ["vaxzevria", "spikevax", "bbibp"]
DOSES_PER_PERSON = [0] * 8 + [1] * 7 + [2] * 30 + [3] * 35 + [4] * 20
"""A person's dose count is drawn from this (mean 2.52); the total is then trimmed to --doses exactly."""


def build(db: Path, people: int, doses: int, folder: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """The district in db: the roster imported for real, the doses written in SQL, coverage rebuilt; the timings."""
    files = write_district(folder, people, 200_000)
    say(f"roster: {len(files)} files written")
    open_store(db).close()
    with Probe(db) as probe:  # a writer beside the imports, as `hub run` would be
        imports = [timed_import(file, db) for file in files]
    for file in files:
        file.unlink()
    say(f"roster: imported in {sum(r['seconds'] for r in imports):.1f} s; a writer waited at most {probe.figures()['max_ms']} ms")
    with open_store(db) as store:
        started = time.perf_counter()
        with store.transaction() as conn:
            written = write_doses(conn, doses, random.Random(SEED))
        dosed = time.perf_counter() - started
        say(f"doses: {written['doses']} written in {dosed:.1f} s")
        started = time.perf_counter()
        rows = store.rebuild_coverage()
        rebuilt = time.perf_counter() - started
        say(f"coverage: rebuilt for {rows} people in {rebuilt:.1f} s")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    batch = batch_commits(db)  # the yardstick for that wait: what `hub run`'s own batches of 500 take in this district
    return {
        "roster_import": {"seconds": round(sum(r["seconds"] for r in imports), 1),
                          "rows_per_s": round(people / sum(r["seconds"] for r in imports)),
                          "writer_wait": probe.figures(), "batch_commit": batch},
        "doses_written_s": round(dosed, 1), "rebuild_s": round(rebuilt, 1), **written,
    }


def write_doses(conn: sqlite3.Connection, total: int, rng: random.Random) -> dict[str, int]:
    """Doses (and their people rows) for the rostered people, 2% for people on no roster; exactly ``total`` rows."""
    roster = conn.execute("SELECT id_number, birth_date, full_name, sex FROM roster ORDER BY id_number").fetchall()
    counts = [rng.choice(DOSES_PER_PERSON) for _ in roster]
    outsiders = int(total * 0.02) // 2
    trim(counts, total - 2 * outsiders, rng)
    people = [(id_number, birth, n, name, sex) for (id_number, birth, name, sex), n in zip(roster, counts) if n]
    people += [(f"0792{n % 100:02d}{n:06d}", "1985-06-15", 2, "Nguyễn Văn An", "Nam") for n in range(outsiders)]
    dose_rows, person_rows, seq = [], [], 0
    for id_number, birth, n, name, sex in people:  # the merged identity is the roster's (no roster mismatch)
        product = "comirnaty_10" if int(birth[:4]) >= 2014 else rng.choice(ADULT)
        day = datetime.date(2021, 7, 1) + datetime.timedelta(days=rng.randrange(270))
        first = None
        for number in range(1, n + 1):
            seq += 1
            kiosk = KIOSKS[seq % len(KIOSKS)]
            event_id = f"{kiosk}:{seq}"
            first = first or event_id
            given = product if number <= 2 else "comirnaty_30"
            voided = f"{kiosk}:{seq + 10_000_000}" if rng.random() < 0.005 else None
            dose_rows.append((event_id, id_number, kiosk, given, "FK5127", number, max(0, number - 2), f"{day}T09:30:00+07:00",
                              day.isoformat(), "Nguyễn Thị Hoa", voided))
            day += datetime.timedelta(days=28 + rng.randrange(40) if number < 2 else 120 + rng.randrange(120))
        person_rows.append((id_number, name, birth if len(birth) == 10 else f"{birth}-01-01", sex, None, first, n))
    conn.executemany("INSERT INTO doses (event_id, id_number, kiosk, product, lot_number, dose_number, booster, given_at, "
                     "given_on, vaccinator, voided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", dose_rows)
    conn.executemany("INSERT INTO people (id_number, full_name, birth_date, sex, old_id, first_event, events) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", person_rows)
    return {"doses": len(dose_rows), "voided_doses": sum(1 for d in dose_rows if d[-1]), "vaccinated_people": len(person_rows),
            "unrostered_people": outsiders}


def trim(counts: list[int], total: int, rng: random.Random) -> None:
    """Move counts up or down by one, at random people, until they add up to total."""
    difference = total - sum(counts)
    step = 1 if difference > 0 else -1
    while difference:
        i = rng.randrange(len(counts))
        if 0 <= counts[i] + step <= 4:
            counts[i] += step
            difference -= step


def timings(call: Callable[[Any], Any], arguments: Sequence[Any]) -> dict[str, float]:
    """p50, p95 and max in milliseconds of call(argument) for each argument, after one call not counted."""
    call(arguments[0])
    took = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        took.append(1000 * (time.perf_counter() - started))
    took.sort()
    return {"calls": len(took), "p50_ms": round(statistics.median(took), 1),
            "p95_ms": round(took[max(0, -(-95 * len(took) // 100) - 1)], 1), "max_ms": round(took[-1], 1)}


def days(count: int, rng: random.Random) -> list[datetime.date]:
    """Days spread over 2026 and 2027: every call cuts the bands at other birth dates."""
    return [datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randrange(730)) for _ in range(count)]


def measure_store(db: Path, calls: int, rng: random.Random) -> dict[str, Any]:
    """Store.coverage, the function `hub coverage` and the page call, for the district and for one commune; refresh."""
    with open_store(db) as store:
        communes = store.coverage_communes()
        district = timings(lambda day: store.coverage(day), days(calls, rng))
        one = timings(lambda pair: store.coverage(pair[0], pair[1][1], pair[1][0]),
                      list(zip(days(calls, rng), (rng.choice(communes) for _ in range(calls)))))
        keys = [json.dumps(rng.sample(roster_ids(store), 500)) for _ in range(max(3, calls // 10))]
        refresh = timings(lambda batch: refresh_in_rollback(store, batch), keys)
    return {"communes": len(communes), "district": district, "one_commune": one, "refresh_500_people": refresh}


def roster_ids(store) -> list[str]:
    return [n for (n,) in store.conn.execute("SELECT id_number FROM coverage_people WHERE doses > 0 LIMIT 200000")]


def refresh_in_rollback(store, keys: str) -> None:
    """One refresh of 500 people as the merge runs it, with their rows first removed so that each is written again."""
    with store.lock:
        store.conn.execute("BEGIN IMMEDIATE")
        try:
            store.conn.execute(f"DELETE FROM coverage_people WHERE id_number {coverage_sql.IN_LIST}", (keys,))
            coverage_sql.refresh(store.conn, keys, store.catalogue)
        finally:
            store.conn.execute("ROLLBACK")


def measure_cli(db: Path, runs: int) -> dict[str, float]:
    """`hub coverage --db PATH --json` as a process (Python's start included)."""
    command = [sys.executable, "-m", "hub", "--log-level", "WARNING", "coverage", "--db", str(db), "--json"]
    return timings(lambda _: subprocess.run(command, cwd=ROOT, check=True, capture_output=True), list(range(runs)))


def measure_pages(db: Path, calls: int, rng: random.Random) -> dict[str, Any]:
    """The pages through the Flask test client, signed in as an officer (counts) and as data staff (the outreach list)."""
    cheap = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
    now = datetime.datetime(2026, 12, 5, 3, 0, tzinfo=datetime.timezone.utc)
    with open_store(db) as store:
        for name, role in (("Bench Officer", "officer"), ("Bench Data", "data")):
            if store.staff_named(name) is None:
                store.add_staff(name, role, cheap, now)
        app = create_app(Services(store, store.path, WebSettings(secret_key="bench"), lambda: now))
        officer, data = app.test_client(), app.test_client()
        sign_in(officer, "Bench Officer")
        sign_in(data, "Bench Data")
        keys = [commune_key(commune, district) for district, commune in store.coverage_communes()]
        figures = {
            "coverage": timings(lambda _: page(officer, "/coverage"), list(range(calls))),
            "coverage_one_commune": timings(lambda key: page(officer, f"/coverage?commune={key}"),
                                            [rng.choice(keys) for _ in range(calls)]),
            "outreach_page": timings(lambda key: page(data, f"/coverage/{key}"), [rng.choice(keys) for _ in range(calls)]),
            "outreach_xlsx": timings(lambda key: page(data, f"/coverage/{key}/outreach.xlsx"), [rng.choice(keys) for _ in range(3)]),
        }
        figures["coverage_html_bytes"] = len(officer.get("/coverage").data)
    return figures


def sign_in(client, name: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORD}).status_code == 302


def page(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    response.get_data()


def measure_search(db: Path, calls: int, rng: random.Random) -> dict[str, Any]:
    """Person search as the workspace runs it (Store.find_people; hub/store/people.py): by a whole ID number, by full
    name and year of birth, and reading the record found (Store.person_record), p50/p95/max ms over random roster
    entries; the first search of a person also gives them a ref (one short write), as in the workspace."""
    conn = sqlite3.connect(str(db))
    try:
        rows = conn.execute("SELECT id_number, full_name, substr(birth_date, 1, 4) FROM roster ORDER BY random() LIMIT ?",
                            (calls,)).fetchall()
    finally:
        conn.close()
    with open_store(db) as store:
        by_number = timings(lambda row: store.find_people(number=row[0]), rows)
        by_name = timings(lambda row: store.find_people(name=row[1], birth_year=row[2]), rows)
        refs = [store.find_people(number=row[0])[0].ref for row in rows]
        record = timings(store.person_record, refs)
        matches = sorted(len(store.find_people(name=row[1], birth_year=row[2])) for row in rows)
    return {"by_number": by_number, "by_name_and_year": by_name, "record": record,
            "name_matches_median": statistics.median(matches), "name_matches_max": matches[-1]}


def sizes(db: Path) -> dict[str, Any]:
    """The database's bytes (and its WAL), and per table with its indexes when SQLite has the dbstat table."""
    found = {"db_bytes": db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-*"))}
    conn = sqlite3.connect(str(db))
    try:
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        tables: dict[str, int] = {}
        for name, size in pages.items():
            owner = owners.get(name, name)
            tables[owner] = tables.get(owner, 0) + size
        found["table_bytes"] = dict(sorted(tables.items(), key=lambda item: -item[1])[:12])
    except sqlite3.OperationalError:  # SQLite built without dbstat
        pass
    finally:
        conn.close()
    return found


def measure(db: Path, options: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """Every figure of an existing district database, measured in this process."""
    rng = random.Random(SEED)
    say("measuring Store.coverage")
    store_figures = measure_store(db, options.calls, rng)
    say("measuring hub coverage as a process")
    cli = measure_cli(db, options.cli_runs)
    say("measuring the pages")
    pages = measure_pages(db, options.page_calls, rng)
    say("measuring person search")
    search = measure_search(db, options.calls, rng)
    conn = sqlite3.connect(str(db))
    people, doses = (conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("roster", "doses"))
    conn.close()
    return {
        "people": people, "doses": doses, "sqlite": sqlite3.sqlite_version, "built": None, "coverage": store_figures,
        "hub_coverage_process": cli, "pages": pages, **sizes(db),
        "person_search": search,
        "peak_rss_mb": peak_rss_mb(),
        "target_p95_ms": TARGET_P95_MS,
        "targets": {
            "coverage_p95_ms<=300": store_figures["district"]["p95_ms"] <= TARGET_P95_MS,
            "coverage_page_p95_ms<=300": pages["coverage"]["p95_ms"] <= TARGET_P95_MS,
            "person_search_p95_ms<=50": max(search["by_number"]["p95_ms"], search["by_name_and_year"]["p95_ms"])
                                        <= SEARCH_P95_MS,
        },
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage's ru_maxrss, it starts again at exec, so a child
    of the generating process reports its own)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_apart(db: Path, options: argparse.Namespace) -> dict[str, Any]:
    """``measure`` in a new process: the one that generated the district holds a heap of a gigabyte and more, which
    makes the interpreter's garbage collections (and so the pages' tails) slower than in `hub web`."""
    command = [sys.executable, "-m", "bench.province", "--db", str(db), "--calls", str(options.calls), "--page-calls",
               str(options.page_calls), "--cli-runs", str(options.cli_runs), "--quiet"]
    return json.loads(subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--people", type=int, default=1_000_000, help="people on the roster (default: 1,000,000)")
    args.add_argument("--doses", type=int, default=2_500_000, help="merged doses (default: 2,500,000)")
    args.add_argument("--calls", type=int, default=200, help="calls of Store.coverage per measurement (default: 200)")
    args.add_argument("--page-calls", type=int, default=50, help="requests per page measured (default: 50)")
    args.add_argument("--cli-runs", type=int, default=5, help="runs of `hub coverage --json` (default: 5)")
    args.add_argument("--db", type=Path, help="build the district here and keep it; an existing file is measured as it is")
    args.add_argument("--quiet", action="store_true", help="nothing on stderr")
    options = args.parse_args(argv)
    say = (lambda line: None) if options.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    if options.db is not None and options.db.exists():
        print(json.dumps(measure(options.db, options, say), indent=2))
        return 0
    (ROOT / "bench" / ".cache").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="province-", dir=ROOT / "bench" / ".cache") as folder:
        db = options.db or Path(folder) / "hub.db"
        built = build(db, options.people, options.doses, Path(folder), say)
        built["peak_rss_mb"] = peak_rss_mb()
        say("measuring, in a new process")
        report = {**measure_apart(db, options), "built": built}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
