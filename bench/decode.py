#!/usr/bin/env python3
"""Benchmark the kiosk's QR decoders against plain zxing-cpp and pyzbar on the same frames; prints JSON.

Usage: python bench/decode.py [--seed 20261125] [--n 200] [--idle 50] [--quick] [--shared DIR]
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402  (after the path fix, so the bench runs from a checkout)
import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402
from pyzbar import pyzbar  # noqa: E402

from kiosk.decode import DECODER_NAMES, DEFAULT_BUDGET_MS, DEFAULT_DECODER, load_gray, make_decoder  # noqa: E402
from kiosk.decode.robust import RETRIES, RobustDecoder  # noqa: E402

REPORT_SEED = 20261125  # the tuning seeds were 1234 and 4321; never tune on this one
SIZES = ((1280, 720), (640, 480))
QR = getattr(zxingcpp.BarcodeFormat, "QRCodeModel2", zxingcpp.BarcodeFormat.QRCode)


def parse_args(argv=None) -> argparse.Namespace:
    """Return the command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=REPORT_SEED, help="frame generator seed (default: %(default)s)")
    ap.add_argument("--n", type=int, default=200, help="frames with a code (default: %(default)s)")
    ap.add_argument("--idle", type=int, default=50, help="frames without a code (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="small run: 30 frames, 10 idle")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "bench",
                    help="folder with make_frames.py and qr-photos/ (default: %(default)s)")
    ap.add_argument("--cache", type=Path, default=REPO / "bench" / ".cache", help="where generated frames are kept")
    ap.add_argument("--budget-ms", type=float, default=DEFAULT_BUDGET_MS, help="robust decoder budget per frame")
    ap.add_argument("--retries", action="store_true", help="also measure each robust retry step on first-pass misses")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.idle = min(args.n, 30), min(args.idle, 10)
    return args


