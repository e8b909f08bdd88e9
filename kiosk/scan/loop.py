"""The scanner loop: frame source -> decoder -> desk, debounced, paced, stoppable, reporting its health."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from daemon.threads import Loop

from ..camera import FrameSource
from ..camera.pacer import Pacer
from ..decode import Code, Decoder
from ..errors import CameraError

logger = logging.getLogger(__name__)

MAX_REOPEN_SECONDS = 30.0


@dataclass(frozen=True)
class Health:
    """What the scanner reports about itself; times are seconds ago, None when never."""

    state: str  # starting | running | camera_error | finished | stopped
    camera: str
    fps: float
    frames: int
    codes: int
    errors: int
    last_frame_age: float | None
    last_decode_age: float | None
    last_error: str | None
    decode_ms: float | None


class Debouncer:
    """A code counts once while it stays in view: it is new again only after ``hold_seconds`` unseen."""

    def __init__(self, hold_seconds: float):
        self.hold_seconds = hold_seconds
        self.last_seen: dict[bytes, float] = {}

    def is_new(self, key: bytes, now: float) -> bool:
        """Record a sighting of ``key`` at ``now``; True if it starts a new scan."""
        last = self.last_seen.get(key)
        self.last_seen[key] = now
        self.forget_before(now - self.hold_seconds)
        return last is None or now - last > self.hold_seconds

    def forget_before(self, cutoff: float) -> None:
        for key in [k for k, t in self.last_seen.items() if t < cutoff]:
            del self.last_seen[key]


class Scanner(Loop):
    """Pulls frames, decodes them and hands each new code to ``handle``; never lets one failure stop it.

    `start` runs the loop on its own thread, `stop` ends it.
    """

    thread_name = "scanner"

    def __init__(
        self,
        open_camera: Callable[[], FrameSource],
        decoder: Decoder,
        handle: Callable[[Code], object],
        *,
        max_fps: float = 12.0,
        hold_seconds: float = 3.0,
        reopen_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__()
        self.open_camera = open_camera
        self.decoder = decoder
        self.handle = handle
        self.pacer = Pacer(max_fps, clock=clock, sleep=sleep)
        self.debouncer = Debouncer(hold_seconds)
        self.reopen_seconds = reopen_seconds
        self.clock = clock
        self.source: FrameSource | None = None
        self.state = "starting"
        self.frame_times: deque[float] = deque(maxlen=50)
        self.frames = self.codes = self.errors = 0
        self.last_decode: float | None = None
        self.last_error: str | None = None
        self.decode_ms: float | None = None

    def run(self) -> None:
        """Loop until stopped (or a non-looping replay ends), reopening a failed camera with backoff."""
        delay = self.reopen_seconds
        while not self.stopping.is_set():
            try:
                self.source = self.source or self.open_camera()
                if not self.step():
                    self.state = "finished"
                    break
                delay = self.reopen_seconds
            except CameraError as exc:
                self.camera_failed(exc)
                self.stopping.wait(delay)
                delay = min(delay * 2, MAX_REOPEN_SECONDS)
        self.close_camera()
        if self.state != "finished":
            self.state = "stopped"

    def step(self) -> bool:
        """Read and process one frame; False when the source has run out."""
        self.pacer.wait()
        frame = self.source.read()
        if frame is None:
            return False
        self.state = "running"
        self.frames += 1
        self.frame_times.append(self.clock())
        for code in self.decode(frame.gray):
            if self.debouncer.is_new(code.raw, self.clock()):
                self.codes += 1
                self.dispatch(code)
        return True

    def decode(self, gray) -> list[Code]:
        started = time.perf_counter()
        try:
            codes = self.decoder.decode(gray)
        except ValueError as exc:
            self.record_error(f"decoder rejected a frame: {exc}")
            return []
        self.decode_ms = (time.perf_counter() - started) * 1000
        if codes:
            self.last_decode = self.clock()
        return codes

    def dispatch(self, code: Code) -> None:
        try:
            self.handle(code)
        except Exception as exc:  # one bad scan must never stop the kiosk; the desk reports to the citizen
            logger.exception("handling a scan failed")
            self.record_error(f"handling a scan failed: {type(exc).__name__}")

    def camera_failed(self, exc: CameraError) -> None:
        self.state = "camera_error"
        self.record_error(str(exc))
        logger.error("camera: %s", exc)
        self.close_camera()

    def record_error(self, message: str) -> None:
        self.errors += 1
        self.last_error = message

    def close_camera(self) -> None:
        if self.source is not None:
            try:
                self.source.close()
            except CameraError as exc:
                logger.warning("closing the camera failed: %s", exc)
            self.source = None

    def health(self) -> Health:
        """A snapshot of the loop's state, frame rate and errors."""
        now = self.clock()
        return Health(
            state=self.state,
            camera=getattr(self.source, "name", "none"),
            fps=round(measured_fps(self.frame_times, now), 1),
            frames=self.frames,
            codes=self.codes,
            errors=self.errors,
            last_frame_age=age(self.frame_times[-1] if self.frame_times else None, now),
            last_decode_age=age(self.last_decode, now),
            last_error=self.last_error,
            decode_ms=None if self.decode_ms is None else round(self.decode_ms, 2),
        )


def measured_fps(times: deque[float], now: float, window: float = 5.0) -> float:
    recent = [t for t in times if now - t <= window]
    if len(recent) < 2:
        return 0.0
    return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)


def age(then: float | None, now: float) -> float | None:
    return None if then is None else round(now - then, 2)
