"""Process plumbing for bench/hub.py: worker subprocesses, the real hub process, and a watcher of the hub's acknowledgements."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import wire

from mqtt_raw import client, connect

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class Worker:
    """A subprocess speaking the line protocol of bench/mqtt_raw.py: ``ready``, then ``go`` in, then one JSON line out.

    Any process that prints a line starting with ``ready`` once it is ready can be followed the same way.
    """

    def __init__(self, args: list[str], *, log: Path, ready: str = "ready", ready_timeout: float = 120.0):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self.drain, daemon=True).start()
        line = self.next_line(ready_timeout)
        if not line.startswith(ready):
            self.stop()
            raise RuntimeError(f"worker {args[2:4]} did not get ready ({line!r}); see {log}")

    def drain(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("")

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return ""

    def go(self) -> None:
        """Tell the worker to start."""
        self.send("go")

    def send(self, line: str) -> None:
        """Write one line to the worker's stdin."""
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it has exited: its report (or its absence) tells why

    def result(self, timeout: float) -> dict:
        """Return the worker's JSON report (``{"error": ...}`` when it gave none in time)."""
        line = self.next_line(timeout)
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"error": f"no report ({line[:80]!r})"}

    def stop(self) -> None:
        stop_process(self.proc)
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()
        self.log.close()


def raw_worker(command: str, *options: str, log: Path) -> Worker:
    """Start a bench/mqtt_raw.py worker and wait until it is ready."""
    return Worker([sys.executable, str(HERE / "mqtt_raw.py"), command, *options], log=log)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int | None:
    """SIGTERM the process (SIGKILL after timeout); return its exit status."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process and its live descendants (all threads) have used, from /proc.

    Descendants count because `hub run` may hand the merge to a child process.
    """
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it exited meanwhile
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, ticks = {pid}, 0
    for child, (parent, _) in sorted(stats.items()):  # pids grow, so a parent is mostly seen before its child
        if parent in tree:
            tree.add(child)
    for member in tree:
        ticks += stats.get(member, (0, 0))[1]
    return ticks / os.sysconf("SC_CLK_TCK")


def hub_command(*args: str) -> list[str]:
    """The command line of `python -m hub ARGS` with this interpreter."""
    return [sys.executable, "-m", "hub", *args]


def enroll(db: Path, kiosks: list[str], site: str = "bench-site") -> Path:
    """Enroll every kiosk at the hub database with the real `hub enroll --csr` command; return the folder of their keys.

    Each kiosk gets a P-256 key and CSR as `kiosk identity new` makes them (kiosk/identity.py), certified by a
    district CA made beside the database (`hub ca init`); the keys stay in ``<db>.keys/<kiosk>.key`` for whoever
    signs the kiosks' events. The broker is a plain one: the ACL and CRL `hub enroll` writes go unread.
    """
    from kiosk import identity

    keys, ca_dir = Path(f"{db}.keys"), Path(f"{db}.ca")
    keys.mkdir(parents=True, exist_ok=True)
    subprocess.run(hub_command("ca", "init", "--dir", str(ca_dir), "--tls-name", "127.0.0.1"), cwd=REPO, check=True,
                   capture_output=True, timeout=60)
    for kiosk in kiosks:
        key = identity.new_key(keys / f"{kiosk}.key", force=True)
        subprocess.run(hub_command("enroll", kiosk, "--site", site, "--csr", "-", "--db", str(db), "--ca-dir", str(ca_dir),
                                   "--broker-dir", str(keys), "--out", str(keys / f"{kiosk}.crt")),
                       input=identity.csr_pem(key, kiosk), cwd=REPO, check=True, capture_output=True, timeout=60)
    return keys


def hub_stats(db: Path) -> dict:
    """Return `hub stats --db PATH --json`."""
    done = subprocess.run(hub_command("stats", "--db", str(db), "--json"), cwd=REPO, check=True, capture_output=True,
                          text=True, timeout=120)
    return json.loads(done.stdout)


