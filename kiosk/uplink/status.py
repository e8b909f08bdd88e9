"""What the kiosk says about itself at the broker: the retained status message, and the camera rate that goes in it."""

from __future__ import annotations

import logging
from typing import Callable

import wire
from daemon import version

from ..queue.clock import Instant

logger = logging.getLogger(__name__)

CAMERA_POLL_SECONDS = 1.0


def status_message(kiosk_id: str, state: str, now: Instant, *, counts: dict | None, camera_fps: float | None) -> bytes:
    """The retained status: counts, version, times, never personal data; ``counts`` None (the will) leaves them unknown."""
    counts = counts or {}
    return wire.kiosk_status(
        kiosk_id, state, boot=now.boot_id, version=version(), at=now.wall.isoformat(), clock_synced=now.synced,
        outbox=counts.get("unacknowledged"), unpublished=counts.get("unpublished"), camera_fps=camera_fps,
    )


class CameraRate:
    """The scanner's frame rate from ``source``, asked at most once per CAMERA_POLL_SECONDS.

    Asking often keeps a socket-fed source drained; a source that raises
    (a scanner in the middle of a change) counts as unknown, never as a reason
    for the status not to go out.
    """

    def __init__(self, source: Callable[[], float | None]):
        self.source = source
        self.value: float | None = None
        self.due = 0.0

    def current(self, now: float) -> float | None:
        if now >= self.due:
            self.due = now + CAMERA_POLL_SECONDS
            try:
                self.value = self.source()
            except Exception as exc:
                logger.debug("camera rate unknown: %r", exc)
                self.value = None
        return self.value
