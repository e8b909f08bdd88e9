"""The kiosk publisher against a real Mosquitto: order, marks, refusals, window, reconnects, gaps, re-sends, status, crashes.

The hub here is tests/ack_hub.py, a raw paho client that speaks the wire
protocol (the real hub is tested in its own modules). The publisher runs on a
thread of the test process where the test needs to look inside, and as a real
`python -m kiosk publish` process where signals and crashes are the point.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import daemon
import wire
from kiosk.config import build
from kiosk.notices import Sender, socket_path
from kiosk.payloads import parse_payload
from kiosk.queue import events
from kiosk.queue.checkin import check_in
from kiosk.queue.store import Store
from wire import signature

from kiosk.errors import ConfigError
from kiosk.uplink.link import check_settings

from .ack_hub import AckHub, wait_for
from .conftest import HUNG, LAN, Ticker
from .keys import key_file, signer
from .mosquitto import Broker, disconnect
from .pki import enrolled, make_certificates, tls_broker
from .uplink_kiosk import publishing
from .web_helpers import board_alerts, sign_in

ROOT = Path(__file__).resolve().parent.parent
KIOSK = "kiosk-test"
PERSONAL = ("001190012345", "036058001234", "Nguyễn", "Lan", "Trần", "Hùng", "15031990", "1990-03-15", "Lê Lợi")
FAST = {"keepalive_seconds": 5, "status_seconds": 0.5, "resend_seconds": 30.0, "window": 8}


@pytest.fixture
def config(tmp_path):
    """The kiosk `kiosk-test` (the id the `site` fixture records events under), with short hub timings and its key."""
    hub = {**FAST, "key_file": str(key_file(tmp_path, KIOSK))}
    return build({"kiosk": {"id": KIOSK, "db": str(tmp_path / "kiosk.db")}, "feedback": {"pin_factory": "mock"}, "hub": hub})


def add_events(store: Store, count: int, ticker: Ticker | None = None) -> None:
    """``count`` schema-valid events (a person called), written as the use cases write them."""
    at = (ticker or Ticker()).now()
    with store.write() as db:
        for n in range(count):
            payload = {"ticket": {"day": "2026-11-25", "number": n + 1}, "id_number": "001190012345"}
            events.record(db, KIOSK, "PersonCalled", at, payload)


def marks(store: Store) -> dict[str, int]:
    """How many outbox rows there are, published, and acknowledged."""
    total, published, acked = store.db.execute(
        "select count(*), count(published_at), count(acked_at) from outbox"
    ).fetchone()
    return {"total": total, "published": published, "acked": acked}


def uplink(store: Store) -> dict:
    return store.db["uplink"].get(1)


def all_acked(store: Store) -> bool:
    m = marks(store)
    return m["total"] > 0 and m["acked"] == m["published"] == m["total"]


@contextmanager
def hub_at(broker: Broker, **options):
    hub = AckHub(broker.port, KIOSK, **options)
    try:
        yield hub
    finally:
        hub.close()


# --- the broker's address -------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("mqtt://127.0.0.1:1884", ("127.0.0.1", 1884, False)),
    ("mqtts://hub.example.vn:8883", ("hub.example.vn", 8883, True)),
    ("mqtts://hub.example.vn", ("hub.example.vn", 8883, True)),
    ("mqtt://hub", ("hub", 1883, False)),
    (" mqtt://[::1]:1883/ ", ("::1", 1883, False)),
])
def test_ok__parse_broker(url, expected):
    from kiosk.uplink.link import parse_broker

    broker = parse_broker(url)
    assert (broker.host, broker.port, broker.tls) == expected


@pytest.mark.parametrize("url, says", [
    ("http://hub:1883", "expected mqtt://"),
    ("hub:1883", "expected mqtt://"),
    ("mqtt://", "expected mqtt://"),
    ("mqtt://kiosk:secret@hub:1883", "hub.username and hub.password"),
    ("mqtt://hub:1883/vax", "no path"),
    ("mqtt://hub:99999", "hub.broker"),
])
def test_fail__parse_broker(url, says):
    from kiosk.errors import ConfigError
    from kiosk.uplink.link import parse_broker

    with pytest.raises(ConfigError, match="hub.broker") as raised:
        parse_broker(url)
    assert says in str(raised.value) and "secret" not in str(raised.value)


def test_fail__kiosk_publish_names_a_bad_setting(tmp_path):
    environ = {**os.environ, "KIOSK_HUB_WINDOW": "0"}
    environ.pop("KIOSK_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "kiosk", "publish", "--db", str(tmp_path / "k.db"), "--broker", "http://hub"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "hub.broker" in done.stderr
    done = subprocess.run([sys.executable, "-m", "kiosk", "publish", "--db", str(tmp_path / "k.db"), "--broker", "mqtt://hub"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "hub.window: must be at least 1" in done.stderr


# --- order, bodies, marks -------------------------------------------------------------------------


def test_ok__publishes_in_seq_order_the_bodies_of_the_outbox_signed(config, store, site, broker):
    check_in(site, parse_payload(LAN, today=None), source="camera")  # a real event, with personal data in its body
    add_events(store, 40)
    with hub_at(broker) as hub, publishing(config, broker.url):
        wait_for(lambda: all_acked(store), what="every row acknowledged")
        assert hub.deliveries == list(range(1, 42))
        bodies = dict(store.db.execute("select seq, body from outbox").fetchall())
        key = signer(KIOSK).private_key.public_key()
        for seq, message in hub.bodies.items():
            signed = signature.split(message)
            assert signed.text.decode() == bodies[seq]  # byte for byte, as stored
            assert signed.key_id == signature.key_id(key) and signature.verify(key, signed)
        wait_for(lambda: uplink(store)["watermark"] == 41, what="the watermark stored")
        row = uplink(store)
        assert (row["broker"], row["connected"], row["hub_state"], row["error"]) == (broker.url, 1, "online", None)
        assert row["acked_at"] and events.backlog(store.db) == {"unpublished": 0, "unacknowledged": 0}
    assert uplink(store)["connected"] == 0  # a clean stop says so


def test_ok__published_on_puback_done_only_when_the_watermark_covers_it(config, store, broker):
    add_events(store, 12)
    with hub_at(broker, acking=False) as hub, publishing(config, broker.url):
        wait_for(lambda: marks(store)["published"] == 12, what="PUBACKs")
        assert marks(store)["acked"] == 0 and uplink(store)["watermark"] == 0
        assert events.backlog(store.db) == {"unpublished": 0, "unacknowledged": 12}
        hub.acking = True
        hub.acknowledge()
        wait_for(lambda: all_acked(store), what="the watermark to cover every row")
        assert events.backlog(store.db) == {"unpublished": 0, "unacknowledged": 0}
        add_events(store, 3)  # new rows while connected go out within a loop turn
        wait_for(lambda: marks(store)["acked"] == 15, what="the new rows")


# --- refusals -------------------------------------------------------------------------------------


def test_fail__no_subscriber_yet_reason_16_leaves_rows_unpublished_until_the_hub_subscribes(config, store, broker):
    add_events(store, 5)
    with publishing(config, broker.url) as publisher:
        wait_for(lambda: "(16)" in (uplink(store)["error"] or ""), what="the reason code on the board")
        assert "No matching subscribers" in uplink(store)["error"] and "kiosk-test:1" in uplink(store)["error"]
        assert marks(store)["published"] == 0 and publisher.connected
        with hub_at(broker) as hub:
            wait_for(lambda: all_acked(store), what="the rows to go out once a subscriber exists")
            assert sorted(set(hub.deliveries)) == [1, 2, 3, 4, 5]
            wait_for(lambda: uplink(store)["error"] is None, what="the error cleared")


ACL = """user hub
topic readwrite vax/#

