"""Live updates for the screens: a small fan-out of JSON messages to server-sent-event streams."""

from __future__ import annotations

import json
import queue
import threading
from typing import Iterator

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 100


class Live:
    """Each subscriber gets its own bounded queue; a slow screen loses old messages, never blocks the scanner."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queues: set[queue.Queue] = set()
        self.last: dict | None = None

    def publish(self, message: dict) -> None:
        """Send ``message`` to every open stream and remember it for screens that connect later."""
        with self.lock:
            self.last = message
            targets = list(self.queues)
        for q in targets:
            try:
                q.put_nowait(message)
            except queue.Full:
                drop_oldest(q, message)

    def stream(self, stop: threading.Event | None = None) -> Iterator[str]:
        """Yield server-sent events, starting with the last message, until ``stop`` is set."""
        q: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        with self.lock:
            self.queues.add(q)
            if self.last is not None:
                q.put_nowait(self.last)
        try:
            yield "retry: 1000\n\n"
            while stop is None or not stop.is_set():
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
