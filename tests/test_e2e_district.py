"""Issue 12's acceptance walk: a district data officer's day in real Chromium at 1366×768, against `hub web` on the
database a real `hub run` is filling from kiosks' signed events over a real Mosquitto, while the kiosks keep sending.

She signs in, imports the ward's population list, reads coverage with its charts, sees a dose given at a kiosk
a moment ago counted, finds a citizen and adds the dose she had on paper, settles a dose recorded twice, sends a
name that differs from the list to the commune police, prints their list and records their answer. Screenshots go to
test-artifacts/district-*.png; no ID number or name reaches either process's log.
"""

from __future__ import annotations

import re
import sqlite3
import time

import pytest

import wire
from tests.hub_process import Client, HubProcess

from .hub_helpers import HUNG_ID, LAN, LAN_ID, check_in, dose
from .test_e2e_hub_web import (  # noqa: F401 (browser is a fixture, used by name)
    ARTIFACTS, HubWeb, PASSWORD, VIEWPORT, add_staff, browser, sign_in, whole_page_shot,
)

OFFICER = "Đỗ Thị Hạnh"
HUNG = {"full_name": "Trần Văn Hùng", "birth_date": "1958-07-02", "sex": "Nam", "old_id": ""}
MAI_ID = "079185004321"
MAI = {"full_name": "Lê Thị Mai", "birth_date": "1985-02-10", "sex": "Nữ", "old_id": ""}
WARD = "Phường Bến Nghé"
ROSTER = "\r\n".join([
    "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường",
    f"{LAN_ID},Nguyễn Thị Lan,15/03/1990,Nữ,{WARD}",
    f"{HUNG_ID},Trần Văn Hưng,02/07/1958,Nam,{WARD}",  # the list misspells his name: a roster mismatch
    f"{MAI_ID},Lê Thị Mai,10/02/1985,Nữ,{WARD}",
    f"079300001111,Phạm Thị Thu,08/08/2000,Nữ,{WARD}",
    "12345,Nobody,1990,Nam,Phường Bến Nghé",  # refused: not an ID number
]).encode() + b"\r\n"
MORNING = [  # what the two kiosks sent before she came in: Lan's first dose recorded at both
    check_in("k1", 1), dose("k1", 2, on="2024-05-01"), check_in("k1", 3, HUNG_ID, **HUNG),
    dose("k1", 4, HUNG_ID, on="2024-05-01"), check_in("k2", 1), dose("k2", 2, on="2024-05-01"),
]
TAM_ID = "001203004567"
TAM = {"full_name": "Vũ Minh Tâm", "birth_date": "2003-09-09", "sex": "Nam", "old_id": ""}  # lives in another district
NOW = [check_in("k1", 5, MAI_ID, **MAI), dose("k1", 6, MAI_ID, on="2024-05-03"),  # while she reads coverage
       check_in("k2", 3, TAM_ID, **TAM), dose("k2", 4, TAM_ID, on="2024-05-03")]


def publish(kiosk_client: Client, watcher: Client, events: list[wire.Event]) -> None:
    """Publish the kiosks' signed events and wait until the hub acknowledges every one (its watermark)."""
    for event in events:
        kiosk_client.publish(wire.topic(event.kiosk, wire.EVENT), event.body.encode())
    for kiosk in {e.kiosk for e in events}:
        watcher.wait_watermark(kiosk, max(e.seq for e in events if e.kiosk == kiosk), timeout=30)


def shot(page, name: str) -> None:
    whole_page_shot(page, f"district-{name}")


def figure(page, level: str) -> int:
    return int(re.sub(r"\D", "", page.inner_text(f"dl.figures dd[data-level={level}]").split()[0]))


