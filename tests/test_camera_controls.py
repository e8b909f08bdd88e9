"""Focus and exposure of the Pi camera (kiosk/camera/controls.py): the controls built from real settings, and their checks."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.camera import optics_line
from kiosk.camera.controls import CONSTRAINTS, EXPOSURE_MODES, FOCUS_MODES, METERING, camera_controls, describe_optics
from kiosk.config import CameraSettings, Config, build
from kiosk.errors import ConfigError

from .conftest import write_frames

MODULE_3 = {"AfMode", "AfRange", "AfSpeed", "AfTrigger", "LensPosition", "AeExposureMode", "AeConstraintMode",
            "AeMeteringMode", "ExposureValue", "FrameRate"}
MODULE_2 = MODULE_3 - {"AfMode", "AfRange", "AfSpeed", "AfTrigger", "LensPosition"}


def test_ok__defaults_set_the_lens_for_a_card_at_20_cm_with_short_highlight_exposure():
    controls, missing = camera_controls(Config().camera, MODULE_3)
    assert controls == {"AfMode": 0, "LensPosition": 5.0, "AeExposureMode": 1, "AeConstraintMode": 1,
                        "AeMeteringMode": 0, "ExposureValue": 0.0}
    assert missing == []


@pytest.mark.parametrize("focus, expected", [
    ("manual", {"AfMode": 0, "LensPosition": 4.0}),
    ("macro", {"AfMode": 1, "AfRange": 1, "AfSpeed": 1}),
    ("continuous", {"AfMode": 2, "AfRange": 1, "AfSpeed": 1}),
    ("camera", {}),
])
def test_ok__each_focus_mode_builds_its_controls(focus, expected):
    controls, _ = camera_controls(CameraSettings(focus=focus, lens_position=4.0), MODULE_3)
    assert {k: v for k, v in controls.items() if k.startswith(("Af", "Lens"))} == expected


def test_ok__a_camera_without_autofocus_gets_the_rest_and_the_missing_are_named():
    controls, missing = camera_controls(Config().camera, MODULE_2)
    assert set(controls) == {"AeExposureMode", "AeConstraintMode", "AeMeteringMode", "ExposureValue"}
    assert missing == ["AfMode", "LensPosition"]


@given(focus=st.sampled_from(FOCUS_MODES), exposure=st.sampled_from(sorted(EXPOSURE_MODES)),
       constraint=st.sampled_from(sorted(CONSTRAINTS)), metering=st.sampled_from(sorted(METERING)),
       lens=st.floats(0, 32), ev=st.floats(-8, 8))
def test_ok__every_valid_setting_builds_advertised_controls_of_the_right_types(focus, exposure, constraint, metering, lens, ev):
    settings = build({"camera": {"focus": focus, "exposure": exposure, "exposure_constraint": constraint,
                                 "metering": metering, "lens_position": lens, "ev": ev}}).camera
    controls, missing = camera_controls(settings, MODULE_3)
    assert missing == [] and set(controls) <= MODULE_3
    assert all(isinstance(v, float if k in ("LensPosition", "ExposureValue") else int) for k, v in controls.items())
    assert describe_optics(settings, None).startswith(f"focus {focus}")


@pytest.mark.parametrize("key, value, message", [
    ("focus", "auto", "camera.focus: 'auto' is not one of manual, macro, continuous, camera"),
    ("exposure", "fast", "camera.exposure"),
    ("exposure_constraint", "glare", "camera.exposure_constraint"),
    ("metering", "center", "camera.metering"),
    ("lens_position", -1.0, "camera.lens_position: -1.0 is outside 0..32"),
    ("ev", 9.0, "camera.ev"),
    ("af_mode", "manual", "unknown key camera.af_mode"),
])
def test_fail__a_bad_focus_or_exposure_setting_names_its_key(key, value, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        build({"camera": {key: value}})


def test_ok__describe_says_what_is_set_and_what_the_camera_reports():
    metadata = {"LensPosition": 4.98, "AfState": 0, "ExposureTime": 8333, "AnalogueGain": 2.14}
    line = describe_optics(Config().camera, metadata)
    assert line == ("focus manual at 5 dioptres (about 20 cm), exposure short/highlight, metering centre, EV +0; "
                    "camera reports lens at 4.98 dioptres (about 20 cm), autofocus idle, exposure 8.3 ms, gain 2.1")


def test_ok__sources_without_camera_metadata_describe_nothing(tmp_path):
    from kiosk.camera.replay import ReplaySource

    source = ReplaySource(str(write_frames(tmp_path / "f", [None])), fps=0)
    assert optics_line(Config().camera, source) == ""
