"""The clinical pages in real Chromium, through a real `hub web` process, on a hub database whose kiosk events (signed,
parsed as ingest hands them over) the real store merged: an officer reads adverse reactions, deferrals and stock
without names at 1366×768; the data staff, at 1280×800, follow a severe reaction up, read who is due back with names
and download the list. Screenshots: test-artifacts/clinical-*.png. Days are given in the URLs: no test depends on
today's date."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import aefi, check_in, lot_dose, lot_event
from .hub_pages import browser, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_hub_web import PASSWORD, add_staff
from .test_hub_store_clinical import A, B, C, E, events

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LAPTOP, TABLET = {"width": 1366, "height": 768}, {"width": 1280, "height": 800}
OFFICER, DATA = "Lê Văn Hùng", "Trần Thị Bình"
RANGE = "from=2026-03-01&to=2026-03-03"
NAMES = {A: "Nguyễn Văn An", B: "Trần Thị Bé", C: "Lê Văn Cường", E: "Phạm Thị Én"}


def more_events() -> list:
    """Kiosk kc (site "Nhà văn hoá khu 3"): a lot with two severe reactions (a signal), an expired lot still in use."""
    kc = [lot_event("LotOpened", "kc", 1, day="2026-03-03", lot="XZ77", product="vaxzevria", expiry="2026-03-20")]
    for n, person in enumerate((A, B, C)):
        kc.append(lot_dose("kc", 2 + 2 * n, person, day="2026-03-03", lot="XZ77", product="vaxzevria", time=f"10:0{n}:00"))
        kc.append(aefi("kc", 3 + 2 * n, 2 + 2 * n, person, day="2026-03-03", severity="severe" if n < 2 else "moderate",
                       symptoms="sốc phản vệ, tụt huyết áp" if n == 0 else "nổi mề đay toàn thân", time=f"10:{15 + n}:00"))
    kc.append(lot_event("LotOpened", "kc", 8, day="2026-03-01", lot="OLD1", expiry="2026-03-02"))
    people = [check_in("kp", n + 1, number, full_name=name) for n, (number, name) in enumerate(NAMES.items())]
    return kc + people


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clinical") / "hub.db"
    add_staff(path, OFFICER, "officer")
    add_staff(path, DATA, "data")
    with open_store(path) as store:
        for kiosk, site in (("ka", "Trường THCS Lê Lợi"), ("kb", "Trạm y tế phường 2"), ("kc", "Nhà văn hoá khu 3")):
            store.enroll(kiosk, site, None, "2026-03-01T00:00:00+00:00")
        store.commit(Batch(events=events() + more_events()), "2026-03-03T09:00:00+00:00")
    return path


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"clinical-{name}.png"), full_page=True)


def signed_in(browser, url: str, name: str, viewport: dict):
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    page.goto(url + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(url + "/")
    return page


def fits(page, viewport: dict) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.timeout(240)
def test_ok__an_officer_reads_the_clinical_pages_without_names(web, browser):
    page = signed_in(browser, web.url, OFFICER, LAPTOP)
    page.click("header nav a[href='/aefi']")
    page.wait_for_url(web.url + "/aefi")
    assert page.inner_text("h1") == "Phản ứng sau tiêm" and page.locator("nav.tabs a").count() == 3
    page.fill("#from", "2026-03-01")
    page.fill("#to", "2026-03-03")
    page.click("form.filter button")
    page.wait_for_url(f"{web.url}/aefi?{RANGE}&site=&severity=&status=")
    severities = page.eval_on_selector_all("table.aefi tbody tr", "rows => rows.map(r => r.className)")
    assert severities == ["sev-severe"] * 3 + ["sev-moderate", "sev-mild"]
    assert page.locator("table.lots tr.signal").count() == 1 and "XZ77" in page.inner_text("table.lots tr.signal")
    body = page.inner_text("main")
    assert not any(name in body or number in body for number, name in NAMES.items())
    assert fits(page, LAPTOP)
    shot(page, "1-aefi-officer-1366")

    page.click("nav.tabs a[href='/deferrals']")
    page.goto(web.url + "/deferrals?day=2026-03-03")
    assert page.locator("table.due tbody tr").count() == 1 and E not in page.inner_text("main")
    assert page.locator("a[href$='due.xlsx']").count() == 0 and fits(page, LAPTOP)
    shot(page, "2-deferrals-officer-1366")

    page.goto(f"{web.url}/stock?{RANGE}")
    assert page.locator("table.expiry tr.exp-past").count() == 1 and "OLD1" in page.inner_text("table.expiry tr.exp-past")
    assert page.locator("table.stock tbody tr").count() == 4 and fits(page, LAPTOP)
    shot(page, "3-stock-officer-1366")
    page.set_viewport_size(TABLET)
    assert fits(page, TABLET)
    shot(page, "4-stock-officer-1280")


@pytest.mark.timeout(240)
def test_ok__the_data_staff_follow_a_severe_reaction_up_and_plan_the_day(web, browser, db, tmp_path):
    import openpyxl

    page = signed_in(browser, web.url, DATA, TABLET)
    page.goto(f"{web.url}/aefi?{RANGE}&severity=severe")
    assert page.locator("table.aefi tbody tr").count() == 3
    assert NAMES[A] in page.inner_text("table.aefi") and fits(page, TABLET)
    shot(page, "5-aefi-data-1280")
    page.click("tr[data-event='kc:3'] a.state")
    page.wait_for_url(f"{web.url}/aefi/kc:3")
    assert "sốc phản vệ" in page.inner_text("section.facts")
    page.select_option("#status", "hospitalised")
    page.fill("#note", "Chuyển Bệnh viện Đa khoa tỉnh lúc 10:40, đã báo TTKSBT tỉnh.")
    page.click("form.follow-up button.primary")
    page.wait_for_url(f"{web.url}/aefi/kc:3")
    assert "Đã ghi theo dõi: nhập viện." in page.inner_text("main")
    assert page.locator("table.follow-ups tbody tr").count() == 1 and fits(page, TABLET)
    shot(page, "6-aefi-follow-up-1280")

    page.goto(web.url + "/deferrals?day=2026-03-03")
    assert NAMES[E] in page.inner_text("table.due") and fits(page, TABLET)
    shot(page, "7-deferrals-data-1280")
    with page.expect_download() as download:
        page.click("a[href='/deferrals/2026-03-03/due.xlsx']")
    saved = tmp_path / "due.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))["Trường THCS Lê Lợi"]
    assert [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [(NAMES[E], E)]

    page.set_viewport_size(LAPTOP)
    page.click("header .lang button[value=en]")
    page.wait_for_url(web.url + "/deferrals?day=2026-03-03")
    page.goto(f"{web.url}/aefi?{RANGE}")
    assert page.inner_text("h1") == "Adverse reactions" and fits(page, LAPTOP)
    shot(page, "8-aefi-data-en-1366")

    with open_store(db) as store:
        lines = [(e.action, e.record) for e in store.audit_log(limit=100)
                 if e.action in ("view_aefi", "aefi_follow_up", "view_deferrals", "deferrals_export")]
    assert ("aefi_follow_up", "aefi:kc:3") in lines and ("deferrals_export", "deferrals:2026-03-03") in lines
    assert ("view_aefi", "aefi:2026-03-01..2026-03-03") in lines and ("view_deferrals", "deferrals:2026-03-03") in lines
    web.terminate()
    assert not any(name in web.log or number in web.log for number, name in NAMES.items())
