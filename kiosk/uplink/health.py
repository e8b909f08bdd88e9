"""The scanner's frame rate for the publisher's status: `kiosk scan` sends its health to a datagram socket the publisher reads.

No paho here: `kiosk scan` imports this module for the socket's address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from pathlib import Path

from ..notices import DATAGRAM_LIMIT, SUN_PATH_MAX

logger = logging.getLogger(__name__)

FRESH_SECONDS = 10.0
"""A health report older than this says nothing: the scanner is down, its rate unknown."""


def socket_path(db_path: str) -> str:
    """Return the publisher's health socket: publish.sock beside the database (an abstract socket when the path is too long)."""
    path = str(Path(db_path).resolve().parent / "publish.sock")
    if len(path.encode()) < SUN_PATH_MAX:
        return path
    return "\0kiosk-publish-" + hashlib.sha256(path.encode()).hexdigest()[:24]


class HealthInbox:
    """Binds the health socket and keeps the latest frame rate reported; never blocks."""

    def __init__(self, path: str, clock=time.monotonic):
        self.path = path
        self.clock = clock
        self.latest: tuple[float, float] | None = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if not path.startswith("\0"):
            Path(path).unlink(missing_ok=True)
        self.sock.bind(path)
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
        self.sock.close()
        if not self.path.startswith("\0"):
            Path(self.path).unlink(missing_ok=True)
