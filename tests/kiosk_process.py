"""Run the real `kiosk run`, `kiosk scan` or `kiosk web` in a subprocess and find the port it serves on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from .child import Child
from .polling import wait_until

ROOT = Path(__file__).resolve().parent.parent


class KioskProcess(Child):
    """A `python -m kiosk run|scan|web` child with the given settings; its stderr is kept for inspection.

    ``url`` is the screen's address (None for `kiosk scan`, which serves no screen).
    """

    def __init__(self, tmp_path: Path, camera: str | None, env: dict[str, str] | None = None, command: str = "run"):
        self.db = tmp_path / "kiosk.db"
        environ = {**os.environ, "KIOSK_FEEDBACK_PIN_FACTORY": "mock", "PYTHONUNBUFFERED": "1", **(env or {})}
        environ.pop("KIOSK_CONFIG", None)
        args = [sys.executable, "-m", "kiosk", command, "--db", str(self.db)]
        args += ["--camera", camera] if camera else []
        args += ["--port", "0"] if command != "scan" else []
        self.proc = subprocess.Popen(args, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self.start_drains((self.drain_stderr,))
        self.url = self.wait_for_url()

    def drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_for_url(self, timeout: float = 30.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(r"(http://[\d.]+:\d+)/", line)
            if match:
                return match.group(1)
            if "scanner running" in line:
                return None
            if self.proc.poll() is not None:
                break
        raise AssertionError("kiosk did not start: " + "".join(self.stderr))

    def get_json(self, path: str) -> dict:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def wait_until(self, predicate, timeout: float = 20.0, what: str = "condition") -> None:
        wait_until(predicate, timeout, what, interval=0.05)


def follow_events(url: str, into: list, stop: threading.Event) -> threading.Thread:
    """Collect the scan outcomes from /events in a background thread."""

    def run():
        with urllib.request.urlopen(url + "/events", timeout=60) as response:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if line.startswith("data: "):
                    message = json.loads(line[len("data: "):])
                    if message["type"] == "scan":
                        into.append(message["outcome"])
                if stop.is_set():
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
