"""The one way a daemon's loops run on a thread of their own and stop: `Loop`."""

from __future__ import annotations

import threading


class Loop:
    """Something whose `run` loops on its own daemon thread until `stop` (after gpiozero's stoppable threads).

    A subclass writes `run`, which checks or waits on ``stopping`` (``while not
    self.stopping.wait(interval)``) and returns soon after it is set. `start`
    runs it on a new daemon thread named ``thread_name``; `stop` sets
    ``stopping`` and waits for that thread. Releasing what the loop holds (a
    socket, a camera, a connection) is `run`'s or a `close` method's job, not
    `stop`'s.
    """

    thread_name = "loop"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        """Set by `stop`: `run` should finish."""
        self.thread: threading.Thread | None = None
        """The thread `start` made, None before."""

    def start(self):
        """Run `run` on a new daemon thread; returns self."""
        self.thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask `run` to finish and wait up to ``timeout`` seconds for its thread; harmless before `start`, twice, or from `run`."""
        self.stopping.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the thread `start` made is alive."""
        return self.thread is not None and self.thread.is_alive()

    def run(self) -> None:
        """The loop; return when ``stopping`` is set."""
        raise NotImplementedError
