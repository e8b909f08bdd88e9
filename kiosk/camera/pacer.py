"""Frame pacing: hand out frames no faster than a set rate, without spinning."""

from __future__ import annotations

import time
from typing import Callable


class Pacer:
    """Sleeps until the next frame slot; if the caller is late, it starts from now (frames are dropped, not queued)."""

    def __init__(self, fps: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_due = clock()

    def wait(self) -> float:
        """Block until the next slot; return the monotonic time of the slot."""
        now = self.clock()
        if now < self.next_due:
            self.sleep(self.next_due - now)
            now = self.next_due
        self.next_due = now + self.interval
        return now
