"""The conflict queues and the police lists against a real `hub web` process on a real hub database, in real Chromium
at 1366×768: a data staff member settles one conflict of each kind, sends an identity case to the commune police,
prints the commune's list to PDF and records the police's answer. Screenshots go to test-artifacts/conflicts-*.png.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from hub.roster.files import parse_roster
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web.police import commune_key

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose
from .test_e2e_hub_web import (  # noqa: F401 (browser is a fixture, used by name)
    ARTIFACTS, HubWeb, PASSWORD, VIEWPORT, add_staff, browser, sign_in, whole_page_shot,
)
from .test_hub_web_conflicts import HUNG, KHOA, KHOA_ID, MAI, MAI_ID, NAM, NAM_ID, ROSTER

STAFF = "Trần Văn Bình"


@pytest.fixture
def db(tmp_path):
    """A data staff member and one conflict of each kind, merged by the real store three days ago (the roster's two)."""
    path = tmp_path / "hub.db"
    add_staff(path, STAFF, "data")
    now = datetime.now(timezone.utc)
    received = (now - timedelta(days=3)).isoformat(timespec="seconds")
    events = [check_in("ka", 1), dose("ka", 2), dose("kb", 1),
              check_in("ka", 3, HUNG_ID, **HUNG), dose("ka", 4, HUNG_ID, number=1, on="2024-05-01"),
              dose("kb", 2, HUNG_ID, number=2, on="2024-05-10"),
              check_in("ka", 5, MAI_ID, **MAI), check_in("kb", 3, MAI_ID, **{**MAI, "full_name": "Phạm Thị Mây"}),
              check_in("ka", 6, NAM_ID, **NAM), check_in("kb", 4, KHOA_ID, **KHOA)]
    with open_store(path) as store:
        store.enroll("ka", "Trạm Y tế Phường Bến Nghé", None, received)
        store.enroll("kb", "Trường THCS Lê Lợi (điểm lưu động)", None, received)
        store.commit(Batch(events=events), received)
        roster = parse_roster(ROSTER, "ben-nghe.csv", now.date())
        store.import_roster(roster, "ben-nghe.csv", "tester", (now - timedelta(days=2)).isoformat(timespec="seconds"))
    return path


def shot(page, name: str) -> None:
    whole_page_shot(page, f"conflicts-{name}")


def open_queue(page, url: str, kind: str) -> None:
    page.goto(url + "/")
    page.click(f"tr[data-kind={kind}] a")
    page.wait_for_url(f"{url}/conflicts/kind/{kind}")
    page.click("table.queue tbody tr:first-child a.button")
    page.wait_for_selector("span.state[data-state=open]")


def settle(page, action: str, **fields: str) -> None:
    form = f"form[data-action={action}]"
    for name, value in fields.items():
        if name in ("target", "version"):
            page.check(f"{form} input[name={name}][value='{value}']")
        elif name == "sex":
            page.select_option(f"{form} select[name=sex]", value)
        else:
            page.fill(f"{form} input[name={name}]", value)
    page.click(f"{form} button")
    page.wait_for_selector("p.flash.info")


@pytest.mark.timeout(240)
def test_ok__a_data_staff_member_settles_one_conflict_of_each_kind_and_prints_the_police_list(db, browser):
    web = HubWeb(db)
    try:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(web.url + "/login")
        sign_in(page, STAFF, PASSWORD)
        page.wait_for_url(web.url + "/")
        assert page.inner_text("tr[data-kind=duplicate_dose] td.num") == "1"
        assert page.inner_text("tr[data-kind=duplicate_dose] td:last-child") == "3 ngày"
        assert page.inner_text("tr[data-kind=roster_mismatch] td:last-child") == "2 ngày"
        shot(page, "1-today-vi")

        open_queue(page, web.url, "duplicate_dose")
        assert page.inner_text("table.sides thead") .count("kb:1") == 1
        assert "Trường THCS Lê Lợi (điểm lưu động)" in page.inner_text("table.sides")
        shot(page, "2-duplicate-dose-vi")
        settle(page, "void", target="kb:1", reason="Ghi trùng ở điểm lưu động")
        assert page.get_attribute("span.state", "data-state") == "resolved"
        assert "Trần Văn Bình" in page.inner_text("[data-history=resolution]")
        shot(page, "3-duplicate-dose-resolved-vi")

        open_queue(page, web.url, "interval_too_short")
        assert "cách nhau 9 ngày" in page.inner_text("section.facts")
        settle(page, "accepted", reason="Vùng dịch, theo chỉ định của bác sĩ")
        assert page.get_attribute("span.state", "data-state") == "resolved"

        open_queue(page, web.url, "identity_mismatch")
        assert page.inner_text("table.sides tr.differs th") == "Họ và tên"
        shot(page, "4-identity-mismatch-vi")
        settle(page, "identity", version="1", reason="Đối chiếu thẻ CCCD", evidence="Thẻ CCCD bản gốc")
        assert "Phạm Thị Mây" in page.inner_text("[data-history=resolution]")
        page.click("a[data-person]")  # the person's record (hub/web/people.py), by an opaque reference
        page.wait_for_url(re.compile(r".*/people/[^/]+$"))
        assert MAI_ID not in page.url and "Phạm Thị Mây" in page.inner_text("main")

        open_queue(page, web.url, "id_contradiction")
        assert page.inner_text("table.sides tr.differs th") == "Năm sinh"
        shot(page, "5-id-contradiction-vi")
        settle(page, "identity", birth_date="2000-06-06", reason="Năm sinh nhập sai",
               evidence="Thẻ CCCD")
        assert page.get_attribute("span.state", "data-state") == "resolved"

        open_queue(page, web.url, "roster_mismatch")
        assert "Phường Bến Nghé" in page.inner_text("form[data-action=police]")
        settle(page, "police")
        assert page.get_attribute("span.state", "data-state") == "police"
        shot(page, "6-roster-mismatch-sent-to-police-vi")

        page.goto(web.url + "/")
        assert page.inner_text("[data-police]") == "1"
        # Nam's went to the police; choosing "Phạm Thị Mây" above made Mai disagree with her roster entry: a new one
        assert page.inner_text("tr[data-kind=roster_mismatch] td.num") == "1"
        page.click("section[data-section=police] a")
        page.wait_for_url(web.url + "/police")
        key = commune_key("Phường Bến Nghé")
        assert "Lê Văn Năm" in page.inner_text(f"section[data-commune='{key}'] table")
        shot(page, "7-police-lists-vi")

        page.click(f"section[data-commune='{key}'] a[href$='/print']")
        page.wait_for_url(f"{web.url}/police/{key}/print")
        page.emulate_media(media="print")
        shot(page, "8-police-print-vi")
        pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
        assert pdf.startswith(b"%PDF-") and int(re.search(rb"/Count (\d+)", pdf).group(1)) >= 1
        width, height = (float(n) for n in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups())
        assert round(width) == 842 and round(height) == 595  # A4, landscape, in points
        (ARTIFACTS / "conflicts-police-list.pdf").write_bytes(pdf)
        page.emulate_media(media="screen")

        page.goto(web.url + "/police")
        page.click(f"section[data-commune='{key}'] button[data-answer=confirmed]")
        page.wait_for_url(web.url + "/police")
        assert "Công an xác nhận thông tin đúng" in page.inner_text("p.flash.info")
        assert page.locator("section.police-group").count() == 0
        shot(page, "9-police-answered-vi")

        page.click("header .lang button[value=en]")
        page.goto(web.url + "/conflicts")
        assert page.inner_text("tr[data-kind=duplicate_dose] td[data-state=resolved]") == "1"
        assert page.inner_text("tr[data-kind=roster_mismatch] td[data-state=resolved]") == "1"
        shot(page, "10-conflicts-en")
    finally:
        web.terminate()
    for secret in (LAN_ID, MAI_ID, NAM_ID, "Phạm Thị", "Lê Văn N"):
        assert secret not in web.log
