"""What the workspace's browser tests share: a `hub web` process on the test module's ``db`` and one Chromium for the
module (import both fixtures by name), and signing in from the sign-in page."""

from __future__ import annotations

import pytest

from .browser import chromium
from .test_e2e_hub_web import ARTIFACTS, PASSWORD, HubWeb


@pytest.fixture(scope="module")
def web(db):
    """`hub web` on the module's database, for every test of the module."""
    process = HubWeb(db)
    yield process
    process.kill()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; screenshots go to test-artifacts/."""
    yield from chromium(ARTIFACTS)


def sign_in(page, url: str, name: str) -> None:
    """Sign in as ``name`` (the tests' password) and wait for the front page."""
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(url + "/")