def generated_frames(args) -> Path:
    """Return the folder of generated frames for these options, generating it unless cached."""
    out = args.cache / f"frames-seed{args.seed}-n{args.n}-idle{args.idle}"
    idle = Path(f"{out}_idle")
    if (out / "ground_truth.json").is_file() and len(list(idle.glob("*.png"))) == args.idle:
        return out
    log(f"generating {args.n}+{args.idle} frames with seed {args.seed} into {out} ...")
    cmd = [sys.executable, str(args.shared / "make_frames.py"), "--seed", str(args.seed),
           "--n", str(args.n), "--idle", str(args.idle), "--out", str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def frame_sets(folder: Path, shared: Path) -> dict[str, list[tuple[np.ndarray, str | None]]]:
    """Return named lists of (grey image, expected text or None for idle) for every set we report."""
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    coded = [(load_gray(folder / name), text) for name, text in sorted(truth.items())]
    idle = [(load_gray(path), None) for path in sorted(Path(f"{folder}_idle").glob("*.png"))]
    sets = {}
    for width, height in SIZES:
        label = f"{width}x{height}"
        sets[f"frames_{label}"] = [(resize(img, width, height), text) for img, text in coded]
        sets[f"idle_{label}"] = [(resize(img, width, height), None) for img, _ in idle]
    sets["qr_photos"] = photo_set(shared / "qr-photos")
    return sets


def resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return ``img`` at width x height (INTER_AREA, as the camera's low-res stream would be)."""
    if img.shape == (height, width):
        return img
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def photo_set(root: Path) -> list[tuple[np.ndarray, str]]:
    """Return (grey image, expected text) for every photo in qr-photos with an N.txt beside it."""
    items = []
    for image in sorted(root.glob("*/*")):
        expected = image.with_suffix(".txt")
        if image.suffix.lower() in (".png", ".jpg", ".jpeg") and expected.is_file():
            items.append((load_gray(image), expected.read_text(encoding="utf-8")))
    return items


def readers(budget_ms: float) -> dict:
    """Return name -> function(gray) -> list of (text, raw bytes), for raw libraries and our decoders."""
    found = {"raw-zxing": read_raw_zxing, "raw-pyzbar": read_raw_pyzbar}
    for name in DECODER_NAMES:
        decoder = make_decoder(name, budget_ms=budget_ms)
        found[name] = lambda gray, decoder=decoder: [(c.text, c.raw) for c in decoder.decode(gray)]
    return found


def read_raw_zxing(gray) -> list[tuple[str, bytes]]:
    """Plain zxing-cpp: read_barcodes with its defaults, QR only."""
    return [(b.text, bytes(b.bytes)) for b in zxingcpp.read_barcodes(gray, formats=QR)]


def read_raw_pyzbar(gray) -> list[tuple[str, bytes]]:
    """Plain pyzbar: decode() QR only; .data is zbar's text (it guesses the encoding) as UTF-8."""
    found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [(r.data.decode("utf-8", "replace"), r.data) for r in found]


def run_set(items, funcs: dict, rng: random.Random) -> dict[str, list[tuple[float, list]]]:
    """Return name -> [(seconds, results)] per item; decoders take turns in random order on each item."""
    runs = {name: [] for name in funcs}
    for gray, _ in items:
        for name in rng.sample(list(funcs), len(funcs)):
            start = time.perf_counter()
            results = funcs[name](gray)
            runs[name].append((time.perf_counter() - start, results))
    return runs


def normalise(text: str) -> str:
    """Return ``text`` with CRLF and CR line endings turned into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def coded_figures(items, runs, vietnamese_set: bool) -> dict:
    """Return rates and times for one decoder on a set of images that all hold a code.

    On generated frames (``vietnamese_set``) also the share of reads whose bytes and text are
    exactly the UTF-8 payload.
    """
    exact = byte_exact = vietnamese = read = 0
    for (_, expected), (_, results) in zip(items, runs):
        read += bool(results)
        exact += any(normalise(text) == normalise(expected) for text, _ in results)
        if vietnamese_set and not expected.isascii() and results:
            vietnamese += 1
            want = expected.encode("utf-8")
            byte_exact += any(raw == want and text == expected for text, raw in results)
    times = [t for t, _ in runs]
    figures = {"exact_rate": rate(exact, len(items)), "read_rate": rate(read, len(items)),
               "wrong_reads": read - exact, **timing(times)}
    if vietnamese:
        figures["vietnamese_byte_exact_rate"] = rate(byte_exact, vietnamese)
    return figures


def idle_figures(runs) -> dict:
    """Return times and false reads for one decoder on frames without a code."""
    return {"false_reads": sum(bool(results) for _, results in runs), **timing([t for t, _ in runs])}


def timing(seconds: list[float]) -> dict:
    """Return median, 90th-percentile and worst milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {"median_ms": round(statistics.median(ms), 3), "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 3),
            "max_ms": round(ms[-1], 3)}


def rate(count: int, total: int) -> float:
    """Return count/total rounded to 4 places (0 for an empty set)."""
    return round(count / total, 4) if total else 0.0


def ratios(report: dict, ours: list[str]) -> dict:
    """Return each decoder's median times divided by raw zxing-cpp's, per frame size and on photos."""
    out = {}
    for name in ours:
        out[name] = {}
        for width, height in SIZES:
            label = f"{width}x{height}"
            out[name][label] = {
                "code_median_ms": ratio(report[f"frames_{label}"], name),
                "idle_median_ms": ratio(report[f"idle_{label}"], name),
            }
        out[name]["qr_photos_median_ms"] = ratio(report["qr_photos"], name)
    return out


def ratio(figures: dict, name: str) -> float:
    """Return figures[name]["median_ms"] / figures["raw-zxing"]["median_ms"]."""
    return round(figures[name]["median_ms"] / figures["raw-zxing"]["median_ms"], 3)


def targets(report: dict, ratio_table: dict, size: str) -> dict:
    """Return the default decoder's figures against the targets in bench/README.md, at frame ``size``."""
    d = DEFAULT_DECODER
    frames, idle, photos = report[f"frames_{size}"][d], report[f"idle_{size}"][d], report["qr_photos"][d]
    viet = [report[f"frames_{s}"][d].get("vietnamese_byte_exact_rate", 1.0) for s in (f"{w}x{h}" for w, h in SIZES)]
    checks = {
        "frames_exact_rate>=0.99": frames["exact_rate"] >= 0.99,
        "qr_photos_exact_rate>=0.95": photos["exact_rate"] >= 0.95,
        "vietnamese_byte_exact_rate==1": min(viet) == 1.0,
        "code_median_ratio<=2": ratio_table[d][size]["code_median_ms"] <= 2,
        "idle_median_ratio<=1.5": ratio_table[d][size]["idle_median_ms"] <= 1.5,
        "idle_false_reads==0": all(report[f"idle_{w}x{h}"][d]["false_reads"] == 0 for w, h in SIZES),
    }
    return {"decoder": d, "frame_size": size, "passed": all(checks.values()), "checks": checks}


def retry_table(sets: dict) -> dict:
    """Return, per robust retry step, the first-pass misses it rescues alone and in order, and its cost."""
    decoder = RobustDecoder(retries=())
    misses = []
    for name, items in sets.items():
        for gray, expected in items:
            codes, first = decoder.first_pass(gray)
            if not any(normalise(c.text) == normalise(expected) for c in codes):
                misses.append((gray, decoder.regions(gray, first), expected))
    left, steps = set(range(len(misses))), []
    for retry in RETRIES:
        rescued, seconds = retry_rescues(decoder, retry, misses)
        steps.append({"retry": retry.name, "rescued_alone": len(rescued), "rescued_in_order": len(rescued & left),
                      "mean_ms_on_remaining": round(1000 * statistics.fmean([seconds[i] for i in left] or [0]), 3)})
        left -= rescued
    return {"first_pass_misses": len(misses), "with_region": sum(bool(r) for _, r, _ in misses),
            "left_after_all_steps": len(left), "steps": steps}


def retry_rescues(decoder, retry, misses) -> tuple[set[int], list[float]]:
    """Return which misses ``retry`` reads correctly on any region, and the seconds it spent on each."""
    rescued, seconds = set(), []
    for index, (gray, regions, expected) in enumerate(misses):
        start = time.perf_counter()
        for region in regions:
            if any(normalise(c.text) == normalise(expected) for c in decoder.attempt(gray, region, retry)):
                rescued.add(index)
                break
        seconds.append(time.perf_counter() - start)
    return rescued, seconds


def environment(args, folder: Path) -> dict:
    """Return what the figures depend on: options, versions, machine."""
    from importlib.metadata import version

    return {"seed": args.seed, "n": args.n, "idle": args.idle, "budget_ms": args.budget_ms,
            "frames": str(folder), "default_decoder": DEFAULT_DECODER,
            "zxing_cpp": version("zxing-cpp"), "pyzbar": version("pyzbar"), "opencv": cv2.__version__,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}


def log(message: str) -> None:
    """Print progress to stderr so stdout stays one JSON document."""
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run the benchmark and print its JSON report."""
    args = parse_args(argv)
    folder = generated_frames(args)
    sets = frame_sets(folder, args.shared)
    funcs = readers(args.budget_ms)
    for func in funcs.values():  # warm up: first calls load libraries and allocate
        func(sets["frames_640x480"][0][0])
    rng = random.Random(args.seed)
    report = {}
    for name, items in sets.items():
        log(f"{name}: {len(items)} images ...")
        runs = run_set(items, funcs, rng)
        viet = name.startswith("frames_")
        summarise = idle_figures if name.startswith("idle_") else lambda r, i=items, v=viet: coded_figures(i, r, v)
        report[name] = {dec: summarise(runs[dec]) for dec in funcs}
    table = ratios(report, list(DECODER_NAMES))
    result = {"environment": environment(args, folder), "results": report, "ratios_to_raw_zxing": table,
              "targets": {f"{w}x{h}": targets(report, table, f"{w}x{h}") for w, h in SIZES}}
    if args.retries:
        log("retry steps ...")
        result["retry_steps"] = retry_table({k: v for k, v in sets.items() if not k.startswith("idle_")})
    json.dump(result, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
