"""Messages between the kiosk's processes over real Unix datagram sockets: addresses, senders, receivers, live messages."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from kiosk.notices import HealthInbox, HealthReporter, Receiver, Sender, live_messages, socket_path


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()):
            return value
        time.sleep(0.01)
    return predicate()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def address(tmp_path):
    """The live socket's address beside a database in tmp_path (an abstract one when tmp_path is long)."""
    return socket_path("live", str(tmp_path / "kiosk.db"))


def test_ok__each_socket_is_named_beside_the_database_unless_configured(tmp_path):
    db = tmp_path / "kiosk.db"
    short = Path("/tmp/k/kiosk.db")
    assert socket_path("live", str(short)) == "/tmp/k/live.sock"
    assert socket_path("publish", str(short)) == "/tmp/k/publish.sock"
    assert socket_path("live", str(db), "/run/kiosk/screen.sock") == "/run/kiosk/screen.sock"


def test_ok__a_path_too_long_for_a_unix_socket_becomes_an_abstract_one():
    deep = "/" + "d" * 120 + "/kiosk.db"
    live, publish = socket_path("live", deep), socket_path("publish", deep)
    assert live.startswith("\0kiosk-live-") and publish.startswith("\0kiosk-publish-")
    assert live == socket_path("live", deep) and len(live) < 100


def test_ok__a_sender_with_nobody_listening_loses_the_message_and_does_not_wait(address):
    sender = Sender(address)
    started = time.monotonic()
    sender.publish({"type": "scan"})
    assert time.monotonic() - started < 0.5
    sender.close()


def test_ok__the_receiver_forwards_scans_and_keeps_the_health_with_its_age(address):
    clock, forwarded = Clock(), []
    receiver = Receiver(address, forwarded.append, clock=clock).start()
    sender = Sender(address)
    try:
        sender.publish({"type": "scan", "outcome": {"ticket": 7}})
        sender.publish({"type": "health", "health": {"state": "running", "fps": 9.5}})
        assert wait_for(lambda: forwarded and receiver.health)
        clock.now += 3
        assert forwarded == [{"type": "scan", "outcome": {"ticket": 7}}]
        assert receiver.scanner_health() == {"state": "running", "fps": 9.5, "report_age_s": 3.0}
    finally:
        sender.close()
        receiver.stop()
        receiver.close()
    assert not receiver.running
    assert address.startswith("\0") or not Path(address).exists()


def test_fail__the_receiver_ignores_what_is_not_a_message(address, caplog):
    forwarded = []
    receiver = Receiver(address, forwarded.append).start()
    sender = Sender(address)
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.notices"):
            sender.sock.sendto(b"{not json", address)
            sender.publish(["a", "list"])  # type: ignore[arg-type]
            sender.publish({"type": "scan", "outcome": {}})
            assert wait_for(lambda: forwarded)
        assert receiver.scanner_health() is None and forwarded == [{"type": "scan", "outcome": {}}]
        assert "ignored a malformed live message (9 bytes)" in caplog.text
    finally:
        sender.close()
        receiver.stop()
        receiver.close()


def test_ok__the_health_inbox_keeps_the_freshest_rate_until_it_is_stale(tmp_path):
    clock = Clock()
    path = socket_path("publish", str(tmp_path / "kiosk.db"))
    inbox, sender = HealthInbox(path, clock=clock), Sender(path)
    try:
        assert inbox.camera_fps() is None
        sender.publish({"type": "health", "health": {"fps": 8}})
        sender.publish({"type": "health", "health": {"fps": 9.5}})
        assert wait_for(inbox.camera_fps) == 9.5
        clock.now += 10.5
        assert inbox.camera_fps() is None
    finally:
        sender.close()
        inbox.close()


@pytest.mark.parametrize("body", [b"[1]", b"{}", b'{"type": "health"}', b'{"type": "health", "health": {"fps": true}}', b"\xff"])
def test_fail__the_health_inbox_ignores_malformed_reports(tmp_path, body):
    path = socket_path("publish", str(tmp_path / "kiosk.db"))
    inbox, sender = HealthInbox(path), Sender(path)
    try:
        sender.sock.sendto(body, path)
        sender.publish({"type": "health", "health": {"fps": 4.0}})
        assert wait_for(inbox.camera_fps) == 4.0
    finally:
        sender.close()
        inbox.close()


def test_ok__the_reporter_sends_the_health_to_every_sender(tmp_path):
    from kiosk.scan.loop import Health

    health = Health("running", "replay", 9.5, 10, 1, 0, 0.1, None, None, 3.2)
    paths = [socket_path(name, str(tmp_path / "kiosk.db")) for name in ("live", "publish")]
    inboxes, senders = [HealthInbox(path) for path in paths], [Sender(path) for path in paths]
    reporter = HealthReporter(lambda: health, senders, every=0.02).start()
    try:
        assert all(wait_for(inbox.camera_fps) == 9.5 for inbox in inboxes)
    finally:
        reporter.stop()
        for each in senders + inboxes:
            each.close()
    assert not reporter.running


def test_ok__live_messages_say_what_changed_who_is_called_and_sound_a_severe_reaction():
    events = [
        {"seq": 4, "type": "PersonCheckedIn", "payload": json.dumps({"ticket": {"number": 12}})},
        {"seq": 5, "type": "PersonCalled", "payload": json.dumps({"ticket": {"number": 12}, "desk": 2})},
        {"seq": 6, "type": "AefiRecorded", "payload": json.dumps({"aefi": {"severity": "mild"}})},
        {"seq": 7, "type": "AefiRecorded", "payload": json.dumps({"aefi": {"severity": "severe"}})},
    ]
    assert live_messages(events) == [
        {"type": "changed", "seq": 7, "events": ["PersonCheckedIn", "PersonCalled", "AefiRecorded", "AefiRecorded"]},
        {"type": "called", "ticket": 12, "desk": 2},
        {"type": "alarm"},
    ]
