"""Replay source: a folder of images or a video file, played at a set frame rate."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import CameraError, ImageError
from .base import Frame
from .pacer import Pacer

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".pgm"}


class ReplaySource:
    """Plays images in name order (each ``repeat`` times), or a video's frames, at ``fps``."""

    name = "replay"

    def __init__(
        self, path: str, *, fps: float, repeat: int = 1, loop: bool = True,
        size: tuple[int, int] | None = None, pacer: Pacer | None = None,
    ):
        self.path = Path(path)
        self.repeat = max(1, repeat)
        self.loop = loop
        self.size = size
        self.pacer = pacer or Pacer(fps)
        self.seq = 0
        self.frames = self.open_frames()

    def open_frames(self):
        if self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise CameraError(f"replay folder {self.path} holds no images")
            return ImageFrames(files, self.size)
        if self.path.is_file():
            return VideoFrames(self.path)
        raise CameraError(f"replay path {self.path} does not exist")

    def read(self) -> Frame | None:
        """Return the next frame when it is due; None at the end of a non-looping replay."""
        if self.seq % self.repeat == 0:
            gray = self.frames.next()
            if gray is None and self.loop and self.seq > 0:
                self.frames.rewind()
                gray = self.frames.next()
            if gray is None:
                return None
            self.current = gray
        t = self.pacer.wait()
        self.seq += 1
        return Frame(self.current, self.seq, t)

    def close(self) -> None:
        self.frames.close()


class ImageFrames:
    """Image files, loaded on demand and converted to grey (and to the camera's size)."""

    def __init__(self, files: list[Path], size: tuple[int, int] | None):
        self.files = files
        self.size = size
        self.index = 0

    def next(self) -> np.ndarray | None:
        while self.index < len(self.files):
            path = self.files[self.index]
            self.index += 1
            try:
                return fit(load(path), self.size)
            except ImageError as exc:
                logger.warning("replay: skipping %s: %s", path.name, exc)
        return None

    def rewind(self) -> None:
        self.index = 0

    def close(self) -> None:
        pass


def load(path: Path) -> np.ndarray:
    from ..decode import load_gray

    return load_gray(path)


def fit(gray: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Scale a frame down to at most the camera size, keeping its aspect (a camera never upscales)."""
    if size is None:
        return gray
    width, height = size
    scale = min(width / gray.shape[1], height / gray.shape[0])
    if scale >= 1:
        return gray
    from PIL import Image

    image = Image.fromarray(gray).resize((round(gray.shape[1] * scale), round(gray.shape[0] * scale)), Image.Resampling.BOX)
    return np.asarray(image)


class VideoFrames:
    """A video file read through OpenCV."""

    def __init__(self, path: Path):
        try:
            import cv2
        except ImportError:
            raise CameraError("replaying a video needs OpenCV: pip install opencv-python-headless") from None
        self.cv2 = cv2
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise CameraError(f"cannot open video {path}")

    def next(self) -> np.ndarray | None:
        ok, frame = self.capture.read()
        if not ok:
            return None
        return self.cv2.cvtColor(frame, self.cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame

    def rewind(self) -> None:
        self.capture.set(self.cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        self.capture.release()
