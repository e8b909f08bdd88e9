"""One message must never stop the hub: poison messages against a real `hub run`, a real Mosquitto and `mosquitto_pub`.

Each test sends what issue 10 reproduced by hand, with the real `mosquitto_pub`
(MQTT v5, QoS 1), between valid events of the same kiosk: the valid events must
merge, the poison must land in the quarantine under a stable reason, and the
hub must keep running (and not be handed the same poison again after a restart).
"""

from __future__ import annotations

import json
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid

import wire
from hub.store import reports
from tests.hub_process import ROOT, Client, HubProcess, event, wait_until, worker_pid
from tests.keys import signer

AT = "2026-03-02T01:00:00Z"


def mosquitto_pub(broker, topic: str, body: bytes, folder, *, retain: bool = False) -> None:
    """Publish one message with the real mosquitto_pub (MQTT v5, QoS 1), its bytes read from a file as they are."""
    path = folder / "message.bin"
    path.write_bytes(body)
    command = [shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
               "-V", "mqttv5", "-q", "1", "-t", topic, "-f", str(path), *(["-r"] if retain else [])]
    subprocess.run(command, check=True, timeout=15, capture_output=True)


def huge_seq_event(kiosk: str, seq: int, digits: int = 5000) -> bytes:
    """A valid event whose `seq` is an integer of ``digits`` digits (Python's json refuses more than 4300)."""
    return event(kiosk, seq).replace(f'"seq":{seq}'.encode(), f'"seq":{"9" * digits}'.encode())


def reasons(db) -> list[str]:
    return sorted(row["reason"] for row in reports.quarantine(db, limit=1000))


def merged_seqs(db, kiosk: str) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [seq for (seq,) in conn.execute("SELECT seq FROM events WHERE kiosk = ? ORDER BY seq", (kiosk,))]


def test_fail__an_integer_of_5000_digits_is_quarantined_and_the_hub_keeps_merging(broker, db, watcher, tmp_path):
    with HubProcess(broker.url, db) as hub:
        mosquitto_pub(broker, wire.topic("k1", wire.EVENT), event("k1", 1), tmp_path)
        mosquitto_pub(broker, wire.topic("k1", wire.EVENT), huge_seq_event("k1", 2), tmp_path)
        mosquitto_pub(broker, wire.topic("k1", wire.EVENT), event("k1", 2), tmp_path)
        watcher.wait_watermark("k1", 2)
        wait_until(lambda: reasons(db) == ["not_json"], what=f"the huge integer quarantined, have {reasons(db)}")
        assert hub.proc.poll() is None, hub.log
    assert hub.proc.returncode == 0, "a clean stop"
    with HubProcess(broker.url, db) as hub:  # the poison was acknowledged: the broker does not deliver it again
        mosquitto_pub(broker, wire.topic("k1", wire.EVENT), event("k1", 3), tmp_path)
        watcher.wait_watermark("k1", 3)
        assert hub.proc.poll() is None
    assert reasons(db) == ["not_json"] and merged_seqs(db, "k1") == [1, 2, 3]


def test_fail__a_status_with_an_outbox_of_10_to_the_30_does_not_stop_the_merging(broker, db, watcher, tmp_path):
    status = json.loads(wire.kiosk_status("k2", "online", boot="b", version="0.1.0", at=AT, clock_synced=True, outbox=1))
    poison = json.dumps({**status, "outbox": 10**30}).encode()
    with HubProcess(broker.url, db) as hub:
        mosquitto_pub(broker, wire.topic("k2", wire.STATUS), poison, tmp_path, retain=True)
        for seq in (1, 2, 3):
            mosquitto_pub(broker, wire.topic("k1", wire.EVENT), event("k1", seq), tmp_path)
        watcher.wait_watermark("k1", 3)
        wait_until(lambda: reasons(db) == ["schema"], what=f"the status quarantined, have {reasons(db)}")
        assert hub.proc.poll() is None and "OverflowError" not in hub.log


