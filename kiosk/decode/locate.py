"""Cheap search for QR-like regions: compact blobs of fine texture, found in well under a millisecond.

A QR code is a dense, roughly square patch of small dark/light modules. After
a high-pass filter it is a solid blob of high local energy, while camera noise
stays low and the edges of clutter are thin lines that a morphological opening
removes. Idle frames usually give no region at all, so the robust decoder does
not spend retries on them.
"""
from __future__ import annotations

import numpy as np

WORK_WIDTH = 640  # frames wider than this are downscaled by an integer factor first
CELL = 8  # pixels per cell of the energy map at work scale
MIN_SIDE_CELLS = 6  # a blob narrower than 48 work pixels cannot hold readable modules
MAX_ASPECT = 3.0  # a tilted square's bounding box is rarely longer than this
MIN_FILL = 0.35  # share of the bounding box the blob must cover
STRONG_FACTOR = 2.5  # a cell is strongly textured above this times the background cell energy
NOISE_FLOOR = 6.0  # ... and above this (grey levels of mean high-pass energy)
WEAK_FACTOR = 1.5  # a cell may belong to a blob above this times the background cell energy
WEAK_FLOOR = 4.2  # ... and above this
MIN_STRONG = 0.2  # share of a blob's cells that must be strongly textured
TEXTURED_FRAME = 12.0  # background energy above this means the whole frame is texture (idle frames: <= 5)
MARGIN = 0.15  # grow each box by this share of its size on every side


def find_regions(gray: np.ndarray, cv2, limit: int = 2) -> list[tuple[int, int, int, int]]:
    """Return up to ``limit`` boxes (x0, y0, x1, y1) in ``gray`` that look like QR codes, largest first."""
    factor = max(1, round(gray.shape[1] / WORK_WIDTH))
    work = gray if factor == 1 else cv2.resize(gray, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
    height, width = gray.shape
    energy = energy_map(work, cv2)
    if energy.size == 0:
        return []
    background = float(np.partition(energy, energy.size // 4, axis=None)[energy.size // 4])
    if background > TEXTURED_FRAME:
        return [(0, 0, width, height)]  # a close-up code fills the frame: the frame is the region
    blobs = textured_blobs(energy, background, cv2)[:limit]
    return [grow(box, factor * CELL, MARGIN, width, height) for box in blobs]


def energy_map(work: np.ndarray, cv2) -> np.ndarray:
    """Return the mean high-pass energy of each CELL x CELL cell of ``work`` (empty if it is too small)."""
    if min(work.shape) < CELL:
        return np.zeros((0, 0), np.uint8)
    highpass = cv2.absdiff(work, cv2.blur(work, (5, 5)))
    size = (work.shape[1] // CELL, work.shape[0] // CELL)
    return cv2.resize(highpass, size, interpolation=cv2.INTER_AREA)


def textured_blobs(energy: np.ndarray, background: float, cv2) -> list[tuple[int, int, int, int]]:
    """Return cell boxes (x0, y0, x1, y1) of compact textured blobs in an energy map, largest first.

    ``background`` is the map's 25th percentile: still background when a code fills half the frame.
    """
    strong = energy > max(NOISE_FLOOR, STRONG_FACTOR * background)
    # Hysteresis: blobs grow over weakly textured cells (glare, shadow) but must hold strong ones.
    weak = (energy > max(WEAK_FLOOR, WEAK_FACTOR * background)).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    weak = cv2.morphologyEx(cv2.morphologyEx(weak, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    blobs = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        inside = labels[y : y + h, x : x + w] == label
        if is_compact(w, h, area) and np.count_nonzero(strong[y : y + h, x : x + w] & inside) >= MIN_STRONG * area:
            blobs.append((area, (x, y, x + w, y + h)))
    return [box for _, box in sorted(blobs, reverse=True)]


def is_compact(w: int, h: int, area: int) -> bool:
    """Return whether a blob's bounding box could hold a QR code."""
    return min(w, h) >= MIN_SIDE_CELLS and max(w, h) <= MAX_ASPECT * min(w, h) and area >= MIN_FILL * w * h


def grow(box, scale: int, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Return ``box`` scaled by ``scale``, grown by ``margin`` of its size and clipped to the frame."""
    x0, y0, x1, y1 = (v * scale for v in box)
    dx, dy = int((x1 - x0) * margin), int((y1 - y0) * margin)
    return max(0, x0 - dx), max(0, y0 - dy), min(width, x1 + dx), min(height, y1 + dy)
