"""Follows the event log of a kiosk database, so another thread or process learns of each change within ~50 ms."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from .store import Store

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05


class Watcher:
    """Polls SQLite's data_version (cheap; it changes when another connection commits) and hands over new events.

    ``on_events`` gets the new event rows in sequence order, from the thread of
    the watcher; an exception in it is logged and the rows are not offered again.
    """

    def __init__(self, store: Store, on_events: Callable[[list[dict]], None], *, poll_seconds: float = POLL_SECONDS):
        self.store = store
        self.on_events = on_events
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="watcher", daemon=True)
        self.last_seq = 0

    def start(self) -> "Watcher":
        self.last_seq = self.store.db.execute("select coalesce(max(seq), 0) from events").fetchone()[0]
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def run(self) -> None:
        version = None
        try:
            while not self.stopping.wait(self.poll_seconds):
                try:
                    now = self.store.db.execute("PRAGMA data_version").fetchone()[0]
                    if now != version:
                        version = now
                        self.deliver()
                except Exception as exc:  # keep following after a locked file or a failing callback
                    logger.error("watching the database failed: %s", exc)
        finally:
            self.store.close()

    def deliver(self) -> None:
        rows = list(self.store.db["events"].rows_where("seq > ?", [self.last_seq], order_by="seq"))
        if not rows:
            return
        self.last_seq = rows[-1]["seq"]
        self.on_events(rows)
