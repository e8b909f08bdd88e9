"""The kiosk's clocks: wall time (untrusted on a Pi without RTC), monotonic time and the boot it belongs to."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
EARLIEST_PLAUSIBLE = date(2026, 1, 1)
SYNCED_FLAG = Path("/run/systemd/timesync/synchronized")
"""systemd-timesyncd creates this file once the wall clock has been set from the network."""


@dataclass(frozen=True)
class Instant:
    """One reading of every clock the workflow needs."""

    wall: datetime
    """Local wall time, timezone-aware; may be wrong (1970 after a cold boot offline)."""
    mono: float
    """time.monotonic(): shared by every process of one boot, meaningless across boots."""
    boot_id: str
    synced: bool
    """True when the wall clock was set from the network since boot."""

    @property
    def plausible(self) -> bool:
        """False when the wall clock is before this software was written (a Pi booted offline with no RTC)."""
        return self.wall.date() >= EARLIEST_PLAUSIBLE


class Clock:
    """Reads the clocks; every part is injectable so tests can step or freeze time."""

    def __init__(
        self,
        wall: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        mono: Callable[[], float] = time.monotonic,
        boot_id: str | None = None,
        synced: Callable[[], bool] = SYNCED_FLAG.exists,
    ):
        self.wall = wall
        self.mono = mono
        self.boot_id = boot_id or read_boot_id()
        self.synced = synced

    def now(self) -> Instant:
        """Return the current reading."""
        return Instant(self.wall(), self.mono(), self.boot_id, self.synced())


def read_boot_id() -> str:
    """Return the kernel's id of this boot (a new random id when /proc does not have one)."""
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return str(uuid.uuid4())
