"""End to end: the real kiosk process, replayed camera frames, the real screen in Chromium."""

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from kiosk.demo import FRAMES

from .browser import launch
from .kiosk_process import KioskProcess, follow_events

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EXPECTED = [  # the demo story in kiosk/demo/frames
    (True, 1, "Lan", False), (True, 2, "Hùng", False), (False, None, None, False),
    (True, 3, "Mai", False), (True, 1, "Lan", True), (True, 4, "Khoa", False),
]
PRIVATE = ["001190012345", "036058001234", "Nguyễn", "Trần Văn", "15031990", "Lê Lợi", "Tân Lập"]


@pytest.fixture
def kiosk(tmp_path):
    camera = tmp_path / "camera"  # absent at first: the camera is "unplugged"
    process = KioskProcess(
        tmp_path,
        f"replay:{camera}",
        {
            # each image in view 0.4 s; Lan comes back 2.4 s after her first scan, well past the 0.5 s hold
            "KIOSK_CAMERA_FPS": "10", "KIOSK_CAMERA_REPLAY_REPEAT": "4", "KIOSK_CAMERA_REPLAY_LOOP": "false",
            "KIOSK_SCANNER_HOLD_SECONDS": "0.5", "KIOSK_SCANNER_REOPEN_SECONDS": "0.2",
        },
    )
    process.camera = camera
    yield process
    process.kill()


def plug_in_camera(kiosk) -> None:
    staging = kiosk.camera.with_name("staging")
    shutil.copytree(FRAMES, staging)
    staging.rename(kiosk.camera)


@pytest.mark.timeout(120)
def test_ok__replayed_frames_check_people_in_and_the_screen_shows_the_ticket(kiosk):
    from playwright.sync_api import sync_playwright

    kiosk.wait_until(lambda: kiosk.get_json("/healthz")["scanner"]["state"] == "camera_error", what="camera_error")
    assert "does not exist" in kiosk.get_json("/healthz")["scanner"]["last_error"]
    outcomes, stop = [], threading.Event()
    follow_events(kiosk.url, outcomes, stop)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1024, "height": 600})
        page.goto(kiosk.url + "/")
        page.wait_for_function("document.getElementById('link').className === 'up'")
        page.screenshot(path=str(ARTIFACTS / "citizen-idle.png"))
        plug_in_camera(kiosk)
        page.wait_for_function("document.getElementById('ticket').textContent === '4'", timeout=30000)
        assert page.inner_text("#name") == "Khoa"
        page.screenshot(path=str(ARTIFACTS / "citizen-ticket.png"))
        assert not any(p in page.content() for p in PRIVATE)
        browser.close()
    kiosk.wait_until(lambda: len(outcomes) >= len(EXPECTED), what="all outcomes")
    stop.set()
    assert [(o["accepted"], o["ticket"], o["given_name"], o["returning"]) for o in outcomes] == EXPECTED
    assert outcomes[2]["reason"] == "not_cccd" and outcomes[3]["warnings"]
    assert kiosk.terminate() == 0
    with sqlite3.connect(kiosk.db) as db:
        assert db.execute("select count(*) from tickets").fetchone()[0] == 4
        assert db.execute("select full_name from people where id_number = '036058001234'").fetchone()[0] == "Trần Văn Hùng"
    log = "".join(kiosk.stderr)
    assert "checked in: ticket 4" in log
    assert not [p for p in PRIVATE if p in log], "personal data in the log"