user kiosk-test
topic write vax/k/kiosk-test/status
topic read vax/k/kiosk-test/ack
topic read vax/hub/status
"""


def test_fail__an_acl_refusal_135_leaves_rows_unpublished_and_shows_the_error(config, store, tmp_path):
    add_events(store, 4)
    passwords = {"kiosk-test": "kiosk-secret", "hub": "hub-secret"}
    with Broker(tmp_path / "acl-broker", passwords=passwords, acl=ACL) as broker, \
            hub_at(broker, client_id="hub", username="hub", password="hub-secret") as hub, \
            publishing(config, broker.url, password="kiosk-secret") as publisher:
        wait_for(lambda: "(135)" in (uplink(store)["error"] or ""), what="the refusal on the board")
        assert "Not authorized" in uplink(store)["error"]
        # Mosquitto 2.0.11 closes the connection after the refusal: the publisher connects again, later and later.
        wait_for(lambda: publisher.attempts >= 2, what="another attempt")
        assert marks(store)["published"] == 0 and hub.deliveries == []
        assert "(135)" in uplink(store)["error"]


def test_fail__a_refused_connection_is_not_a_connection_and_is_retried(config, store, tmp_path):
    add_events(store, 2)
    with Broker(tmp_path / "auth-broker", passwords={"kiosk-test": "right"}) as broker, \
            publishing(config, broker.url, password="wrong") as publisher:
        wait_for(lambda: "refused the connection" in (uplink(store)["error"] or ""), what="the refusal on the board")
        assert "(134)" in uplink(store)["error"] or "(135)" in uplink(store)["error"]
        wait_for(lambda: publisher.attempts >= 3, what="further attempts")
        assert uplink(store)["connected"] == 0 and not publisher.connected and marks(store)["published"] == 0


# --- flow control ---------------------------------------------------------------------------------


def test_ok__no_more_than_the_window_awaits_its_puback(config, store, broker):
    with hub_at(broker) as hub, publishing(config, broker.url, window=5) as publisher:
        wait_for(lambda: publisher.connected and hub.connected.is_set(), what="both connected")
        os.kill(broker.proc.pid, signal.SIGSTOP)  # the broker reads nothing and answers nothing
        try:
            add_events(store, 30)
            wait_for(lambda: len(publisher.flow.inflight) == 5, what="a full window")
            seen = set()
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:  # a bounded look: the window stays full, never over
                seen.add((len(publisher.flow.inflight), publisher.flow.cursor))
                time.sleep(0.01)
            assert seen == {(5, 6)}
        finally:
            os.kill(broker.proc.pid, signal.SIGCONT)
        wait_for(lambda: all_acked(store), what="the rest")
        assert hub.deliveries == list(range(1, 31))


def test_ok__no_more_than_ahead_beyond_the_watermark(config, store, broker):
    add_events(store, 30)
    with hub_at(broker, acking=False) as hub, publishing(config, broker.url, window=4, ahead=10):
        wait_for(lambda: marks(store)["published"] == 10, what="ten rows published")
        wait_for(lambda: len(hub.deliveries) == 10, what="ten rows at the hub")
        time.sleep(0.3)  # a bounded look: nothing beyond the bound goes out
        assert marks(store)["published"] == 10 and sorted(hub.deliveries) == list(range(1, 11))
        hub.acking = True
        hub.acknowledge()
        wait_for(lambda: all_acked(store), what="the rest, ten at a time")


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_ok__after_the_broker_restarts_it_sends_again_from_the_watermark(config, store, broker, how):
    add_events(store, 300)
    with hub_at(broker) as hub, publishing(config, broker.url, window=16) as publisher:
        wait_for(lambda: hub.watermark >= 40, what="the stream under way")
        getattr(broker, how)()  # mid-stream: SIGTERM, or SIGKILL that loses what the broker held in memory
        wait_for(lambda: uplink(store)["connected"] == 0, what="the link down on the board")
        add_events(store, 100)
        broker.start()
        wait_for(lambda: all_acked(store), timeout=30, what="every row acknowledged after the restart")
        assert hub.held == set(range(1, 401)) and uplink(store)["watermark"] == 400
        assert publisher.attempts >= 2


def test_ok__gaps_in_an_acknowledgement_are_sent_again_at_once(config, store, broker):
    add_events(store, 20)
    started = time.monotonic()
    with hub_at(broker, drop={5, 6, 7}) as hub, publishing(config, broker.url, resend_seconds=60.0):
        wait_for(lambda: all_acked(store), what="the gaps filled")
        assert time.monotonic() - started < 10  # the gaps, not the 60 s re-send timer
        assert [hub.count(seq) for seq in (4, 5, 6, 7, 8)] == [1, 2, 2, 2, 1]


def test_ok__resends_from_the_watermark_when_the_online_hub_is_silent(config, store, broker):
    add_events(store, 6)
    with hub_at(broker, drop=set(range(1, 7))) as hub, publishing(config, broker.url, resend_seconds=0.5):
        wait_for(lambda: len(hub.deliveries) == 6, what="the first sending, lost at the hub")
        lost_at = time.monotonic()
        wait_for(lambda: all_acked(store), what="the second sending")
        assert time.monotonic() - lost_at >= 0.3
        assert [hub.count(seq) for seq in range(1, 7)] == [2] * 6


def test_ok__no_resend_while_the_hub_is_offline(config, store, broker):
    add_events(store, 3)
    with hub_at(broker, drop={1, 2, 3}, state="offline") as hub, publishing(config, broker.url, resend_seconds=0.3):
        wait_for(lambda: len(hub.deliveries) == 3, what="the first sending, lost at the hub")
        time.sleep(1.0)  # a bounded look: three resend periods without a re-send
        assert hub.deliveries == [1, 2, 3]
        hub.set_state("online")
        wait_for(lambda: all_acked(store), what="the re-send once the hub is online")


# --- the real process -----------------------------------------------------------------------------


class Observer:
    """A raw MQTT client that records every message on every topic (to check status and privacy)."""

    def __init__(self, port: int):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="observer", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload, m.retain))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def statuses(self) -> list[dict]:
        topic = wire.topic(KIOSK, wire.STATUS)
        return [wire.parse_kiosk_status(KIOSK, body) for name, body, _ in list(self.messages) if name == topic and body]

    def last_status(self) -> dict | None:
        found = self.statuses()
        return found[-1] if found else None

    def close(self) -> None:
        disconnect(self.client)


class PublishProcess:
    """`python -m kiosk publish --db PATH --broker URL` with short hub timings, started and waited for."""

    def __init__(self, db: Path, broker: Broker, **env: str):
        environ = {**os.environ, "PYTHONUNBUFFERED": "1", "KIOSK_KIOSK_ID": KIOSK, "KIOSK_HUB_STATUS_SECONDS": "0.5",
                   "KIOSK_HUB_KEEPALIVE_SECONDS": "5", "KIOSK_HUB_KEY_FILE": str(key_file(db.parent, KIOSK)), **env}
        environ.pop("KIOSK_CONFIG", None)
        command = [sys.executable, "-m", "kiosk", "publish", "--db", str(db), "--broker", broker.url]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert f"publishing to {broker.url}" in line, line + self.proc.stderr.read()

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(15)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


def test_ok__status_online_with_counts_and_camera_rate_then_stopped_then_offline(config, store, site, broker):
    check_in(site, parse_payload(HUNG, today=None), source="camera")
    observer = Observer(broker.port)
    try:
        with hub_at(broker) as hub:
            process = PublishProcess(Path(config.kiosk.db), broker)
            wait_for(lambda: hub.watermark == 1, what="the check-in at the hub")
            status = wait_for(lambda: (s := observer.last_status()) and s["state"] == "online" and s["outbox"] == 0 and s, what="online")
            assert status["version"] == daemon.version() and status["boot"] and status["unpublished"] == 0
            assert status["camera_fps"] is None  # no scanner has reported
            scanner = Sender(socket_path("publish", config.kiosk.db))  # what `kiosk scan` sends every 2 s
            scanner.publish({"type": "health", "health": {"state": "running", "fps": 9.5}})
            scanner.close()
            wait_for(lambda: (observer.last_status() or {}).get("camera_fps") == 9.5, what="the camera rate in the status")
            assert process.stop(signal.SIGTERM) == 0, process.stderr
            wait_for(lambda: observer.last_status()["state"] == "stopped", what="stopped on a clean exit")

            process = PublishProcess(Path(config.kiosk.db), broker)
            wait_for(lambda: observer.last_status()["state"] == "online", what="online again")
            process.stop(signal.SIGKILL)
            wait_for(lambda: observer.last_status()["state"] == "offline", what="the will")
            assert observer.last_status()["outbox"] is None  # the will was written at connect time
    finally:
        observer.close()
    assert_no_personal_data_outside_events(observer.messages)


def assert_no_personal_data_outside_events(messages) -> None:
    kinds = set()
    for name, body, retained in messages:
        assert re.fullmatch(r"vax/(k/kiosk-test/(event|status|ack)|hub/status)", name), name
        kinds.add(name.rsplit("/", 1)[1])
        if name.endswith("/event"):
            assert not retained  # events are never retained
            continue
        text = body.decode("utf-8")
        assert not [word for word in PERSONAL if word in text], (name, text)
    assert {"event", "status", "ack"} <= kinds


def test_ok__kill_9_of_the_publisher_mid_stream_loses_nothing(config, store, broker):
    add_events(store, 400)
    with hub_at(broker) as hub:
        for threshold in (40, 150, 260):
            process = PublishProcess(Path(config.kiosk.db), broker)
            wait_for(lambda: len(hub.deliveries) >= threshold, timeout=20, what=f"{threshold} deliveries")
            process.stop(signal.SIGKILL)
            add_events(store, 20)  # recorded while no publisher runs
        process = PublishProcess(Path(config.kiosk.db), broker)
        wait_for(lambda: all_acked(store), timeout=30, what="everything after the last restart")
        assert hub.held == set(range(1, 461))
        assert process.stop(signal.SIGTERM) == 0


def test_ok__kiosk_run_with_a_broker_publishes_what_the_camera_checks_in(tmp_path, broker):
    from .conftest import write_frames
    from .kiosk_process import KioskProcess

    frames = write_frames(tmp_path / "frames", [None, LAN, LAN, None])
    with hub_at(broker) as hub:
        process = KioskProcess(tmp_path, f"replay:{frames}", env={
            "KIOSK_KIOSK_ID": KIOSK, "KIOSK_HUB_BROKER": broker.url, "KIOSK_CAMERA_REPLAY_LOOP": "false",
            "KIOSK_HUB_KEY_FILE": str(key_file(tmp_path, KIOSK)),
        })
        try:
            wait_for(lambda: hub.watermark >= 1, timeout=30, what="the check-in at the hub")
            assert json.loads(hub.bodies[1])["type"] == "PersonCheckedIn"
        finally:
            assert process.terminate() == 0


def test_ok__systemd_hears_ready_status_watchdog_and_stopping(config, broker):
    import socket
    import uuid

    name = f"kiosk-publish-test-{uuid.uuid4().hex}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(5)
    try:
        with hub_at(broker):
            process = PublishProcess(Path(config.kiosk.db), broker, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="1000000")
            heard: list[str] = []

            def hear(wanted) -> bool:
                heard.append(listener.recv(4096).decode())
                return any(wanted(message) for message in heard)

            wait_for(lambda: hear(lambda m: m == f"READY=1\nSTATUS=kiosk {KIOSK}: publishing to {broker.url}"), what="READY=1")
            wait_for(lambda: hear(lambda m: m.startswith(f"STATUS=connected to {broker.url}; hub online")), what="the link as STATUS")
            wait_for(lambda: hear(lambda m: m == "WATCHDOG=1"), what="a watchdog ping")
            assert process.stop(signal.SIGTERM) == 0
            wait_for(lambda: hear(lambda m: m == "STOPPING=1"), what="STOPPING=1")
    finally:
        listener.close()


def test_ok__kiosk_scan_reports_its_frame_rate_to_the_publisher(config, tmp_path, pins):
    from kiosk.notices import HealthInbox
    from kiosk.runtime import ScanService

    from .conftest import write_frames

    frames = write_frames(tmp_path / "frames", [None, None])
    inbox = HealthInbox(socket_path("publish", config.kiosk.db))
    scanner = ScanService(config.replace("camera", source=f"replay:{frames}", fps=20.0), pin_factory=pins)
    scanner.start()
    try:
        fps = wait_for(inbox.camera_fps, what="a health report on publish.sock")  # sent every 2 s
        assert 0 < fps <= 20
    finally:
        scanner.stop()
        inbox.close()


# --- the supervisor's status line -----------------------------------------------------------------


def board_page(config, site, language: str) -> str:
    from kiosk.queue.staff import add_staff
    from kiosk.web import Services, create_app

    client = create_app(Services(config.replace("web", language=language), site)).test_client()
    name = f"Giám sát {language}"
    found = site.store.db.execute("select id from staff where name = ?", [name]).fetchone()
    member_id = found[0] if found else add_staff(site.store, name, "supervisor", "2580", Ticker().now().wall).id
    assert sign_in(client, member_id, "2580").status_code == 302
    line = re.search(r'<span class="stat" id="uplink">(.*?)</span>\s*(?:<span class="stat bad">|</section>)',
                     client.get("/supervisor/").get_data(as_text=True), re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", line.group(1)))


def test_ok__the_board_shows_the_link_to_the_hub(config, store, site, broker):
    assert board_page(config, site, "en") == "District hub: not set up · not yet merged at the hub: 0"
    add_events(store, 3)
    with hub_at(broker), publishing(config, broker.url, clock=site.clock):
        wait_for(lambda: all_acked(store) and uplink(store)["hub_state"] == "online", what="every row acknowledged")
        line = board_page(config, site, "en")
        assert re.fullmatch(r"District hub: connected · hub online · last acknowledgement: \d\d:\d\d · not yet merged at the hub: 0", line), line
        assert board_page(config, site, "vi").startswith("Máy chủ huyện: đã kết nối · máy chủ đang hoạt động · xác nhận gần nhất: ")
    add_events(store, 2)
    line = board_page(config, site, "en")
    assert line.startswith("District hub: not connected · hub online · last acknowledgement: ") and line.endswith("not yet merged at the hub: 2")


def test_fail__the_board_shows_the_last_error(config, store, site, broker):
    add_events(store, 1)
    with publishing(config, broker.url):
        wait_for(lambda: uplink(store)["error"], what="the refusal recorded")
        line = board_page(config, site, "en")
    assert line.startswith("District hub: connected · hub state unknown · last acknowledgement: none yet · not yet merged at the hub: 1")
    assert line.endswith("error: the broker did not take event kiosk-test:1: No matching subscribers (16)")


def test_fail__an_acknowledgement_beyond_the_outbox_marks_nothing(config, store, broker):
    """A kiosk id reused with a fresh database: the hub's watermark is past anything recorded here."""
    add_events(store, 3)
    stale = wire.Ack(KIOSK, 500, 500, (), "2026-11-24T17:00:00+00:00")
    with hub_at(broker, acking=False) as hub, publishing(config, broker.url):
        hub.client.publish(wire.topic(KIOSK, wire.ACK), stale.encode(), qos=1, retain=True)
        wait_for(lambda: "ends at 3" in (uplink(store)["error"] or ""), what="the mismatch on the board")
        wait_for(lambda: marks(store)["published"] == 3, what="the rows published all the same")
        assert marks(store)["acked"] == 0 and uplink(store)["watermark"] == 0


