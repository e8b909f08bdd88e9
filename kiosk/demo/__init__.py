"""Bundled demo data: replay frames of invented people for `make demo` and the tests."""

from pathlib import Path

FRAMES = Path(__file__).parent / "frames"
