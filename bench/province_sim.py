"""A province, simulated: districts' brokers bridged to one province broker, province workers merging into
PostgreSQL, a campaign day's rate with outages; what arrives, how late, and what it costs (issue 15).

    .venv/bin/python -m bench.province_sim                       # the issue's scale: 30 districts, 300 sites, 1,000 kiosks
    .venv/bin/python -m bench.province_sim --districts 3 --kiosks 30 --seconds 60   # a smoke test (make test runs one)

What runs, all real processes on this machine:

- a PostgreSQL cluster (tests/postgres.py, fsync on: a real province's);
- one province Mosquitto, and per district a Mosquitto bridged to it with the configuration `hub bridge-config`
  writes, each bridge through a relay (faults/link.py) that a district outage cuts;
- per district, its SQLite hub (`hub run`) with ``acks = "province"``: it merges its kiosks' events for the
  district's own workspace and acknowledges them, and its kiosks wait for its acknowledgement and the province's
  (``hub.province_acks``). ``--district-hubs 0`` leaves the hubs out, to see their cost: the bridges then bring the
  province's acknowledgements to the kiosks' own ack topics, and the kiosks wait for the province's alone;
- the province workers (`hub run --db postgresql://... --district ...`), the districts split evenly among them;
- the kiosks: the real kiosk publisher (``kiosk.uplink.part.PublishPart``) per kiosk, many per process
  (bench/hub_kiosks.py record), each kiosk connected to its district's broker and recording events (a check-in,
  then that person's dose) on its own SQLite database at ``rate / kiosks`` events per second.

The day: ``--rate`` events per second over the province (default 230: ten times Vietnam's national peak of about
2 M doses a day, i.e. 23 events/s of check-ins and doses) for ``--seconds``: a day compressed in time, not in rate.
During it (fractions of the duration, ``--outages``): the province broker is stopped and started again, a third of
the districts lose their uplink (their relays cut), and a province worker is killed (kill -9) and restarted.

Reported (JSON on stdout): events recorded by the kiosks and merged at the province, lost (recorded, never merged)
and duplicated (doses or people beyond one each); the time from the kiosk's commit to the province's commit,
p50 / p99, over all events and over the events recorded while nothing was down; each outage's catch-up (from its
end until the province held everything recorded before it ended); the database's size per million doses; the
CPU seconds each kind of process used; and where the machine ran out (bench/README.md reads them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.paths import HERE, REPO  # sets sys.path for the harness's flat imports

import psycopg  # noqa: E402

import wire  # noqa: E402
from faults.link import Link  # noqa: E402
from hub_harness import HubProcess, Worker, cpu_seconds, hub_command  # noqa: E402
from tests.mosquitto import Broker  # noqa: E402
from tests.postgres import Cluster  # noqa: E402

NATIONAL_PEAK_PER_S = 23
"""Vietnam's national peak, about 2 M doses a day, as events per second (issue 15)."""
KIOSKS_PER_PROCESS = 100
"""Real kiosk publishers sharing one Python process (1,000 processes would drown 2 cores in interpreters). At most
about 140: each kiosk holds some 7 file descriptors (two SQLite connections and a socket), and paho waits on its
socket with select(), which cannot watch a descriptor past 1023 (a first run with 250 a process lost a third of its
kiosks' connections for good: hub_kiosks.py record now refuses to start so)."""
SETTLE_TIMEOUT_S = 600.0
"""How long the province may take, after the last event, to hold every event (then the rest counts as lost)."""


