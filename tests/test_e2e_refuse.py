"""End to end: staff record why a person was not vaccinated, on the Pi's 800×480 touchscreen and a 1280×800 tablet.

A real `kiosk web` process and Chromium. Three people are checked in by hand;
each is refused with one of the three large choices (declined at screening on
the Pi, contraindicated on the Pi, referred to hospital at the injection table
on the tablet; the Pi's screen in English for the second). A form sent without a choice is refused with the reason on the
page and changes nothing. The choices fit both screens; the board and the
ticket page show the chosen one; the outbox holds each VaccinationRefused with
its reason_code, as the hub takes it.
"""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import wire

from .browser import launch
from .kiosk_process import ROOT, KioskProcess
from .polling import wait_until
from .web_helpers import pass_screening, tap

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PIN = "2580"
SETTINGS = {"KIOSK_WEB_SECRET_KEY": "e2e-secret-key-not-for-production"}
PI, TABLET = {"width": 800, "height": 480}, {"width": 1280, "height": 800}
PEOPLE = [
    ("001190012345", "Nguyễn Thị Lan", "1990-03-15", "Nữ"),
    ("036058001234", "Trần Văn Hùng", "1958-07-02", "Nam"),
    ("079185004321", "Phạm Minh Anh", "1985-06-01", "Nữ"),
]
LABELS = {"declined": "Từ chối tiêm", "contraindicated": "Chống chỉ định", "referred": "Chuyển viện tiêm"}
ENGLISH = {"declined": "Declined vaccination", "contraindicated": "Contraindicated",
           "referred": "Referred to hospital for vaccination"}
CHOOSE = "Hãy chọn lý do không tiêm: Từ chối tiêm, Chống chỉ định hoặc Chuyển viện tiêm."


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("refuse")
    db = tmp_path / "kiosk.db"
    add = [sys.executable, "-m", "kiosk", "staff", "add", "Điều dưỡng Hoa", "--role", "supervisor", "--pin-stdin", "--db", str(db)]
    subprocess.run(add, input=PIN + "\n", text=True, check=True, cwd=ROOT, capture_output=True)
    process = KioskProcess(tmp_path, None, SETTINGS, command="web")
    yield process
    process.kill()


def signed_in(browser, url: str, viewport: dict):
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(url + "/supervisor/")
    page.check("input[name=staff_id]")
    page.fill("#pin", PIN)
    page.click("form.signin button[type=submit]")
    page.wait_for_url("**/supervisor/")
    return page


def click(page, action: str) -> None:
    if action == "clear":
        pass_screening(page)  # on the ticket's page, clearing is the screening checklist answered "no"
    else:
        tap(page, action)


def check_in_to(page, url: str, person: tuple[str, str, str, str], *steps: str) -> None:
    """Check a person in by hand (landing on their ticket page) and take the ticket through steps there."""
    id_number, name, birth_date, sex = person
    page.goto(url + "/supervisor/checkin")
    page.fill("#id_number", id_number)
    page.fill("input[name=full_name]", name)
    page.fill("input[name=birth_date]", birth_date)
    page.check(f"input[name=sex][value='{sex}']")
    page.locator("button[data-action='check_in']").click()
    page.wait_for_url("**/supervisor/tickets/*")
    for step in steps:
        click(page, step)


