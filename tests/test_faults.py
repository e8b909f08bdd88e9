"""The fault harness at its small counts: real Mosquitto, `hub run`, `kiosk publish` and generator processes.

Each scenario must end with nothing lost, duplicated or unexpected (python -m
faults --full runs the issue's counts; docs/faults.md). A failed run keeps its
databases and logs under the test's tmp_path and names them in the message.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import psycopg
import pytest

import wire
from faults import verify
from faults.__main__ import parser
from faults.procs import ROOT
from faults.rig import SITE, Rig
from faults.runs import SCENARIOS
from faults.scenarios import execute
from hub.store import Batch
from hub.store.open import is_url

from .hub_stores import database

SEED = 20261125


def explain(result) -> str:
    return json.dumps(result.to_json(), indent=1, ensure_ascii=False)


@pytest.mark.parametrize("name", [name for name in SCENARIOS if name not in ("garbage", "kiosk-kill")])
def test_ok__scenario_small_loses_nothing(tmp_path, name):
    result = execute(name, SCENARIOS[name], tmp_path / name, full=False, seed=SEED)
    assert result.ok, explain(result)
    assert (result.lost, result.duplicate, result.unexpected) == (0, 0, 0)
    assert result.acknowledged == result.merged > 0
    assert result.faults > 0 and result.converged


def test_ok__the_hub_killed_mid_merge_into_postgresql_loses_nothing(tmp_path):
    result = execute("hub-kill", SCENARIOS["hub-kill"], tmp_path / "hub-kill", full=False, seed=SEED, store="postgres")
    assert result.ok, explain(result)
    assert result.store == "postgres" and (tmp_path / "hub-kill").exists() is False  # an ok run removes its folder
    assert (result.lost, result.duplicate, result.unexpected) == (0, 0, 0)
    assert result.acknowledged == result.merged > 0 and result.faults > 0 and result.converged


def test_ok__garbage_is_quarantined_by_reason_and_never_merged(tmp_path):
    result = execute("garbage", SCENARIOS["garbage"], tmp_path / "garbage", full=False, seed=SEED)
    assert result.ok, explain(result)
    assert result.quarantine == {
        "bad_signature": 1, "bad_topic": 1, "not_enrolled": 1, "not_json": 4, "not_utf8": 1, "replayed_changed": 1,
        "schema": 3, "too_large": 1, "topic_mismatch": 1, "unknown_key": 2, "unknown_type": 1, "unsigned": 1,
        "unsupported_version": 1,
    }
    assert result.absorbed >= 1
    assert result.acknowledged == result.merged


def test_ok__every_scenario_and_option_is_documented():
    doc = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in SCENARIOS:
        assert f"`{name}`" in doc, f"scenario {name} is missing from docs/faults.md"
        assert f"`{name}`" in readme, f"scenario {name} is missing from the README's Fault runs"
    for action in parser()._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in doc, f"python -m faults {option} is missing from docs/faults.md"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    return database(request, tmp_path)


def merge_into(db, district_db) -> str:
    """Commit a district hub's merged events into the store under test (their digests as it recorded them: the
    signatures were checked there); return what verify reads, a SQLite path or a PostgreSQL URL."""
    with sqlite3.connect(district_db) as conn:
        rows = conn.execute("select kiosk, body, digest from events order by kiosk, seq").fetchall()
    conn.close()
    events = []
    for kiosk, body, digest in rows:
        message, text = wire.read(body.encode())
        events.append(wire.check_event(kiosk, message, text, digest))
    with db.open() as store:
        store.enroll("k-1", SITE, None, "2026-11-25T00:00:00Z")
        store.commit(Batch(events=events), "2026-11-25T00:00:00Z")
    return getattr(db, "url", None) or str(db.path)


def tamper(hub: str, statements: list[str]) -> None:
    """Change a hub's tables behind its back, in one transaction (a SQLite path or a PostgreSQL URL)."""
    conn = psycopg.connect(hub) if is_url(hub) else sqlite3.connect(hub)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_fail__the_count_sees_a_lost_a_changed_and_an_invented_event(tmp_path, db):
    """The verdict is not blind, on either hub store: a real stream merged, then the hub's tables tampered with
    behind its back (the same SQL on both engines)."""
    rig = Rig(tmp_path / "rig")
    try:
        kiosk = rig.add_kiosk("k-1")
        rig.start_all()
        rig.generate(kiosk, events=40)
        rig.wait_generators(30)
        assert rig.settle(30)[0]
        assert rig.tally().ok
    finally:
        rig.close()
    hub = merge_into(db, rig.hub_db)
    logs = [verify.read_kiosk(kiosk.id, kiosk.db)]
    merged = verify.tally(logs, hub)
    assert merged.ok and merged.merged == merged.acknowledged >= 40
    dose = db.row("select event_id from doses order by event_id limit 1")[0]
    tamper(hub, [
        "delete from events where event_id = 'k-1:3'",
        "update events set body = replace(body, '\"seq\":7', '\"seq\":7,\"x\":1') where event_id = 'k-1:7'",
        "insert into events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, received_at, digest) "
        "select 'k-1:999', kiosk, 999, type, boot, at, clock_synced, id_number, body, received_at, digest "
        "from events where event_id = 'k-1:8'",
        f"delete from doses where event_id = '{dose}'",
    ])
    tally = verify.tally(logs, hub)
    assert (tally.lost, tally.unexpected, tally.duplicate) == (2, 2, 0)
    assert tally.samples == {"lost": ["k-1:3"], "body_differs": ["k-1:7"], "unexpected": ["k-1:999"], "dose_without_record": [dose]}


def test_ok__python_m_faults_kiosk_kill_prints_json_and_exits_0(tmp_path):
    """kiosk-kill at its small count, through the command line."""
    done = subprocess.run(
        [sys.executable, "-m", "faults", "--scenario", "kiosk-kill", "--json", "--seed", str(SEED), "--folder", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    [result] = json.loads(done.stdout)
    assert result["scenario"] == "kiosk-kill" and result["ok"] is True
    assert {"acknowledged", "merged", "lost", "duplicate", "unexpected", "faults", "duration_s"} <= set(result)
    assert (result["lost"], result["duplicate"], result["unexpected"]) == (0, 0, 0)
    assert result["faults"] == 10 and result["acknowledged"] == result["merged"] > 0
