"""Run the test suite with every process's wall clock moved to another date and time zone: ``python -m tests.shifted``.

    python -m tests.shifted [--date "2031-01-01 09:00:00"] [--tz America/Sao_Paulo] [--quick] [PYTEST ARGS...]

The clock is shifted with Debian's libfaketime (package ``faketime``) by a
fixed offset from now, so every process the tests start (kiosk, hub,
Mosquitto) agrees on the shifted time and time still passes; the monotonic
clock stays real, as on a machine whose clock was set wrong. The browser is
left on the real clock (tests/browser.py). ``--quick`` leaves out the slow
end-to-end modules (fault harness, benchmarks, screens) and the PostgreSQL half
of the two-store tests (QUICK_SKIPS): it is what `make test` runs after the suite, to catch a test that only passes on the day it was
written. docs/testing.md says how to run the whole suite at other dates.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = "libfaketime.so.1"
QUICK_SKIPS = ("--ignore=tests/test_faults.py", "--ignore-glob=tests/test_bench_*", "--ignore-glob=tests/test_e2e_*",
               "-k", "not postgres")
"""The quick run also leaves out the PostgreSQL half of the tests that run on both stores: the dates they handle are
the same Python's on both (the stores keep ISO text, the SQL never asks the server for the time); the whole shifted
suite (`make test-shifted`) runs them."""
SKIPS = ("--ignore=tests/test_feedback.py",)
"""The LED and buzzer timings on gpiozero's mock pins, checked to 50 ms: under libfaketime a new thread's first clock
reads take about a tenth of a second, and these tests are about hardware timing, not dates."""
DEFAULT_DATE = "2031-01-01 09:00:00"
DEFAULT_TZ = "America/Sao_Paulo"
"""UTC-3, far from both UTC and Asia/Ho_Chi_Minh (UTC+7): at the default date it is still 2031-01-01 06:00 there."""


def find_library() -> str:
    """The path of libfaketime.so.1 as Debian installs it; exit saying which package is missing."""
    try:
        listed = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        sys.exit("tests.shifted: libfaketime is not installed: sudo apt-get install -y faketime")
    for line in listed.splitlines():
        if line.endswith("/" + LIBRARY):
            return line
    sys.exit(f"tests.shifted: the package libfaketime has no {LIBRARY}")


def shifted_environment(date: str, tz: str, library: str, now: datetime) -> dict[str, str]:
    """The environment that moves every child's wall clock to ``date`` (UTC) by a constant offset from ``now``."""
    target = datetime.fromisoformat(date).replace(tzinfo=timezone.utc)
    offset = int((target - now).total_seconds())
    pythonpath = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "LD_PRELOAD": library, "FAKETIME": f"{offset:+d}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": tz, "PYTHONPATH": pythonpath}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.shifted", description=__doc__.splitlines()[0])
    parser.add_argument("--date", default=DEFAULT_DATE, help=f"the shifted wall time, UTC (default: {DEFAULT_DATE})")
    parser.add_argument("--tz", default=DEFAULT_TZ, help=f"the time zone of every process (default: {DEFAULT_TZ})")
    parser.add_argument("--quick", action="store_true", help="leave out the fault harness, benchmarks and screen tests")
    args, pytest_args = parser.parse_known_args(argv)
    env = shifted_environment(args.date, args.tz, find_library(), datetime.now(timezone.utc))
    command = [sys.executable, "-m", "pytest", *SKIPS, *(QUICK_SKIPS if args.quick else ()), *pytest_args]
    print(f"tests.shifted: wall clock at {args.date} UTC ({env['FAKETIME']}), TZ={args.tz}: {' '.join(command[2:])}",
          flush=True)
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