def test_fail__a_malformed_acknowledgement_is_ignored(config, store, broker, caplog):
    add_events(store, 2)
    with hub_at(broker) as hub, publishing(config, broker.url):
        wait_for(lambda: all_acked(store), what="every row acknowledged")
        hub.client.publish(wire.topic(KIOSK, wire.ACK), b'{"v": 1, "kiosk": "kiosk-test", "watermark": "all"}', qos=1, retain=True)
        wait_for(lambda: "ignored a malformed message on vax/k/kiosk-test/ack: schema" in caplog.text, what="the warning")
        add_events(store, 1)
        wait_for(lambda: marks(store)["acked"] == 3, what="the next row, acknowledged by the hub's next ack")


# --- TLS ------------------------------------------------------------------------------------------


def test_ok__mqtts_verifies_the_broker_with_the_ca_file(config, store, tmp_path):
    files = make_certificates(tmp_path / "tls")
    broker = tls_broker(tmp_path / "tls-broker", files)
    try:
        tls = f"mqtts://127.0.0.1:{broker.port}"
        add_events(store, 3)
        with publishing(config, tls) as publisher:  # no ca_file: the system's CAs do not know this one
            wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in (uplink(store)["error"] or ""), what="the refused certificate")
            assert not publisher.connected
        hub = AckHub(broker.port, KIOSK, tls_ca=str(files["ca.crt"]))
        try:
            with publishing(config, tls, ca_file=str(files["ca.crt"])):
                wait_for(lambda: all_acked(store), what="every row over TLS")
            assert uplink(store)["broker"] == tls and hub.held == {1, 2, 3}
        finally:
            hub.close()
    finally:
        broker.stop()


