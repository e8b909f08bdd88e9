"""bench/latency.py: a tiny run against the real kiosk processes prints one report of the documented shape."""

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.payloads import parse_payload

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "latency.py"
PERCENTILES = {"p50", "p95", "p99", "max", "mean"}


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_latency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report() -> dict:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "5", "--warmup", "1", "--json-only"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_percentiles(figures: dict) -> None:
    assert set(figures) == PERCENTILES
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]


def assert_memory(figures: dict, processes: set[str]) -> None:
    assert set(figures) == processes | {"total", "outcomes_seen"}
    assert figures["outcomes_seen"] >= 1, "the replayed scanner never reached the screen"
    for name in processes:
        assert 0 < figures[name]["pss_mb"] <= figures[name]["rss_mb"]
    assert figures["total"]["rss_mb"] == pytest.approx(sum(figures[n]["rss_mb"] for n in processes), abs=0.2)


@pytest.mark.timeout(60)
def test_ok__a_tiny_run_times_every_check_in_through_the_screen(report):
    assert report["environment"]["cpus"] >= 1 and report["environment"]["python"]
    two = report["two_process"]
    assert (two["n"], two["lost"]) == (5, 0)
    assert_percentiles(two["latency_ms"])
    assert_percentiles(two["decoder_baseline_ms"])
    assert set(two["stages_ms"]) == {"decode", "check_in", "relay"}
    assert set(two["overhead"]) == {"p50_ratio", "p95_ratio", "p50_added_ms"}


@pytest.mark.timeout(60)
def test_ok__a_tiny_run_reports_memory_and_targets(report):
    assert_memory(report["memory_mb"], {"kiosk_web", "kiosk_scan"})
    assert_memory(report["all_in_one"]["memory_mb"], {"kiosk_run"})
    checks = report["targets"]["checks"]
    assert set(checks) == {"latency_p95_ms<=150", "memory_rss_total_mb<=150", "memory_pss_total_mb<=150"}
    assert all(isinstance(c["passed"], bool) and c["target"] == 150 for c in checks.values())
    assert report["targets"]["passed"] == all(c["passed"] for c in checks.values())


def test_ok__invented_people_hold_valid_cards_with_distinct_ids():
    people = load_bench().invent_people(300, random.Random(7))
    cards = [parse_payload(person.payload.encode()) for person in people]
    assert len({card.id_number for card in cards}) == 300
    assert all(card.warnings == () for card in cards)
    assert [card.given_name for card in cards] == [person.given_name for person in people]
    assert any(not person.payload.isascii() for person in people)
