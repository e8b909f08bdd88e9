#!/usr/bin/env python3
"""Benchmark the district hub (merge throughput, 50-kiosk catch-up, kiosk-to-hub latency) against bare paho; prints JSON.

Usage: python bench/hub.py [--events 20000] [--repeats 3] [--seconds 30] [--only throughput,catch_up,latency]
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for path in (REPO, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import hub_latency  # noqa: E402  (after the path fix, so the bench runs from a checkout)
import hub_scenarios as scenarios  # noqa: E402

SEED = 20261125
THROUGHPUT_TARGET = 0.8
"""Hub events/s over raw events/s, at least."""
CATCH_UP_TARGET = 1.3
"""Hub catch-up time over raw catch-up time, at most."""
SCENARIOS = ("throughput", "catch_up", "latency")


def parse_args(argv=None) -> argparse.Namespace:
    """Return the command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000, help="throughput: events per run (default: %(default)s)")
    ap.add_argument("--kiosks", type=int, default=4, help="throughput: publishing kiosks, one client each (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each throughput and catch-up measurement (default: %(default)s)")
    ap.add_argument("--catch-up-kiosks", type=int, default=50, help="catch-up: kiosks reconnecting at once (default: %(default)s)")
    ap.add_argument("--catch-up-events", type=int, default=2000, help="catch-up: backlog per kiosk (default: %(default)s)")
    ap.add_argument("--processes", type=int, default=5, help="catch-up: processes the kiosks' publishers share (default: %(default)s)")
    ap.add_argument("--publisher", choices=("kiosk", "raw"), default="kiosk",
                    help="catch-up: the real kiosk publishers (default) or bare paho publishers into the hub")
    ap.add_argument("--rate", type=float, default=200.0, help="latency: events per second (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=30.0, help="latency: how long to record events (default: %(default)s)")
    ap.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios to run (default: all)")
    ap.add_argument("--seed", type=int, default=SEED, help="seed for the invented people")
    ap.add_argument("--keep", action="store_true", help="keep the working folder (databases, broker and process logs)")
    ap.add_argument("--json-only", action="store_true", help="no progress or summary on stderr")
    args = ap.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    return args


def median(values: list[float]) -> float | None:
    """The median of the values that are not None (None when there are none)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to three places, None when either is missing."""
    return round(a / b, 3) if a and b else None


def throughput(args, work: Path, say) -> dict:
    """Hub and raw merge throughput, alternating (raw first on even runs) so drifting load hits both."""
    runs = {"raw": [], "hub": []}
    for n in range(args.repeats):
        for mode in (("raw", "hub") if n % 2 == 0 else ("hub", "raw")):
            run = scenarios.throughput_once(mode, args, work / f"throughput-{mode}-{n}")
            say(f"throughput {mode} run {n + 1}: {run.get('events_per_s')} events/s")
            runs[mode].append(run)
    raw = median([r.get("events_per_s") for r in runs["raw"]])
    hub = median([r.get("events_per_s") for r in runs["hub"]])
    return {"events": runs["raw"][0]["events"], "kiosks": args.kiosks, "runs": runs,
            "median_events_per_s": {"raw": raw, "hub": hub}, "ratio_hub_to_raw": ratio(hub, raw)}


def catch_up(args, work: Path, say) -> dict:
    """Time for a backlog of catch-up-kiosks x catch-up-events to be merged, hub over raw.

    With the real kiosk publishers, a third measurement (``hub_raw_publishers``)
    drives the hub with bare publishers, to split the hub's share from theirs.
    """
    modes = ["raw", "hub"] + (["hub_raw_publishers"] if args.publisher == "kiosk" else [])
    runs = {mode: [] for mode in modes}
    outboxes = scenarios.fill_outboxes(args, work / "outboxes", say) if args.publisher == "kiosk" else None
    for n in range(args.repeats):
        for mode in (modes if n % 2 == 0 else modes[::-1]):
            run = scenarios.catch_up_once(mode, args, work / f"catch-up-{mode}-{n}", outboxes)
            say(f"catch-up {mode} run {n + 1}: {run.get('seconds')} s")
            runs[mode].append(run)
    medians = {mode: median([r.get("seconds") for r in runs[mode]]) for mode in modes}
    figures = {"kiosks": args.catch_up_kiosks, "events_per_kiosk": args.catch_up_events, "publisher": args.publisher,
               "processes": args.processes, "runs": runs, "median_seconds": medians,
               "ratio_hub_to_raw": ratio(medians["hub"], medians["raw"])}
    if "hub_raw_publishers" in medians:
        figures["ratio_hub_raw_publishers_to_raw"] = ratio(medians["hub_raw_publishers"], medians["raw"])
    return figures


def latency(args, work: Path, say) -> dict:
    """Kiosk commit -> hub commit at a steady rate, and the bare publish -> receive at the same rate."""
    raw = hub_latency.latency_raw(args, work / "latency-raw")
    say(f"latency raw: p50 {raw['latency_ms']['p50']} ms")
    hub = hub_latency.latency_hub(args, work / "latency-hub")
    say(f"latency hub: p50 {hub.get('latency_ms', {}).get('p50')} ms")
    return {"rate_per_s": args.rate, "seconds": args.seconds, "publisher": "kiosk", "raw": raw, "hub": hub}


def targets(report: dict) -> dict:
    """Return the figures against the issue's targets (only for the scenarios that ran)."""
    checks = {}
    if "throughput" in report:
        checks["throughput_ratio>=0.8"] = check(report["throughput"]["ratio_hub_to_raw"], THROUGHPUT_TARGET, above=True)
    if "catch_up" in report:
        checks["catch_up_ratio<=1.3"] = check(report["catch_up"]["ratio_hub_to_raw"], CATCH_UP_TARGET, above=False)
    return {"passed": all(c["passed"] for c in checks.values()), "checks": checks}


def check(value: float | None, target: float, *, above: bool) -> dict:
    """One target check: the value, the target and whether it passed."""
    passed = value is not None and (value >= target if above else value <= target)
    return {"value": value, "target": target, "passed": passed}


def environment(args) -> dict:
    """Return what the figures depend on: options, versions, machine."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    mosquitto = scenarios.mosquitto_version()
    return {"seed": args.seed, "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "cpu_model": cpu.group(1) if cpu else None, "kernel": platform.release(), "mosquitto": mosquitto,
            "paho_mqtt": version("paho-mqtt"), "sqlite_utils": version("sqlite-utils"), "sqlite": sqlite3.sqlite_version,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "code_at_start": code_state()}


def code_state() -> dict:
    """The checkout the figures come from: commit and files changed since (other work in the same folder moves it)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "--short=12", "HEAD").strip() or None, "changed": changed[:20]}


def main(argv=None) -> int:
    """Run the chosen scenarios and print the report; 0 whether or not a target is met."""
    args = parse_args(argv)
    started = time.monotonic()

    def say(text: str) -> None:
        if not args.json_only:
            print(f"[{time.monotonic() - started:7.1f}s] {text}", file=sys.stderr, flush=True)

    (HERE / ".cache").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hub-", dir=HERE / ".cache"))
    report = {"environment": environment(args)}
    try:
        for name, run in (("throughput", throughput), ("catch_up", catch_up), ("latency", latency)):
            if name in args.only:
                report[name] = run(args, work, say)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept {work}")
    report["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["environment"]["code_at_end"] = code_state()
    report["targets"] = targets(report)
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    for name, c in report["targets"]["checks"].items():
        say(f"{name}: {c['value']} -> {'pass' if c['passed'] else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
