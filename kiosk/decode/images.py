"""Image files to grey numpy frames (for tests, the benchmark and the demo)."""
from __future__ import annotations

import os

import numpy as np

from kiosk.errors import ImageError


def load_gray(path: str | os.PathLike) -> np.ndarray:
    """Return the image at ``path`` (PNG, JPEG, WebP, ...) as a 2-D uint8 array.

    Raises ImageError with a plain message when the file is missing, unreadable or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            grey = img.convert("L")
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image file (or an unsupported format): {path}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}") from None
    return np.asarray(grey, dtype=np.uint8).copy()
