"""What the screens and the buzzer hear about: live messages made from events, and the socket from `kiosk scan` to `kiosk web`.

Kept apart from kiosk.web so that `kiosk scan` runs without importing Flask.
None of these messages carries personal data beyond a given name.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

DATAGRAM_LIMIT = 8192
SUN_PATH_MAX = 100


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
    """Sends live messages to the screen process; a screen that is down loses them, the scanner never waits."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def publish(self, message: dict) -> None:
        try:
            self.sock.sendto(json.dumps(message, ensure_ascii=False).encode(), self.path)
        except OSError:
            pass  # the screen is restarting; the next scan reaches it

    def close(self) -> None:
        self.sock.close()


def socket_path(configured: str, db_path: str) -> str:
    """Return the live socket's address: the configured path, else live.sock beside the database.

    A path too long for a Unix socket becomes an abstract socket named after it.
    """
    path = configured or str(Path(db_path).resolve().parent / "live.sock")
    if len(path.encode()) < SUN_PATH_MAX:
        return path
    return "\0kiosk-live-" + hashlib.sha256(path.encode()).hexdigest()[:24]
