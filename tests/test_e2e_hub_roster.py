"""The population list's upload page in a real `hub web` process and real Chromium at 1366×768: data staff download the
template, fill it in, upload a CSV with bad rows and read the refusals in Vietnamese, then in English, then upload an
XLSX that is read back. Screenshots go to test-artifacts/hub-roster-*.png."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hub.roster.files import parse_roster
from hub.roster.reasons import ROW_REASONS
from hub.store.sqlite import open_store

from .hub_helpers import HUNG_ID, LAN_ID
from .test_e2e_hub_web import ARTIFACTS, PASSWORD, VIEWPORT, HubWeb, add_staff, browser, sign_in  # noqa: F401 (browser: a fixture)

DATA = "Trần Văn Bình"
ROWS = [
    f"{HUNG_ID},Trần Văn Hùng,02/11/1958,Nam,Xã Tân Lập,,,",
    "12345,Người Thiếu Số,1990,Nam,Phường Bến Nghé,,,",  # row 4: bad_id_number
    "079090000001,Lê Văn Sai Ngày,31/02/1990,Nam,Phường Bến Nghé,,,",  # row 5: bad_date
    f"{LAN_ID},Nguyễn Thị Lan,15/03/1990,Nữ,Phường Bến Nghé,,,",  # row 6: duplicate_id (the template's example is Lan)
]
"""Added below the template's example row (row 2, Lan, kept: it is a valid row), so the file's rows 3 to 6."""
TU_ID = "036058009999"
REFUSED = {4: "bad_id_number", 5: "bad_date", 6: "duplicate_id"}


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "hub.db"
    add_staff(path, DATA, "data")
    return path


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"hub-roster-{name}.png"), full_page=True)


def download(page, selector: str) -> bytes:
    with page.expect_download() as started:
        page.click(selector)
    return Path(started.value.path()).read_bytes()


def refused_rows(page, selector: str = "section.result table.refused") -> dict[int, str]:
    rows = page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.map(r => [r.cells[0].innerText, r.cells[1].innerText])")
    return {int(row): reason for row, reason in rows}


def filled_xlsx(template: bytes) -> bytes:
    """The downloaded XLSX template with Tư typed over its example row, as data staff would."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(template))
    for column, value in enumerate([TU_ID, "Phạm Văn Tư", "1958", "Nam", "Xã Tân Lập", "Thôn Đông", "", ""], 1):
        book.active.cell(row=2, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.timeout(150)
def test_ok__data_staff_download_the_template_upload_a_list_and_read_its_refused_rows_in_both_languages(db, browser, tmp_path):
    web = HubWeb(db)
    try:
        page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
        page.goto(web.url + "/roster")
        sign_in(page, DATA, PASSWORD)
        page.wait_for_url(web.url + "/roster")
        assert page.inner_text("h1") == "Danh sách dân cư"
        assert page.locator("header nav a[href='/roster']").count() == 1
        shot(page, "1-empty-vi")

        template = download(page, "a[href='/roster/template.csv']")
        assert template.startswith("\ufeffSố CCCD,Họ và tên".encode())
        assert len(parse_roster(template, "t.csv", datetime.date(2026, 3, 2)).entries) == 1
        listed = tmp_path / "danh-sach-phuong-ben-nghe.csv"
        listed.write_bytes(template + "\r\n".join(ROWS).encode() + b"\r\n")

        page.set_input_files("#file", str(listed))
        page.click("section.upload button.primary")
        page.wait_for_selector("section.result")
        assert page.inner_text("section.result h2") == "Đã nhập danh-sach-phuong-ben-nghe.csv"
        counts = page.eval_on_selector_all("section.result [data-count]", "cells => cells.map(c => [c.dataset.count, c.innerText])")
        assert dict(counts) == {"rows": "5", "added": "2", "changed": "0", "unchanged": "0", "rejected": "3", "conflicts": "0"}
        assert refused_rows(page) == {row: ROW_REASONS[code][0] for row, code in REFUSED.items()}
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
        shot(page, "2-refused-rows-vi")

        page.click("header .lang button[value=en]")
        page.wait_for_url(web.url + "/roster")
        assert page.inner_text("h1") == "Population list"
        assert refused_rows(page, "table.refused[data-file='danh-sach-phuong-ben-nghe.csv']") == {
            row: ROW_REASONS[code][1] for row, code in REFUSED.items()}
        shot(page, "3-refused-rows-en")

        workbook = tmp_path / "danh-sach-xa-tan-lap.xlsx"
        workbook.write_bytes(filled_xlsx(download(page, "a[href='/roster/template.xlsx']")))
        page.set_input_files("#file", str(workbook))
        page.click("section.upload button.primary")
        page.wait_for_selector("section.result")
        assert page.inner_text("section.result [data-count=added]") == "1"
        assert page.inner_text("section.result p.hint") == "Every row was imported."
        assert page.locator("table.imports tbody tr").count() == 2
        shot(page, "4-xlsx-imported-en")

        page.set_input_files("#file", {"name": "bao-cao.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n"})
        page.click("section.upload button.primary")
        assert page.inner_text("p.error") == "The file is neither CSV nor XLSX."
        assert urlsplit(page.url).path == "/roster/import"
        shot(page, "5-wrong-type-en")
    finally:
        web.terminate()
    with open_store(db) as store:
        entries = {row["file_name"]: (row["added"], row["rejected"]) for row in store.roster_imports()}
    assert entries == {"danh-sach-phuong-ben-nghe.csv": (2, 3), "danh-sach-xa-tan-lap.xlsx": (1, 0)}
    assert "Nguyễn Thị Lan" not in web.log and "Phạm Văn Tư" not in web.log and LAN_ID not in web.log
