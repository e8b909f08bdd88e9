"""All messaging between the kiosk's processes: Unix datagram sockets beside the database, their senders and receivers.

`kiosk scan` tells `kiosk web` each scan outcome and its health (live.sock,
heard by a `Receiver`), and tells `kiosk publish` its health for the frame
rate in the hub's status (publish.sock, kept by a `HealthInbox`); a
`HealthReporter` sends the health to both every 2 s. A process that is down
loses what was sent to it; a sender never waits. Here too: the live messages
the screens and the buzzer hear about, made from events.

Kept apart from kiosk.web and kiosk.uplink so that `kiosk scan` runs without
importing Flask or paho. None of these messages carries personal data beyond
a given name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import socket
import time
from pathlib import Path
from typing import Callable

from daemon.threads import Loop

logger = logging.getLogger(__name__)

DATAGRAM_LIMIT = 8192
SUN_PATH_MAX = 100
HEALTH_REPORT_SECONDS = 2.0
FRESH_SECONDS = 10.0
"""A health report older than this says nothing: the scanner is down, its rate unknown."""


def socket_path(name: str, db_path: str, configured: str = "") -> str:
    """Return the address of the socket ``name`` ("live", "publish"): ``configured``, else NAME.sock beside the database.

    A path too long for a Unix socket becomes an abstract socket named after it.
    """
    path = configured or str(Path(db_path).resolve().parent / f"{name}.sock")
    if len(path.encode()) < SUN_PATH_MAX:
        return path
    return f"\0kiosk-{name}-" + hashlib.sha256(path.encode()).hexdigest()[:24]


def live_messages(events: list[dict]) -> list[dict]:
    """Return the messages the screens need for these event rows.

    Every event tells the supervisor screen to refresh ("changed"); a call tells
    the citizen screen whose turn it is, by ticket number and desk only.
    """
    messages = [{"type": "changed", "seq": events[-1]["seq"], "events": [e["type"] for e in events]}]
    for event in events:
        payload = json.loads(event["payload"])
        if event["type"] == "PersonCalled":
            messages.append({"type": "called", "ticket": payload["ticket"]["number"], "desk": payload["desk"]})
        elif event["type"] == "AefiRecorded" and payload["aefi"]["severity"] == "severe":
            messages.append({"type": "alarm"})
    return messages


class Sender:
    """Sends JSON messages to another process's socket; one that is down loses them, the scanner never waits."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def publish(self, message: dict) -> None:
        try:
            self.sock.sendto(json.dumps(message, ensure_ascii=False).encode(), self.path)
        except OSError:
            pass  # the other process is restarting; the next message reaches it

    def close(self) -> None:
        self.sock.close()


class HealthReporter(Loop):
    """Sends the scanner's health to ``senders`` every HEALTH_REPORT_SECONDS, on its own thread."""

    thread_name = "health-report"

    def __init__(self, health: Callable[[], object], senders: list[Sender], every: float = HEALTH_REPORT_SECONDS):
        super().__init__()
        self.health = health
        self.senders = senders
        self.every = every

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            report = {"type": "health", "health": dataclasses.asdict(self.health())}
            for sender in self.senders:
                sender.publish(report)


def bind(path: str) -> socket.socket:
    """A datagram socket bound at ``path``, replacing a socket file a previous run left there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if not path.startswith("\0"):
        Path(path).unlink(missing_ok=True)
    sock.bind(path)
    return sock


def unbind(sock: socket.socket, path: str) -> None:
    """Close ``sock`` and remove its socket file."""
    sock.close()
    if not path.startswith("\0"):
        Path(path).unlink(missing_ok=True)


class Receiver(Loop):
    """Receives JSON datagrams from `kiosk scan` on its own thread: scan outcomes go to ``forward``, health is kept."""

    thread_name = "live-receiver"

    def __init__(self, path: str, forward: Callable[[dict], None], clock=time.monotonic):
        super().__init__()
        self.path = path
        self.forward = forward
        self.clock = clock
        self.health: tuple[float, dict] | None = None
        self.sock = bind(path)
        self.sock.settimeout(0.5)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(DATAGRAM_LIMIT)
            except TimeoutError:
                continue
            except OSError:
                return
            self.take(data)

    def take(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            logger.warning("ignored a malformed live message (%d bytes)", len(data))
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "scan":
            self.forward(message)
        elif message.get("type") == "health":
            self.health = (self.clock(), message.get("health") or {})

    def scanner_health(self) -> dict | None:
        """The scanner's last reported health with its age in seconds, or None before the first report."""
        if self.health is None:
            return None
        at, health = self.health
        return {**health, "report_age_s": round(self.clock() - at, 1)}

    def close(self) -> None:
        """Close the socket and remove its file; after `stop`."""
        unbind(self.sock, self.path)


class HealthInbox:
    """Binds the publisher's health socket and keeps the latest frame rate reported; never blocks, has no thread."""

    def __init__(self, path: str, clock=time.monotonic):
        self.path = path
        self.clock = clock
        self.latest: tuple[float, float] | None = None
        self.sock = bind(path)
        self.sock.setblocking(False)

    def camera_fps(self) -> float | None:
        """The frame rate of the freshest report, or None when there is none from the last FRESH_SECONDS."""
        self.drain()
        if self.latest is None or self.clock() - self.latest[0] > FRESH_SECONDS:
            return None
        return self.latest[1]

    def drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(DATAGRAM_LIMIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # closed
                return
            self.take(data)

    def take(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            fps = message["health"]["fps"] if message.get("type") == "health" else None
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.warning("ignored a malformed health report (%d bytes)", len(data))
            return
        if isinstance(fps, (int, float)) and not isinstance(fps, bool):
            self.latest = (self.clock(), float(fps))

    def close(self) -> None:
        unbind(self.sock, self.path)
