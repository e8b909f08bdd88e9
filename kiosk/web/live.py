"""Live updates for the screens: a fan-out of JSON messages to server-sent-event streams, fed from the events and from `kiosk scan`.

The messages are made in kiosk.notices; `kiosk scan`'s reach this fan-out through a notices.Receiver in `kiosk web`,
or straight from the scanner in `kiosk run`.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Iterator

from flask import has_request_context, request

from staffweb.auth import SessionCookie

from ..notices import live_messages

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 100
REMEMBERED = "scan"
"""The message type replayed to a screen that connects later (the latest scan outcome)."""


class Live:
    """Each subscriber gets its own bounded queue; a slow screen loses old messages, never blocks the scanner."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queues: set[queue.Queue] = set()
        self.last: dict | None = None

    def publish(self, message: dict) -> None:
        """Send ``message`` to every open stream and remember it for screens that connect later."""
        with self.lock:
            if message.get("type") == REMEMBERED:
                self.last = message
            targets = list(self.queues)
        for q in targets:
            try:
                q.put_nowait(message)
            except queue.Full:
                drop_oldest(q, message)

    def stream(self, stopping: threading.Event | None = None) -> Iterator[str]:
        """Yield server-sent events, starting with the last message, until ``stopping`` is set."""
        q: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        with self.lock:
            self.queues.add(q)
            if self.last is not None:
                q.put_nowait(self.last)
        try:
            yield "retry: 1000\n\n"
            while stopping is None or not stopping.is_set():
                try:
                    yield event(q.get(timeout=KEEPALIVE_SECONDS))
                except queue.Empty:
                    yield ": keepalive\n\n"
        finally:
            with self.lock:
                self.queues.discard(q)


def event(message: dict) -> str:
    return f"data: {json.dumps(message, ensure_ascii=False)}\n\n"


def drop_oldest(q: queue.Queue, message: dict) -> None:
    try:
        q.get_nowait()
    except queue.Empty:
        pass
    try:
        q.put_nowait(message)
    except queue.Full:
        pass


def feeder(live: Live):
    """Return a Watcher callback that publishes the events' live messages to ``live``; none carries personal data."""

    def publish(events: list[dict]) -> None:
        for message in live_messages(events):
            live.publish(message)

    return publish


LIVE_REFRESH = "X-Live-Refresh"
"""The header of a page's background refresh (supervisor.js)."""


class LiveSessionCookie(SessionCookie):
    """The session cookie, left alone by background refreshes: a refresh that set the cookie as it was when it started
    would undo a change (the language chosen meanwhile) whose answer arrived first."""

    def should_set_cookie(self, app, session) -> bool:
        if has_request_context() and request.headers.get(LIVE_REFRESH) and not session.modified:
            return False
        return super().should_set_cookie(app, session)
