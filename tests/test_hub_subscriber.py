"""`hub run` end to end: a real Mosquitto, a real `python -m hub run` process, raw paho kiosks; the tests that exercise the
store run on a SQLite file and on PostgreSQL (``hub_db``: --db takes either)."""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import sqlite3
import threading
import time
import uuid

import pytest

import wire
from hub.store import reports
from hub.store.open import open_store
from tests.hub_process import Client, HubProcess, check_in, event, gone, wait_until, worker_pid
from tests.keys import enroll, signer
from wire import signature

@pytest.fixture
def kiosk(broker):
    client = Client(broker, "kiosk-test")
    yield client
    client.close()


def stats(db) -> dict:
    with open_store(location(db)) as store:
        return store.stats()


def location(db) -> str:
    """What --db takes: a SQLite file's path, or a hub_db's location (a path or a PostgreSQL URL)."""
    return getattr(db, "location", str(db))


def merged_seqs(db, kiosk: str) -> list[int]:
    if hasattr(db, "rows"):
        return [seq for (seq,) in db.rows(f"SELECT seq FROM events WHERE kiosk = '{kiosk}' ORDER BY seq")]
    with sqlite3.connect(db) as conn:
        return [seq for (seq,) in conn.execute("SELECT seq FROM events WHERE kiosk = ? ORDER BY seq", (kiosk,))]


def reasons(db) -> list[str]:
    return sorted(row["reason"] for row in reports.quarantine(location(db), limit=1000))


def test_ok__events_are_merged_and_the_retained_ack_arrives(broker, hub_db, watcher, kiosk):
    with HubProcess(broker.url, hub_db.location):
        for seq in range(1, 21):
            kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
        ack = watcher.wait_watermark("k1", 20)
        assert (ack.watermark, ack.highest, ack.gaps) == (20, 20, ())
        late = Client(broker, "late", subscribe=(wire.topic("k1", wire.ACK),)).wait_subscribed()
        try:
            late.wait_watermark("k1", 20)  # retained: a kiosk that connects later gets it at once
        finally:
            late.close()
    assert merged_seqs(hub_db, "k1") == list(range(1, 21))


def test_ok__a_gap_is_reported_in_the_ack_until_filled(broker, db, watcher, kiosk):
    with HubProcess(broker.url, db):
        for seq in (1, 2, 5, 6):
            kiosk.publish(wire.topic("k2", wire.EVENT), event("k2", seq))
        wait_until(lambda: (watcher.last_ack("k2") or wire.Ack("k2", 0, 0, (), "")).highest == 6, what="highest 6")
        assert watcher.last_ack("k2").watermark == 2 and watcher.last_ack("k2").gaps == ((3, 4),)
        for seq in (4, 3):
            kiosk.publish(wire.topic("k2", wire.EVENT), event("k2", seq))
        assert watcher.wait_watermark("k2", 6).gaps == ()


def unsigned(body: bytes) -> dict:
    return json.loads(signature.unsigned(body))


def signed(kiosk: str, message: dict) -> bytes:
    """A message as kiosk's own key signs it, whatever it says."""
    return signer(kiosk).sign(wire.canonical(message))


BAD_MESSAGES = [
    ("k1", wire.EVENT, b"garbage", "not_json"),
    ("k1", wire.EVENT, b"\xff\xfe{}", "not_utf8"),
    ("k1", wire.EVENT, b"[" + b" " * (wire.MAX_MESSAGE_BYTES + 1) + b"]", "too_large"),
    ("k1", wire.EVENT, signature.unsigned(event("k1", 9)), "unsigned"),
    ("k1", wire.EVENT, event("k1", 9).replace(b"L1", b"L2"), "bad_signature"),
    ("k1", wire.EVENT, signature.Signer(signature.generate_key()).sign(signature.unsigned(event("k1", 9))), "unknown_key"),
    ("k1", wire.EVENT, event("k2", 9), "unknown_key"),  # k2's own event, on k1's topic
    # signed by k1 itself: settled as refused, the watermark may pass them
    ("k1", wire.EVENT, signed("k1", {**unsigned(event("k1", 9)), "v": 2}), "unsupported_version"),
    ("k1", wire.EVENT, signed("k1", {**unsigned(event("k1", 10)), "type": "DoseInvented"}), "unknown_type"),
    ("k1", wire.EVENT, signed("k1", {k: v for k, v in unsigned(check_in("k1", 11)).items() if k != "boot"}), "schema"),
    ("k1", wire.EVENT, signed("k1", unsigned(check_in("k2", 12))), "topic_mismatch"),
    ("k9", wire.EVENT, check_in("k9", 1), "not_enrolled"),
    ("k1", wire.STATUS, b"not a status", "not_json"),
]


