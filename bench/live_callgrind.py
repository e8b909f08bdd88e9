"""Instructions per idle frame of the whole scanner loop (capture to decision), counted with valgrind's callgrind.

Each reader runs twice in a child process under callgrind, on the same idle
frames held for a few and for many frames; the difference in instructions
divided by the difference in frames is the cost of one more idle frame, with
the interpreter's start-up, imports, image loading and warm-up cancelled out.
Run through bench/live.py --callgrind; the child is `python bench/live_callgrind.py READER FOLDER HOLD MODE`.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

IDLE_IMAGES = 5
HOLDS = (2, 22)  # frames each idle image is held in the short and the long run
READERS = ("robust", "raw-zxing")
MODES = ("loop", "decoder")


def idle_instructions(args, say) -> dict:
    """Return instructions per idle frame for each reader, in the scanner loop and for the decoder alone."""
    if shutil.which("valgrind") is None:
        return {"error": "valgrind is not installed (apt install valgrind)"}
    folder = idle_folder(args)
    per_frame = {}
    for mode in MODES:
        per_frame[mode] = {}
        for reader in READERS:
            say(f"callgrind: {reader}, {mode}, holds {HOLDS} ...")
            counts = [collected(reader, folder, hold, mode) for hold in HOLDS]
            per_frame[mode][reader] = round((counts[1] - counts[0]) / (IDLE_IMAGES * (HOLDS[1] - HOLDS[0])))
    loop = per_frame["loop"]
    return {"instructions_per_idle_frame": per_frame, "ratio": round(loop["robust"] / loop["raw-zxing"], 3),
            "idle_images": IDLE_IMAGES, "holds": list(HOLDS), "size": args.size}


def idle_folder(args) -> Path:
    """Write IDLE_IMAGES idle frames at the camera size into a replay folder; return it."""
    from PIL import Image

    from bench.live_frames import idle_frames

    folder = args.cache / f"live-idle-{args.set}-seed{args.seed}-{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    for index, gray in enumerate(idle_frames(args)[:IDLE_IMAGES]):
        Image.fromarray(gray).save(folder / f"{index:03d}.png")
    return folder


def collected(reader: str, folder: Path, hold: int, mode: str) -> int:
    """Run the child under callgrind; return the instructions it executed."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           sys.executable, str(Path(__file__).resolve()), reader, str(folder), str(hold), mode]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    match = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no instruction count: {done.stderr[-500:]}")
    return int(match.group(1))


def child(reader: str, folder: Path, hold: int, mode: str) -> None:
    """Pass the idle frames in ``folder``, each held ``hold`` frames, through the loop or the decoder alone."""
    from bench.live import FastForward
    from bench.live_frames import RawZxing
    from kiosk.camera.pacer import Pacer
    from kiosk.camera.replay import ReplaySource
    from kiosk.config import Config
    from kiosk.decode import load_gray, make_decoder
    from kiosk.scan.loop import Scanner

    config = Config()
    decoder = make_decoder("robust", budget_ms=config.scanner.budget_ms) if reader == "robust" else RawZxing()
    if mode == "decoder":
        for path in sorted(folder.glob("*.png")):
            gray = load_gray(path)
            for _ in range(hold):
                decoder.decode(gray)
        return
    clock = FastForward()
    pacer = Pacer(config.camera.fps, clock=clock.now, sleep=clock.sleep)
    source = ReplaySource(str(folder), fps=config.camera.fps, repeat=hold, loop=False, pacer=pacer)
    Scanner(lambda: source, decoder, lambda code: None, max_fps=config.scanner.max_fps,
            hold_seconds=config.scanner.hold_seconds, clock=clock.now, sleep=clock.sleep).run()


if __name__ == "__main__":
    child(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
