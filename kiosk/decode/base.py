"""What every decoder backend returns (Code) and implements (Decoder)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy


@dataclass(frozen=True)
class Code:
    """One decoded QR symbol."""

    text: str
    """Decoded text: ``raw`` as UTF-8 when valid UTF-8, else the backend's own text."""
    raw: bytes
    """The symbol's raw payload bytes."""
    backend: str
    """Which library read it: ``"zxing"`` or ``"zbar"``."""


class Decoder(Protocol):
    """Reads QR codes from one grey camera frame."""

    name: str

    def decode(self, gray: "numpy.ndarray") -> list[Code]:
        """Return the QR codes in ``gray`` (2-D uint8); raise ValueError for a wrong shape/dtype."""
        ...


def text_of(raw: bytes, fallback: str) -> str:
    """Return ``raw`` decoded as UTF-8 when it is valid UTF-8, else ``fallback``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return fallback


def check_gray(gray) -> None:
    """Raise ValueError unless ``gray`` is a non-empty 2-D uint8 numpy array."""
    shape = getattr(gray, "shape", None)
    dtype = getattr(gray, "dtype", None)
    if shape is None or len(shape) != 2 or str(dtype) != "uint8":
        raise ValueError(f"expected a 2-D uint8 grey image, got shape={shape} dtype={dtype}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"expected a non-empty grey image, got shape={shape}")
