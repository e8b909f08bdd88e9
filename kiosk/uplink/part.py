"""`kiosk publish`: the publisher as a part of a process (its own thread and database connection) and as its own service.

In production it is kiosk-publish.service, apart from the scanner and the
screens: a hung network cannot stall a check-in, and a publisher restarted by
its watchdog resumes from the hub's watermark. `kiosk run --broker URL` runs the
same part inside the one demo process.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from ..config import Config
from ..queue.store import Store
from ..runtime import serve
from .health import HealthInbox, socket_path
from .publisher import STOP_SECONDS, Publisher

logger = logging.getLogger(__name__)


class PublishPart:
    """The publisher on its own thread, with its own Store (SQLite connections are per thread)."""

    def __init__(self, config: Config, camera_fps: Callable[[], float | None] = lambda: None):
        store = Store(config.kiosk.db)
        store.close()  # the migration ran on this thread's connection; the publisher thread opens its own
        self.publisher = Publisher(config, store, camera_fps=camera_fps)
        self.thread = threading.Thread(target=self.publisher.run, name="publisher", daemon=True)

    @property
    def description(self) -> str:
        broker = self.publisher.broker
        return f"publishing to {broker}" if broker else "publisher off (no hub.broker)"

    def start(self) -> None:
        self.thread.start()

    def healthy(self) -> bool:
        return self.thread.is_alive() and self.publisher.healthy()

    def close(self) -> None:
        self.publisher.stop()
        self.thread.join(timeout=STOP_SECONDS + 3)


class PublishService:
    """`kiosk publish`: the publisher alone, hearing the scanner's frame rate on publish.sock beside the database."""

    def __init__(self, config: Config):
        self.config = config
        self.inbox: HealthInbox | None = None
        self.part = PublishPart(config, self.camera_fps)  # checks the hub settings before the socket is bound
        self.inbox = HealthInbox(socket_path(config.kiosk.db))

    def camera_fps(self) -> float | None:
        return self.inbox.camera_fps() if self.inbox else None

    def start(self) -> None:
        self.part.start()

    def close(self) -> None:
        self.part.close()
        if self.inbox:
            self.inbox.close()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: {self.part.description}"
        serve(None, [self], on_ready, line, self.part.healthy)
