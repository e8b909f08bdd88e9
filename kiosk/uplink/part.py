"""The publish part of a kiosk process: the publisher on its own thread, with its own database connection.

In production it is `kiosk publish` (kiosk-publish.service), apart from the
scanner and the screens: a hung network cannot stall a check-in, and a
publisher restarted by its watchdog resumes from the hub's watermark.
`kiosk run --broker URL` runs the same part inside the one demo process.
"""

from __future__ import annotations

from typing import Callable

from ..config import Config
from ..queue.store import Store
from .publisher import STOP_SECONDS, Publisher


class PublishPart:
    """The publisher on its own thread, with its own Store (SQLite connections are per thread)."""

    def __init__(self, config: Config, camera_fps: Callable[[], float | None] = lambda: None):
        store = Store(config.kiosk.db)
        store.close()  # the migration ran on this thread's connection; the publisher thread opens its own
        self.publisher = Publisher(config, store, camera_fps=camera_fps)

    @property
    def description(self) -> str:
        broker = self.publisher.broker
        return f"publishing to {broker}" if broker else "publisher off (no hub.broker)"

    def start(self) -> None:
        self.publisher.start()

    def healthy(self) -> bool:
        return self.publisher.running and self.publisher.healthy()

    def stop(self) -> None:
        """Stop the publisher: it says `stopped` to the broker (up to STOP_SECONDS) and disconnects."""
        self.publisher.stop(timeout=STOP_SECONDS + 3)
