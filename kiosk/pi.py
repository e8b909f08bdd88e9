"""What Raspberry Pi OS Bookworm does to a kiosk, told in plain words: numpy against apt's picamera2, camera errors, GPIO.

The functions named ``*_finding`` are pure: they take versions, error texts, device lists and a board's model
and return ``(ok, detail)``; `kiosk doctor` gathers the facts (the ``read_*`` helpers) and prints the findings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

Finding = tuple[bool, str]

APT_PYTHON = Path("/usr/lib/python3/dist-packages")
"""Where Debian and Raspberry Pi OS install Python packages (python3-numpy, python3-picamera2, python3-simplejpeg)."""

NUMPY_ABI_ERRORS = (
    # Cython modules built against numpy 1.x, imported under numpy 2 (picamera2 issues #1088, #1211)
    "numpy.dtype size changed",
    "numpy.ndarray size changed",
    # C extensions built against numpy 1.x under numpy 2, and the reverse
    "compiled using numpy 1.x cannot be run in numpy 2",
    "numpy.core.multiarray failed to import",
    "_array_api not found",
    "module compiled against api version",
    "module compiled against abi version",
)

NUMPY_FIX = ("reinstall with `sudo provision/install-kiosk.sh` (it keeps the system numpy), or "
             "`sudo /opt/kiosk/.venv/bin/pip uninstall -y numpy` to fall back to it")


def is_numpy_abi_error(text: str) -> bool:
    """True when an import error's text is numpy's binary-incompatibility complaint."""
    lowered = " ".join(text.lower().split())  # numpy's warning wraps its lines
    return any(marker in lowered for marker in NUMPY_ABI_ERRORS)


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version (`1:1.24.2-1+deb12u1` and `1.24.2` both give (1, 24, 2))."""
    version = version.split(":", 1)[-1]
    numbers = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in numbers.group(0).split(".")) if numbers else ()


def numpy_mismatch(running: str, system: str) -> bool:
    """True when modules built against the system numpy cannot load under the running one.

    numpy keeps its binary interface within a major version and only forwards: a module built for 1.24 loads
    under 1.26, not under 2.x and not under 1.21.
    """
    run, built = version_tuple(running), version_tuple(system)
    if not run or not built:
        return False
    return run[0] != built[0] or run < built


def numpy_finding(running: str, system: str | None, simplejpeg_error: str | None) -> Finding:
    """The numpy this program runs against the one apt's picamera2 and simplejpeg were built for.

    ``running`` is the imported numpy's version, ``system`` the apt package's (None: no apt numpy),
    ``simplejpeg_error`` the text of the error importing simplejpeg (None: it imported; "missing": not installed).
    """
    built = f"numpy {system} from apt" if system else "no numpy from apt"
    if simplejpeg_error and is_numpy_abi_error(simplejpeg_error):
        return False, (f"the camera library cannot load: simplejpeg (from apt, picamera2 needs it) was built for {built}, "
                       f"but this program runs numpy {running} ({simplejpeg_error.strip().splitlines()[-1]}); {NUMPY_FIX}")
    if simplejpeg_error is None:
        return True, f"numpy {running}, {built}; simplejpeg (picamera2) loads"
    if system and numpy_mismatch(running, system):
        return False, (f"this program runs numpy {running}, but apt's camera libraries are built for numpy {system}: "
                       f"picamera2 will not load; {NUMPY_FIX}")
    if simplejpeg_error == "missing":
        return True, f"numpy {running}, {built}; no picamera2 from apt here (simplejpeg is not installed)"
    return False, f"simplejpeg (picamera2) does not load: {simplejpeg_error.strip().splitlines()[-1]}"


DMA_HEAP_WORDS = ("could not open any dmaheap device", "could not open any dma-buf provider", "/dev/dma_heap")
CAMERA_BUSY_WORDS = ("device or resource busy", "pipeline handler in use by another process", "camera in use")


def camera_error_finding(error: BaseException | str, *, user: str, in_video_group: bool) -> str | None:
    """Plain words for a camera that failed to start, or None when the error says nothing we know.

    libcamera prints "Could not open any dmaHeap device" when the user may not open /dev/dma_heap/* (not in the
    `video` group), then registers no camera; picamera2 then fails with an IndexError from its empty camera list
    (picamera2 issues #1081, #1009), the same as when no camera is connected at all.
    """
    text = " ".join(describe_chain(error)).lower()
    if any(words in text for words in DMA_HEAP_WORDS) or (not in_video_group and camera_list_empty(error, text)):
        return dma_heap_words(user, in_video_group)
    if any(words in text for words in CAMERA_BUSY_WORDS):
        return "the camera is in use by another program: stop kiosk-scan first (sudo systemctl stop kiosk-scan)"
    if camera_list_empty(error, text):
        return ("camera not detected: libcamera lists no camera. Power off, reseat the ribbon cable at both ends "
                "(contacts facing the right way), check `camera_auto_detect=1` in /boot/firmware/config.txt, "
                "then `rpicam-hello --list-cameras` must list it")
    return None


def dma_heap_words(user: str, in_video_group: bool) -> str:
    if not in_video_group:
        return (f"the camera's memory devices (/dev/dma_heap/*) cannot be opened: user {user} is not in the video group "
                f"(libcamera: \"Could not open any dmaHeap device\"); run `sudo usermod -aG video {user}` and restart")
    return (f"the camera's memory devices (/dev/dma_heap/*) cannot be opened although {user} is in the video group: "
            "the udev rule that gives them to the group is missing (/usr/lib/udev/rules.d/60-dma-heap.rules, "
            "package raspberrypi-sys-mods), or the unit lacks `DeviceAllow=char-dma_heap rw`")


