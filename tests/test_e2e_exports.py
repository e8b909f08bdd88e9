"""The national-platform export in the district workspace: a real `hub web` process on a hub database whose doses the
real store merged, in real Chromium at 1366×768 (office laptop) and 1280×800 (tablet).

An officer reads the same-day entry gauge (counts, no download); the data staff download the export as XLSX (read back
with openpyxl: a name starting with "=" is text), see the gauge move to exported, see a dose a kiosk voids meanwhile as
changed after export, download the CSV that carries it as voided, and download the first file again; the audit log
holds each download without personal data. Screenshots: test-artifacts/export-*.png.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import DAY, check_in, dose, void
from .hub_pages import browser, sign_in, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_hub_web import add_staff


ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LAPTOP, TABLET = {"width": 1366, "height": 768}, {"width": 1280, "height": 800}
OFFICER, DATA = "Lê Văn Hùng", "Trần Thị Bình"
SITES = {"ka": "Trường THCS Lê Lợi", "kb": "Nhà văn hóa khu phố 3", "kc": "Trạm Y tế Phường Bến Thành"}
TRICK = "=1+2 Nguyễn Thị Mai"
PER_KIOSK = {"ka": 12, "kb": 7, "kc": 5}
AT = f"{DAY}T10:00:00+07:00"


def person(kiosk: str, n: int) -> str:
    return f"0011{'abc'.index(kiosk[1])}90{n:05d}"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """Three sites, 24 people each with a first dose on DAY; the first of kiosk kb is named TRICK."""
    path = tmp_path_factory.mktemp("exports") / "hub.db"
    add_staff(path, OFFICER, "officer")
    add_staff(path, DATA, "data")
    with open_store(path) as store:
        events = []
        for kiosk, count in PER_KIOSK.items():
            store.enroll(kiosk, SITES[kiosk], None, AT)
            for n in range(count):
                name = TRICK if (kiosk, n) == ("kb", 0) else f"Người Số {kiosk}{n}"
                events += [check_in(kiosk, 2 * n + 1, person(kiosk, n), full_name=name), dose(kiosk, 2 * n + 2, person(kiosk, n))]
        store.commit(Batch(events=events), AT)
    return path


def shot(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"export-{name}.png"), full_page=True)


def figures(page, site: str) -> list[str]:
    return page.eval_on_selector_all(f"table.gauge tr[data-site='{site}'] td[data-figure]",
                                     "cells => cells.map(c => c.textContent)")


@pytest.mark.timeout(180)
def test_ok__the_gauge_the_download_and_a_void_after_export(web, browser, db, tmp_path):
    import openpyxl

    total = sum(PER_KIOSK.values())
    officer = browser.new_context(viewport=LAPTOP).new_page()
    sign_in(officer, web.url, OFFICER)
    officer.click("header nav a[href='/exports']")
    officer.wait_for_url(web.url + "/exports")
    officer.fill("#day", DAY)
    officer.click("form.filter button")
    officer.wait_for_url(f"{web.url}/exports?day={DAY}")
    assert officer.inner_text("h1") == "Nhập liệu trong ngày lên Nền tảng quốc gia"
    assert figures(officer, "total") == [str(total), "0", str(total), "0"]
    assert officer.eval_on_selector_all("table.gauge tbody th", "cells => cells.map(c => c.textContent)") == sorted(SITES.values())
    assert officer.locator("form.export").count() == 0 and "Người Số" not in officer.content()
    shot(officer, "1-officer-gauge-laptop-vi")

    staff = browser.new_context(viewport=TABLET, accept_downloads=True).new_page()
    sign_in(staff, web.url, DATA)
    staff.goto(f"{web.url}/exports?day={DAY}")
    shot(staff, "2-data-before-tablet-vi")
    with staff.expect_download() as download:
        staff.click("form.export button.primary")
    assert download.value.suggested_filename == f"tiem-chung-{DAY}-1.xlsx"
    first = tmp_path / "first.xlsx"
    download.value.save_as(first)
    sheet = openpyxl.load_workbook(first).worksheets[0]
    lines = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert lines[0][:3] == ["STT", "Thao tác", "Họ và tên"] and len(lines) == total + 1
    assert "'" + TRICK in [line[2] for line in lines] and TRICK not in [line[2] for line in lines]
    assert {line[1] for line in lines[1:]} == {"Thêm mới"}

    staff.reload()
    assert figures(staff, "total") == [str(total), str(total), "0", "0"]
    assert staff.locator("table.exports tr[data-export='1']").count() == 1
    assert staff.locator("form.export button.primary").is_disabled()

    with open_store(db) as store:  # a kiosk voids a dose already exported, merged while `hub web` runs
        store.commit(Batch(events=[void("ka", 2 * PER_KIOSK["ka"] + 1, 2, person("ka", 0))]), AT)
    staff.reload()
    assert figures(staff, "total") == [str(total - 1), str(total - 1), "0", "1"]
    assert "pending" in staff.get_attribute(f"table.gauge tr[data-site='{sorted(SITES.values()).index(SITES['ka']) + 1}']", "class")
    shot(staff, "3-data-changed-after-export-tablet-vi")

    staff.check("input[name=format][value=csv]")
    with staff.expect_download() as download:
        staff.click("form.export button.primary")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 2 and rows[1][1] == "Hủy" and rows[1][-1] == "ka:2"

    staff.reload()
    with staff.expect_download() as download:
        staff.click("table.exports tr[data-export='1'] a")
    assert Path(download.value.path()).read_bytes() == first.read_bytes()
    staff.click("header .lang button[value=en]")
    staff.wait_for_url(f"{web.url}/exports?day={DAY}")
    assert staff.inner_text("h1") == "Same-day entry into the national platform"
    shot(staff, "4-data-after-tablet-en")
    staff.set_viewport_size(LAPTOP)
    shot(staff, "5-data-after-laptop-en")

    with open_store(db) as store:
        lines = [(e.action, e.record) for e in store.audit_log() if e.action == "export_platform"]
    assert lines == [("export_platform", "export:1"), ("export_platform", "export:2"), ("export_platform", "export:1")]
    web.terminate()
    assert "Người Số" not in web.log and "Nguyễn Thị Mai" not in web.log and "0011" not in web.log
