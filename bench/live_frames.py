"""Frames for bench/live.py: cards to hold under the replayed camera, idle frames between them, the raw zxing-cpp reader."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from PIL import Image

from kiosk.decode import Code, load_gray
from kiosk.decode.zxing import code_of

QR = getattr(zxingcpp.BarcodeFormat, "QRCodeModel2", zxingcpp.BarcodeFormat.QRCode)
IDLE_IMAGES = 20


class RawZxing:
    """Plain zxing-cpp in the scanner loop: read_barcodes with the library's defaults, QR only."""

    name = "raw-zxing"

    def decode(self, gray) -> list[Code]:
        """Return the valid QR codes zxing-cpp reads in ``gray``."""
        return [code_of(b) for b in zxingcpp.read_barcodes(gray, formats=QR) if b.valid]


class TimedDecoder:
    """A decoder that notes how long each decode took, in milliseconds."""

    def __init__(self, decoder):
        self.decoder = decoder
        self.name = decoder.name
        self.ms: list[float] = []

    def decode(self, gray) -> list[Code]:
        """Decode ``gray`` with the wrapped decoder, noting the time."""
        start = time.perf_counter()
        try:
            return self.decoder.decode(gray)
        finally:
            self.ms.append(1000 * (time.perf_counter() - start))


def card_frames(args, say) -> tuple[list[np.ndarray], list[str]]:
    """Return one camera-sized grey frame per card and its payload, from the chosen generator."""
    if args.set == "demo":
        return demo_frames(args)
    folder = shared_frames(args, say)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    frames = [squeeze(load_gray(folder / name), args) for name in sorted(truth)]
    return frames, [truth[name] for name in sorted(truth)]


def shared_frames(args, say) -> Path:
    """Return the folder of make_frames.py frames for these options, generating it unless cached."""
    out = args.cache / f"frames-seed{args.seed}-n{args.cards}-idle{IDLE_IMAGES}"
    if (out / "ground_truth.json").is_file() and len(list(Path(f"{out}_idle").glob("*.png"))) == IDLE_IMAGES:
        return out
    say(f"generating {args.cards}+{IDLE_IMAGES} frames with seed {args.seed} into {out} ...")
    cmd = [sys.executable, str(args.shared / "make_frames.py"), "--seed", str(args.seed), "--n", str(args.cards),
           "--idle", str(IDLE_IMAGES), "--out", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def demo_frames(args) -> tuple[list[np.ndarray], list[str]]:
    """Return frames drawn like kiosk/demo/frames (kiosk/demo/generate.py) for invented people."""
    from bench.latency import invent_people
    from kiosk.demo.generate import render

    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    people = invent_people(args.cards, rng)
    frames = [squeeze(np.asarray(render(p.payload, rng, nrng)), args) for p in people]
    return frames, [p.payload for p in people]


def idle_frames(args) -> list[np.ndarray]:
    """Return frames without a code, from the same generator as the cards."""
    if args.set == "demo":
        from kiosk.demo.generate import render

        return [squeeze(np.asarray(render(None, random.Random(i), np.random.default_rng(i))), args) for i in range(IDLE_IMAGES)]
    folder = Path(f"{shared_frames(args, lambda message: None)}_idle")
    return [squeeze(load_gray(path), args) for path in sorted(folder.glob("*.png"))]


def squeeze(gray: np.ndarray, args) -> np.ndarray:
    """Return ``gray`` at the camera size (INTER_AREA, as the camera's low-resolution stream would give it)."""
    if gray.shape == (args.height, args.width):
        return gray
    return cv2.resize(gray, (args.width, args.height), interpolation=cv2.INTER_AREA)


def write_replay(frames: list[np.ndarray], args) -> Path:
    """Write a replay folder: an idle image, then each card followed by an idle image; return the folder."""
    folder = args.cache / f"live-{args.set}-seed{args.seed}-n{args.cards}-{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    idle = idle_frames(args)
    for card, gray in enumerate(frames):
        Image.fromarray(idle[card % len(idle)]).save(folder / f"{2 * card:05d}-idle.png")
        Image.fromarray(gray).save(folder / f"{2 * card + 1:05d}-card.png")
    Image.fromarray(idle[len(frames) % len(idle)]).save(folder / f"{2 * len(frames):05d}-idle.png")
    return folder