def test_fail__bad_messages_are_quarantined_and_the_hub_keeps_merging(broker, hub_db, watcher, kiosk):
    with HubProcess(broker.url, hub_db.location, log_level="DEBUG") as hub:
        kiosk.publish(wire.topic("k1", wire.EVENT), check_in("k1", 1))
        watcher.wait_watermark("k1", 1)
        for name, kind, body, _ in BAD_MESSAGES:
            kiosk.publish(wire.topic(name, kind), body)
        kiosk.publish("vax/k/NOT-A-KIOSK/event", event("k1", 2))  # the + filter matches it; no kiosk id can
        kiosk.publish(wire.topic("k1", wire.STATUS), b"", retain=True)  # clearing a retained status: ignored
        kiosk.publish(wire.topic("k1", wire.EVENT), check_in("k1", 2))
        watcher.wait_watermark("k1", 2)
        expected = sorted([reason for *_, reason in BAD_MESSAGES] + ["bad_topic"])
        wait_until(lambda: reasons(hub_db) == expected, what=f"quarantine {expected}, have {reasons(hub_db)}")
        assert hub.proc.poll() is None
    figures = stats(hub_db)
    assert figures["events"] == 2 and figures["quarantined"]["total"] == len(expected)
    assert all(row["kiosk"] == "k9" for row in reports.quarantine(hub_db.location, reason="not_enrolled"))
    for secret in ("001190012345", "Nguyễn", "1990-05-17", "garbage"):
        assert secret not in hub.log, f"{secret!r} reached the hub's log"
    assert "quarantined 1 message from kiosk k9: not_enrolled" in hub.log


def test_ok__duplicates_are_absorbed_and_a_changed_replay_is_quarantined(broker, hub_db, watcher, kiosk):
    with HubProcess(broker.url, hub_db.location):
        for _ in range(3):
            for seq in range(1, 6):
                kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
        kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 3, lot="OTHER"))
        watcher.wait_watermark("k1", 5)
        wait_until(lambda: reasons(hub_db) == ["replayed_changed"], what="the changed replay in the quarantine")
    figures = stats(hub_db)
    assert figures["events"] == 5 and figures["duplicates"] == 10
    assert merged_seqs(hub_db, "k1") == [1, 2, 3, 4, 5]


def test_ok__hub_status_online_then_stopped_then_offline_after_kill(broker, db, watcher):
    hub = HubProcess(broker.url, db)
    wait_until(lambda: watcher.hub_states()[-1:] == ["online"], what="online")
    worker = worker_pid(hub)
    assert hub.terminate() == 0
    assert gone(worker)  # joined before the hub exited
    wait_until(lambda: watcher.hub_states()[-1:] == ["stopped"], what="stopped on SIGTERM")
    assert "offline" not in watcher.hub_states()  # a clean exit does not leave the will
    hub = HubProcess(broker.url, db)
    wait_until(lambda: watcher.hub_states()[-1:] == ["online"], what="online again")
    worker = worker_pid(hub)
    hub.kill()
    wait_until(lambda: gone(worker), timeout=5, what="the merge worker dying with the hub")
    wait_until(lambda: watcher.hub_states()[-1:] == ["offline"], what="the will after kill -9")
    assert watcher.hub_states() == ["online", "stopped", "online", "offline"]


def test_ok__a_status_publish_the_lost_connection_ended_counts_as_settled_at_shutdown():
    """Ctrl-C on `make demo` stops the broker and the hub together. The hub's last status then cannot be delivered, and
    paho's is_published raises for it: the stop must go on (the broker's will says offline), not end in a traceback
    (it did, in `make demo`)."""
    import paho.mqtt.client as mqtt

    from hub.subscriber import settled

    lost = mqtt.MQTTMessageInfo(1)
    lost.rc = mqtt.MQTT_ERR_CONN_LOST
    with pytest.raises(RuntimeError):
        lost.is_published()
    assert settled(lost)
    waiting = mqtt.MQTTMessageInfo(2)
    assert not settled(waiting)
    waiting._set_as_published()
    assert settled(waiting)


def test_fail__a_dead_merge_worker_stops_the_hub_non_zero(broker, db, watcher, kiosk):
    hub = HubProcess(broker.url, db)
    try:
        kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 1))
        watcher.wait_watermark("k1", 1)
        os.kill(worker_pid(hub), 9)
        assert hub.proc.wait(10) != 0  # for systemd to restart it
    finally:
        hub.kill()
    assert "the merge worker" in hub.log and "exited with -9" in hub.log
    wait_until(lambda: watcher.hub_states()[-1:] == ["offline"], what="the will: no clean 'stopped'")
    with HubProcess(broker.url, db):  # the database is free at once
        kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 2))
        watcher.wait_watermark("k1", 2)


