"""Frame sources behind one small interface: picamera2, a USB camera, or a replay of files."""

from __future__ import annotations

import os

from ..errors import CameraError
from .base import Frame, FrameSource

__all__ = ["Frame", "FrameSource", "check_spec", "open_source", "optics_line"]


def open_source(
    spec: str, *, width: int, height: int, fps: float, repeat: int = 1, loop: bool = True, settings=None
) -> FrameSource:
    """Open the frame source named by ``spec`` (`auto`, `picamera2`, `usb:N`, `replay:PATH`).

    ``settings`` (CameraSettings) gives the Pi camera its focus and exposure. Raises CameraError
    saying what is missing when the source cannot be opened.
    """
    kind, _, arg = spec.partition(":")
    if kind == "replay":
        from .replay import ReplaySource

        return ReplaySource(arg, fps=fps, repeat=repeat, loop=loop, size=(width, height))
    if kind == "picamera2":
        from .picam import PicameraSource

        return PicameraSource(width=width, height=height, fps=fps, settings=settings)
    if kind == "usb":
        from .usb import UsbSource

        return UsbSource(int(arg or 0), width=width, height=height, fps=fps)
    if kind == "auto":
        return open_auto(width=width, height=height, fps=fps, settings=settings)
    raise CameraError(f"unknown camera source {spec!r}: use auto, picamera2, usb:N or replay:PATH")


def open_auto(*, width: int, height: int, fps: float, settings=None) -> FrameSource:
    """Pick picamera2 on a Pi, else the first USB camera; say what was tried when neither works."""
    tried = []
    for spec in ("picamera2", "usb:0"):
        try:
            return open_source(spec, width=width, height=height, fps=fps, settings=settings)
        except CameraError as exc:
            tried.append(f"{spec}: {exc}")
    raise CameraError("no camera found (" + "; ".join(tried) + "). For a demo use --camera replay:DIR")


def check_spec(spec: str) -> None:
    """Raise CameraError for a spec that cannot name a source, without opening anything."""
    kind, _, arg = spec.partition(":")
    if kind not in {"auto", "picamera2", "usb", "replay"}:
        raise CameraError(f"unknown camera source {spec!r}: use auto, picamera2, usb:N or replay:PATH")
    if kind == "usb" and arg and not arg.isdigit():
        raise CameraError(f"usb camera index must be a number, got {arg!r}")
    if kind == "replay" and not os.path.exists(arg):
        raise CameraError(f"replay path {arg!r} does not exist")


def optics_line(settings, source) -> str:
    """Return the configured and actual focus and exposure of a Pi camera ``source`` ("" for other sources)."""
    from .controls import describe_optics

    metadata = getattr(source, "metadata", None)
    if metadata is None:
        return ""
    try:
        return describe_optics(settings, metadata())
    except CameraError as exc:
        return describe_optics(settings, None) + f"; {exc}"