def camera_list_empty(error: BaseException | str, text: str) -> bool:
    """True for picamera2's IndexError from an empty camera list (by type, or by its text once wrapped)."""
    chain = list(exception_chain(error)) if isinstance(error, BaseException) else []
    return any(isinstance(exc, IndexError) for exc in chain) or "list index out of range" in text


def exception_chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def describe_chain(error: BaseException | str) -> list[str]:
    if isinstance(error, str):
        return [error]
    return [f"{type(exc).__name__}: {exc}" for exc in exception_chain(error)]


def dma_heap_finding(user: str, in_video_group: bool, heaps: dict[str, bool]) -> Finding:
    """Whether this user can open the DMA heaps libcamera allocates frames from (``heaps``: path -> openable)."""
    if not heaps:
        return True, "no /dev/dma_heap here: not a Raspberry Pi camera stack"
    usable = sorted(path for path, openable in heaps.items() if openable)
    if usable:
        return True, f"{user} can open {', '.join(usable)}"
    return False, dma_heap_words(user, in_video_group)


@dataclass(frozen=True)
class Gpio:
    """What `kiosk doctor` found out about the GPIO header."""

    model: str | None  # /proc/device-tree/model, None when this is not a Raspberry Pi
    factory: str  # gpiozero pin factory in use: lgpio, rpigpio, pigpio, native, mock
    gpiozero: str  # gpiozero's version
    enabled: bool = True  # feedback.enabled


GPIOZERO_BROKEN = {
    "2.0.1.post1": "its pin-factory detection fails and falls back to RPi.GPIO on a Pi 5 (gpiozero issue #1229)",
    "2.0.1.post2": "its pin-factory detection fails and falls back to RPi.GPIO on a Pi 5 (gpiozero issue #1229)",
}
GPIOZERO_PINNED = "2.0.1.post3"
FACTORY_NAMES = {"LGPIOFactory": "lgpio", "RPiGPIOFactory": "rpigpio", "PiGPIOFactory": "pigpio",
                 "NativeFactory": "native", "MockFactory": "mock"}


def factory_name(factory: object) -> str:
    """The name under which gpiozero registers a pin factory (what GPIOZERO_PIN_FACTORY takes)."""
    cls = type(factory).__name__
    return FACTORY_NAMES.get(cls, cls)


def gpio_finding(gpio: Gpio) -> Finding:
    """The pin factory in use, and whether it can drive this board's header."""
    where = f"on {gpio.model}" if gpio.model else "(not a Raspberry Pi)"
    said = f"pin factory {gpio.factory} (gpiozero {gpio.gpiozero}) {where}"
    if version_tuple(gpio.gpiozero) < (2,):
        return False, f"{said}: gpiozero {gpio.gpiozero} is too old (Debian's python3-gpiozero 1.6?); {GPIOZERO_FIX}"
    if gpio.gpiozero in GPIOZERO_BROKEN:
        return False, f"{said}: {GPIOZERO_BROKEN[gpio.gpiozero]}; {GPIOZERO_FIX}"
    if not gpio.enabled:
        return True, f"LEDs and buzzer are off (feedback.enabled = false); {said}"
    if gpio.model and gpio.factory == "mock":
        return False, f"{said}: no GPIO library worked, the LEDs and buzzer are simulated; {LGPIO_FIX}"
    if gpio.model and "Raspberry Pi 5" in gpio.model and gpio.factory != "lgpio":
        return False, f"{said}: on a Pi 5 only lgpio drives the header; {LGPIO_FIX}"
    return True, said


GPIOZERO_FIX = f"reinstall with `sudo provision/install-kiosk.sh` (it pins gpiozero {GPIOZERO_PINNED})"
LGPIO_FIX = ("set `pin_factory = \"lgpio\"` under [feedback] in /etc/kiosk/kiosk.toml (kiosk-scan.service sets "
             "GPIOZERO_PIN_FACTORY=lgpio) and check that lgpio is installed (python3-lgpio)")


# --- gathering the facts ------------------------------------------------------------------------------


def read_model(path: Path = Path("/proc/device-tree/model")) -> str | None:
    """The board's model ("Raspberry Pi 5 Model B Rev 1.0"), None on a machine without a device tree."""
    try:
        return path.read_bytes().rstrip(b"\0").decode("ascii", "replace").strip() or None
    except OSError:
        return None


def read_apt_version(name: str, folder: Path = APT_PYTHON) -> str | None:
    """The version of the package ``name`` that apt installed in ``folder``, None when it has none."""
    if not folder.is_dir():
        return None
    for dist in metadata.distributions(path=[str(folder)]):
        if (dist.metadata["Name"] or "").lower() == name.lower():
            return dist.version
    return None


def import_error(module: str) -> str | None:
    """None when ``module`` imports, "missing" when it is not installed, else the error's text."""
    try:
        __import__(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return "missing"
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an extension module that cannot load raises ValueError, ImportError, AttributeError
        return f"{type(exc).__name__}: {exc}"
    return None


def openable_heaps(folder: Path = Path("/dev/dma_heap")) -> dict[str, bool]:
    """Each DMA heap device -> whether this process may open it for reading and writing."""
    try:
        paths = sorted(folder.iterdir())
    except OSError:
        return {}
    return {str(path): os.access(path, os.R_OK | os.W_OK) for path in paths}


def in_group(name: str) -> bool:
    """True when this process has the group ``name`` (the service's SupplementaryGroups= or the user's groups)."""
    import grp

    try:
        return grp.getgrnam(name).gr_gid in {os.getegid(), *os.getgroups()}
    except KeyError:
        return False