@dataclass
class Outage:
    what: str                  # province-broker, district-uplink, province-worker-kill
    start: float               # seconds after the go
    length: float
    targets: list[str] = field(default_factory=list)
    ended_at: float | None = None


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--districts", type=int, default=30)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--kiosks", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2, help="province workers (the districts split among them)")
    ap.add_argument("--rate", type=float, default=10 * NATIONAL_PEAK_PER_S, help="events per second, province-wide")
    ap.add_argument("--seconds", type=float, default=600.0, help="how long the kiosks record events")
    ap.add_argument("--district-hubs", type=int, choices=(0, 1), default=1, help="run each district's SQLite hub (default 1)")
    ap.add_argument("--no-outages", action="store_true", help="a day without outages (the latency baseline)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    return ap.parse_args(argv)


def layout(args) -> dict[str, dict[str, list[str]]]:
    """district -> site -> kiosk ids: the sites split evenly among the districts, the kiosks among the sites."""
    districts = [f"d{n:02d}" for n in range(args.districts)]
    sites = [f"{districts[n % args.districts]}-s{n // args.districts:02d}" for n in range(args.sites)]
    plan: dict[str, dict[str, list[str]]] = {d: {} for d in districts}
    for n in range(args.kiosks):
        site = sites[n % args.sites]
        plan[site.split("-")[0]].setdefault(site, []).append(f"{site}-k{n // args.sites}")
    return plan


def outages(args) -> list[Outage]:
    """The day's outages, at fractions of its length (none with --no-outages)."""
    if args.no_outages:
        return []
    day, districts = args.seconds, [f"d{n:02d}" for n in range(args.districts)]
    return [Outage("province-broker", 0.15 * day, 0.10 * day),
            Outage("district-uplink", 0.40 * day, 0.15 * day, districts[: max(1, args.districts // 3)]),
            Outage("province-worker-kill", 0.70 * day, min(10.0, 0.05 * day))]


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": round(1000 * statistics.median(ordered)), "p99": round(1000 * at(0.99)), "max": round(1000 * ordered[-1]),
            "n": len(ordered)}


# -- setting the province up --------------------------------------------------------------------------------------------


def enroll_district(db: Path, sites: dict[str, list[str]], keys: Path) -> None:
    """The district's hub database with its kiosks enrolled as `hub enroll --csr` enrolls them (in this process: a
    thousand `hub enroll` processes would take minutes), each kiosk's key kept in ``keys/<kiosk>.key``."""
    from hub import ca, enrollment
    from hub.store.sqlite import open_store
    from kiosk import identity

    now = datetime.now().astimezone()
    keys.mkdir(parents=True, exist_ok=True)
    ca.init(db.parent / f"{db.stem}.ca", ["127.0.0.1"], now)
    authority = ca.load(db.parent / f"{db.stem}.ca")
    broker_dir = db.parent / f"{db.stem}.broker"
    broker_dir.mkdir(exist_ok=True)
    with open_store(db) as store:
        for site, kiosks in sites.items():
            for kiosk in kiosks:
                key = identity.new_key(keys / f"{kiosk}.key", force=True)
                enrollment.enroll(store, authority, kiosk, site, identity.csr_pem(key, kiosk), broker_dir, now)


def hub(*args: str, timeout: float = 120.0) -> str:
    """Run a `hub` command to its end; its standard output."""
    done = subprocess.run(hub_command(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"hub {' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


class Province:
    """Every process of the simulated province, started in ``work`` and stopped by ``close``."""

    def __init__(self, args, work: Path, plan: dict[str, dict[str, list[str]]]):
        self.args, self.work, self.plan = args, work, plan
        (work / "pg").mkdir()
        self.cluster = Cluster(work / "pg", durable=True).start()
        self.url = self.cluster.create_database()
        self.province = Broker(work / "province-broker").start()
        self.keys = work / "keys"
        self.links: dict[str, Link] = {}
        self.brokers: dict[str, Broker] = {}
        self.district_hubs: dict[str, HubProcess] = {}
        self.workers: list[HubProcess] = []
        self.kiosk_processes: list[Worker] = []
        for district, sites in plan.items():
            self.start_district(district, sites)
        self.shares = [sorted(plan)[n :: args.workers] for n in range(args.workers)]
        for n in range(args.workers):
            self.workers.append(self.start_worker(n))

    def start_district(self, district: str, sites: dict[str, list[str]]) -> None:
        folder = self.work / district
        folder.mkdir()
        db = folder / "hub.db"
        enroll_district(db, sites, self.keys)
        hub("kiosks", "export", "--db", str(db), "--out", str(folder / "kiosks.json"))
        hub("kiosks", "import", str(folder / "kiosks.json"), "--district", district, "--db", self.url)
        link = self.links[district] = Link(self.province.port)
        broker = self.brokers[district] = Broker(folder / "broker")
        bridge = hub("bridge-config", "--district", district, "--province", link.url)
        if not self.args.district_hubs:  # no district hub acknowledges: the province's acks to the kiosks' own topic
            bridge = bridge.replace(f" in 1 {wire.ROOT}/{wire.PROVINCE_LEVEL}/ ", f" in 1 {wire.ROOT}/ ")
        with open(broker.config, "a") as config:
            config.write(bridge)
        broker.start()
        if self.args.district_hubs:
            settings = folder / "hub.toml"
            settings.write_text('[province]\nacks = "province"\n')
            self.district_hubs[district] = HubProcess(db, broker.url, log=folder / "hub.log",
                                                      extra=("--config", str(settings), "--client-id", f"hub-{district}"))

    def start_worker(self, n: int) -> HubProcess:
        districts = [option for district in self.shares[n] for option in ("--district", district)]
        return HubProcess(self.url, self.province.url, log=self.work / f"worker-{n}.log",
                          extra=("--client-id", f"hub-province-{n}", *districts))

    def close(self) -> None:
        for process in [*self.kiosk_processes]:
            process.stop()
        for process in [*self.workers, *self.district_hubs.values()]:
            process.stop()
        for broker in [*self.brokers.values(), self.province]:
            broker.stop()
        for link in self.links.values():
            link.close()
        self.cluster.close()

    # -- the day ------------------------------------------------------------------------------------------------------

    def start_kiosks(self) -> None:
        """The kiosks' processes, KIOSKS_PER_PROCESS each, every kiosk on its district's broker; each ready to go."""
        specs = [(kiosk, district) for district, sites in self.plan.items() for kiosks in sites.values() for kiosk in kiosks]
        rate = self.args.rate / len(specs)
        for first in range(0, len(specs), KIOSKS_PER_PROCESS):
            share = specs[first : first + KIOSKS_PER_PROCESS]
            folder = self.work / "kiosks"
            folder.mkdir(exist_ok=True)
            options = [option for kiosk, district in share
                       for option in ("--kiosk", f"{kiosk}={folder / kiosk}.db={self.brokers[district].url}")]
            self.kiosk_processes.append(Worker(
                [sys.executable, str(HERE / "hub_kiosks.py"), "record", *options, "--keys", str(self.keys),
                 "--rate", str(rate), "--seconds", str(self.args.seconds), "--seed", str(self.args.seed),
                 "--index-base", str(first), *(["--province-acks"] if self.args.district_hubs else [])], log=folder / f"process-{first // KIOSKS_PER_PROCESS}.log", ready_timeout=600))

    def suffer(self, outage: Outage, go: float) -> None:
        """Wait for the outage's moment, cause it, wait its length, end it; note when it ended (wall clock)."""
        time.sleep(max(0.0, go + outage.start - time.time()))
        if outage.what == "province-broker":
            self.province.stop()
            time.sleep(outage.length)
            self.province.start()
        elif outage.what == "district-uplink":
            for district in outage.targets:
                self.links[district].cut()
            time.sleep(outage.length)
            for district in outage.targets:
                self.links[district].restore()
        else:
            outage.targets = self.shares[0]
            os.killpg(self.workers[0].proc.pid, 9)
            self.workers[0].stop()  # reaps it and closes its log
            time.sleep(outage.length)
            self.workers[0] = self.start_worker(0)
        outage.ended_at = time.time()

    def db_bytes(self) -> int:
        with psycopg.connect(self.url) as conn:
            return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def merged(self) -> int:
        with psycopg.connect(self.url) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def run_day(self, plan: list[Outage]) -> dict:
        for worker in self.workers:
            if not worker.wait_subscribed(120):
                raise RuntimeError(f"a province worker did not come online; see {self.work}")
        for district_hub in self.district_hubs.values():
            district_hub.wait_subscribed(120)
        self.start_kiosks()
        empty = self.db_bytes()
        go = time.time()
        cpu_before = {"workers": sum(cpu_seconds(w.proc.pid) for w in self.workers)}
        for process in self.kiosk_processes:
            process.go()
        threads = [threading.Thread(target=self.suffer, args=(outage, go), daemon=True) for outage in plan]
        for thread in threads:
            thread.start()
        recorded = sum(process.result(self.args.seconds + 600)["recorded"] for process in self.kiosk_processes)
        for thread in threads:
            thread.join()
        last_recorded = time.time()
        deadline = last_recorded + SETTLE_TIMEOUT_S
        while (merged := self.merged()) < recorded and time.time() < deadline:
            time.sleep(1.0)
        settled = time.time()
        cpu = {"province_workers": round(sum(cpu_seconds(w.proc.pid) for w in self.workers) - cpu_before["workers"], 1),
               "district_hubs": round(sum(cpu_seconds(h.proc.pid) for h in self.district_hubs.values()), 1),
               "brokers": round(sum(cpu_seconds(b.proc.pid) for b in [*self.brokers.values(), self.province]), 1)}
        reports = []
        for process in self.kiosk_processes:
            process.send("stop")
            reports.append(process.result(120))
        committed = {(kiosk, int(seq)): at for report in reports for kiosk, seqs in report["committed"].items()
                     for seq, at in seqs.items()}
        cpu["kiosk_processes"] = round(sum(report["cpu_s"] for report in reports), 1)
        return {"go": go, "empty_db_bytes": empty, "recorded": recorded, "merged_when_settled": merged, "settle_s": round(settled - last_recorded, 1),
                "committed": committed, "cpu_s": cpu, "late_s": max(report["late_s"] for report in reports)}

    # -- what arrived -------------------------------------------------------------------------------------------------

    def province_rows(self) -> tuple[dict[tuple[str, int], float], dict]:
        """(kiosk, seq) -> the province's commit time (epoch seconds); and the duplicates and size figures."""
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT kiosk, seq, received_at FROM events").fetchall()
            doses = conn.execute("SELECT count(*), count(*) - count(DISTINCT event_id) FROM doses").fetchone()
            people = conn.execute("SELECT count(*) FROM people").fetchone()[0]
            tables = conn.execute(
                "SELECT relname, pg_total_relation_size(relid) FROM pg_statio_user_tables ORDER BY 2 DESC LIMIT 6").fetchall()
        merged = {(kiosk, seq): epoch(at) for kiosk, seq, at in rows}
        return merged, {"doses": doses[0], "duplicate_doses": doses[1], "people": people, "db_bytes": self.db_bytes(),
                        "largest_tables_bytes": dict(tables)}

    def district_counts(self) -> dict[str, int]:
        """Events merged by each district's own hub (SQLite)."""
        import sqlite3

        counts = {}
        for district in self.district_hubs:
            with sqlite3.connect(self.work / district / "hub.db") as conn:
                counts[district] = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return counts


def epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def catch_up(outage: Outage, plan: dict, committed: dict, merged: dict) -> float | None:
    """Seconds from the outage's end until the province held every event recorded before that end by the kiosks it
    cut off (None: some never arrived)."""
    districts = set(outage.targets) if outage.targets else set(plan)
    kiosks = {k for d in districts for kiosks in plan[d].values() for k in kiosks}
    behind = [key for key, at in committed.items() if key[0] in kiosks and at <= outage.ended_at]
    if any(key not in merged for key in behind):
        return None
    return round(max([merged[key] for key in behind], default=outage.ended_at) - outage.ended_at, 1)


def quiet(at: float, plan: list[Outage], catch_ups: dict[str, float | None], go: float) -> bool:
    """Whether a kiosk committed at ``at`` while nothing was down or catching up."""
    for outage in plan:
        start = go + outage.start
        end = (outage.ended_at or start) + (catch_ups.get(outage.what) or 0.0)
        if start <= at <= end:
            return False
    return True


def simulate(args, work: Path) -> dict:
    plan = layout(args)
    schedule = outages(args)
    province = Province(args, work, plan)
    try:
        day = province.run_day(schedule)
        merged, figures = province.province_rows()
        districts = province.district_counts()
        version = province.cluster.server_version()
    finally:
        province.close()
    committed = day.pop("committed")
    lost = [key for key in committed if key not in merged]
    unexpected = [key for key in merged if key not in committed]
    catch_ups = {outage.what: catch_up(outage, plan, committed, merged) for outage in schedule}
    latencies = [merged[key] - at for key, at in committed.items() if key in merged]
    calm = [merged[key] - at for key, at in committed.items() if key in merged and quiet(at, schedule, catch_ups, day["go"])]
    doses = figures["doses"]
    return {
        "bench": "province_sim", "postgresql": version,
        "shape": {"districts": args.districts, "sites": args.sites, "kiosks": args.kiosks, "province_workers": args.workers,
                  "district_hubs": bool(args.district_hubs), "rate_per_s": args.rate, "seconds": args.seconds,
                  "times_national_peak": round(args.rate / NATIONAL_PEAK_PER_S, 1)},
        "outages": [{"what": o.what, "at_s": o.start, "length_s": o.length, "targets": o.targets,
                     "catch_up_s": catch_ups[o.what]} for o in schedule],
        "events": {"recorded": day["recorded"], "merged_at_province": len(merged), "lost": len(lost),
                   "duplicated": figures["duplicate_doses"], "unexpected": len(unexpected),
                   "lost_ids": [f"{k}:{s}" for k, s in lost[:10]],
                   "district_hubs_merged": sum(districts.values()) if districts else None},
        "dose_to_province_commit_ms": {"all": percentiles(latencies), "quiet": percentiles(calm)},
        "settle_after_last_event_s": day["settle_s"], "recorder_late_s": day["late_s"],
        "db_bytes": figures["db_bytes"], "db_bytes_before_the_day": day["empty_db_bytes"],
        "db_bytes_per_million_doses": round((figures["db_bytes"] - day["empty_db_bytes"]) / doses * 1e6) if doses else None,
        "largest_tables_bytes": figures["largest_tables_bytes"], "people": figures["people"], "doses": doses,
        "cpu_s": day["cpu_s"],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="province-sim-"))
    work.chmod(0o755)  # the cluster's programs run as the postgres user when we are root (tests/postgres.py)
    try:
        report = simulate(args, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0 if report["events"]["lost"] == 0 and report["events"]["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
