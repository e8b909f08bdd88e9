"""Loaded by every Python process of a date-shifted test run (tests/shifted/ on PYTHONPATH; see docs/testing.md).

libfaketime 0.9.10 (Debian 12) shifts the deadline of Python 3.11's
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` by the fake offset even
when the monotonic clock is left real, so ``time.sleep`` waits minutes or
fails with EINVAL (libfaketime issue #426). Under libfaketime, this replaces
``time.sleep`` with the fault harness's equivalent wait on ``select``
(faults/wrongclock.py), which libfaketime leaves alone; without it nothing
changes.
"""

import importlib.util
import os
import time
from pathlib import Path

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    _path = Path(__file__).resolve().parents[2] / "faults" / "wrongclock.py"
    _spec = importlib.util.spec_from_file_location("_wrongclock", _path)
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    time.sleep = _module.sleep
