"""Raspberry Pi camera through picamera2: the low-resolution YUV420 stream's Y plane."""

from __future__ import annotations

import logging
import time

from ..errors import CameraError
from .base import Frame

logger = logging.getLogger(__name__)


class PicameraSource:
    """Captures the `lores` stream (YUV420) and hands out its Y plane; the ISP does the scaling."""

    name = "picamera2"

    def __init__(self, *, width: int, height: int, fps: float):
        try:
            from picamera2 import Picamera2  # from apt: python3-picamera2
        except ImportError:
            raise CameraError("picamera2 is not installed (sudo apt install python3-picamera2)") from None
        try:
            self.camera = Picamera2()
            config = self.camera.create_video_configuration(
                main={"size": (max(width, 1280), max(height, 720))},
                lores={"size": (width, height), "format": "YUV420"},
                controls={"FrameRate": fps},
                buffer_count=4,
            )
            self.camera.configure(config)
            self.camera.start()
        except Exception as exc:  # libcamera raises plain RuntimeError/IndexError when no camera is attached
            raise CameraError(f"cannot start the Pi camera: {exc}") from exc
        self.width, self.height = width, height
        self.seq = 0

    def read(self) -> Frame:
        """Block until the camera delivers its next frame; return its Y plane."""
        try:
            yuv = self.camera.capture_array("lores")
        except Exception as exc:
            raise CameraError(f"Pi camera stopped delivering frames: {exc}") from exc
        self.seq += 1
        # The array may be wider than the image (row stride padding): slice to the real size.
        return Frame(yuv[: self.height, : self.width], self.seq, time.monotonic())

    def close(self) -> None:
        try:
            self.camera.stop()
            self.camera.close()
        except Exception:  # closing a camera that already failed must not mask the first error
            logger.debug("picamera2 close failed", exc_info=True)
