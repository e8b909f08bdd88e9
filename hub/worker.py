"""The merge worker: a child process of `hub run` that parses, classifies and commits the batches the MQTT side receives.

One CPython process cannot both receive MQTT and parse and merge at the rate the
broker delivers (bench/README.md), so `hub run` is a two-stage pipeline: the
parent only receives and acknowledges; this worker gets one whole batch of raw
(topic, body) pairs at a time over a pipe, runs `Ingest` on it (wire.parse_event,
the quarantine, `Store.commit`, retried with backoff until it succeeds) and
sends back what to acknowledge. The parent gathers the next batch meanwhile.

The parent keeps each batch's MQTT deliveries and acknowledges them only when
the worker's answer for that batch arrives, that is after its commit. The
worker must never outlive the parent (a restarted hub would find its database
written to by an orphan): the kernel kills it when the parent dies
(PR_SET_PDEATHSIG), and it exits when its pipe closes. It ignores SIGTERM and
SIGINT, which systemd or a terminal send to the whole group: the parent decides
when it stops, after the last batch.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Callable

from .errors import WorkerDied
from .ingest import Delivery, Flushed, Ingest
from .store.open import open_store

logger = logging.getLogger(__name__)

CONTEXT = multiprocessing.get_context("spawn")
"""A fresh interpreter: a forked copy would share the parent's SQLite connection and paho socket."""

STOP = "stop"
PR_SET_PDEATHSIG = 1
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class Retrying:
    """The worker's word, before its answer, that the batch's commit failed and will be tried again."""

    error: str
    """The failure: a database error's type and message (never a message body)."""


@dataclass
class Gathering:
    """Raw messages received since the last batch went to the worker, with the deliveries to acknowledge after it."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    since: float | None = None
    """Monotonic time of the oldest message."""

    def __len__(self) -> int:
        return len(self.messages)


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker needs to open the store and log like the parent."""

    db: str
    catalogue: str | None
    worker: str
    """The `hub run` client id: names its merging row on PostgreSQL."""
    parent: int
    log_level: int
    log_format: str


class Worker:
    """The parent's side: start the worker, send it one batch at a time, collect what to acknowledge."""

    def __init__(self, db: str, catalogue: str | None = None, client_id: str = "hub"):
        self.conn, child = CONTEXT.Pipe()
        self.process = CONTEXT.Process(target=work, args=(child, worker_settings(db, catalogue, client_id)),
                                       name="hub-merge", daemon=True)
        self.process.start()
        child.close()  # so that the worker's death reads as EOF here
        self.in_flight: list[Delivery] | None = None
        self.in_flight_since: float | None = None
        """Monotonic time the oldest message of the batch in the worker arrived."""
        self.retrying: Retrying | None = None
        """The worker's last word that the batch in it failed to commit; None once it answered."""
        logger.info("merge worker started (pid %d)", self.process.pid)

    @property
    def busy(self) -> bool:
        return self.in_flight is not None

    def alive(self) -> bool:
        return self.process.exitcode is None

    def submit(self, gathered: Gathering) -> None:
        """Send a batch to the idle worker; its deliveries wait here for the answer."""
        assert self.in_flight is None, "one batch at a time: commits stay in arrival order"
        try:
            self.conn.send(gathered.messages)
        except (OSError, ValueError) as exc:
            raise self.died() from exc
        self.in_flight, self.in_flight_since = gathered.deliveries, gathered.since

    def collect(self, timeout: float = 0.0) -> Flushed | None:
        """The committed batch's acks and deliveries when the worker has answered (within timeout), else None.

        A Retrying the worker sends meanwhile is kept in ``retrying``.
        """
        if self.in_flight is None:
            return None
        deadline = time.monotonic() + timeout
        try:
            while self.conn.poll(max(0.0, deadline - time.monotonic())):
                answer = self.conn.recv()
                if isinstance(answer, Retrying):
                    self.retrying = answer
                    continue
                flushed: Flushed = answer
                flushed.deliveries, self.in_flight, self.in_flight_since, self.retrying = self.in_flight, None, None, None
                return flushed
        except (EOFError, OSError) as exc:
            raise self.died() from exc
        return None

    def died(self) -> WorkerDied:
        self.process.join(1.0)
        return WorkerDied(f"the merge worker (pid {self.process.pid}) exited with {self.process.exitcode}")

    def stop(self, timeout: float) -> None:
        """Ask the idle worker to close its store and exit; kill it when it does not within timeout."""
        if self.alive():
            try:
                self.conn.send(STOP)
            except (OSError, ValueError):
                pass
            self.process.join(timeout)
        if self.alive():
            logger.error("the merge worker did not stop within %.0f s; killing it (its batch stays unacknowledged)", timeout)
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


def worker_settings(db: str, catalogue: str | None, client_id: str = "hub") -> WorkerSettings:
    root = logging.getLogger()
    formats = [handler.formatter._fmt for handler in root.handlers if handler.formatter and handler.formatter._fmt]
    return WorkerSettings(str(db), catalogue, client_id, os.getpid(), root.getEffectiveLevel(), (formats or [LOG_FORMAT])[0])


# -- the worker process -------------------------------------------------------------------------------------------------


def work(conn: Connection, settings: WorkerSettings) -> None:
    """The worker's main: merge batches until STOP or the parent's end."""
    logging.basicConfig(level=settings.log_level, format=settings.log_format, stream=sys.stderr)
    die_with_parent(settings.parent)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = open_store(settings.db, settings.catalogue, worker=settings.worker)
    try:
        ingest = Ingest(store)
        while (messages := receive(conn)) is not None:
            conn.send(merge(ingest, messages, lambda: os.getppid() == settings.parent, conn.send))
    finally:
        store.close()


def receive(conn: Connection) -> list[tuple[str, bytes]] | None:
    try:
        messages = conn.recv()
    except EOFError:
        return None  # the parent is gone
    return None if messages == STOP else messages


def merge(ingest, messages: list[tuple[str, bytes]], parent_alive: Callable[[], bool],
          tell: Callable[[Retrying], None] = lambda retrying: None) -> Flushed:
    """Classify and commit one batch; a commit the database fails is retried with the Ingest's backoff until it
    succeeds, and each failure is told to the parent (``tell``) for its liveness report."""
    if not messages:
        return Flushed([], [], 0, 0, 0)
    ingest.receive_all(messages)
    while (flushed := ingest.flush()) is None:
        tell(Retrying(ingest.last_error or "unknown"))
        time.sleep(ingest.seconds_until_retry())
        if not parent_alive():
            raise SystemExit(1)
    return flushed


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when the parent dies (Linux); exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            logger.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d); relying on the pipe", ctypes.get_errno())
    except (OSError, AttributeError):
        logger.warning("no prctl here; the merge worker relies on its pipe to notice the hub's end")
    if os.getppid() != parent:
        os._exit(1)
