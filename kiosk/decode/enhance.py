"""Image fixes the robust decoder tries on a crop: rescale, sharpen, deblur, contrast."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


def rescale(img: np.ndarray, cv2, long_side: int) -> np.ndarray:
    """Return ``img`` resized so its longer side is ``long_side`` (cubic up, area down)."""
    factor = long_side / max(img.shape)
    if abs(factor - 1) < 0.05:
        return img
    method = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    return cv2.resize(img, None, fx=factor, fy=factor, interpolation=method)


def unsharp(img: np.ndarray, cv2, sigma: float, amount: float) -> np.ndarray:
    """Return ``img`` with detail finer than ``sigma`` pixels boosted by ``amount``."""
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1 + amount, blurred, -amount, 0)


def equalize(img: np.ndarray, cv2, clip: float = 2.0) -> np.ndarray:
    """Return ``img`` with local contrast equalised (CLAHE on an 8x8 grid)."""
    return cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(img)


def stretch(img: np.ndarray, cv2) -> np.ndarray:
    """Return ``img`` with its grey levels stretched to the full 0-255 range."""
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def wiener(img: np.ndarray, cv2, sigma: float, noise: float) -> np.ndarray:
    """Return ``img`` deblurred by a Wiener filter for a Gaussian blur of ``sigma`` pixels.

    ``noise`` is the assumed noise-to-signal power: larger is smoother, smaller is sharper.
    """
    height, width = img.shape
    padded_h, padded_w = cv2.getOptimalDFTSize(height), cv2.getOptimalDFTSize(width)
    padded = cv2.copyMakeBorder(img, 0, padded_h - height, 0, padded_w - width, cv2.BORDER_REPLICATE)
    spectrum = cv2.dft(padded.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT)
    spectrum *= wiener_gain(padded_h, padded_w, sigma, noise)
    restored = cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    return np.clip(restored[:height, :width], 0, 255).astype(np.uint8)


@lru_cache(maxsize=32)
def wiener_gain(height: int, width: int, sigma: float, noise: float) -> np.ndarray:
    """Return the Wiener gain H / (H^2 + noise) of a Gaussian blur, shaped for a complex DFT."""
    fy = np.fft.fftfreq(height).astype(np.float32)[:, None]
    fx = np.fft.fftfreq(width).astype(np.float32)[None, :]
    blur = np.exp(-2 * np.pi**2 * sigma**2 * (fx**2 + fy**2))
    gain = blur / (blur**2 + noise)
    return np.repeat(gain[..., None], 2, axis=2)
