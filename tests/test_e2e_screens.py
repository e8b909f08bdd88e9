"""The supervisor screens in real Chromium at the Pi 7" touchscreen's 800×480 and a 1280×800 tablet (issue 14).

One real `kiosk web` process, one browser for the module. The board, a ticket's page, the lots and the manual check-in
are each checked at both sizes: the queue's first ticket and the page's main action inside the viewport, every tap
target at least 40 px, every field labelled, nothing scrolling sideways, and no internals on a Vietnamese screen (codes,
event type names, ISO dates). A person is taken through the day on the Pi (call, the screening checklist, the dose
with its vaccinator and injection site) without the page jumping; a severe reaction recorded on the tablet reaches
every page of the Pi by itself; the dose is voided on screen. Screenshots go to test-artifacts/.
"""

import json
import re
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .browser import chromium
from .kiosk_process import ROOT, KioskProcess

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PI, TABLET = {"width": 800, "height": 480}, {"width": 1280, "height": 800}
TOKEN = "screens-test-token-0123456789"
SETTINGS = {"KIOSK_WEB_SECRET_KEY": "e2e-secret-key-not-for-production", "KIOSK_WEB_API_TOKEN": TOKEN}
STAFF = [("Điều dưỡng Hoa", "supervisor", "2580"), ("Y tá Bình", "vaccinator", "1357")]
PEOPLE = [
    ("001190012345", "Nguyễn Thị Lan", "15/03/1990", "Nữ"),
    ("036058001234", "Trần Văn Hùng", "02/07/1958", "Nam"),
    ("079185004321", "Phạm Minh Anh", "01/06/1985", "Nữ"),
    ("001200009876", "Lê Văn Nam", "09/09/2000", "Nam"),
    ("002195001111", "Đỗ Thị Hà", "20/10/1995", "Nữ"),
    ("030070002222", "Vũ Văn Sơn", "05/05/1970", "Nam"),
]
TARGETS = """() => {
  const small = [], unlabelled = [];
  for (const el of document.querySelectorAll("button, a, select, input:not([type=hidden])")) {
    const target = el.matches("input[type=radio], input[type=checkbox]") ? (el.closest("label") || el) : el;
    const r = target.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(target).visibility === "hidden") continue;
    if (r.height < 40 || r.width < 40) small.push(`${target.tagName} "${target.textContent.trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    if (el.matches("input, select") && !el.labels.length && !el.getAttribute("aria-label")) unlabelled.push(el.name);
  }
  return {small, unlabelled, wide: document.documentElement.scrollWidth > window.innerWidth};
}"""
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def api(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(url + path, json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("screens")
    db = tmp_path / "kiosk.db"
    for name, role, pin in STAFF:
        add = [sys.executable, "-m", "kiosk", "staff", "add", name, "--role", role, "--pin-stdin", "--db", str(db)]
        subprocess.run(add, input=pin + "\n", text=True, check=True, cwd=ROOT, capture_output=True)
    process = KioskProcess(tmp_path, None, SETTINGS, command="web")
    for id_number, name, birth, sex in PEOPLE:
        api(process.url, "/api/check_in", {"id_number": id_number, "full_name": name, "birth_date": birth, "sex": sex})
    api(process.url, "/api/open_lot", {"product": "comirnaty_30", "lot_number": "FK8891", "expiry": "2099-06-30",
                                       "doses_per_vial": 6})
    yield process
    process.kill()


@pytest.fixture(scope="module")
def browser():
    yield from chromium(ARTIFACTS)


def signed_in(browser, url: str, viewport: dict, member: int = 0):
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(url + "/supervisor/")
    page.locator("label.name", has_text=STAFF[member][0]).click()
    page.fill("#pin", STAFF[member][2])
    page.click("form.signin button[type=submit]")
    page.wait_for_url("**/supervisor/")
    return page


def inside(page, selector: str) -> dict:
    """The element's box, asserted to lie wholly inside the viewport as the page opens (no scrolling)."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    assert box and box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], (selector, box, size)
    return box


def fits(page, shot: str) -> None:
    """Tap targets of 40 px or more, every field labelled, no sideways scroll; then the screenshot."""
    found = page.evaluate(TARGETS)
    assert not found["small"], found["small"]
    assert not found["unlabelled"], found["unlabelled"]
    assert not found["wide"], page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(ARTIFACTS / shot))


def no_internals(page) -> None:
    text = page.inner_text("body")
    for internal in ("comirnaty_30", "PersonCheckedIn", "DoseRecorded", "return_on", "full_name", "12 years and over"):
        assert internal not in text, internal
    assert not ISO_DATE.search(text), ISO_DATE.search(text).group(0)


def said(page, words: str) -> None:
    """The confirmation saying what was done appears (an error instead fails with its text)."""
    from playwright.sync_api import TimeoutError

    try:
        page.locator("#messages .flash", has_text=words).wait_for(timeout=10000)
    except TimeoutError:
        raise AssertionError(f"no {words!r}; messages: {page.inner_text('#messages')!r}") from None


@pytest.mark.timeout(180)
def test_ok__a_day_on_the_7_inch_screen_without_scrolling_for_the_common_actions(web, browser):
    pi = signed_in(browser, web.url, PI)
    # the board: the bar on one line, the queue's first ticket and "call next" on the first screen
    assert pi.locator("header.bar").bounding_box()["height"] <= 56
    first = inside(pi, "li.ticket")
    assert first["y"] < 200
    inside(pi, "button[data-action=call_next]")
    fits(pi, "screens-800x480-board.png")
    no_internals(pi)

    # a tap on the board changes the board where it stands: no reload, no jump to the top
    pi.evaluate("window.scrollTo(0, 120)")
    scrolled = pi.evaluate("window.scrollY")
    pi.evaluate("window.marker = 1")
    pi.locator("li.ticket[data-ticket='2'] button[data-action=call]").click()
    said(pi, "Đã gọi số 2 đến bàn 1.")
    assert pi.evaluate("window.marker") == 1 and pi.evaluate("window.scrollY") == scrolled

    # the ticket page: each step's main action on the first screen, and the page changes in place
    pi.goto(web.url + "/supervisor/tickets/2")
    inside(pi, "button[data-action=screen]")
    pi.click("button[data-action=screen]")
    said(pi, "Số 2 đã đến bàn khám sàng lọc.")
    assert pi.locator("input[name=answer_pregnant]").count() == 0  # not asked of a man
    inside(pi, "button[data-action=screening]")
    fits(pi, "screens-800x480-ticket-screening.png")
    for question in pi.locator("fieldset.questions .ask").all():
        question.locator("label.choice.no").click()
    pi.evaluate("window.marker = 2")
    pi.click("button[data-action=screening]")
    said(pi, "Số 2: khám sàng lọc đạt, đủ điều kiện tiêm.")
    assert pi.evaluate("window.marker") == 2  # changed in place, not reloaded
    inside(pi, "button[data-action=inject]")
    fits(pi, "screens-800x480-ticket-dose.png")
    no_internals(pi)


    # the vaccinator is chosen among the staff signed in: Bình signs in on the tablet
    tablet = signed_in(browser, web.url, TABLET, member=1)
    pi.reload()
    pi.select_option("select[name=vaccinator]", label="Y tá Bình")
    pi.locator("label.choice", has_text="Tay trái").click()
    pi.click("button[data-action=inject]")
    said(pi, "Đã ghi mũi tiêm cho số 2; bắt đầu theo dõi sau tiêm.")
    inside(pi, "button[data-action=release]")
    assert "Y tá Bình · Tay trái" in pi.inner_text("dl.person")
    fits(pi, "screens-800x480-ticket-observing.png")

    # a severe reaction recorded on the tablet: the Pi's ticket page shows it by itself, and its banner
    tablet.goto(web.url + "/supervisor/tickets/2")
    inside(tablet, "button[data-action=release]")
    fits(tablet, "screens-1280x800-ticket.png")
    typing = pi.locator("section.now input[name=reason]")
    typing.fill("Người nhà xin")  # someone is typing on the Pi: the banner comes anyway, the typing is not wiped
    tablet.fill("input[name=symptoms]", "Khó thở, nổi mẩn")
    tablet.locator("label.choice.severe").click()
    tablet.click("button[data-action=aefi]")
    said(tablet, "Đã ghi phản ứng sau tiêm (Nặng).")
    pi.locator("#alarms .alarm", has_text="Khó thở, nổi mẩn").wait_for(timeout=10000)
    assert typing.input_value() == "Người nhà xin"
    typing.fill("")
    typing.blur()  # done typing: the ticket's part catches up by itself
    pi.locator("section.reactions .reaction.severe", has_text="Khó thở, nổi mẩn").wait_for(timeout=10000)
    assert "Nặng" in pi.inner_text("section.reactions")
    banner = inside(pi, "#alarms .alarm")
    assert banner["y"] < 120
    pi.screenshot(path=str(ARTIFACTS / "screens-800x480-ticket-severe-reaction.png"))
    for path, shot in (("/supervisor/lots", "lots"), ("/supervisor/checkin", "checkin"), ("/supervisor/", "board")):
        pi.goto(web.url + path)
        assert inside(pi, "#alarms .alarm")["y"] < 120, path
        fits(pi, f"screens-800x480-{shot}-with-alarm.png")
    pi.click("#alarms button[data-action=acknowledge]")
    said(pi, "Đã xác nhận cảnh báo")
    assert pi.locator("#alarms .alarm").count() == 0

    # a supervisor voids the dose on screen (the vaccinator sees no such panel)
    assert tablet.locator("button[data-action=void_dose]").count() == 0
    pi.goto(web.url + "/supervisor/tickets/2")
    pi.fill("section.panel:has(button[data-action=void_dose]) input[name=reason]", "Ghi nhầm lô")
    pi.click("button[data-action=void_dose]")
    said(pi, "Đã hủy mũi tiêm (lô FK8891)")
    assert pi.locator("button[data-action=void_dose]").count() == 0 and "Hủy mũi tiêm" in pi.inner_text(".history")
    with sqlite3.connect(web.db) as db:
        assert db.execute("select count(*) from doses where voided_seq is not null").fetchone()[0] == 1
        dose = json.loads(db.execute("select body from outbox where type = 'DoseRecorded'").fetchone()[0])["payload"]["dose"]
    assert dose["vaccinator"]["name"] == "Y tá Bình" and dose["site"] == "left_deltoid"


@pytest.mark.timeout(120)
def test_ok__every_page_fits_both_screens_and_speaks_like_the_staff(web, browser):
    for viewport, size in ((PI, "800x480"), (TABLET, "1280x800")):
        page = signed_in(browser, web.url, viewport)
        inside(page, "li.ticket")
        inside(page, "button[data-action=call_next]")
        fits(page, f"screens-{size}-board-alone.png")
        page.goto(web.url + "/supervisor/lots")
        inside(page, "article.lot-card button[data-action=open_vial]")
        fits(page, f"screens-{size}-lots.png")
        no_internals(page)
        assert "Pfizer-BioNTech Comirnaty 30 µg (từ 12 tuổi)" in page.inner_text("body")
        assert "30/06/2099" in page.inner_text("article.lot-card")
        page.goto(web.url + "/supervisor/checkin")
        inside(page, "button[data-action=check_in]")
        fits(page, f"screens-{size}-checkin.png")
        page.goto(web.url + "/supervisor/tickets/1")
        inside(page, "button[data-action=call]")
        fits(page, f"screens-{size}-ticket-waiting.png")
        no_internals(page)
        page.context.close()


@pytest.mark.timeout(120)
def test_fail__checks_a_supervisor_expects(web, browser):
    pi = signed_in(browser, web.url, PI)
    # a Vietnamese name typed the Telex way on a plain on-screen keyboard
    pi.goto(web.url + "/supervisor/checkin")
    typed = {"Nguyeenx Thij Lan": "Nguyễn Thị Lan", "Traanf Vawn Hufng": "Trần Văn Hùng", "Dduwowngf": "Đường",
             "Phamj Quyf": "Phạm Quỳ", "hoaf": "hòa", "Anhss": "Anhs"}  # a tone key twice: the letter itself
    for keys, expected in typed.items():
        pi.fill("input[name=full_name]", "")
        pi.locator("input[name=full_name]").press_sequentially(keys)
        assert pi.input_value("input[name=full_name]") == expected, keys
    # an 11-digit ID gets its own message, not the camera's
    pi.fill("#id_number", "00119001234")
    pi.fill("input[name=full_name]", "Nguyễn Thị Lan")
    pi.fill("input[name=birth_date]", "15/03/1990")
    pi.locator("label.choice", has_text="Nữ").click()
    pi.click("button[data-action=check_in]")
    assert "có 11 ký tự (11 chữ số)" in pi.inner_text("#messages p.error")
    assert pi.input_value("input[name=full_name]") == "Nguyễn Thị Lan"  # nothing typed is lost
    # a priority is removed; "pregnant" is not offered for a man, and refused for one
    pi.goto(web.url + "/supervisor/tickets/3")
    pi.locator("button[data-action=prioritise]", has_text="Có thai").click()
    said(pi, "Số 3 được ưu tiên")
    pi.click("button[data-action=unprioritise]")
    said(pi, "Đã bỏ ưu tiên của số 3")
    pi.goto(web.url + "/supervisor/tickets/4")
    assert pi.locator("button[data-action=prioritise]", has_text="Có thai").count() == 0
    answer = urllib.request.Request(web.url + "/api/tickets/4/prioritise", json.dumps({"flag": "pregnant"}).encode(),
                                    method="POST", headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(answer, timeout=10)
    assert json.load(refused.value)["error"] == "pregnant_male"
    # English: sex translated, product names in English, dates still dd/mm/yyyy
    pi.context.close()
    english = signed_in(browser, web.url, PI)
    with english.expect_response(lambda r: r.url.endswith("/lang")):
        english.click("form.lang button[value=en]")
    english.goto(web.url + "/supervisor/tickets/1")
    assert "Female" in english.inner_text(".ticket-head") and "15/03/1990" in english.inner_text("dl.person")
    english.context.close()
