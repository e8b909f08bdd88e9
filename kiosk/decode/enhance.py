"""Image fixes the robust decoder tries on a crop: rescale, sharpen, deblur, contrast."""
from __future__ import annotations

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


def deconvolve(img: np.ndarray, cv2, sigma: float, iterations: int) -> np.ndarray:
    """Return ``img`` deblurred by Richardson-Lucy iterations for a Gaussian blur of ``sigma`` pixels."""
    observed = img.astype(np.float32) + 1.0  # keep the ratios finite on black pixels
    estimate = observed.copy()
    for _ in range(iterations):
        ratio = observed / cv2.GaussianBlur(estimate, (0, 0), sigma)
        estimate *= cv2.GaussianBlur(ratio, (0, 0), sigma)
    return np.clip(estimate - 1.0, 0, 255).astype(np.uint8)


def equalize(img: np.ndarray, cv2, clip: float = 2.0) -> np.ndarray:
    """Return ``img`` with local contrast equalised (CLAHE on an 8x8 grid)."""
    return cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(img)


def stretch(img: np.ndarray, cv2) -> np.ndarray:
    """Return ``img`` with its grey levels stretched to the full 0-255 range."""
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
