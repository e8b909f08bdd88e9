"""Runs a daemon's parts until SIGTERM or SIGINT, telling systemd: READY with a status line, watchdog pings while every part is healthy, STOPPING."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Callable, Protocol, Sequence

from . import systemd

logger = logging.getLogger(__name__)


class Part(Protocol):
    """One piece of a daemon process: started in order, stopped in reverse order, asked for its health."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def healthy(self) -> bool: ...


class Server(Protocol):
    """A server whose loop runs on the main thread (werkzeug's, socketserver's)."""

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


def serve(parts: Sequence[Part], status: str, *, server: Server | None = None, on_ready: Callable[[str], None] = print) -> None:
    """Start ``parts``, tell systemd READY with ``status`` (and ``on_ready``), serve until SIGTERM or SIGINT, stop the parts.

    The main thread runs ``server``'s loop, or waits for the signal when there is
    no server. The watchdog (when systemd asks for one) is fed while every
    part's `healthy` returns True. On the way out: STOPPING, then each part's
    `stop` in reverse order, even when serving failed.
    """
    done = threading.Event()

    def shut_down(*_):
        done.set()
        if server is not None:
            threading.Thread(target=server.shutdown, name="shutdown").start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shut_down)
    for part in parts:
        part.start()
    watchdog = systemd.Watchdog(lambda: all(part.healthy() for part in parts)).start()
    systemd.ready(status)
    on_ready(status)
    try:
        if server is not None:
            server.serve_forever()
        else:
            done.wait()
    finally:
        systemd.stopping()
        watchdog.stop()
        for part in reversed(parts):
            part.stop()
        logger.info("stopped: %s", status)
