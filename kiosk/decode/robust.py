"""The default decoder: one fast zxing-cpp pass, then cheap retries on QR-like regions within a time budget.

Frames the first pass misses are mostly defocused or low-contrast codes. When
the first pass saw a symbol it could not decode, or the locator finds a compact
textured blob, the decoder crops that region, rescales it to a fixed size and
tries a short list of fixes (deblurring, sharpening, another binarizer,
inversion, zbar), ordered by how many misses each rescued per millisecond on
generated frames (bench/README.md). The retries form a ladder (ladder.py) that
a card held still climbs over consecutive frames. Frames with neither signal,
such as idle frames, cost one pass and a sub-millisecond locator.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kiosk.decode import enhance, locate
from kiosk.decode.base import Code, check_gray
from kiosk.decode.ladder import Ladder, contains
from kiosk.decode.zxing import ZxingDecoder, codes_of
from kiosk.errors import DecoderUnavailable

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_MS = 40.0
MAX_REGIONS = 2  # candidate regions tried per frame
FAILED_MARGIN = 0.2  # grow a detected-but-failed symbol's box by this share per side


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
    invert: bool = False
    """Read the fixed crop with black and white swapped (white-on-black codes)."""

    def __post_init__(self):
        if self.fix not in FIXES or self.reader not in READERS:
            raise ValueError(f"unknown fix {self.fix!r} or reader {self.reader!r} in {self!r}")

    @property
    def name(self) -> str:
        """Return a short label such as ``320/wiener2x0.03/zxing``."""
        fix = self.fix if self.fix in ("none", "equalize", "stretch") else f"{self.fix}{self.sigma:g}x{self.strength:g}"
        return f"{self.size}/{fix}/{self.reader}" + ("/inverted" if self.invert else "")


# Chosen from ~150 candidates and ordered greedily by first-pass misses rescued per millisecond, on
# generated frames (seeds 1234 and 4321, 640x480 and 1280x720) and qr-photos;
# `python bench/decode.py --retries` re-measures each step (bench/README.md). The inverted crop (white-on-black
# codes: phone screens in dark mode, some printed slips) reads nothing on those frames but costs a fraction of a
# millisecond, so it comes early.
RETRIES: tuple[Retry, ...] = (
    Retry(0, reader="zxing-global"),
    Retry(0, invert=True),
    Retry(320),
    Retry(0, "stretch", reader="zxing-global"),
    Retry(320, "sharpen", 1.5, 2),
    Retry(320, "wiener", 2, 0.03),
    Retry(320, "sharpen", 1.5, 2, reader="zxing-global"),
    Retry(440, "equalize", reader="zxing-global"),
    Retry(440, "wiener", 2, 0.03, reader="zbar"),
    Retry(440, reader="zbar"),
    Retry(320, "sharpen", 3, 1, reader="zbar"),
    Retry(320, "wiener", 2, 0.03, invert=True),
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
        self._clock = clock
        self.ladder = Ladder(self._retries, self._budget, clock)

    def decode(self, gray) -> list[Code]:
        """Return the QR codes in ``gray``; raise ValueError for a wrong shape/dtype."""
        check_gray(gray)
        start = self._clock()
        codes, first = self.first_pass(gray)
        if codes:
            return codes
        regions = self.regions(gray, first)
        self.ladder.follow(regions)
        if not regions or not self._retries:
            return []
        return self.ladder.climb(start, lambda retry: self.attempt_all(gray, regions, retry, start))

    def attempt_all(self, gray, regions, retry: Retry, start: float) -> list[Code]:
        """Run ``retry`` on the first region, then on the others while the budget lasts; return what it read."""
        for index, region in enumerate(regions):
            if index and self._clock() - start > self._budget:
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
        """Run one retry on one region of ``gray``; return what it read."""
        x0, y0, x1, y1 = region
        return self._read(prepare(gray[y0:y1, x0:x1], self._cv2, retry), retry.reader)

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
    """Return ``crop`` rescaled, fixed and maybe inverted as ``retry`` says."""
    image = fix(enhance.rescale(crop, cv2, retry.size) if retry.size else crop, cv2, retry)
    return cv2.bitwise_not(image) if retry.invert else image


def fix(image, cv2, retry: Retry):
    """Return ``image`` with the retry's fix applied."""
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
