"""Follows the event log of a kiosk database, so another thread or process learns of each change within ~50 ms."""

from __future__ import annotations

import logging
from typing import Callable

from daemon.threads import Loop

from .store import Store

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05


class Watcher(Loop):
    """Polls SQLite's data_version (cheap; it changes when another connection commits) and hands over new events.

    ``on_events`` gets the new event rows in sequence order, from the thread of
    the watcher; an exception in it is logged and the rows are not offered again.
    """

    thread_name = "watcher"

    def __init__(self, store: Store, on_events: Callable[[list[dict]], None], *, poll_seconds: float = POLL_SECONDS):
        super().__init__()
        self.store = store
        self.on_events = on_events
        self.poll_seconds = poll_seconds
        self.last_seq = 0

    def start(self) -> "Watcher":
        """Follow from the newest event now in the database, on the watcher's own thread."""
        self.last_seq = self.store.db.execute("select coalesce(max(seq), 0) from events").fetchone()[0]
        return super().start()

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
