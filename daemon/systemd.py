"""Talking to systemd without libsystemd: sd_notify datagrams (READY, STATUS, STOPPING) and a health-gated watchdog."""

from __future__ import annotations

import logging
import os
import socket
from typing import Callable, Mapping

from .threads import Loop

logger = logging.getLogger(__name__)

_send_failed_logged = False
"""Only the first failed notification is logged as a warning; later ones at debug level."""


def notify(state: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, newline-separated assignments) to the service manager.

    The socket is ``$NOTIFY_SOCKET``: a filesystem path, or an abstract socket
    when it starts with ``@``. Returns True when the datagram was sent, False
    when there is no service manager to tell (the variable is unset: `kiosk run`
    in a terminal) or the send failed. Never raises: a kiosk must not stop
    because systemd could not be told something; the first failure is logged.
    """
    environ = os.environ if environ is None else environ
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    try:
        send(socket_address(address), state.encode("utf-8"))
    except (OSError, ValueError) as exc:
        log_send_failure(address, exc)
        return False
    return True


def socket_address(address: str) -> str:
    """The AF_UNIX address for a $NOTIFY_SOCKET value; raises ValueError for one systemd would not set."""
    if address.startswith("@"):
        return "\0" + address[1:]
    if address.startswith("/"):
        return address
    raise ValueError(f"NOTIFY_SOCKET must be an absolute path or start with @, got {address!r}")


def send(address: str, payload: bytes) -> None:
    """One datagram on a fresh socket: safe from any thread, nothing kept open."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.send(payload)


def log_send_failure(address: str, exc: Exception) -> None:
    global _send_failed_logged
    if _send_failed_logged:
        logger.debug("systemd notification to %s failed again: %s", address, exc)
        return
    _send_failed_logged = True
    logger.warning("cannot notify systemd at %s: %s (further failures are logged at debug level)", address, exc)


def one_line(text: str) -> str:
    """Status text on one line: a newline would start a new assignment in the datagram."""
    return " ".join(text.splitlines())


def ready(status: str = "") -> bool:
    """Tell systemd start-up is finished (``READY=1``), with an optional status line; see `notify`."""
    return notify("READY=1" + (f"\nSTATUS={one_line(status)}" if status else ""))


def stopping() -> bool:
    """Tell systemd a clean shutdown has begun (``STOPPING=1``); see `notify`."""
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """Set the line `systemctl status` shows for the unit (``STATUS=...``); see `notify`."""
    return notify(f"STATUS={one_line(text)}")


def watchdog_seconds(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """The watchdog timeout systemd expects pings within, in seconds; None when it is not ours to feed.

    None when WATCHDOG_USEC is unset, empty or not a positive integer, or when
    WATCHDOG_PID is set to a process other than ``pid`` (default: this one):
    a child that inherited the variables must not keep its parent alive.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    target = environ.get("WATCHDOG_PID", "")
    try:
        timeout = int(usec) / 1_000_000
        if target and int(target) != (os.getpid() if pid is None else pid):
            return None
    except ValueError:
        if usec:
            logger.warning("ignoring malformed watchdog settings WATCHDOG_USEC=%r WATCHDOG_PID=%r", usec, target)
        return None
    return timeout if timeout > 0 else None


class Watchdog(Loop):
    """Pings systemd's watchdog (``WATCHDOG=1``) from a daemon thread, but only while ``healthy()`` says so.

    With ``WatchdogSec=`` in the unit, systemd sets WATCHDOG_USEC and kills and
    restarts the service (``Restart=always``) when no ping arrives within that
    time. The pings go out every half of it, each one only after
    ``healthy()`` returned True: a process whose loop is wedged stops pinging
    and is restarted, even though its process and this thread are alive.
    systemd arms the watchdog at ``READY=1`` (before that, ``TimeoutStartSec=``
    bounds the start-up), but any ping arms it too: start the Watchdog right
    after `ready`, or make ``healthy`` return True while starting up.

    The contract of ``healthy``:

    - Return True when the process is doing its job or recovering by itself;
      return False only when restarting the process is the cure. For the
      scanner: False when its thread has died or its loop has not completed
      an iteration (a frame read, or a camera reopen attempt) for longer than
      the longest legitimate pause. A missing camera is *not* unhealthy: the
      scanner retries it with backoff, and a restart loop would only hammer
      the device. For the web: False when the server thread has died.
    - Be cheap and never block: it runs on this thread every half interval,
      and a ``healthy`` that hangs withholds pings just like an unhealthy one.
      Read timestamps and flags the loop updates; do no I/O that can wait.
    - Be safe to call from another thread. An exception counts as unhealthy
      and is logged with its traceback.

    Disabled (no thread, ``enabled`` False) when WATCHDOG_USEC is unset, or
    WATCHDOG_PID names another process; `start` and `stop` are then no-ops.
    """

    thread_name = "watchdog"

    def __init__(self, healthy: Callable[[], bool], environ: Mapping[str, str] = os.environ):
        super().__init__()
        self.healthy = healthy
        self.environ = environ
        self.timeout = watchdog_seconds(environ)
        self.interval = None if self.timeout is None else self.timeout / 2
        """Seconds between pings, or None when disabled."""
        self.was_healthy = True

    @property
    def enabled(self) -> bool:
        """True when systemd expects pings from this process."""
        return self.interval is not None

    def start(self) -> "Watchdog":
        """Start pinging (the first check is immediate); does nothing when disabled or already started."""
        if self.enabled and self.thread is None:
            self.stopping.clear()
            super().start()
            logger.info("systemd watchdog: timeout %g s, checking health every %g s", self.timeout, self.interval)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop pinging and wait for the thread; call after the module's `stopping()` (STOPPING=1) so systemd does not count a silence."""
        super().stop(timeout)
        self.thread = None  # so that `start` can start it again

    def __enter__(self) -> "Watchdog":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def run(self) -> None:
        """The thread: check health, ping when healthy, wait half the timeout; until `stop`."""
        while not self.stopping.is_set():
            if self.check():
                notify("WATCHDOG=1", environ=self.environ)
            self.stopping.wait(self.interval)

    def check(self) -> bool:
        """Call ``healthy()``; log each change between healthy and unhealthy once, not every interval."""
        error = None
        try:
            ok = bool(self.healthy())
        except Exception as exc:  # a broken health check must not kill the thread that reports it
            ok, error = False, exc
        if ok != self.was_healthy:
            self.was_healthy = ok
            if ok:
                logger.warning("healthy again: watchdog pings resume")
            else:
                logger.error(
                    "unhealthy%s: withholding watchdog pings; systemd restarts the service within %g s",
                    " (the health check raised)" if error else "", self.timeout, exc_info=error,
                )
        return ok
