"""Live updates for the screens: a fan-out of JSON messages to server-sent-event streams, and the socket that feeds it from `kiosk scan`."""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

from ..notices import DATAGRAM_LIMIT

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 100
REMEMBERED = "scan"
"""The message type replayed to a screen that connects later (the latest scan outcome)."""


class Live:
    """Each subscriber gets its own bounded queue; a slow screen loses old messages, never blocks the scanner."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queues: set[queue.Queue] = set()
        self.last: dict | None = None

    def publish(self, message: dict) -> None:
        """Send ``message`` to every open stream and remember it for screens that connect later."""
        with self.lock:
            if message.get("type") == REMEMBERED:
                self.last = message
            targets = list(self.queues)
        for q in targets:
            try:
                q.put_nowait(message)
            except queue.Full:
                drop_oldest(q, message)

    def stream(self, stop: threading.Event | None = None) -> Iterator[str]:
        """Yield server-sent events, starting with the last message, until ``stop`` is set."""
        q: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        with self.lock:
            self.queues.add(q)
            if self.last is not None:
                q.put_nowait(self.last)
        try:
            yield "retry: 1000\n\n"
            while stop is None or not stop.is_set():
                try:
                    yield event(q.get(timeout=KEEPALIVE_SECONDS))
                except queue.Empty:
                    yield ": keepalive\n\n"
        finally:
            with self.lock:
                self.queues.discard(q)


def event(message: dict) -> str:
    return f"data: {json.dumps(message, ensure_ascii=False)}\n\n"


def drop_oldest(q: queue.Queue, message: dict) -> None:
    try:
        q.get_nowait()
    except queue.Empty:
        pass
    try:
        q.put_nowait(message)
    except queue.Full:
        pass


class Receiver:
    """Receives JSON datagrams on a Unix socket from `kiosk scan`: scan outcomes go to a Live, health is kept."""

    def __init__(self, path: str, live: Live, clock=time.monotonic):
        self.path = path
        self.live = live
        self.clock = clock
        self.health: tuple[float, dict] | None = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if not path.startswith("\0"):
            Path(path).unlink(missing_ok=True)
        self.sock.bind(path)
        self.sock.settimeout(0.5)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="live-receiver", daemon=True)

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(DATAGRAM_LIMIT)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                message = json.loads(data)
            except ValueError:
                logger.warning("ignored a malformed live message (%d bytes)", len(data))
                continue
            if not isinstance(message, dict):
                continue
            if message.get("type") == "scan":
                self.live.publish(message)
            elif message.get("type") == "health":
                self.health = (self.clock(), message.get("health") or {})

    def scanner_health(self) -> dict | None:
        """The scanner's last reported health with its age in seconds, or None before the first report."""
        if self.health is None:
            return None
        at, health = self.health
        return {**health, "report_age_s": round(self.clock() - at, 1)}

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()
        if not self.path.startswith("\0"):
            Path(self.path).unlink(missing_ok=True)
