"""End to end in production layout: `kiosk scan` and `kiosk web` as two processes, Chromium on both screens.

A replayed frame checks a person in; the citizen screen shows the ticket; the
supervisor signs in with a PIN, opens a lot, calls, screens, clears, records
the dose, sees the observation countdown, and releases the person. Every step
leaves its event in the outbox.
"""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import launch
from .conftest import LAN, write_frames
from .kiosk_process import ROOT, KioskProcess
from .web_helpers import pass_screening, tap

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PIN = "2580"
SETTINGS = {
    "KIOSK_CAMERA_FPS": "10", "KIOSK_CAMERA_REPLAY_REPEAT": "5", "KIOSK_CAMERA_REPLAY_LOOP": "false",
    "KIOSK_QUEUE_OBSERVATION_MINUTES": "0.1",  # 6 s, so the test sees the countdown reach zero
    "KIOSK_WEB_SECRET_KEY": "e2e-secret-key-not-for-production",
}
EXPECTED_EVENTS = [
    "PersonCheckedIn", "LotOpened", "PersonCalled", "ScreeningStarted", "PersonCleared",
    "VialOpened", "DoseRecorded", "ObservationStarted", "PersonReleased",
]


@pytest.fixture
def parts(tmp_path):
    db = tmp_path / "kiosk.db"
    add = [sys.executable, "-m", "kiosk", "staff", "add", "Điều dưỡng Hoa", "--role", "supervisor", "--pin-stdin", "--db", str(db)]
    subprocess.run(add, input=PIN + "\n", text=True, check=True, cwd=ROOT, capture_output=True)
    web = KioskProcess(tmp_path, None, SETTINGS, command="web")
    camera = write_frames(tmp_path / "camera", [None, LAN, None])
    scan = KioskProcess(tmp_path, f"replay:{camera}", SETTINGS, command="scan")
    yield web, scan
    scan.kill()
    web.kill()


def click(page, action: str) -> None:
    page.locator(f"button[data-action='{action}']").first.click()
    page.wait_for_load_state()


@pytest.mark.timeout(120)
def test_ok__a_person_goes_from_scan_to_released_on_the_screens(parts):
    from playwright.sync_api import sync_playwright

    web, scan = parts
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        citizen = browser.new_page(viewport={"width": 1024, "height": 600})
        citizen.goto(web.url + "/")
        citizen.wait_for_function("document.getElementById('ticket').textContent === '1'", timeout=30000)
        assert citizen.inner_text("#name") == "Lan" and citizen.is_visible("#dose")
        citizen.screenshot(path=str(ARTIFACTS / "workflow-citizen-ticket.png"))

        staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        staff.goto(web.url + "/supervisor/")
        staff.check("input[name=staff_id]")
        staff.fill("#pin", PIN)
        staff.click("form.signin button[type=submit]")
        staff.wait_for_url("**/supervisor/")

        staff.goto(web.url + "/supervisor/lots")
        staff.select_option("select[name=product]", "comirnaty_30")
        staff.fill("input[name=lot_number]", "FK8891")
        staff.fill("input[name=expiry]", "2099-06-30")
        staff.fill("input[name=doses_per_vial]", "6")
        click(staff, "open_lot")
        assert "FK8891" in staff.content()

        staff.goto(web.url + "/supervisor/")
        staff.click("form.callnext button[type=submit]")
        citizen.wait_for_function("!document.getElementById('turn').hidden", timeout=5000)
        citizen.screenshot(path=str(ARTIFACTS / "workflow-citizen-called.png"))
        tap(staff, "screen")
        staff.click("li.ticket a.number")
        pass_screening(staff)
        staff.locator("label.choice", has_text="Tay trái").click()
        tap(staff, "inject")
        staff.goto(web.url + "/supervisor/")
        countdown = staff.locator("li.ticket .countdown")
        countdown.wait_for()
        staff.screenshot(path=str(ARTIFACTS / "workflow-supervisor-observing.png"), full_page=True)
        staff.wait_for_function("document.querySelector('li.ticket .countdown.due') !== null", timeout=15000)
        click(staff, "release")
        staff.wait_for_selector("li.ticket.released")
        staff.screenshot(path=str(ARTIFACTS / "workflow-supervisor-released.png"), full_page=True)
        assert "001190012345" not in citizen.content() + staff.locator("#board").inner_html()
        browser.close()
    assert web.terminate() == 0 and scan.terminate() == 0
    with sqlite3.connect(web.db) as db:
        types = [row[0] for row in db.execute("select type from outbox order by seq")]
        dose = json.loads(db.execute("select body from outbox where type = 'DoseRecorded'").fetchone()[0])
        state = db.execute("select state from tickets").fetchone()[0]
    assert types == EXPECTED_EVENTS
    assert dose["payload"]["dose"] | {"given_at": None} == {
        "product": "comirnaty_30", "lot_number": "FK8891", "expiry": "2099-06-30", "number": 1, "booster": 0, "given_at": None,
        "vaccinator": {"staff_id": 1, "name": "Điều dưỡng Hoa"}, "site": "left_deltoid",
    }
    assert dose["payload"]["by"]["name"] == "Điều dưỡng Hoa" and state == "released"
