"""The scanner loop on the replay source with the real decoder: debounce, health, camera failures."""

import itertools
import json
import shutil
import time
from pathlib import Path

import pytest

from kiosk.camera.pacer import Pacer
from kiosk.camera.replay import ReplaySource
from kiosk.decode import load_gray, make_decoder
from kiosk.decode.robust import RobustDecoder
from kiosk.errors import CameraError
from kiosk.scan.loop import Debouncer, Scanner

from .conftest import HUNG, LAN, write_frames


def run_to_end(scanner: Scanner, timeout=20.0) -> None:
    scanner.start()
    scanner.thread.join(timeout)
    assert not scanner.thread.is_alive(), "scanner did not finish"


def replay_opener(folder, repeat=1):
    return lambda: ReplaySource(str(folder), fps=0, repeat=repeat, loop=False, pacer=Pacer(0))


def test_ok__a_code_held_under_the_camera_is_one_scan(tmp_path):
    folder = write_frames(tmp_path / "f", [None, LAN, None, HUNG])
    seen = []
    scanner = Scanner(replay_opener(folder, repeat=5), make_decoder(), seen.append, max_fps=0, hold_seconds=60)
    run_to_end(scanner)
    assert [c.text for c in seen] == [LAN, HUNG]
    health = scanner.health()
    assert (health.state, health.frames, health.codes, health.errors) == ("finished", 20, 2, 0)
    assert health.last_decode_age is not None and health.decode_ms is not None


def test_ok__debouncer_counts_again_after_the_code_left_view():
    debouncer = Debouncer(hold_seconds=3)
    sightings = [(0.0, True), (1.0, False), (3.5, False), (6.4, False), (9.5, True), (9.6, False)]
    assert [debouncer.is_new(b"x", t) for t, _ in sightings] == [new for _, new in sightings]
    assert debouncer.is_new(b"y", 9.7) is True


def test_ok__a_failing_handler_does_not_stop_the_scanner(tmp_path):
    folder = write_frames(tmp_path / "f", [LAN, HUNG])
    handled = []

    def handle(code):
        handled.append(code.text)
        raise RuntimeError("boom")

    scanner = Scanner(replay_opener(folder), make_decoder(), handle, max_fps=0)
    run_to_end(scanner)
    assert handled == [LAN, HUNG]
    assert scanner.health().errors == 2 and "RuntimeError" in scanner.health().last_error


def test_ok__broken_camera_is_reported_and_reopened(tmp_path):
    folder = write_frames(tmp_path / "f", [LAN])
    attempts = []

    def flaky_camera():  # simulated hardware: the first two opens fail, like an unplugged camera
        attempts.append(time.monotonic())
        if len(attempts) <= 2:
            raise CameraError("no USB camera at /dev/video0")
        return replay_opener(folder)()

    seen = []
    scanner = Scanner(flaky_camera, make_decoder(), seen.append, max_fps=0, reopen_seconds=0.05)
    run_to_end(scanner)
    assert len(attempts) == 3 and [c.text for c in seen] == [LAN]
    assert scanner.health().errors == 2 and "video0" in scanner.health().last_error


def test_ok__camera_error_state_while_down_and_stop_is_prompt(tmp_path):
    def dead_camera():
        raise CameraError("Pi camera stopped delivering frames")

    scanner = Scanner(dead_camera, make_decoder(), lambda code: None, reopen_seconds=10).start()
    deadline = time.monotonic() + 5
    while scanner.health().state != "camera_error" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scanner.health().state == "camera_error"
    started = time.monotonic()
    scanner.stop()
    assert not scanner.thread.is_alive() and time.monotonic() - started < 2
    assert scanner.health().state == "stopped"


def test_ok__the_loop_never_decodes_faster_than_max_fps(tmp_path):
    folder = write_frames(tmp_path / "f", [None])
    opener = lambda: ReplaySource(str(folder), fps=0, loop=True, pacer=Pacer(0))  # noqa: E731 (frames as fast as asked)
    scanner = Scanner(opener, make_decoder(), lambda code: None, max_fps=20).start()
    time.sleep(1.0)
    scanner.stop()
    assert 10 <= scanner.health().frames <= 22


def test_fail__decoder_rejecting_a_frame_is_counted_not_fatal(tmp_path):
    import numpy as np

    class BadFrames:  # simulated hardware: a camera that hands out colour frames
        name = "bad"

        def __init__(self):
            self.left = 3

        def read(self):
            from kiosk.camera import Frame

            self.left -= 1
            return Frame(np.zeros((4, 4, 3), np.uint8), 1, 0.0) if self.left >= 0 else None

        def close(self):
            pass

    scanner = Scanner(BadFrames, make_decoder(), lambda code: None, max_fps=0)
    run_to_end(scanner)
    assert scanner.health().errors == 3 and "decoder rejected" in scanner.health().last_error


@pytest.mark.parametrize("name", ["zxing", "zbar"])
def test_ok__scanner_works_with_every_backend(tmp_path, name):
    folder = write_frames(tmp_path / "f", [HUNG])
    seen = []
    run_to_end(Scanner(replay_opener(folder), make_decoder(name), seen.append, max_fps=0))
    assert [c.text for c in seen] == [HUNG]


HELD = Path(__file__).parent / "frames" / "held"
"""Two frames of make_frames.py (seed 20261125, cards 78 and 88 of 300) squeezed to 640x480: the last retries read them."""


def step_clock(seconds: float):
    """A clock on a slow machine: every reading is ``seconds`` later than the one before."""
    return itertools.count(0.0, seconds).__next__


@pytest.mark.parametrize("step", [0.005, 0.015, 0.05])
def test_ok__a_card_held_still_for_one_second_is_read_if_one_shot_decoding_reads_it(tmp_path, step):
    truth = json.loads((HELD / "ground_truth.json").read_text(encoding="utf-8"))
    for name, text in truth.items():  # precondition: a fresh decoder with an unlimited budget reads each frame
        assert [c.text for c in RobustDecoder(budget_ms=1e9).decode(load_gray(HELD / name))] == [text]
    folder = write_frames(tmp_path / "f", [None, None])
    for index, name in enumerate(sorted(truth)):
        shutil.copy(HELD / name, folder / f"{index:03d}a.png")  # idle, card, idle, card: each held 10 frames
    seen = []
    decoder = RobustDecoder(budget_ms=40, clock=step_clock(step))
    run_to_end(Scanner(replay_opener(folder, repeat=10), decoder, seen.append, max_fps=0))
    assert [c.text for c in seen] == [truth[name] for name in sorted(truth)]
