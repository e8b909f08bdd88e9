"""Raspberry Pi camera through picamera2: the low-resolution YUV420 stream's Y plane, focused and exposed for a card."""

from __future__ import annotations

import logging
import time

from ..errors import CameraError
from .base import Frame
from .controls import AF_TRIGGER_START, camera_controls, wants_focus_cycles

logger = logging.getLogger(__name__)

FOCUS_CYCLE_SECONDS = 3.0
"""`macro` focus: a new autofocus cycle this often, so each person holding up a card gets one."""


class PicameraSource:
    """Captures the `lores` stream (YUV420) and hands out its Y plane; the ISP does the scaling."""

    name = "picamera2"

    def __init__(self, *, width: int, height: int, fps: float, settings=None):
        """Start the camera; ``settings`` (CameraSettings) sets focus and exposure, None leaves the camera's defaults."""
        try:
            from picamera2 import Picamera2  # from apt: python3-picamera2
        except ImportError:
            raise CameraError("picamera2 is not installed (sudo apt install python3-picamera2)") from None
        try:
            self.camera = Picamera2()
            controls, missing = camera_controls(settings, self.camera.camera_controls) if settings else ({}, [])
            config = self.camera.create_video_configuration(
                main={"size": (max(width, 1280), max(height, 720))},
                lores={"size": (width, height), "format": "YUV420"},
                controls={"FrameRate": fps, **controls},
                buffer_count=4,
            )
            self.camera.configure(config)
            self.camera.start()
        except Exception as exc:  # libcamera raises plain RuntimeError/IndexError when no camera is attached
            raise CameraError(f"cannot start the Pi camera: {exc}") from exc
        if missing:
            logger.warning("this camera has no %s control: left at its default", ", ".join(missing))
        self.cycles = settings is not None and wants_focus_cycles(settings) and "AfTrigger" in self.camera.camera_controls
        self.last_cycle = float("-inf")
        self.width, self.height = width, height
        self.seq = 0

    def read(self) -> Frame:
        """Block until the camera delivers its next frame; return its Y plane."""
        try:
            self.focus_cycle()
            yuv = self.camera.capture_array("lores")
        except Exception as exc:
            raise CameraError(f"Pi camera stopped delivering frames: {exc}") from exc
        self.seq += 1
        # The array may be wider than the image (row stride padding): slice to the real size.
        return Frame(yuv[: self.height, : self.width], self.seq, time.monotonic())

    def focus_cycle(self) -> None:
        """In `macro` focus, start an autofocus cycle when the last one is old (it runs while frames keep coming)."""
        now = time.monotonic()
        if self.cycles and now - self.last_cycle >= FOCUS_CYCLE_SECONDS:
            self.camera.set_controls({"AfTrigger": AF_TRIGGER_START})
            self.last_cycle = now

    def metadata(self) -> dict:
        """Return the camera's metadata for the latest frame (LensPosition, AfState, ExposureTime, ...)."""
        try:
            return dict(self.camera.capture_metadata())
        except Exception as exc:
            raise CameraError(f"Pi camera gave no metadata: {exc}") from exc

    def close(self) -> None:
        try:
            self.camera.stop()
            self.camera.close()
        except Exception:  # closing a camera that already failed must not mask the first error
            logger.debug("picamera2 close failed", exc_info=True)
