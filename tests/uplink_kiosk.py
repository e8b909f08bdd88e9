"""The kiosk's real publisher (kiosk/uplink) on a thread of the test, with the kiosk's test key, for tests that run it
against a real broker and hub."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiosk.config import Config, build
from kiosk.queue.store import Store
from kiosk.uplink.publisher import Publisher

from .conftest import Ticker
from .keys import key_file

HUB_SETTINGS = {"keepalive_seconds": 5, "status_seconds": 0.5, "resend_seconds": 2.0, "window": 8}
"""The kiosk's [hub] settings for tests: quick statuses and re-sends."""


def kiosk_config(folder: Path, kiosk: str, **hub: object) -> Config:
    """A kiosk's settings: its database in folder, its test key; ``hub`` overrides HUB_SETTINGS."""
    settings = {"key_file": str(key_file(folder, kiosk)), **HUB_SETTINGS, **hub}
    return build({"kiosk": {"id": kiosk, "db": str(folder / "kiosk.db")}, "feedback": {"pin_factory": "mock"},
                  "hub": settings})


@contextmanager
def publishing(config: Config, url: str, *, clock: Ticker | None = None, **hub: object) -> Iterator[Publisher]:
    """A Publisher on its own thread (its own Store), pointed at the broker at ``url``; stopped and joined at the end.

    Its wall clock is ``clock`` (the test's Ticker, shared with the site and the board), never the machine's.
    """
    settings = config.replace("hub", broker=url, **hub)
    publisher = Publisher(settings, Store(settings.kiosk.db), clock=clock or Ticker())
    thread = threading.Thread(target=publisher.run, name="publisher")
    thread.start()
    try:
        yield publisher
    finally:
        publisher.stop()
        thread.join(10)
        assert not thread.is_alive()
