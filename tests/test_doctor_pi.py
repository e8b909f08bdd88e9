"""`kiosk doctor` on a Raspberry Pi: numpy against apt's picamera2, the dmaHeap and no-camera errors, the pin factory.

The findings are pure functions over versions, error texts and device lists (kiosk/pi.py); the classes of input
come from hypothesis. The gatherers read real files and import real modules.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import doctor, pi
from kiosk.config import load as load_config
from kiosk.errors import CameraError

few = settings(max_examples=40)  # classes of small inputs: 40 each keeps both new modules near 3.5 s (make test's budget)

# --- numpy against the numpy apt's camera libraries were built for ------------------------------------

minor = st.integers(min_value=0, max_value=40)
patch = st.integers(min_value=0, max_value=9)
ABI_ERRORS = [
    "ValueError: numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header, got 88 from PyObject",
    "ValueError: numpy.ndarray size changed, may indicate binary incompatibility. Expected 16 from C header, got 96 from PyObject",
    "ImportError: numpy.core.multiarray failed to import",
    "A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.1 as it may crash.",
    "AttributeError: _ARRAY_API not found",
    "RuntimeError: module compiled against API version 0x10 but this version of numpy is 0xf",
]


def apt_version(major: int, mi: int, pa: int, debian: bool) -> str:
    return f"1:{major}.{mi}.{pa}-1+deb12u1" if debian else f"{major}.{mi}.{pa}"


@few
@given(mi=minor, pa=patch, run_major=st.integers(2, 3), run_minor=minor, debian=st.booleans(), error=st.sampled_from(ABI_ERRORS))
def test_fail__numpy_2_in_the_venv_breaks_apt_simplejpeg(mi, pa, run_major, run_minor, debian, error):
    system = apt_version(1, mi, pa, debian)
    ok, detail = pi.numpy_finding(f"{run_major}.{run_minor}.0", system, error)
    assert not ok and f"numpy {run_major}.{run_minor}.0" in detail and system in detail
    assert "install-kiosk.sh" in detail and "simplejpeg" in detail


@few
@given(mi=minor, pa=patch, run_major=st.integers(2, 3), run_minor=minor)
def test_fail__numpy_2_against_an_apt_numpy_1_fails_even_before_simplejpeg_is_tried(mi, pa, run_major, run_minor):
    ok, detail = pi.numpy_finding(f"{run_major}.{run_minor}.1", f"1.{mi}.{pa}", "missing")
    assert not ok and "picamera2 will not load" in detail


@few
@given(mi=st.integers(0, 30), older=st.integers(1, 10), pa=patch)
def test_fail__an_older_numpy_than_apt_built_against_is_a_mismatch(mi, older, pa):
    assert pi.numpy_mismatch(f"1.{mi}.{pa}", f"1.{mi + older}.0")


@few
@given(mi=minor, newer=st.integers(0, 10), pa=patch, debian=st.booleans())
def test_ok__the_system_numpy_or_a_newer_1_x_keeps_simplejpeg_loading(mi, newer, pa, debian):
    running, system = f"1.{mi + newer}.{pa}", apt_version(1, mi, 0, debian)
    assert not pi.numpy_mismatch(running, system)
    assert pi.numpy_finding(running, system, None) == (True, f"numpy {running}, numpy {system} from apt; simplejpeg (picamera2) loads")
    assert pi.numpy_finding(running, system, "missing")[0]


@few
@given(running=st.from_regex(r"[12]\.[0-9]{1,2}\.[0-9]", fullmatch=True))
def test_ok__without_apt_numpy_or_picamera2_there_is_nothing_to_mismatch(running):
    ok, detail = pi.numpy_finding(running, None, "missing")
    assert ok and "no picamera2 from apt" in detail


@few
@given(text=st.text(max_size=80).filter(lambda t: not pi.is_numpy_abi_error(t) and t.strip()))
def test_fail__another_simplejpeg_error_is_named_not_blamed_on_numpy(text):
    ok, detail = pi.numpy_finding("1.24.2", "1.24.2", text)
    assert not ok and detail.startswith("simplejpeg (picamera2) does not load")


@pytest.mark.parametrize("version, numbers", [("1:1.24.2-1+deb12u1", (1, 24, 2)), ("2.0.0rc1", (2, 0, 0)),
                                              ("1.26.4", (1, 26, 4)), ("unknown", ())])
def test_ok__version_tuple(version, numbers):
    assert pi.version_tuple(version) == numbers


def test_ok__apt_numpy_is_read_from_the_dist_packages_folder(tmp_path):
    info = tmp_path / "numpy-1.24.2.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 1.24.2\n", encoding="utf-8")
    assert pi.read_apt_version("numpy", tmp_path) == "1.24.2"
    assert pi.read_apt_version("simplejpeg", tmp_path) is None
    assert pi.read_apt_version("numpy", tmp_path / "absent") is None


def test_ok__import_error_tells_missing_from_broken(tmp_path, monkeypatch):
    (tmp_path / "broken_ext.py").write_text("raise ValueError('numpy.dtype size changed, may indicate binary incompatibility')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert pi.import_error("json") is None
    assert pi.import_error("no_such_module_here") == "missing"
    error = pi.import_error("broken_ext")
    sys.modules.pop("broken_ext", None)
    assert error.startswith("ValueError:") and pi.is_numpy_abi_error(error)


# --- the camera: dmaHeap and "camera not detected" --------------------------------------------------


def picamera2_failure(inner: BaseException) -> CameraError:
    """What kiosk/camera/picam.py raises: CameraError from the library's exception."""
    try:
        try:
            raise inner
        except Exception as exc:
            raise CameraError(f"cannot start the Pi camera: {exc}") from exc
    except CameraError as wrapped:
        return wrapped


users = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)


@few
@given(user=users)
def test_fail__an_empty_camera_list_is_camera_not_detected(user):
    words = pi.camera_error_finding(picamera2_failure(IndexError("list index out of range")), user=user, in_video_group=True)
    assert words.startswith("camera not detected") and "ribbon cable" in words


@few
@given(user=users)
def test_fail__auto_mode_text_from_the_empty_list_is_camera_not_detected(user):
    text = "no camera found (picamera2: cannot start the Pi camera: list index out of range; usb:0: no camera at /dev/video0)"
    assert pi.camera_error_finding(CameraError(text), user=user, in_video_group=True).startswith("camera not detected")


@few
@given(user=users, in_video=st.booleans(), message=st.sampled_from(["Could not open any dmaHeap device",
                                                                  "ERROR DmaBufAllocator Could not open any dma-buf provider",
                                                                  "Failed to open /dev/dma_heap/vidbuf_cached"]))
def test_fail__dma_heap_errors_name_the_video_group(user, in_video, message):
    words = pi.camera_error_finding(picamera2_failure(RuntimeError(message)), user=user, in_video_group=in_video)
    assert "/dev/dma_heap" in words
    assert (f"usermod -aG video {user}" in words) is (not in_video)


@few
@given(user=users)
def test_fail__an_empty_camera_list_outside_the_video_group_is_the_dma_heap(user):
    words = pi.camera_error_finding(picamera2_failure(IndexError("list index out of range")), user=user, in_video_group=False)
    assert f"user {user} is not in the video group" in words


def test_fail__a_busy_camera_says_stop_the_scanner():
    words = pi.camera_error_finding(picamera2_failure(RuntimeError("Failed to acquire camera: Device or resource busy")),
                                    user="kiosk", in_video_group=True)
    assert "systemctl stop kiosk-scan" in words


@few
@given(text=st.text(max_size=60).filter(lambda t: "index" not in t.lower() and "dma" not in t.lower()
                                         and "busy" not in t.lower() and "in use" not in t.lower()))
def test_ok__an_unknown_camera_error_is_left_as_it_is(text):
    assert pi.camera_error_finding(CameraError(text), user="kiosk", in_video_group=True) is None