class Watcher:
    """An in-process paho client following the hub's retained status and every kiosk's acknowledgement.

    It notes when each kiosk's watermark first reaches a target, and (for
    latency) the time each new watermark arrived.
    """

    def __init__(self, url: str, targets: dict[str, int] | None = None, *, ack_filter: str = f"{wire.ROOT}/k/+/{wire.ACK}"):
        self.targets = dict(targets or {})
        self.watermarks: dict[str, int] = {}
        self.reached_at: dict[str, float] = {}
        self.reached_wall: dict[str, float] = {}
        self.acks: list[tuple[float, str, int]] = []
        """(time.time(), kiosk, watermark) of every acknowledgement received."""
        self.hub_state: str | None = None
        self.all_reached = threading.Event()
        self.hub_changed = threading.Condition()
        self.client = client(f"bench-watch-{os.getpid()}-{time.monotonic_ns()}")
        self.client.on_connect = lambda c, *_: c.subscribe([(wire.HUB_STATUS_TOPIC, 1), (ack_filter, 1)])
        self.client.on_message = self.on_message
        connect(self.client, url, persistent=False)
        if not self.targets:
            self.all_reached.set()

    def on_message(self, c, userdata, message) -> None:
        now, wall = time.monotonic(), time.time()
        if message.topic == wire.HUB_STATUS_TOPIC:
            with self.hub_changed:
                self.hub_state = wire.parse_hub_status(message.payload)["state"] if message.payload else None
                self.hub_changed.notify_all()
            return
        where = wire.parse_district_topic(message.topic)  # the kiosk's own ack topic, or the province's under a prefix
        if where is None or not message.payload:
            return
        ack = wire.parse_ack(where[1], message.payload)
        self.watermarks[ack.kiosk] = ack.watermark
        self.acks.append((wall, ack.kiosk, ack.watermark))
        target = self.targets.get(ack.kiosk)
        if target is not None and ack.watermark >= target and ack.kiosk not in self.reached_at:
            self.reached_at[ack.kiosk] = now
            self.reached_wall[ack.kiosk] = wall
            if len(self.reached_at) == len(self.targets):
                self.all_reached.set()

    def wait_hub(self, state: str, timeout: float) -> bool:
        """Wait until the hub's retained status is ``state``."""
        with self.hub_changed:
            return self.hub_changed.wait_for(lambda: self.hub_state == state, timeout)

    def done_at(self, timeout: float) -> float | None:
        """Wait until every target is reached; return the monotonic time the last one was, or None."""
        if not self.all_reached.wait(timeout):
            return None
        return max(self.reached_at.values(), default=time.monotonic())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class HubProcess:
    """The real `hub run` process on a database and a broker; its output goes to a log file."""

    READY = "hub: merging from"
    """What `hub run` prints once its subscriptions are granted (its retained 'online' comes before them)."""

    def __init__(self, db: Path, url: str, *, log: Path, extra: tuple[str, ...] = ()):
        self.db = db
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(hub_command("run", "--broker", url, "--db", str(db), *extra), cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        self.subscribed = threading.Event()
        self.follower = threading.Thread(target=self.follow, daemon=True)
        self.follower.start()

    def follow(self) -> None:
        for line in self.proc.stdout:
            if line.startswith(self.READY.encode()):
                self.subscribed.set()
            self.log.write(line)
            self.log.flush()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until the hub's subscriptions are granted; False if it exited or the time ran out first."""
        deadline = time.monotonic() + timeout
        while not self.subscribed.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        self.cpu_at_ready = cpu_seconds(self.proc.pid)
        return True

    def cpu_since_ready(self) -> float:
        """CPU seconds used since the subscriptions were granted (start-up and imports left out)."""
        return cpu_seconds(self.proc.pid) - self.cpu_at_ready

    def stop(self) -> int | None:
        status = stop_process(self.proc)
        self.follower.join(5)
        self.proc.stdout.close()
        self.log.close()
        return status
