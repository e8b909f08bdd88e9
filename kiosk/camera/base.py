"""What every frame source hands out (Frame) and the interface it implements (FrameSource)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One grey frame (the camera's Y plane) with its sequence number and monotonic capture time."""

    gray: np.ndarray
    seq: int
    t: float


class FrameSource(Protocol):
    """Anything that hands out grey frames.

    ``read`` blocks until the next frame is due and returns it, returns None when a
    replay has run out, and raises CameraError when the camera fails.
    """

    name: str

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...
