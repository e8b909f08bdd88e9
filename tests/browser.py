"""Debian's Chromium under Playwright, as every screen test launches it (downloaded browsers do not run here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking"]
SHIFTED_CLOCK = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC")
"""A date-shifted run (docs/testing.md) shifts the kiosk's and the hub's clocks; the browser is the user's own device,
with its own clock (and Chromium's timers misbehave under libfaketime)."""


def launch(playwright):
    """A headless Chromium, with the machine's real clock."""
    env = {key: value for key, value in os.environ.items() if key not in SHIFTED_CLOCK}
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)


def chromium(artifacts: Path) -> Iterator:
    """For a fixture to ``yield from``: one headless Chromium (``launch``), closed after; screenshots go to
    ``artifacts``, made here."""
    from playwright.sync_api import sync_playwright

    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()
