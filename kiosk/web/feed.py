"""Turns the kiosk's events into live messages for the screens; none carries personal data."""

from __future__ import annotations

import json

from .live import Live


def live_messages(events: list[dict]) -> list[dict]:
    """Return the messages the screens need for these event rows.

    Every event tells the supervisor screen to refresh ("changed"); a call tells
    the citizen screen whose turn it is, by ticket number and desk only.
    """
    messages = [{"type": "changed", "seq": events[-1]["seq"], "events": [e["type"] for e in events]}]
    for event in events:
        payload = json.loads(event["payload"])
        if event["type"] == "PersonCalled":
            messages.append({"type": "called", "ticket": payload["ticket"]["number"], "desk": payload["desk"]})
        elif event["type"] == "AefiRecorded" and payload["aefi"]["severity"] == "severe":
            messages.append({"type": "alarm"})
    return messages


def feeder(live: Live):
    """Return a Watcher callback that publishes the events' live messages."""

    def publish(events: list[dict]) -> None:
        for message in live_messages(events):
            live.publish(message)

    return publish
