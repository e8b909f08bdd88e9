"""The daily report in the district workspace: a real `hub web` process on the district of test_hub_daily_report.py
(kiosk events through the real Ingest, the cut-off version issued on an injected clock), in real Chromium at the office
laptop's 1366×768 and a tablet's 1280×800.

The data staff read the report, see what arrived after the cut, open the people behind a count, issue it again with a
note and download it; an officer reads the counts without names. Screenshots: test-artifacts/reports-*.png.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hub import daily
from hub.config import ReportSettings
from hub.store.sqlite import open_store

from .hub_pages import browser, sign_in, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_hub_web import HubWeb, add_staff
from .test_hub_daily_report import ON, SITE_A, SITE_B, at, build_district

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
OFFICER, DATA = "Lê Văn Hùng", "Trần Thị Bình"
LAPTOP, TABLET = {"width": 1366, "height": 768}, {"width": 1280, "height": 800}
PAGE = "/reports/daily?day=2024-05-01"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "hub.db"
    build_district(path)
    with open_store(path) as store:
        assert daily.issue_at_cutoff(store, ReportSettings(), at(8, 45)) == 1
    add_staff(path, OFFICER, "officer")
    add_staff(path, DATA, "data")
    return path


def shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"reports-{name}.png"), full_page=full)


def count(page, table: str, site: str, figure: str) -> str:
    return page.inner_text(f"#{table} tr[data-site='{site}'] td[data-figure='{figure}']")


@pytest.mark.timeout(180)
def test_ok__the_data_staff_read_trace_reissue_and_download_the_report(web, browser, db):
    import openpyxl

    page = browser.new_context(viewport=LAPTOP, accept_downloads=True).new_page()
    sign_in(page, web.url, DATA)
    page.click("header nav a[href='/reports/daily']")
    page.goto(web.url + PAGE)
    assert page.inner_text("h1") == "Báo cáo kết quả tiêm chủng hằng ngày"
    assert page.get_attribute("[data-shown]", "data-shown") == "1"
    assert count(page, "report-form", SITE_A, "vaccinated") == "2" and count(page, "report-form", SITE_B, "vaccinated") == "1"
    assert page.locator("table.late tr[data-site]").count() == 2  # Lê Lợi back online, the lot closed after 15:30
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    shot(page, "1-data-version-1")
    shot(page, "2-data-version-1-full", full=True)

    page.click(f"#report-form tr[data-site='{SITE_A}'] td[data-figure='vaccinated'] a")
    page.wait_for_selector("table.behind")
    names = page.locator("table.behind tbody td:first-child").all_inner_texts()
    assert sorted(names) == ["Nguyễn Thị Lan", "Phạm Văn Tú"]
    shot(page, "3-data-behind-vaccinated")
    page.click("text=Quay lại báo cáo")

    page.fill("#note", "Trường Lê Lợi có mạng lại lúc 15:50")
    page.click("form.reissue button")
    page.wait_for_selector("[data-shown='2']")
    assert count(page, "report-form", SITE_B, "present") == "2" and page.locator("table.late").count() == 0
    assert page.locator("table.versions tbody tr").count() == 2
    shot(page, "4-data-version-2")

    with page.expect_download() as download:
        page.click("text=Tải XLSX")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    form = list(book.worksheets[0].values)
    total = dict(zip(form[0], form[-1]))
    assert total["Điểm tiêm"] == "Tổng cộng" and total["Ghi chú"] == "Trường Lê Lợi có mạng lại lúc 15:50"
    with open_store(db) as store:
        assert [v["why"] for v in store.daily_report_versions(ON)] == ["cutoff", "reissue"]
        actions = [entry.action for entry in store.audit_log(limit=20)]
    assert "view_report_detail" in actions and "report_issue" in actions


@pytest.mark.timeout(120)
def test_ok__an_officer_on_a_tablet_reads_the_counts_without_names(web, browser):
    page = browser.new_context(viewport=TABLET).new_page()
    sign_in(page, web.url, OFFICER)
    page.goto(web.url + PAGE + "&version=1")
    assert page.locator("a[href*='/behind']").count() == 0
    assert count(page, "report-form", SITE_A, "aefi_serious") == "1"
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    shot(page, "5-officer-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("text=English")
    shot(page, "6-officer-tablet-en", full=True)


@pytest.mark.timeout(60)
def test_ok__hub_web_issues_the_days_report_at_its_cut_off_and_refuses_a_bad_settings_file(tmp_path):
    """`hub web` watches the clock too: with a cut-off already past (00:00) it issues today's report as it starts. A
    settings file with a key it does not know stops it at once, naming the key."""
    import subprocess
    import sys
    import time
    from datetime import datetime, timezone

    from hub.district_time import local_day

    db = tmp_path / "hub.db"
    open_store(db).close()
    settings = tmp_path / "hub.toml"
    settings.write_text('[report]\ncutoff = "00:00"\n', encoding="utf-8")
    today = local_day(datetime.now(timezone.utc))
    web = HubWeb(db, "--config", str(settings))
    try:
        deadline = time.monotonic() + 20
        while not versions_of(db, today) and time.monotonic() < deadline:
            time.sleep(0.2)
        issued = versions_of(db, today) or versions_of(db, local_day(datetime.now(timezone.utc)))
        assert [(v["why"], v["issued_by"]) for v in issued] == [("cutoff", daily.CUTOFF_BY)]
    finally:
        web.kill()
    settings.write_text('[report]\ncutof = "15:30"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "hub", "web", "--db", str(db), "--port", "0", "--config", str(settings)],
                          capture_output=True, text=True, timeout=30, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2 and "report.cutof: not a setting" in done.stderr


def versions_of(db: Path, day) -> list[dict]:
    with open_store(db) as store:
        return store.daily_report_versions(day)
