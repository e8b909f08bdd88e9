"""Frame sources: the replay source (folder and video), pacing, and clear errors."""

import numpy as np
import pytest

from kiosk.camera import check_spec, open_source
from kiosk.camera.pacer import Pacer
from kiosk.camera.replay import ReplaySource
from kiosk.errors import CameraError

from .conftest import LAN, write_frames


class FakeClock:
    """A monotonic clock the test moves by hand; sleeping moves it."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def replay(folder, **kwargs):
    return ReplaySource(str(folder), fps=0, **kwargs)


def test_ok__replay_plays_images_in_name_order(tmp_path):
    folder = write_frames(tmp_path / "f", [None, LAN, None])
    source = replay(folder, loop=False)
    frames = [source.read() for _ in range(4)]
    assert [f.seq for f in frames[:3]] == [1, 2, 3] and frames[3] is None
    assert frames[1].gray.std() > frames[0].gray.std()  # the QR frame is the second
    assert frames[0].gray.dtype == np.uint8 and frames[0].gray.ndim == 2


def test_ok__replay_repeats_each_image_and_loops(tmp_path):
    folder = write_frames(tmp_path / "f", [None, LAN])
    source = replay(folder, repeat=3, loop=True)
    stds = [round(float(source.read().gray.std()), 3) for _ in range(9)]
    assert stds[0:3] == [stds[0]] * 3 and stds[3:6] == [stds[3]] * 3 and stds[6:9] == stds[0:3]


def test_ok__replay_scales_down_to_the_camera_size(tmp_path):
    folder = write_frames(tmp_path / "f", [LAN])
    frame = ReplaySource(str(folder), fps=0, size=(320, 240)).read()
    assert frame.gray.shape == (240, 320)


def test_ok__replay_skips_unreadable_files(tmp_path):
    folder = write_frames(tmp_path / "f", [LAN])
    (folder / "000-broken.png").write_bytes(b"not a png")
    frames = [replay(folder, loop=False).read()]
    assert frames[0] is not None and frames[0].gray.shape == (480, 640)


def test_ok__replay_plays_a_video(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from .conftest import qr_frame

    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480), isColor=False)
    for text in (None, LAN, LAN):
        writer.write(qr_frame(text))
    writer.release()
    source = ReplaySource(path, fps=0, loop=False)
    frames = [source.read() for _ in range(4)]
    assert frames[3] is None and frames[1].gray.shape == (480, 640)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("replay:/nonexistent/folder", "does not exist"),
        ("webcam", "unknown camera source"),
        ("usb:front", "must be a number"),
    ],
)
def test_fail__bad_spec_says_why(spec, message):
    with pytest.raises(CameraError, match=message):
        check_spec(spec)
        open_source(spec, width=640, height=480, fps=10)


def test_fail__empty_replay_folder(tmp_path):
    with pytest.raises(CameraError, match="holds no images"):
        open_source(f"replay:{tmp_path}", width=640, height=480, fps=10)


def test_fail__no_camera_on_this_machine_names_what_was_tried():
    with pytest.raises(CameraError, match="picamera2.*usb:0.*replay"):
        open_source("auto", width=640, height=480, fps=10)


def test_ok__pacer_sleeps_to_the_rate_and_never_queues_late_frames():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    times = [pacer.wait() for _ in range(3)]
    assert times == pytest.approx([100.0, 100.1, 100.2])
    clock.now += 1.0  # the caller was busy for a second
    slept = len(clock.slept)
    assert pacer.wait() == pytest.approx(101.2) and len(clock.slept) == slept  # late: no sleep
    assert pacer.wait() == pytest.approx(101.3)  # then the rate again, not a burst of the missed slots
    assert clock.slept[-1] == pytest.approx(0.1)
