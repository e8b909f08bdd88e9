"""Loaded by every Python process of a date-shifted test run (tests/shifted/ on PYTHONPATH; see docs/testing.md).

libfaketime 0.9.10 (Debian 12) shifts the deadline of Python 3.11's
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` by the fake offset even
when the monotonic clock is left real, so ``time.sleep`` waits minutes or
fails with EINVAL (libfaketime issue #426). Under libfaketime, this replaces
``time.sleep`` with the same wait on ``select``, which libfaketime leaves
alone; without it nothing changes.
"""

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):

    def sleep(seconds: float) -> None:
        """time.sleep without clock_nanosleep."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = sleep
