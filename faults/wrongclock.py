"""Run a module under libfaketime's wrong wall clock: ``python -m faults.wrongclock -m MODULE ARGS...``.

libfaketime 0.9.10 (Debian 12) breaks ``time.sleep`` when the monotonic clock
is left real (FAKETIME_DONT_FAKE_MONOTONIC=1, which is what a Pi without RTC
has: a wrong wall clock and a right monotonic one): Python 3.11 sleeps with
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``, which libfaketime shifts
by the fake offset (libfaketime issue #426), so a 0.3 s sleep lasts minutes or
fails with EINVAL. This wrapper replaces ``time.sleep`` by an equivalent
``select`` wait, which libfaketime leaves alone, then runs MODULE as
``python -m`` would. Nothing else of the child changes.
"""

from __future__ import annotations

import runpy
import select
import sys
import time


def sleep(seconds: float) -> None:
    """time.sleep without clock_nanosleep."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["-m"]:
        args = args[1:]
    if not args:
        sys.exit("usage: python -m faults.wrongclock -m MODULE [ARGS...]")
    module = args[0]
    sys.argv = [module, *args[1:]]
    time.sleep = sleep
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