def choices_fit(page) -> list[dict]:
    """Each choice's box; the page itself must not scroll sideways."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    labels = [page.locator(f"label.reason-code:has(input[value='{code}'])") for code in LABELS]
    boxes: list = []

    def laid_out() -> bool:
        # the ticket's part may still be being replaced by the answer to the last tap: a label found a moment ago can
        # be gone (no box) until the new part is in
        boxes[:] = [label.bounding_box() if label.count() == 1 else None for label in labels]
        return None not in boxes

    wait_until(laid_out, timeout=10, what="the choices laid out")
    width = page.viewport_size["width"]
    for box in boxes:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 48, box
    for a, b in zip(boxes, boxes[1:]):  # apart, side by side or one below the other
        assert a["x"] + a["width"] <= b["x"] or a["y"] + a["height"] <= b["y"], (a, b)
    return boxes


def refuse(page, code: str, reason: str, shot: str, labels: dict = LABELS) -> None:
    """Tap the choice, type the reason, take the screenshot, send."""
    panel = page.locator("section.panel:has(button[data-action='refuse'])")
    panel.scroll_into_view_if_needed()
    page.get_by_text(labels[code], exact=True).click()  # the whole large label is the target
    assert page.is_checked(f"input[name=reason_code][value='{code}']")
    panel.locator("input[name=reason]").fill(reason)
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / shot))
    click(page, "refuse")


@pytest.mark.timeout(180)
def test_ok__staff_refuse_with_one_of_three_choices_on_the_pi_and_the_tablet(web):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        pi = signed_in(browser, web.url, PI)
        check_in_to(pi, web.url, PEOPLE[0], "call", "screen")
        choices_fit(pi)
        before = pi.content()
        # a form that comes without a choice (a browser that ignores "required") is refused, nothing changed
        pi.evaluate("document.querySelectorAll('input[name=reason_code]').forEach(i => i.removeAttribute('required'))")
        pi.locator("section.panel:has(button[data-action='refuse']) input[name=reason]").fill("Không muốn tiêm")
        click(pi, "refuse")
        assert pi.inner_text("#messages p.error") == CHOOSE and "Khám sàng lọc" in pi.inner_text("h1")
        pi.screenshot(path=str(ARTIFACTS / "kiosk-refuse-800x480-no-choice.png"))
        refuse(pi, "declined", "Không muốn tiêm", "kiosk-refuse-800x480-choosing.png")
        assert pi.inner_text(".now .reason-code") == LABELS["declined"] and before != pi.content()

        check_in_to(pi, web.url, PEOPLE[1], "call", "screen")
        pi.click("form.lang button[value=en]")  # the longer English labels fit too
        pi.wait_for_load_state()
        choices_fit(pi)
        refuse(pi, "contraindicated", "Sốc phản vệ với liều trước", "kiosk-refuse-800x480-english.png", ENGLISH)
        assert pi.inner_text(".now .reason-code") == ENGLISH["contraindicated"]
        pi.screenshot(path=str(ARTIFACTS / "kiosk-refuse-800x480-ticket.png"), full_page=True)

        tablet = signed_in(browser, web.url, TABLET)
        check_in_to(tablet, web.url, PEOPLE[2], "call", "screen", "clear")
        choices_fit(tablet)
        refuse(tablet, "referred", "Bệnh tim: tiêm tại bệnh viện huyện", "kiosk-refuse-1280x800-choosing.png")
        tablet.goto(web.url + "/supervisor/")
        shown = [tablet.inner_text(f"li.ticket[data-ticket='{n}'] b.reason-code") for n in (1, 2, 3)]
        assert shown == list(LABELS.values())  # the tablet's session stayed Vietnamese
        tablet.screenshot(path=str(ARTIFACTS / "kiosk-refuse-1280x800-board.png"), full_page=True)
        pi.goto(web.url + "/supervisor/")
        pi.locator("li.ticket[data-ticket='3']").scroll_into_view_if_needed()
        pi.screenshot(path=str(ARTIFACTS / "kiosk-refuse-800x480-board.png"))
        browser.close()
    assert web.terminate() == 0
    with sqlite3.connect(web.db) as db:
        rows = db.execute("select body from outbox where type = 'VaccinationRefused' order by seq").fetchall()
        tickets = db.execute("select number, state, reason_code from tickets order by number").fetchall()
    payloads = [json.loads(body)["payload"] for (body,) in rows]
    assert [(p["from"], p["reason_code"]) for p in payloads] == [
        ("screening", "declined"), ("screening", "contraindicated"), ("cleared", "referred"),
    ]
    for (body,) in rows:
        wire.parse_event(wire.topic(json.loads(body)["kiosk"], wire.EVENT), body.encode())
    assert tickets == [(1, "refused", "declined"), (2, "refused", "contraindicated"), (3, "refused", "referred")]
