"""daemon.serve: parts started in order, READY with the status, until SIGTERM; STOPPING and the parts stopped in reverse."""

import os
import signal
import socket
import threading
import uuid

import pytest

from daemon.serve import serve


class Part:
    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    def healthy(self) -> bool:
        return True


@pytest.fixture
def notify_socket(monkeypatch):
    """An abstract socket standing in for systemd's, named in $NOTIFY_SOCKET; the test's signal handlers restored after."""
    name = f"kiosk-serve-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(1)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield sock
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    sock.close()


def test_ok__serves_until_sigterm_then_stops_the_parts_in_reverse(notify_socket):
    log = []

    def ready(line: str) -> None:
        log.append(f"ready {line}")
        os.kill(os.getpid(), signal.SIGTERM)  # systemctl stop, as soon as the parts run

    serve([Part("web", log), Part("scan", log)], "kiosk k1: running", on_ready=ready)
    assert log == ["start web", "start scan", "ready kiosk k1: running", "stop scan", "stop web"]
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=kiosk k1: running"
    assert notify_socket.recv(4096) == b"STOPPING=1"


def test_ok__sigint_shuts_down_the_server_loop(notify_socket):
    log = []

    class Server:
        def __init__(self):
            self.down = threading.Event()

        def serve_forever(self) -> None:
            log.append("serving")
            assert self.down.wait(10), "shutdown was not called"

        def shutdown(self) -> None:
            self.down.set()

    serve([Part("web", log)], "screen", server=Server(), on_ready=lambda line: os.kill(os.getpid(), signal.SIGINT))
    assert log == ["start web", "serving", "stop web"]