def test_ok__kill_9_mid_stream_then_restart_merges_every_event_once(broker, hub_db, watcher, kiosk):
    total = 1500
    hub = HubProcess(broker.url, hub_db.location)
    publisher = threading.Thread(
        target=lambda: [kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq)) for seq in range(1, total + 1)]
    )
    publisher.start()
    wait_until(lambda: (watcher.last_ack("k1") or wire.Ack("k1", 0, 0, (), "")).watermark >= 100, what="merging under way")
    hub.kill()
    killed_at = watcher.last_ack("k1").watermark
    publisher.join(30)
    with HubProcess(broker.url, hub_db.location):
        watcher.wait_watermark("k1", total, timeout=30)
    assert killed_at < total, "the hub was killed after the stream had ended"
    assert merged_seqs(hub_db, "k1") == list(range(1, total + 1))  # all merged, none twice


def test_ok__acks_are_republished_after_the_broker_lost_them(broker, hub_db, kiosk):
    with HubProcess(broker.url, hub_db.location) as hub:
        for seq in range(1, 4):
            kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
        wait_until(lambda: merged_seqs(hub_db, "k1") == [1, 2, 3], what="3 merged")
        broker.kill()  # before any autosave: the retained acks are gone
        broker.start()
        fresh = Client(broker, "fresh", subscribe=(wire.topic("k1", wire.ACK), wire.topic("k2", wire.ACK))).wait_subscribed()
        try:
            assert fresh.wait_watermark("k1", 3, timeout=15).highest == 3  # the hub reconnected and re-published them
            wait_until(lambda: fresh.last_ack("k2") is not None, what="k2's ack (watermark 0)")
        finally:
            fresh.close()
        assert hub.proc.poll() is None and "disconnected from the broker" in hub.log


def test_fail__a_failing_commit_acknowledges_nothing_and_is_retried(broker, db, watcher, kiosk):
    with HubProcess(broker.url, db) as hub:
        kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 1))
        watcher.wait_watermark("k1", 1)
        worker = worker_pid(hub)  # the merge worker writes the database
        soft, hard = resource.prlimit(worker, resource.RLIMIT_FSIZE)
        resource.prlimit(worker, resource.RLIMIT_FSIZE, (1, hard))  # every write to the database now fails
        try:
            for seq in (2, 3):
                kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
            # seq 2 and 3 make one batch, or two when the batch timer fires between them (a loaded machine)
            wait_until(lambda: re.search(r"commit of [12] messages failed", hub.log), what="the failed commit in the log")
            assert watcher.last_ack("k1").watermark == 1 and hub.proc.poll() is None and not gone(worker)
        finally:
            resource.prlimit(worker, resource.RLIMIT_FSIZE, (soft, hard))
        watcher.wait_watermark("k1", 3)  # the retry commits the same batch
    assert merged_seqs(db, "k1") == [1, 2, 3]


def test_ok__a_kiosk_enrolled_while_the_hub_runs_is_merged(broker, hub_db, watcher, kiosk):
    with HubProcess(broker.url, hub_db.location):
        kiosk.publish(wire.topic("k3", wire.EVENT), event("k3", 1))
        wait_until(lambda: reasons(hub_db) == ["not_enrolled"], what="k3 quarantined")
        store = hub_db.open()
        enroll(store, "k3", "site-b")
        store.close()
        wait_until(lambda: resend("k3", 1, kiosk, watcher), timeout=10, what="k3 merged once enrolled")
    assert "not_enrolled" in reasons(hub_db)  # what came before the enrollment stays in the quarantine


def resend(name: str, seq: int, kiosk: Client, watcher: Client) -> bool:
    """What a kiosk does about an event without an ack: send it again (the hub re-reads enrollments every 2 s)."""
    if (watcher.last_ack(name) or wire.Ack(name, 0, 0, (), "")).watermark >= seq:
        return True
    kiosk.publish(wire.topic(name, wire.EVENT), event(name, seq))
    time.sleep(0.25)
    return False


def test_fail__a_refused_connection_is_logged_and_retried(tmp_path, db):
    from tests.mosquitto import Broker

    with Broker(tmp_path / "secure", passwords={"hub": "right"}) as secure:
        hub = HubProcess(secure.url, db, "--password", "wrong", wait=False)
        try:
            wait_until(lambda: hub.log.count("the broker refused the connection") >= 2, what="two refused attempts")
            assert hub.proc.poll() is None and not hub.stdout
        finally:
            assert hub.terminate() == 0
        hub = HubProcess(secure.url, db, env={"HUB_PASSWORD": "right"})
        assert hub.terminate() == 0


def test_ok__systemd_hears_ready_watchdog_and_stopping(broker, db):
    name = f"hub-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(10)
        hub = HubProcess(broker.url, db, env={"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
        heard = [listener.recv(4096).decode() for _ in range(3)]  # the watchdog pings from the start, healthy while connecting
        assert [m for m in heard if m.startswith("READY=1\nSTATUS=merging from mqtt://")] and "WATCHDOG=1" in heard
        assert hub.terminate() == 0
        while (message := listener.recv(4096).decode()) == "WATCHDOG=1":
            pass
        assert message == "STOPPING=1"