@few
@given(user=users, in_video=st.booleans(), heaps=st.dictionaries(st.sampled_from(["/dev/dma_heap/linux,cma", "/dev/dma_heap/system",
                                                                                  "/dev/dma_heap/vidbuf_cached"]), st.booleans()))
def test_ok__dma_heap_finding_fails_only_when_heaps_exist_and_none_opens(user, in_video, heaps):
    ok, detail = pi.dma_heap_finding(user, in_video, heaps)
    assert ok is (not heaps or any(heaps.values()))
    if not ok:
        assert ("video group" in detail) and ((f"usermod -aG video {user}" in detail) is (not in_video))


def test_ok__openable_heaps_reads_a_folder(tmp_path):
    (tmp_path / "system").write_text("")
    assert pi.openable_heaps(tmp_path) == {str(tmp_path / "system"): True}
    assert pi.openable_heaps(tmp_path / "absent") == {}


# --- GPIO: the pin factory named ------------------------------------------------------------------

PI5 = "Raspberry Pi 5 Model B Rev 1.0"
PI4 = "Raspberry Pi 4 Model B Rev 1.5"
factories = st.sampled_from(["lgpio", "rpigpio", "pigpio", "native", "mock"])


@few
@given(factory=factories)
def test_ok__the_finding_names_factory_version_and_board(factory):
    ok, detail = pi.gpio_finding(pi.Gpio(PI4, factory, "2.0.1.post3"))
    assert f"pin factory {factory} (gpiozero 2.0.1.post3) on {PI4}" in detail
    assert ok is (factory != "mock")


@few
@given(factory=factories.filter(lambda f: f != "lgpio"), rev=st.sampled_from(["1.0", "1.1"]))
def test_fail__a_pi_5_needs_lgpio(factory, rev):
    ok, detail = pi.gpio_finding(pi.Gpio(f"Raspberry Pi 5 Model B Rev {rev}", factory, "2.0.1.post3"))
    assert not ok and ('pin_factory = "lgpio"' in detail or "simulated" in detail)


def test_ok__a_pi_5_with_lgpio():
    assert pi.gpio_finding(pi.Gpio(PI5, "lgpio", "2.0.1.post3")) == (True, f"pin factory lgpio (gpiozero 2.0.1.post3) on {PI5}")


@few
@given(version=st.sampled_from(["1.6.2", "1.5.1", "2.0.1.post1", "2.0.1.post2"]), model=st.sampled_from([PI4, PI5, None]))
def test_fail__gpiozero_too_old_or_with_the_fallback_bug(version, model):
    ok, detail = pi.gpio_finding(pi.Gpio(model, "lgpio", version))
    assert not ok and "2.0.1.post3" in detail


def test_ok__off_a_pi_mock_pins_are_fine_and_disabled_feedback_is_said():
    assert pi.gpio_finding(pi.Gpio(None, "mock", "2.0.1.post3"))[0]
    ok, detail = pi.gpio_finding(pi.Gpio(PI5, "mock", "2.0.1.post3", enabled=False))
    assert ok and "feedback.enabled = false" in detail


def test_ok__read_model_strips_the_device_tree_nul(tmp_path):
    (tmp_path / "model").write_bytes(PI5.encode() + b"\0")
    assert pi.read_model(tmp_path / "model") == PI5 and pi.read_model(tmp_path / "absent") is None


# --- the doctor's own checks, on this machine -----------------------------------------------------


def test_ok__doctor_names_the_pin_factory_and_the_numpy_in_use(tmp_path, monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    config = load_config(None, environ={"KIOSK_FEEDBACK_PIN_FACTORY": "mock", "KIOSK_KIOSK_DB": str(tmp_path / "k.db")})
    gpio, numpy = doctor.check_gpio(config), doctor.check_numpy(config)
    assert gpio.ok and gpio.detail.startswith("pin factory mock (gpiozero ")
    import numpy as np

    assert f"numpy {np.__version__}" in numpy.detail
    assert [check.__name__ for check in doctor.CHECKS][:5] == ["check_camera", "check_dma_heap", "check_numpy", "check_decoder",
                                                               "check_gpio"]
