"""The default decoder: one fast zxing-cpp pass, then cheap retries on QR-like regions within a time budget.

Frames the first pass misses are mostly defocused or low-contrast codes. When
the first pass saw a symbol it could not decode, or the locator finds a compact
textured blob, the decoder crops that region, rescales it to a fixed size and
tries a short list of fixes (deblurring, sharpening, another binarizer, zbar),
ordered by how many misses each rescued per millisecond on generated frames
(bench/README.md). Frames with neither signal, such as idle frames, cost one
pass and a sub-millisecond locator.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kiosk.decode import enhance, locate
from kiosk.decode.base import Code, check_gray
from kiosk.decode.zxing import ZxingDecoder, codes_of
from kiosk.errors import DecoderUnavailable

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_MS = 40.0
MAX_REGIONS = 2  # candidate regions tried per frame
FAILED_MARGIN = 0.2  # grow a detected-but-failed symbol's box by this share per side
COST_SMOOTHING = 0.2  # weight of the newest measurement in a retry's running cost


FIXES = ("none", "wiener", "sharpen", "equalize", "stretch")
READERS = ("zxing", "zxing-global", "zbar")


@dataclass(frozen=True)
class Retry:
    """One retry on a cropped region: rescale it, apply one fix, read it with one reader."""

    size: int
    """Long side, in pixels, the crop is rescaled to (0 keeps the crop's size)."""
    fix: str = "none"
    """``none``, ``wiener`` (deblur), ``sharpen`` (unsharp mask), ``equalize`` (CLAHE) or ``stretch``."""
    sigma: float = 0.0
    """Blur radius (Gaussian sigma, in rescaled pixels) that ``wiener``/``sharpen`` undo."""
    strength: float = 0.0
    """Noise-to-signal power for ``wiener``, amount for ``sharpen``."""
    reader: str = "zxing"
    """``zxing`` (local-average binarizer), ``zxing-global`` (global histogram) or ``zbar``."""

    def __post_init__(self):
        if self.fix not in FIXES or self.reader not in READERS:
            raise ValueError(f"unknown fix {self.fix!r} or reader {self.reader!r} in {self!r}")

    @property
    def name(self) -> str:
        """Return a short label such as ``320/wiener2x0.03/zxing``."""
        fix = self.fix if self.fix in ("none", "equalize", "stretch") else f"{self.fix}{self.sigma:g}x{self.strength:g}"
        return f"{self.size}/{fix}/{self.reader}"


# Chosen from ~150 candidates and ordered greedily by first-pass misses rescued per millisecond, on
# generated frames (seeds 1234 and 4321, 640x480 and 1280x720) and qr-photos;
# `python bench/decode.py --retries` re-measures each step (bench/README.md).
RETRIES: tuple[Retry, ...] = (
    Retry(0, reader="zxing-global"),
    Retry(320),
    Retry(0, "stretch", reader="zxing-global"),
    Retry(320, "sharpen", 1.5, 2),
    Retry(320, "wiener", 2, 0.03),
    Retry(320, "sharpen", 1.5, 2, reader="zxing-global"),
    Retry(440, "equalize", reader="zxing-global"),
    Retry(440, "wiener", 2, 0.03, reader="zbar"),
    Retry(440, reader="zbar"),
    Retry(320, "sharpen", 3, 1, reader="zbar"),
)


def import_cv2():
    """Return the cv2 module; raise DecoderUnavailable with an install hint if missing."""
    try:
        import cv2
    except ImportError as exc:
        hint = "pip install opencv-python-headless (or apt install python3-opencv)"
        raise DecoderUnavailable(f"the robust decoder needs OpenCV ({exc}); {hint}") from exc
    return cv2


class RobustDecoder:
    """zxing-cpp first, then budgeted retries on QR-like regions; not thread-safe."""

    name = "robust"

    def __init__(self, budget_ms: float = DEFAULT_BUDGET_MS, retries=None, clock=time.perf_counter):
        """Build the decoder; ``budget_ms`` caps the whole decode() call per frame, first pass included."""
        if not budget_ms > 0:
            raise ValueError(f"budget_ms must be positive, got {budget_ms!r}")
        self._cv2 = import_cv2()
        self._zxing = ZxingDecoder(try_invert=False)  # ID cards are dark-on-light; saves a third of a pass
        self._zbar = None
        self._budget = budget_ms / 1000
        self._retries = tuple(RETRIES if retries is None else retries)
        self._cost: dict[Retry, float] = {}  # running cost per retry, learnt on this machine
        self._clock = clock

    def decode(self, gray) -> list[Code]:
        """Return the QR codes in ``gray``; raise ValueError for a wrong shape/dtype."""
        check_gray(gray)
        start = self._clock()
        codes, first = self.first_pass(gray)
        if codes:
            return codes
        regions = self.regions(gray, first)
        for retry in self._retries:
            for region in regions:
                # A retry never run on this machine has cost 0 here, so it runs once to learn its cost.
                if self._clock() - start + self._cost.get(retry, 0.0) > self._budget:
                    break
                codes = self.attempt(gray, region, retry)
                if codes:
                    return codes
        return []

    def first_pass(self, gray) -> tuple[list[Code], list]:
        """Return the codes of one plain zxing-cpp pass and its raw results (failed symbols included)."""
        first = self._zxing.read(gray, return_errors=True)
        return codes_of(first), first

    def regions(self, gray, first) -> list[tuple[int, int, int, int]]:
        """Return boxes worth retrying: symbols zxing saw but could not decode, then textured blobs."""
        height, width = gray.shape
        boxes = [locate.grow(box_of(b.position), 1, FAILED_MARGIN, width, height) for b in first if not b.valid]
        boxes = [box for box in boxes if box[2] - box[0] >= 16 and box[3] - box[1] >= 16]
        for box in locate.find_regions(gray, self._cv2, MAX_REGIONS):
            if not any(contains(box, other) for other in boxes):
                boxes.append(box)
        return boxes[:MAX_REGIONS]

    def attempt(self, gray, region, retry: Retry) -> list[Code]:
        """Run one retry on one region of ``gray``, update the retry's running cost, return what it read."""
        began = self._clock()
        x0, y0, x1, y1 = region
        codes = self._read(prepare(gray[y0:y1, x0:x1], self._cv2, retry), retry.reader)
        spent = self._clock() - began
        known = self._cost.get(retry)
        self._cost[retry] = spent if known is None else known + COST_SMOOTHING * (spent - known)
        return codes

    def _read(self, image, reader: str) -> list[Code]:
        """Read ``image`` with the named reader (zbar only when libzbar is installed)."""
        if reader == "zbar":
            zbar = self._zbar_or_none()
            return zbar.decode(image) if zbar else []
        binarizers = self._zxing.module.Binarizer
        binarizer = binarizers.GlobalHistogram if reader == "zxing-global" else binarizers.LocalAverage
        return codes_of(self._zxing.read(image, try_downscale=False, binarizer=binarizer))

    def _zbar_or_none(self):
        """Return a zbar decoder, or None (logged once) when libzbar is missing."""
        if self._zbar is None:
            from kiosk.decode.zbar import ZbarDecoder

            try:
                self._zbar = ZbarDecoder()
            except DecoderUnavailable as exc:
                logger.warning("zbar retries disabled: %s", exc)
                self._zbar = False
        return self._zbar or None


def prepare(crop, cv2, retry: Retry):
    """Return ``crop`` rescaled and fixed as ``retry`` says."""
    image = enhance.rescale(crop, cv2, retry.size) if retry.size else crop
    if retry.fix == "wiener":
        return enhance.wiener(image, cv2, retry.sigma, retry.strength)
    if retry.fix == "sharpen":
        return enhance.unsharp(image, cv2, retry.sigma, retry.strength)
    if retry.fix == "equalize":
        return enhance.equalize(image, cv2)
    if retry.fix == "stretch":
        return enhance.stretch(image, cv2)
    return image


def box_of(position) -> tuple[int, int, int, int]:
    """Return the bounding box (x0, y0, x1, y1) of a zxing-cpp position."""
    points = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs, ys = [p.x for p in points], [p.y for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def contains(outer, inner) -> bool:
    """Return whether box ``outer`` contains the centre of box ``inner``."""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]