def test_ok__mutual_tls_shows_the_kiosk_s_certificate_and_the_broker_names_it_by_it(config, store, tmp_path):
    files = make_certificates(tmp_path / "tls")
    kiosk, hub = enrolled(tmp_path, KIOSK), enrolled(tmp_path, "test-hub")
    broker = tls_broker(tmp_path / "mtls-broker", files, mutual=True)
    try:
        tls, ca_file = f"mqtts://127.0.0.1:{broker.port}", str(files["ca.crt"])
        add_events(store, 3)
        with publishing(config, tls, ca_file=ca_file, key_file=str(kiosk.key)) as publisher:  # a key, no certificate
            wait_for(lambda: uplink(store)["error"], what="the broker refusing a kiosk without a certificate")
            assert not publisher.connected
        ack_hub = AckHub(broker.port, KIOSK, tls_ca=ca_file, tls_client=(str(hub.cert), str(hub.key)))
        try:
            with publishing(config, tls, ca_file=ca_file, key_file=str(kiosk.key), cert_file=str(kiosk.cert)):
                wait_for(lambda: all_acked(store), what="every row over mutual TLS")
            assert ack_hub.held == {1, 2, 3}
        finally:
            ack_hub.close()
        assert f"u'{KIOSK}'" in broker.log.read_text()  # its username: the CN of its certificate
    finally:
        broker.stop()


