"""A USB (UVC) camera through OpenCV, where OpenCV is installed."""

from __future__ import annotations

import time

from ..errors import CameraError
from .base import Frame


class UsbSource:
    """Reads frames from /dev/videoN and converts them to grey."""

    name = "usb"

    def __init__(self, index: int, *, width: int, height: int, fps: float):
        try:
            import cv2
        except ImportError:
            raise CameraError("USB cameras need OpenCV: pip install opencv-python-headless") from None
        self.cv2 = cv2
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise CameraError(f"no USB camera at /dev/video{index}")
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.capture.set(cv2.CAP_PROP_FPS, fps)
        self.capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # hand out the newest frame, not a stale queue
        self.seq = 0

    def read(self) -> Frame:
        """Block until the camera delivers a frame; return it in grey."""
        ok, frame = self.capture.read()
        if not ok:
            raise CameraError("USB camera stopped delivering frames (unplugged?)")
        self.seq += 1
        gray = self.cv2.cvtColor(frame, self.cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        return Frame(gray, self.seq, time.monotonic())

    def close(self) -> None:
        self.capture.release()
