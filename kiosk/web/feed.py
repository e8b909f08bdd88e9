"""Turns the kiosk's events into live messages for the screens; none carries personal data."""

from __future__ import annotations

from ..notices import live_messages
from .live import Live


def feeder(live: Live):
    """Return a Watcher callback that publishes the events' live messages."""

    def publish(events: list[dict]) -> None:
        for message in live_messages(events):
            live.publish(message)

    return publish
