"""Process supervision for the fault runs: real children with their output in log files, killed with SIGKILL on purpose.

Every child runs in its own session, so a kill reaches it and only it; a
child that outlives its run is ended by ``stop`` (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository: children run here so `python -m kiosk|hub|faults.generator` find the packages."""


class ProcessFailed(RuntimeError):
    """A child exited when it should not have, or did not exit when it should have."""


class Proc:
    """One child process, started again as often as a scenario likes; its output is appended to ``log``."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.args = args
        self.log = log
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0
        self.stopped = False
        """True once `stop` ended the child: its exit status is ours, not its own."""

    def start(self) -> "Proc":
        """Start the child (once more); raise ProcessFailed when one is running already."""
        if self.running:
            raise ProcessFailed(f"{self.name} is running already")
        environ = {**child_environment(), **self.env}
        with open(self.log, "ab") as log:
            log.write(f"--- start {self.starts + 1} of {self.name}: {' '.join(self.args)}\n".encode())
            log.flush()
            self.stopped = False
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def kill(self) -> bool:
        """SIGKILL the child, as a power cut or the OOM killer would; return False when it had exited already."""
        if not self.running:
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1
        return True

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the child and wait for it (SIGKILL after timeout); return its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.stopped = True
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit by itself; raise ProcessFailed after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProcessFailed(f"{self.name} still running after {timeout:.0f} s") from None

    def tail(self, lines: int = 30) -> str:
        """The last lines of the child's log (logs hold event ids and reason codes, no personal data)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def child_environment() -> dict[str, str]:
    """This process's environment less the kiosk settings and faketime it may carry, unbuffered."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("KIOSK_", "FAKETIME")) and key != "LD_PRELOAD"}
    environ["PYTHONUNBUFFERED"] = "1"
    return environ


def python(*args: str) -> list[str]:
    """A command line running this interpreter (the venv's) on args."""
    return [sys.executable, *args]


def run(args: list[str], *, timeout: float = 60.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a short command to completion; raise ProcessFailed with its output when it fails."""
    done = subprocess.run(args, cwd=ROOT, env={**child_environment(), **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise ProcessFailed(f"{' '.join(args[:4])} exited {done.returncode}: {(done.stderr or done.stdout)[-800:]}")
    return done


def log_count(path: Path, text: str) -> int:
    """How many times text occurs in a log file (0 when there is none yet)."""
    try:
        return path.read_text(errors="replace").count(text)
    except OSError:
        return 0


def wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll condition() until it returns a true value and return it; raise TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


# -- libfaketime ---------------------------------------------------------------------------------------------------

FAKETIME_GLOBS = (
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
    "/usr/lib64/faketime/libfaketime.so.1",
)


def libfaketime() -> str | None:
    """The path of libfaketime.so.1 (Debian's `faketime` package), or None when it is not installed."""
    try:
        listed = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        listed = []
    candidates = [path for path in listed if path.endswith("/libfaketime.so.1")]
    for pattern in FAKETIME_GLOBS:
        candidates += sorted(glob.glob(pattern))
    return next((path for path in candidates if os.path.exists(path)), None)


def faketime_env(timestamp_file: Path) -> dict[str, str]:
    """The environment that runs a child on the wall clock written in timestamp_file (read at every call).

    The file holds a libfaketime spec such as ``@1970-01-01 00:05:00`` (a clock
    that starts there and runs) or ``+365d``; writing a new spec steps the
    clock of the running child. Monotonic time stays real, as on a Pi.
    """
    library = libfaketime()
    if library is None:
        raise ProcessFailed("libfaketime is not installed (apt-get install faketime)")
    return {
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": str(timestamp_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