def wait_for_figure(page, url: str, level: str, expected: int, timeout: float = 20.0) -> None:
    """Reload the coverage page until the figure shows what the merge has counted (the roster's entries are counted
    in chunks after an import)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if figure(page, level) == expected or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert figure(page, level) == expected


@pytest.mark.timeout(300)
def test_ok__a_district_officer_works_through_her_day_while_the_kiosks_keep_sending(broker, db, watcher, browser, tmp_path):
    add_staff(db, OFFICER, "data")
    kiosks = Client(broker, "kiosks")
    with HubProcess(broker.url, db) as hub:
        publish(kiosks, watcher, MORNING)
        web = HubWeb(db)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.goto(web.url + "/login")
            sign_in(page, OFFICER, PASSWORD)
            page.wait_for_url(web.url + "/")
            assert page.inner_text("tr[data-kind=duplicate_dose] td.num") == "1"
            shot(page, "1-today")

            # the population list
            page.goto(web.url + "/roster")
            (tmp_path / "ben-nghe.csv").write_bytes(ROSTER)
            page.set_input_files("input[type=file][name=file]", str(tmp_path / "ben-nghe.csv"))
            page.click("form[enctype='multipart/form-data'] button[type=submit]")
            page.wait_for_load_state()
            assert "Số CCCD phải có đúng 12 chữ số" in page.inner_text("main")
            shot(page, "2-roster-imported")

            # coverage, and a dose given at a kiosk just now counted in it
            wait_for_figure(page, web.url + "/coverage", "one_dose", 2)
            assert figure(page, "roster") == 4
            assert page.locator("section.chart svg").count() >= 1
            shot(page, "3-coverage")
            publish(kiosks, watcher, NOW)
            wait_for_figure(page, web.url + "/coverage", "one_dose", 3)
            page.goto(web.url + "/roster")
            page.click("a[data-unrostered]")
            assert page.locator("tr[data-unrostered-person]").count() == 1 and TAM["full_name"] in page.inner_text("main")
            shot(page, "3b-unrostered")

            # a citizen's complaint: Lan's second dose was given on paper
            page.goto(web.url + "/people")
            page.fill("#number", LAN_ID)
            page.click("form.search:has(#number) button")
            page.wait_for_url(re.compile(r".*/people/[A-Za-z0-9_-]+$"))
            record = page.url
            assert LAN_ID not in record and page.inner_text("h1") == LAN["full_name"]
            page.click(".actions a[href$='/dose']")
            page.select_option("#product", "comirnaty_30")
            page.fill("#lot_number", "FK9999")
            page.fill("#given_on", "2024-05-29")
            page.fill("#number", "2")
            page.fill("#place", "Trạm Y tế Phường Đa Kao")
            page.fill("#reason", "Mũi 2 ghi trên giấy, chưa nhập")
            page.fill("#evidence", "Phiếu tiêm chủng bản giấy")
            page.click("form.correction button.primary")
            page.wait_for_url(record + "#history")
            assert "Trạm Y tế Phường Đa Kao" in page.inner_text("table.doses")
            shot(page, "4-record-dose-added")

            # the dose recorded at both kiosks: void the second
            page.goto(web.url + "/")
            page.click("tr[data-kind=duplicate_dose] a")
            page.click("table.queue tbody tr:first-child a.button")
            page.check("form[data-action=void] input[name=target][value='k2:2']")
            page.fill("form[data-action=void] input[name=reason]", "Ghi trùng ở điểm tiêm thứ hai")
            page.click("form[data-action=void] button")
            page.wait_for_selector("span.state[data-state=resolved]")
            shot(page, "5-duplicate-settled")

            # Hùng's name differs from the list: to the commune police, who correct the list's spelling
            page.goto(web.url + "/conflicts/kind/roster_mismatch")
            page.click("table.queue tbody tr:first-child a.button")
            page.click("form[data-action=police] button")
            page.wait_for_selector("span.state[data-state=police]")
            page.goto(web.url + "/police")
            page.click("section.police-group a[href$='/print']")
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
            assert pdf.startswith(b"%PDF-")
            (ARTIFACTS / "district-police-list.pdf").write_bytes(pdf)
            page.emulate_media(media="screen")
            page.goto(web.url + "/police")
            page.click("section.police-group button[data-answer=confirmed]")
            page.wait_for_selector("p.flash.info")
            shot(page, "6-police-answered")

            page.goto(web.url + "/")
            assert page.inner_text("tr[data-kind=duplicate_dose] td.num") == "0"
            assert page.inner_text("[data-police]") == "0"
            shot(page, "7-today-after")
        finally:
            web.terminate()
            kiosks.close()
        hub_log = hub.log
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == len(MORNING) + len(NOW)
        assert [t for (t,) in conn.execute("SELECT type FROM hub_events ORDER BY seq")] == [
            "hub.dose_added", "hub.dose_voided", "hub.police_referred", "hub.police_answered"]
        assert conn.execute("SELECT count(*) FROM doses WHERE voided_by IS NULL").fetchone()[0] == 5
    for secret in (LAN_ID, HUNG_ID, MAI_ID, TAM_ID, "Nguyễn Thị", "Trần Văn", "Lê Thị", "Vũ Minh"):
        assert secret not in web.log and secret not in hub_log
