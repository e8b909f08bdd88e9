"""A person's record in real Chromium at 1366×768 against a real `hub web` on a database filled by the real store.

A data staff member answers a citizen: finds her by her name typed without
accents, reads her doses, corrects her name, voids a dose recorded twice, adds
the dose she had elsewhere, and sees each correction in the history under her
own name. No ID number or name reaches a URL, a cookie or the access log; every
look is in the audit log. Screenshots go to test-artifacts/people-*.png.
"""

from __future__ import annotations

import datetime
from urllib.parse import unquote, urlsplit

import pytest

from hub.roster.files import parse_roster
from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import LAN_ID, STAFF, check_in, dose, event, ticket
from .test_e2e_hub_web import (  # noqa: F401 (browser is a fixture, used by name)
    ARTIFACTS, HubWeb, PASSWORD, VIEWPORT, add_staff, browser, sign_in, whole_page_shot,
)

DATA = "Trần Văn Bình"
AT = "2026-03-02T08:00:00+07:00"
SECRETS = (LAN_ID, "Nguyễn Thị Lan", "Nguyen Thi Lan", "nguyen thi lan", "Lanh")


@pytest.fixture
def db(tmp_path):
    """Lan checked in at two kiosks: her first dose at ka, the same dose recorded again at kb, a deferral and a
    reaction; the roster spells her name Lanh."""
    path = tmp_path / "hub.db"
    add_staff(path, DATA, "data")
    aefi = {"severity": "mild", "symptoms": "Đau chỗ tiêm", "dose_event": "ka:2"}
    events = [check_in("ka", 1), dose("ka", 2),
              event("ka", 3, "AefiRecorded", {**ticket(3, LAN_ID), "aefi": aefi, "by": STAFF}, at="2024-05-01T10:00:00+07:00"),
              check_in("kb", 1), dose("kb", 2, on="2024-05-02"),
              event("kb", 3, "PersonDeferred", {**ticket(3, LAN_ID), "reason": "Sốt 38,5 độ", "return_on": "2024-05-20",
                                                "by": STAFF}, at="2024-05-02T09:00:00+07:00")]
    csv = f"Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường\r\n{LAN_ID},Nguyễn Thị Lanh,15/03/1990,Nữ,Phường Bến Nghé\r\n"
    with open_store(path) as store:
        store.enroll("ka", "Trường THCS Lê Lợi", None, AT)
        store.enroll("kb", "Nhà văn hóa Phường 2", None, AT)
        store.commit(Batch(events=events), AT)
        store.import_roster(parse_roster(csv.encode(), "ben-nghe.csv", datetime.date(2026, 3, 2)), "ben-nghe.csv", "tester", AT)
    return path


def shot(page, name: str) -> None:
    whole_page_shot(page, f"people-{name}")


