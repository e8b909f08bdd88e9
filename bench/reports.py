"""The district's reports at province scale: 1,000,000 people, 2,500,000 doses at 300 sites over 60 days; how long the
daily report of one day takes (and its page and file), on a database whose tables the merge would have written.

    .venv/bin/python -m bench.reports                                  # the issue's scale (a few minutes)
    .venv/bin/python -m bench.reports --people 20000 --doses 50000 --sites 30 --runs 3    # a smoke test

What is real and what is generated: the database is migrated by the real store (hub/store/migrations.py), then its
tables are written in SQL as the merge would leave them, not through the ingest (2.5 million signed events through
`hub run` would take 10 to 20 minutes): 300 enrolled kiosks, one per site; the roster (bench/roster.py's people); a
people row per vaccinated person; each dose in ``doses`` with its event in ``events`` (a short body: the report reads
only event ids and hub times) received a few minutes after it was given, 0.5% voided; a check-in per dose, 3% of
visits deferred or refused (each kind), 0.3% with a reaction (a tenth of them severe) in ``outcomes``, each with its
event; per kiosk and day a lot opened, vials, a waste and the lot closed in ``lot_events``. One day's report is then
counted (Store.day_rows + hub/reports/daily.py build, as `hub report daily` and the page do) on days spread over the
60; a day's national-platform export is built and kept (Store.export_platform, as `hub export platform` and the
page's download do), as CSV and as XLSX, each on a day not exported before; the export page's gauge is counted; and
the front page (GET /, the Flask test client, signed in) is requested on a campaign day, alone and while another
process commits batches of 500 kiosk events at `hub run`'s benchmark rate (bench/hub.py: about 6,000 events/s). All
in a new process (as `hub web` would be, without the generator's heap). Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hub import daily, passwords
from hub.config import ReportSettings
from hub.reports import export as platform_export
from hub.reports.platform import load_mapping
from hub.store import Batch
from hub.store.migrations import HOUR
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .hub_commit import interleaved
from .province import PASSWORD, page, peak_rss_mb, sign_in
from .roster import roster_line

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261205
FIRST_DAY = datetime.date(2026, 9, 1)
TARGET_S = 2.0
"""Issue 13's target for one day's report and one day's export."""
FRONT_P95_MS = 300
"""Issue 13's target for the front page while ingest runs."""
MAPPING = load_mapping()
"""The packaged mapping file (hub/reports/platform.toml)."""
INGEST_RATE = 6_000
"""Events/s the writer commits while the front page is measured: about `hub run`'s merge rate in bench/hub.py."""
PRODUCTS = ["comirnaty_30"] * 6 + ["vaxzevria", "spikevax", "bbibp"]
OUTCOME_SHARE = {"deferred": 0.03, "refused": 0.01, "contraindicated": 0.01, "referred": 0.01}
AEFI_SHARE = 0.003


def kiosk_of(site: int) -> str:
    return f"k{site:03d}"


def build(db: Path, people: int, doses: int, sites: int, days: int, say: Callable[[str], None]) -> dict[str, Any]:
    """The district in db, every table written in SQL in one transaction; the counts and the time it took."""
    open_store(db).close()  # migrated by the real store
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    started = time.perf_counter()
    conn.execute("BEGIN")
    rng = random.Random(SEED)
    conn.executemany("INSERT INTO kiosks (kiosk, site, enrolled_at) VALUES (?, ?, ?)",
                     [(kiosk_of(n), f"Điểm tiêm số {n:03d}", "2026-08-01T00:00:00+00:00") for n in range(sites)])
    numbers = write_roster(conn, people, rng)
    say(f"roster: {people} people")
    written = write_visits(conn, numbers, doses, sites, days, rng)
    say(f"doses: {written['doses']}, outcomes: {written['outcomes']}")
    written["lot_events"] = write_lots(conn, sites, days, rng)
    count_doses(conn)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {**written, "people": people, "sites": sites, "days": days, "built_s": round(time.perf_counter() - started, 1)}