def poison_trigger(db) -> None:
    """A real SQLite trigger that refuses one event's row: a message the merge cannot commit, whatever the code's bugs."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.boot = 'poison' "
                     "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END")


def test_fail__a_batch_that_one_message_makes_fail_is_split_and_the_rest_merged(broker, db, watcher, tmp_path):
    poison_trigger(db)
    bodies = [event("k1", seq) for seq in range(1, 7)]
    bodies[2] = signer("k1").sign(wire.envelope("k1", 3, "LotOpened", boot="poison", at=AT, clock_synced=True,
                                                payload={"lot": {"product": "Vaxzevria", "lot_number": "L1"}}))
    kiosk = Client(broker, "kiosk-k1")
    try:
        with HubProcess(broker.url, db, "--batch-ms", "200") as hub:  # the six in one batch, most likely
            for body in bodies:
                kiosk.publish(wire.topic("k1", wire.EVENT), body)
            wait_until(lambda: (ack := watcher.last_ack("k1")) is not None and ack.highest == 6,
                       what=f"k1's highest 6 (last ack: {watcher.last_ack('k1')})")
            ack = watcher.last_ack("k1")
            assert (ack.watermark, ack.gaps) == (2, ((3, 3),))
            wait_until(lambda: reasons(db) == ["unmergeable"], what=f"the poisoned event quarantined, have {reasons(db)}")
            assert hub.proc.poll() is None
    finally:
        kiosk.close()
    assert merged_seqs(db, "k1") == [1, 2, 4, 5, 6]
    [row] = reports.quarantine(db)
    assert row["kiosk"] == "k1" and "IntegrityError" in row["detail"]


def hub_stats(db) -> dict:
    """`hub stats --json`, run as the operator runs it: another process reading the database."""
    done = subprocess.run([sys.executable, "-m", "hub", "stats", "--db", str(db), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


def test_fail__a_commit_that_keeps_failing_is_a_stall_in_the_log_hub_stats_and_the_watchdog(broker, db, watcher):
    name = f"hub-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + name)
        systemd.settimeout(10)
        env = {"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"}
        kiosk = Client(broker, "kiosk-k1")
        with HubProcess(broker.url, db, "--stall-seconds", "1", env=env) as hub:
            kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 1))
            watcher.wait_watermark("k1", 1)
            worker = worker_pid(hub)
            soft, hard = resource.prlimit(worker, resource.RLIMIT_FSIZE)
            resource.prlimit(worker, resource.RLIMIT_FSIZE, (1, hard))  # the worker's every write now fails: disk full
            try:
                for seq in (2, 3):
                    kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
                wait_until(lambda: "merging stalled since" in hub.log, what="the stall in the log")
                wait_until(lambda: "unhealthy: withholding watchdog pings" in hub.log, what="the watchdog withheld")
                merging = wait_until(lambda: (m := hub_stats(db)["merging"])["state"] == "stalled" and m, 30, "hub stats")
                assert merging["waiting"] == 2 and merging["last_error"].startswith("StoreError: "), merging
                assert merging["summary"].startswith(f"merging stalled since {merging['stalled_since']}: 2 messages waiting")
                assert hub.proc.poll() is None and watcher.last_ack("k1").watermark == 1
            finally:
                resource.prlimit(worker, resource.RLIMIT_FSIZE, (soft, hard))
            watcher.wait_watermark("k1", 3, timeout=45)  # the next retry (backoff: at most 15 s) commits
            wait_until(lambda: "merging resumed" in hub.log and "healthy again" in hub.log, what="resumed and healthy")
            wait_until(lambda: hub_stats(db)["merging"]["state"] == "merging", 30, "hub stats: merging again")
            while systemd.recv(4096) != b"WATCHDOG=1":  # pings again (the socket's timeout bounds the wait)
                pass
        kiosk.close()
    assert hub.proc.returncode == 0 and hub_stats(db)["merging"]["state"] == "stopped"
    assert "001190012345" not in hub.log
