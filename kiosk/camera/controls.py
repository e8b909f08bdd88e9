"""Focus and exposure for the Pi camera (Camera Module 3): libcamera controls built from the settings, and how they stand.

picamera2 leaves the Module 3's autofocus off, and continuous autofocus hunts
back and forth in front of a card 10-25 cm away. The kiosk sets the lens itself
(`manual`: AfMode Manual at LensPosition dioptres, 1 / distance in metres, so
5 is 20 cm) or runs single autofocus cycles in the macro range (`macro`).
Exposure favours short shutter times (a hand-held card blurs) and, with the
`highlight` constraint, keeps glare on a laminated card and a bright phone
screen from burning out the code. Values are libcamera's enum numbers, which
picamera2 accepts as they are; a control the camera does not advertise (a
Module 2 has no autofocus) is left out and named.
"""
from __future__ import annotations

from typing import Collection, Mapping

FOCUS_MODES = ("manual", "macro", "continuous", "camera")
EXPOSURE_MODES = {"normal": 0, "short": 1, "long": 2}  # libcamera AeExposureMode
CONSTRAINTS = {"normal": 0, "highlight": 1, "shadows": 2}  # libcamera AeConstraintMode
METERING = {"centre": 0, "spot": 1, "matrix": 2}  # libcamera AeMeteringMode
AF_MODE = {"manual": 0, "auto": 1, "continuous": 2}  # libcamera AfMode
AF_RANGE_MACRO = 1  # libcamera AfRange: Normal 0, Macro 1, Full 2
AF_SPEED_FAST = 1  # libcamera AfSpeed: Normal 0, Fast 1
AF_TRIGGER_START = 0  # libcamera AfTrigger: Start 0, Cancel 1
AF_STATES = {0: "idle", 1: "scanning", 2: "focused", 3: "failed"}  # libcamera AfState
LENS_RANGE = (0.0, 32.0)  # dioptres libcamera accepts; a Module 3 reaches about 10 (10 cm)
EV_RANGE = (-8.0, 8.0)


def camera_controls(settings, available: Collection[str] | None = None) -> tuple[dict[str, float | int], list[str]]:
    """Return the controls for ``settings`` (a CameraSettings) and the names the camera does not advertise.

    ``available`` is picamera2's ``camera_controls`` keys; None keeps every control.
    """
    controls: dict[str, float | int] = {
        "AeExposureMode": EXPOSURE_MODES[settings.exposure],
        "AeConstraintMode": CONSTRAINTS[settings.exposure_constraint],
        "AeMeteringMode": METERING[settings.metering],
        "ExposureValue": settings.ev,
        **focus_controls(settings),
    }
    if available is None:
        return controls, []
    missing = [name for name in controls if name not in available]
    return {k: v for k, v in controls.items() if k not in missing}, missing


def focus_controls(settings) -> dict[str, float | int]:
    """Return the autofocus controls of the configured focus mode (none for `camera`: its own default)."""
    if settings.focus == "manual":
        return {"AfMode": AF_MODE["manual"], "LensPosition": settings.lens_position}
    if settings.focus == "macro":
        return {"AfMode": AF_MODE["auto"], "AfRange": AF_RANGE_MACRO, "AfSpeed": AF_SPEED_FAST}
    if settings.focus == "continuous":
        return {"AfMode": AF_MODE["continuous"], "AfRange": AF_RANGE_MACRO, "AfSpeed": AF_SPEED_FAST}
    return {}


def wants_focus_cycles(settings) -> bool:
    """Return whether the source must trigger autofocus cycles itself (the `macro` mode)."""
    return settings.focus == "macro"


def describe_optics(settings, metadata: Mapping | None) -> str:
    """Return the configured focus and exposure, and what the camera reports in ``metadata`` (None: nothing)."""
    if settings.focus == "manual":
        wanted = f"focus manual at {settings.lens_position:g} dioptres ({distance(settings.lens_position)})"
    else:
        wanted = f"focus {settings.focus}"
    wanted += f", exposure {settings.exposure}/{settings.exposure_constraint}, metering {settings.metering}, EV {settings.ev:+g}"
    if not metadata:
        return wanted
    actual = []
    if "LensPosition" in metadata:
        lens = float(metadata["LensPosition"])
        actual.append(f"lens at {lens:.2f} dioptres ({distance(lens)})")
    if "AfState" in metadata:
        actual.append(f"autofocus {AF_STATES.get(int(metadata['AfState']), metadata['AfState'])}")
    if "ExposureTime" in metadata:
        actual.append(f"exposure {int(metadata['ExposureTime']) / 1000:.1f} ms")
    if "AnalogueGain" in metadata:
        actual.append(f"gain {float(metadata['AnalogueGain']):.1f}")
    return wanted + ("; camera reports " + ", ".join(actual) if actual else "")


def distance(dioptres: float) -> str:
    """Return the focus distance of ``dioptres`` in words."""
    return "infinity" if dioptres <= 0 else f"about {100 / dioptres:.0f} cm"


def check_optics(settings) -> str | None:
    """Return what is wrong with the focus and exposure settings (naming the key), or None."""
    checks = (("focus", settings.focus, FOCUS_MODES), ("exposure", settings.exposure, EXPOSURE_MODES),
              ("exposure_constraint", settings.exposure_constraint, CONSTRAINTS), ("metering", settings.metering, METERING))
    for key, value, choices in checks:
        if value not in choices:
            return f"camera.{key}: {value!r} is not one of {', '.join(choices)}"
    for key, value, (low, high) in (("lens_position", settings.lens_position, LENS_RANGE), ("ev", settings.ev, EV_RANGE)):
        if not low <= value <= high:
            return f"camera.{key}: {value!r} is outside {low:g}..{high:g}"
    return None