def count_doses(conn: sqlite3.Connection) -> None:
    """dose_counts as the merge would have kept it (hub/store/live.py count_doses): the live doses per day, kiosk and
    hour of the kiosk's clock, counted once the doses are written."""
    conn.execute(f"INSERT INTO dose_counts (given_on, kiosk, hour, doses) SELECT given_on, kiosk, {HOUR.format(row='doses')}, "
                 "count(*) FROM doses WHERE voided_by IS NULL GROUP BY 1, 2, 3")


def write_roster(conn: sqlite3.Connection, people: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """bench/roster.py's people on the roster; returns (ID number, name, birth date) of each. Their ID numbers are those
    of an even province code (002, ...), so that the people of the events the ingest writer commits (bench/hub_events.py:
    odd codes) are new people, as a day's check-ins mostly are."""
    rows, found = [], []
    for n in range(people):
        number, name, born, sex, commune, address, group, phone = next(csv.reader([roster_line(1_000_000 + n, rng)]))
        birth = f"{born[6:]}-{born[3:5]}-{born[:2]}" if len(born) == 10 else born
        rows.append((number, name, birth, sex, commune, address, group, phone, 1, "2026-08-01", "2026-08-01"))
        found.append((number, name, birth if len(birth) == 10 else f"{birth}-01-01"))
        if len(rows) == 50_000:
            insert_roster(conn, rows)
            rows = []
    insert_roster(conn, rows)
    return found


def insert_roster(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany("INSERT OR IGNORE INTO roster (id_number, full_name, birth_date, sex, commune, address, "
                     "priority_group, phone, import_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     rows)


def write_visits(conn: sqlite3.Connection, people: list[tuple[str, str, str]], doses: int, sites: int, days: int,
                 rng: random.Random) -> dict[str, int]:
    """Doses spread over the days and sites, each with its check-in; the other outcomes; their events."""
    seqs = [0] * sites
    counts = {"doses": 0, "voided": 0, "outcomes": 0, "people": 0}
    dose_rows, event_rows, outcome_rows = [], [], []
    for index in range(doses):
        number, name, birth = people[rng.randrange(len(people))] if index % 3 else people[index // 3 % len(people)]
        site = rng.randrange(sites)
        kiosk, day = kiosk_of(site), FIRST_DAY + datetime.timedelta(days=rng.randrange(days))
        minute = rng.randrange(8 * 60)
        given = datetime.datetime.combine(day, datetime.time(7 + minute // 60, minute % 60))
        received = (given - datetime.timedelta(hours=7) + datetime.timedelta(minutes=rng.randrange(1, 30))).isoformat() + "+00:00"
        check_seq, dose_seq = seqs[site] + 1, seqs[site] + 2
        seqs[site] += 2
        check_id, dose_id, voided = f"{kiosk}:{check_seq}", f"{kiosk}:{dose_seq}", None
        if rng.random() < 0.005:
            seqs[site] += 1
            voided = f"{kiosk}:{seqs[site]}"
            event_rows.append(event(voided, kiosk, seqs[site], "EventVoided", day, number, received))
            conn.execute("INSERT INTO voids (target_id, void_id) VALUES (?, ?)", (dose_id, voided))
            counts["voided"] += 1
        dose_number = 1 + index % 4
        dose_rows.append((dose_id, number, kiosk, rng.choice(PRODUCTS), f"L{site:03d}-{day:%m%d}", dose_number,
                          max(0, dose_number - 2), given.isoformat() + "+07:00", day.isoformat(), "Y tá", voided, received))
        event_rows += [event(check_id, kiosk, check_seq, "PersonCheckedIn", day, number, received),
                       event(dose_id, kiosk, dose_seq, "DoseRecorded", day, number, received)]
        outcome_rows.append((check_id, number, kiosk, "checked_in", day.isoformat(), given.isoformat(), None, None, None, None,
                             None, received))
        if len(dose_rows) == 50_000:
            flush(conn, dose_rows, event_rows, outcome_rows, counts)
    flush(conn, dose_rows, event_rows, outcome_rows, counts)
    counts["outcomes"] += write_other_outcomes(conn, people, doses, sites, days, seqs, rng)
    person_rows = [(number, name, birth, "Nữ", None, None, 1) for number, name, birth in people]
    conn.executemany("INSERT OR IGNORE INTO people (id_number, full_name, birth_date, sex, old_id, first_event, events) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", person_rows)
    return counts


def event(event_id: str, kiosk: str, seq: int, kind: str, day: datetime.date, number: str | None, received: str) -> tuple:
    return (event_id, kiosk, seq, kind, "b1", f"{day}T09:00:00+07:00", 1, number, "{}", received, b"")


def flush(conn, dose_rows: list, event_rows: list, outcome_rows: list, counts: dict) -> None:
    conn.executemany("INSERT INTO doses (event_id, id_number, kiosk, product, lot_number, dose_number, booster, given_at, "
                     "given_on, vaccinator, voided_by, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", dose_rows)
    insert_events(conn, event_rows)
    insert_outcomes(conn, outcome_rows)
    counts["doses"] += len(dose_rows)
    counts["outcomes"] += len(outcome_rows)
    dose_rows.clear(), event_rows.clear(), outcome_rows.clear()


def insert_events(conn, rows: list) -> None:
    conn.executemany("INSERT INTO events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, "
                     "received_at, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_outcomes(conn, rows: list) -> None:
    conn.executemany("INSERT INTO outcomes (event_id, id_number, kiosk, kind, day, at, reason, return_on, severity, "
                     "symptoms, ref, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def write_other_outcomes(conn, people: list, doses: int, sites: int, days: int, seqs: list[int], rng: random.Random) -> int:
    """Deferrals, refusals by kind and reactions, each a share of the visits, with their events."""
    rows, events = [], []
    for kind, share in [*OUTCOME_SHARE.items(), ("aefi", AEFI_SHARE)]:
        for _ in range(int(doses * share)):
            site = rng.randrange(sites)
            seqs[site] += 1
            kiosk, day = kiosk_of(site), FIRST_DAY + datetime.timedelta(days=rng.randrange(days))
            event_id, number = f"{kiosk}:{seqs[site]}", people[rng.randrange(len(people))][0]
            severity = ("severe" if rng.random() < 0.1 else "mild") if kind == "aefi" else None
            rows.append((event_id, number, kiosk, kind, day.isoformat(), f"{day}T10:00:00+07:00", "lý do",
                         (day + datetime.timedelta(days=14)).isoformat() if kind == "deferred" else None, severity,
                         "sốt" if severity else None, None, f"{day}T04:00:00+00:00"))
            events.append(event(event_id, kiosk, seqs[site], "AefiRecorded" if kind == "aefi" else "PersonDeferred", day,
                                number, f"{day}T04:00:00+00:00"))
    insert_events(conn, events)
    insert_outcomes(conn, rows)
    return len(rows)


def write_lots(conn, sites: int, days: int, rng: random.Random) -> int:
    """Per kiosk and day: the lot opened, its vials, a waste and the lot closed, each with its event."""
    rows, events, seq = [], [], 10_000_000
    for site in range(sites):
        kiosk = kiosk_of(site)
        for offset in range(days):
            day = FIRST_DAY + datetime.timedelta(days=offset)
            lot = f"L{site:03d}-{day:%m%d}"
            for kind, vials, doses, wasted in (("opened", None, None, None), ("vial", 30, None, None),
                                               ("wasted", None, rng.randrange(1, 4), None), ("closed", 30, None, 6)):
                seq += 1
                event_id = f"{kiosk}:{seq}"
                rows.append((event_id, kiosk, kind, day.isoformat(), f"{day}T16:00:00+07:00", "comirnaty_30", lot,
                             "2027-01-31", 6, vials, doses, None, wasted, "vỡ" if doses else None, f"{day}T09:00:00+00:00"))
                events.append(event(event_id, kiosk, seq, "LotClosed", day, None, f"{day}T09:00:00+00:00"))
    conn.executemany("INSERT INTO lot_events (event_id, kiosk, kind, day, at, product, lot_number, expiry, doses_per_vial, "
                     "vials_opened, doses, given, wasted, reason, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     rows)
    insert_events(conn, events)
    return len(rows)


def timings(call: Callable[[Any], Any], arguments: list[Any]) -> dict[str, float]:
    """Median, p95 and max of one call per argument, in milliseconds."""
    spent = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return {"calls": len(spent), "p50_ms": round(statistics.median(spent), 1),
            "p95_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.95))], 1), "max_ms": round(spent[-1], 1)}


def measured_days(days: int, runs: int) -> Iterator[datetime.date]:
    for n in range(runs):
        yield FIRST_DAY + datetime.timedelta(days=(n * 7 + 3) % days)


def measure(db: Path, options: argparse.Namespace) -> dict[str, Any]:
    """Every figure on an existing district, in this process: the daily report, the export, the front page."""
    settings = ReportSettings()
    days = list(measured_days(options.days, options.runs))
    with open_store(db) as store:
        sizes = [len(store.day_rows(day).doses) for day in days[:1]]
        report = timings(lambda day: daily.report(store, day, settings), days)
        rows_only = timings(store.day_rows, days)
        cut = timings(lambda day: daily.report(store, day, settings, as_of=daily.cut_instant(day, settings)), days)
        exported = {kind: timings(lambda day: export_day(store, day, kind), export_days(store, options.days, options.runs))
                    for kind in ("csv", "xlsx")}
        gauge = timings(lambda day: platform_export.gauge(store.platform_rows(day)), days)
    front = front_page(db, options)
    return {
        "doses_per_day": sizes[0], "daily_report": report, "day_rows_read": rows_only, "daily_report_as_of_cut": cut,
        "export": exported, "export_gauge": gauge, "front_page": front,
        "db_mb": round(db.stat().st_size / 2**20), "peak_rss_mb": peak_rss_mb(),
        "targets": {
            "daily_report_p50_s<=2": report["p50_ms"] <= TARGET_S * 1000,
            "export_xlsx_p50_s<=2": exported["xlsx"]["p50_ms"] <= TARGET_S * 1000,
            "export_csv_p50_s<=2": exported["csv"]["p50_ms"] <= TARGET_S * 1000,
            "front_page_p95_ms<=300_under_ingest": front["under_ingest"]["p95_ms"] <= FRONT_P95_MS,
        },
    }


def export_days(store, days: int, runs: int) -> list[datetime.date]:
    """Days not exported yet (an export marks its doses: the next one of the same day is small), at most ``runs``."""
    fresh = [FIRST_DAY + datetime.timedelta(days=n) for n in range(days)]
    return [day for day in fresh if not store.platform_exports(day)][:runs]


def export_day(store, day: datetime.date, kind: str) -> None:
    """What `hub export platform` and the page's download do: read, build and keep the day's line list in one write
    transaction (the file is kept in the database too)."""
    made = store.export_platform(day, lambda rows: platform_export.build(rows, kind, MAPPING, store.catalogue),
                                 by="bench", staff_id=None, at="2026-11-01T09:00:00+00:00")
    assert made is not None and made[1].lines


def front_page(db: Path, options: argparse.Namespace) -> dict[str, Any]:
    """GET / through the Flask test client, signed in as an officer, on a busy campaign day at 14:00: alone, then while
    another process commits batches of 500 kiosk events at ``--ingest-rate`` events/s (as `hub run` merges)."""
    now = datetime.datetime.combine(FIRST_DAY + datetime.timedelta(days=10), datetime.time(7), tzinfo=datetime.timezone.utc)
    cheap = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
    with open_store(db) as store:
        if store.staff_named("Bench Officer") is None:
            store.add_staff("Bench Officer", "officer", cheap, now)
        client = create_app(Services(store, store.path, WebSettings(secret_key="bench"), lambda: now)).test_client()
        sign_in(client, "Bench Officer")
        page(client, "/")  # the first look fills the 14 days' chart cache, as the first officer of the day would
        alone = timings(lambda _: page(client, "/"), list(range(options.page_calls)))
        with Ingesting(db, options.ingest_rate, options.ingest_events) as ingest:
            busy = timings(lambda _: page(client, "/"), list(range(options.page_calls)))
        return {"alone": alone, "under_ingest": {**busy, **ingest.figures()}}


class Ingesting:
    """A process committing batches of 500 signed kiosk events (bench/hub_commit.py's) into the database at a rate,
    as `hub run`'s merge worker does, until the block ends."""

    def __init__(self, db: Path, rate: int, count: int):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.stop, self.ready, self.out = context.Event(), context.Event(), context.Queue()
        self.process = context.Process(target=ingest, args=(str(db), rate, count, self.ready, self.stop, self.out))

    def __enter__(self) -> "Ingesting":
        self.process.start()
        if not self.ready.wait(600):  # the writer makes and parses its events first
            raise RuntimeError("the ingest process did not start")
        time.sleep(1.0)  # a few batches in: the page runs beside a writer at speed
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.result = self.out.get(timeout=120)
        self.process.join(30)

    def figures(self) -> dict[str, Any]:
        return {"ingest": self.result}


def ingest(db: str, rate: int, count: int, ready, stop, out) -> None:
    events = interleaved(kiosks=20, per_kiosk=max(25, count // 20), seed=SEED)
    took, merged, started = [], 0, None
    with open_store(db) as store:
        ready.set()
        for first in range(0, len(events), 500):
            if stop.is_set():
                break
            started = started or time.perf_counter()
            begun = time.perf_counter()
            store.commit(Batch(events=events[first:first + 500]), "2026-09-11T07:00:00+00:00")
            took.append(time.perf_counter() - begun)
            merged += 500
            time.sleep(max(0.0, started + merged / rate - time.perf_counter()))
    elapsed = time.perf_counter() - (started or time.perf_counter())
    out.put({"events": merged, "events_per_s": round(merged / elapsed) if elapsed else None, "target_rate": rate,
             "ran_out": not stop.is_set(),
             "commit_ms_p50": round(1000 * statistics.median(took), 1) if took else None,
             "commit_ms_max": round(1000 * max(took), 1) if took else None})


def measure_apart(db: Path, options: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.reports", "--db", str(db), "--runs", str(options.runs), "--days",
               str(options.days), "--page-calls", str(options.page_calls), "--ingest-rate", str(options.ingest_rate),
               "--ingest-events", str(options.ingest_events),
               "--quiet"]
    return json.loads(subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--people", type=int, default=1_000_000, help="people on the roster (default: 1,000,000)")
    args.add_argument("--doses", type=int, default=2_500_000, help="doses (default: 2,500,000)")
    args.add_argument("--sites", type=int, default=300, help="sites, one kiosk each (default: 300)")
    args.add_argument("--days", type=int, default=60, help="campaign days the doses are spread over (default: 60)")
    args.add_argument("--runs", type=int, default=9, help="days measured (default: 9)")
    args.add_argument("--page-calls", type=int, default=60, help="front page requests, alone and under ingest (default: 60)")
    args.add_argument("--ingest-rate", type=int, default=INGEST_RATE, help=f"events/s committed while the front page is "
                      f"measured (default: {INGEST_RATE})")
    args.add_argument("--ingest-events", type=int, default=150_000, help="events the writer makes beforehand, more than the "
                      "page calls last for (default: 150,000; it stops when they run out, and says so: ran_out)")
    args.add_argument("--db", type=Path, help="build the district here and keep it; an existing file is measured as it is")
    args.add_argument("--quiet", action="store_true", help="nothing on stderr")
    options = args.parse_args(argv)
    say = (lambda line: None) if options.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    if options.db is not None and options.db.exists():
        print(json.dumps(measure(options.db, options), indent=2))
        return 0
    (ROOT / "bench" / ".cache").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reports-", dir=ROOT / "bench" / ".cache") as folder:
        db = options.db or Path(folder) / "hub.db"
        built = build(db, options.people, options.doses, options.sites, options.days, say)
        say("measuring, in a new process")
        result = {**measure_apart(db, options), "built": built}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
