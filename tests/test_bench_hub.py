"""bench/hub.py: a tiny run against a real Mosquitto, the real hub and the real kiosk publisher prints one report of the documented shape."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import wire

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "hub.py"
TINY = ["--events", "300", "--kiosks", "2", "--repeats", "1", "--catch-up-kiosks", "3", "--catch-up-events", "40",
        "--processes", "2", "--rate", "50", "--seconds", "1.2", "--json-only"]


@pytest.fixture(scope="module")
def report() -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT), *TINY], cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def events():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import hub_events
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return hub_events


def assert_percentiles(figures: dict) -> None:
    assert set(figures) == {"p50", "p95", "p99", "max", "mean"}
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]


@pytest.mark.timeout(110)
def test_ok__throughput_merges_every_event_and_compares_with_raw(report):
    figures = report["throughput"]
    assert figures["events"] == 300
    assert len(figures["runs"]["raw"]) == len(figures["runs"]["hub"]) == 1
    assert figures["runs"]["raw"][0]["received"] == 300
    hub = figures["runs"]["hub"][0]
    assert hub["merged"]["events"] == 300 and hub["merged"]["duplicates"] == 0 and hub["merged"]["quarantined"] == 0
    assert hub["merged"]["people"] == 150 and hub["merged"]["doses"] == 150 and hub["merged"]["conflicts"] == 0
    assert figures["median_events_per_s"]["raw"] > 0 and figures["median_events_per_s"]["hub"] > 0
    assert figures["ratio_hub_to_raw"] == pytest.approx(
        figures["median_events_per_s"]["hub"] / figures["median_events_per_s"]["raw"], rel=0.01)


@pytest.mark.timeout(110)
def test_ok__catch_up_times_both_sides_with_every_event_merged(report):
    figures = report["catch_up"]
    assert (figures["kiosks"], figures["events_per_kiosk"], figures["publisher"]) == (3, 40, "kiosk")
    hub = figures["runs"]["hub"][0]
    assert hub["merged"]["events"] == 120 and hub["merged"]["duplicates"] >= 0
    assert figures["runs"]["raw"][0]["received"] == 120
    assert figures["median_seconds"]["raw"] > 0 and figures["median_seconds"]["hub"] > 0


@pytest.mark.timeout(110)
def test_ok__latency_reports_percentiles_for_hub_and_raw(report):
    figures = report["latency"]
    assert figures["raw"]["lost"] == 0 and figures["hub"]["lost"] == 0
    assert_percentiles(figures["raw"]["latency_ms"])
    assert_percentiles(figures["hub"]["latency_ms"])
    assert_percentiles(figures["hub"]["to_ack_ms"])
    assert report["environment"]["code_at_start"]["commit"]
    checks = report["targets"]["checks"]
    assert set(checks) == {"throughput_ratio>=0.8", "catch_up_ratio<=1.3"}
    assert report["targets"]["passed"] == all(c["passed"] for c in checks.values())


def test_ok__invented_events_pass_the_wire_contract_half_check_ins_half_doses(events):
    kiosks = events.kiosk_ids(3)
    bodies = {kiosk: events.wire_bodies(kiosk, index, 40, seed=7) for index, kiosk in enumerate(kiosks)}
    parsed = [wire.parse_event(wire.topic(kiosk, wire.EVENT), body) for kiosk in kiosks for body in bodies[kiosk]]
    assert [e.seq for e in parsed if e.kiosk == kiosks[0]] == list(range(1, 41))
    assert sum(e.type == wire.CHECK_IN_EVENT for e in parsed) == sum(e.type == wire.DOSE_EVENT for e in parsed) == 60
    assert len({e.payload["id_number"] for e in parsed}) == 60
    assert events.wire_bodies(kiosks[0], 0, 40, seed=7) == bodies[kiosks[0]]
