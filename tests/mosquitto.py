"""A real Mosquitto on a free loopback port with its own config, for tests, the fault harness and the benchmarks.

Persistence is on (the broker's state lives in its own folder), so a restart
after ``stop()`` keeps the hub's session; ``kill()`` is a SIGKILL, which loses
whatever Mosquitto had not autosaved, as on a power cut.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """One Mosquitto process and its folder; start, stop (SIGTERM), kill (SIGKILL) and start again on the same port.

    ``max_queued`` is max_queued_messages per client session (0: no limit).
    ``passwords`` maps username to password: the broker then refuses anonymous
    clients and applies ``acl`` (the text of an ACL file) when given. ``extra``
    is more configuration, after the rest: a bridge (`hub bridge-config`'s lines).
    """

    def __init__(self, folder: Path, *, max_queued: int = 0, autosave_interval: int = 1800, passwords: dict[str, str] | None = None,
                 acl: str | None = None, port: int | None = None, extra: str = ""):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "data").mkdir(exist_ok=True)
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.folder / 'data'}/",
            f"autosave_interval {autosave_interval}",
            f"max_queued_messages {max_queued}",
            "max_inflight_messages 0",
            "persistent_client_expiration 14d",
            "set_tcp_nodelay true",
            # started as root (a container), Mosquitto drops to the `mosquitto` user, which can read neither the
            # password file nor write the persistence file in a root-only temporary folder: stay root
            *(["user root"] if os.geteuid() == 0 else []),
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if passwords:
            passwd = self.folder / "passwd"
            passwd.write_text("".join(f"{user}:{password}\n" for user, password in passwords.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
            if acl is not None:
                (self.folder / "acl").write_text(acl)
                lines.append(f"acl_file {self.folder / 'acl'}")
        else:
            lines.append("allow_anonymous true")
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n" + extra)
        self.log = self.folder / "mosquitto.log"

    def start(self, timeout: float = 10.0) -> "Broker":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on port {self.port}")

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its state and exits."""
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: what Mosquitto had not saved is gone."""
        self.signal(signal.SIGKILL)

    def signal(self, number: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, number)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> "Broker":
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def disconnect(client) -> None:
    """Disconnect a paho client that runs its own loop thread, and stop that thread.

    paho 2.2's loop_stop checks the thread, then joins it; the thread clears itself when the disconnect ends its loop,
    so the join can find None in between (AttributeError). That thread has ended, which is all loop_stop is for.
    """
    client.disconnect()
    try:
        client.loop_stop()
    except AttributeError:
        pass