def test_fail__a_certificate_without_its_key_or_for_another_key_is_a_config_error(config, tmp_path):
    make_certificates(tmp_path / "tls")
    mine, other = enrolled(tmp_path, KIOSK), enrolled(tmp_path, "kiosk-other")
    broker = "mqtts://127.0.0.1:8883"
    cases = [({"cert_file": str(mine.cert), "key_file": ""}, "no key"),
             ({"cert_file": str(mine.cert), "key_file": str(other.key)}, "do not go together"),
             ({"cert_file": str(tmp_path / "missing.crt"), "key_file": str(mine.key)}, "cannot read")]
    for settings, says in cases:
        with pytest.raises(ConfigError, match=says):
            check_settings(config.replace("hub", broker=broker, **settings).hub)
    check_settings(config.replace("hub", broker=broker, cert_file=str(mine.cert), key_file=str(mine.key)).hub)
    check_settings(config.replace("hub", broker=broker, key_file=str(mine.key)).hub)  # a key alone signs; no certificate shown


def test_fail__an_acknowledgement_whose_chain_is_not_this_outbox_marks_nothing_and_says_so(config, store, site, broker):
    """A hub holding another text for event 2 than this kiosk wrote (its chain says so): nothing past 1 is done."""
    add_events(store, 3)
    with hub_at(broker) as hub:
        hub.digests[2] = b"\x00" * 32
        with publishing(config, broker.url, clock=site.clock):
            wait_for(lambda: uplink(store)["unconfirmed"] == 1, what="the acknowledgement found unconfirmed")
            assert marks(store)["acked"] == 1 and uplink(store)["watermark"] == 1
            assert "content this kiosk did not write" in uplink(store)["error"]
            assert "District hub" in board_page(config, site, "en")
    alert = board_alerts(config, site)
    assert "record of this kiosk's events after event #1 is not what this kiosk wrote" in alert

