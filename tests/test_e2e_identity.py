"""The identity check on real screens: the real app served in this process, Chromium at the Pi's 800×480 and a tablet's 1280×800.

A card whose ID number is stored with other details is scanned: the citizen
screen asks the person to see the supervisor and shows nothing of them; the
board shows the question with both versions. A supervisor types the same ID
with other details at the manual check-in, sees both versions side by side,
re-types, and confirms the same person's corrected details with a reason.
Screenshots go to test-artifacts/identity-*.png.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from kiosk.decode import Code
from kiosk.scan.desk import Desk
from kiosk.web import Services, create_app

from .browser import chromium
from .conftest import LAN
from .polling import wait_until
from .web_helpers import arrive

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SIZES = {"pi": {"width": 800, "height": 480}, "tablet": {"width": 1280, "height": 800}}
LAN_ID = "001190012345"
OTHER_CARD = LAN.replace("Nguyễn Thị Lan", "Nguyễn Thị Lân").replace("15031990", "16031990")
PRIVATE = [LAN_ID, "2345", "Nguyễn", "Lân", "1990", "123456789", "Lê Lợi"]


@pytest.fixture
def served(config, site):
    """The kiosk's app (Vietnamese, the default) on a free port, and the desk the camera would hand codes to."""
    from werkzeug.serving import make_server

    services = Services(config.replace("web", secret_key="e2e-identity-secret"), site)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="identity-e2e-web", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", services
    server.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    yield from chromium(ARTIFACTS)


def signed_in(browser, url: str, size: str, member, pin: str):
    page = browser.new_context(viewport=SIZES[size]).new_page()
    page.goto(url + "/login")
    page.check(f"input[name=staff_id][value='{member.id}']")
    page.fill("#pin", pin)
    page.click("form.signin button[type=submit]")
    page.wait_for_url("**/supervisor/")
    return page


def fits(page, selector: str, *, first_screen: bool = True) -> None:
    """The element needs no sideways scrolling and (first_screen) is whole on the first screen: readable on the
    800×480 touchscreen without touching it."""
    # the board re-renders itself when its live stream connects: measure the element once it is laid out again
    box = wait_until(lambda: page.locator(selector).first.bounding_box(), timeout=5, what=f"{selector} laid out")
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not first_screen or box["y"] + box["height"] <= height, (selector, box)


def differing(page, selector: str = "table.identity") -> list[str]:
    return page.eval_on_selector_all(f"{selector} tr.differs", "rows => rows.map(r => r.dataset.field)")


@pytest.mark.timeout(120)
def test_ok__a_scanned_card_with_a_known_id_and_other_details_goes_to_the_supervisor(served, browser, site, feedback, hoa):
    url, services = served
    arrive(site)
    citizen = browser.new_page(viewport=SIZES["pi"])
    citizen.goto(url + "/")
    citizen.wait_for_function("document.getElementById('link').className === 'up'")
    desk = Desk(site, feedback, announce=lambda outcome: services.live.publish({"type": "scan", "outcome": outcome.public()}))
    desk.handle(Code(OTHER_CARD, OTHER_CARD.encode(), "zxing"))
    citizen.wait_for_function("!document.getElementById('rejected').hidden")
    assert citizen.inner_text("#err-vi") == "Vui lòng gặp cán bộ giám sát để kiểm tra thông tin."
    assert citizen.inner_text("#err-en") == "Please see the supervisor to check your details."
    assert not [p for p in PRIVATE if p in citizen.content()]
    citizen.screenshot(path=str(ARTIFACTS / "identity-citizen-pi.png"))

    for size in SIZES:
        staff = signed_in(browser, url, size, hoa, "2580")
        staff.wait_for_selector(".questions table.identity")
        assert differing(staff, ".questions table.identity") == ["full_name", "birth_date"]
        assert not re.search(r"\d{9,}", staff.inner_text("main"))
        fits(staff, ".questions table.identity", first_screen=False)  # under the status line, as the alarms are
        staff.screenshot(path=str(ARTIFACTS / f"identity-board-{size}.png"))
        staff.click(".questions a.button")
        staff.wait_for_selector(".identity-check")
        fits(staff, ".identity-check table.identity")
        staff.screenshot(path=str(ARTIFACTS / f"identity-question-{size}.png"), full_page=True)
        staff.context.close()

    staff = signed_in(browser, url, "pi", hoa, "2580")
    staff.click(".questions a.button")
    staff.fill("input[name=reason]", "Thẻ mới cấp, tên đúng là Lân")
    staff.click("button[data-action=confirm_identity]")
    staff.wait_for_url("**/supervisor/tickets/1")
    assert "Nguyễn Thị Lân" in staff.inner_text(".ticket-head")
    staff.goto(url + "/supervisor/")
    assert staff.locator(".questions").count() == 0
    types = [r[0] for r in site.store.db.execute("select type from events order by seq")]
    assert types == ["PersonCheckedIn", "IdentityCorrected"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("size, lang", [("pi", "vi"), ("tablet", "vi"), ("pi", "en")])
def test_ok__a_mistyped_id_shows_both_versions_side_by_side_and_is_re_typed_or_confirmed(served, browser, site, hoa, size, lang):
    url, _services = served
    arrive(site)
    staff = signed_in(browser, url, size, hoa, "2580")
    if lang != "vi":
        staff.click(f"form.lang button[value={lang}]")
        staff.wait_for_selector(f"html[lang={lang}]")
    staff.goto(url + "/supervisor/checkin")
    staff.fill("#id_number", LAN_ID)
    staff.fill("input[name=full_name]", "Nguyễn Thị Lân")
    staff.fill("input[name=birth_date]", "1990-03-16")
    staff.check("input[name=sex][value='Nữ']")
    staff.click("button[data-action=check_in]")
    staff.wait_for_selector(".identity-check")
    assert differing(staff) == ["full_name", "birth_date"]
    cells = staff.eval_on_selector_all("table.identity tr.differs td", "cells => cells.map(c => c.innerText)")
    assert cells == ["Nguyễn Thị Lan", "Nguyễn Thị Lân", "15/03/1990", "16/03/1990"]  # dates as staff write them
    assert not re.search(r"\d{9,}", staff.inner_text("main")), "the ID masked on screen"
    fits(staff, "table.identity")
    staff.screenshot(path=str(ARTIFACTS / f"identity-typed-{size}-{lang}.png"))
    staff.screenshot(path=str(ARTIFACTS / f"identity-typed-{size}-{lang}-full.png"), full_page=True)

    staff.click("button[data-action=retype]")
    staff.wait_for_selector("form.checkin")
    assert staff.input_value("#id_number") == LAN_ID and staff.input_value("input[name=full_name]") == "Nguyễn Thị Lân"
    assert staff.input_value("input[name=birth_date]") == "1990-03-16" and staff.is_checked("input[name=sex][value='Nữ']")
    staff.click("button[data-action=check_in]")
    staff.wait_for_selector(".identity-check")
    staff.fill("input[name=correction_reason]", "Giấy khai sinh ghi ngày 16/03/1990")
    staff.click("button[data-action=confirm_identity]")
    staff.wait_for_url("**/supervisor/tickets/1")
    assert "16/03/1990" in staff.inner_text("dl.person")
    [reason] = [r[0] for r in site.store.db.execute("select json_extract(payload, '$.reason') from events where type = 'IdentityCorrected'")]
    assert reason == "Giấy khai sinh ghi ngày 16/03/1990"