@pytest.mark.timeout(180)
def test_ok__data_staff_find_a_citizen_read_her_doses_and_correct_her_record(db, browser):
    web = HubWeb(db)
    urls: list[str] = []
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.on("request", lambda request: urls.append(request.url))
        page.goto(web.url + "/people")
        sign_in(page, DATA, PASSWORD)
        page.wait_for_url(web.url + "/people")
        assert page.inner_text("h1") == "Tìm một người"

        page.fill("#number", "079123456789")
        page.click("form.search:has(#number) button")
        assert "Không có ai mang số định danh này" in page.inner_text("p.nobody")
        shot(page, "1-nobody")

        page.fill("#name", "nguyen thi lan")
        page.fill("#birth_year", "1990")
        page.click("form.search:has(#name) button")
        page.wait_for_url(lambda url: urlsplit(url).path.startswith("/people/") and len(urlsplit(url).path) == 24)
        record = page.url
        assert page.inner_text("h1") == "Nguyễn Thị Lan"
        assert page.inner_text("tr[data-field=full_name] td:last-child") == "Nguyễn Thị Lanh"
        assert page.locator("tr.differs").count() == 1
        assert page.locator("table.doses tbody tr").count() == 2
        assert "Trường THCS Lê Lợi" in page.inner_text("tr[data-dose='ka:2']")
        assert "Sốt 38,5 độ" in page.inner_text("#deferrals") and "Đau chỗ tiêm" in page.inner_text("#reactions")
        assert page.locator("#conflicts a[href^='/conflicts/duplicate_dose%3A']").count() == 1
        shot(page, "2-record")

        page.click(".actions a[href$='/identity']")
        page.fill("#full_name", "Nguyễn Thị Lanh")
        page.fill("#reason", "Người dân báo tên trên ứng dụng bị sai")
        page.fill("#evidence", "Đã đối chiếu với thẻ CCCD của người dân")
        shot(page, "3-correct-identity")
        page.click("form.correction button.primary")
        page.wait_for_url(record + "#history")
        assert page.inner_text("h1") == "Nguyễn Thị Lanh" and page.locator("tr.differs").count() == 0
        assert "Đã sửa thông tin nhân thân" in page.inner_text(".flash.info")

        page.click("tr[data-dose='kb:2'] a.button")
        page.fill("#reason", "Ghi trùng mũi 1 ở điểm tiêm thứ hai")
        page.fill("#evidence", "Sổ tiêm giấy ngày 02/05")
        page.click("form.correction button.primary")
        page.wait_for_url(record + "#history")
        assert "Đã hủy bởi Trần Văn Bình: Ghi trùng mũi 1 ở điểm tiêm thứ hai (căn cứ: Sổ tiêm giấy ngày 02/05)" in page.inner_text("tr[data-dose='kb:2']")
        assert page.locator("tr.voided[data-dose='kb:2']").count() == 1

        page.click(".actions a[href$='/dose']")
        page.select_option("#product", "comirnaty_30")
        page.fill("#lot_number", "FK9999")
        page.fill("#given_on", "2024-06-01")
        page.fill("#number", "2")
        page.fill("#place", "Bệnh viện Đa khoa tỉnh Bình Dương")
        page.fill("#reason", "Tiêm mũi 2 ở tỉnh khác")
        page.fill("#evidence", "Giấy xác nhận tiêm chủng người dân xuất trình")
        shot(page, "4-add-dose")
        page.click("form.correction button.primary")
        page.wait_for_url(record + "#history")
        assert page.get_attribute("[data-live-doses]", "data-live-doses") == "2"
        assert "Bệnh viện Đa khoa tỉnh Bình Dương" in page.inner_text("table.doses")

        hub_lines = page.locator("table.history tr[data-hub]")
        assert hub_lines.count() == 3
        assert [hub_lines.nth(i).locator("td").nth(4).inner_text() for i in range(3)] == [DATA] * 3
        assert [hub_lines.nth(i).get_attribute("data-type") for i in range(3)] == [
            "hub.identity_corrected", "hub.dose_voided", "hub.dose_added"]
        shot(page, "5-record-corrected")

        page.click("header .lang button[value=en]")
        page.wait_for_url(record)
        assert page.inner_text("#history h2").startswith("History")
        shot(page, "6-record-en")
        cookies = [c["value"] for c in context.cookies()]
    finally:
        web.terminate()
    for secret in SECRETS:
        assert not [url for url in urls if secret in unquote(url)], secret
        assert not [cookie for cookie in cookies if secret in cookie], secret
        assert secret not in web.log, secret
    assert '"GET /people/' in web.log and '"POST /people' in web.log  # the access log was written, without them
    with open_store(db) as store:
        ref = urlsplit(record).path.rsplit("/", 1)[1]
        seen = [(e.action, e.record) for e in store.audit_log()]
    assert ("search_person", None) in seen and ("view_person", f"person:{ref}") in seen
    assert {a for a, r in seen if r == f"person:{ref}"} == {"view_person", "correct_person", "void_dose", "add_dose"}
