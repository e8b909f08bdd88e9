"""Coverage in the district workspace: a real `hub web` process on a hub database whose roster came in through
`hub roster import` and whose doses were merged by the real store, in real Chromium at 1366×768.

An officer reads the district's coverage and one commune's (counts and charts, no names, no outreach list); the data
staff open a commune's outreach list, download it as XLSX (a name starting with "=" comes out as text) and read it in
English; the audit log holds each look and download without personal data. Screenshots: test-artifacts/coverage-*.png.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.roster import write_roster
from hub.coverage import commune_key
from hub.district_time import local_day
from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import dose
from .hub_pages import browser, sign_in, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_hub_web import add_staff

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}
OFFICER, DATA = "Lê Văn Hùng", "Trần Thị Bình"
COMMUNE = "Phường 1"
TRICK = "=1+2 Nguyễn Thị Mai"
TRICK_LINE = f"001190099999,{TRICK},15/03/1990,Nữ,{COMMUNE},Số 9,1,0901234567"
PEOPLE = 2400
VACCINATED = (PEOPLE + 2) // 2
"""Every second of the 2,401 people on the roster, by ID number."""


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """A district of 2,400 people in 60 communes (born 1930-2020), half of them vaccinated, a third twice, a sixth boosted."""
    folder = tmp_path_factory.mktemp("coverage")
    path, roster = folder / "hub.db", write_roster(folder / "district.csv", PEOPLE)
    with roster.open("a", encoding="utf-8") as out:
        out.write(TRICK_LINE + "\r\n")
    add_staff(path, OFFICER, "officer")
    add_staff(path, DATA, "data")
    subprocess.run([sys.executable, "-m", "hub", "roster", "import", str(roster), "--db", str(path)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    with open_store(path) as store:
        people = [row[0] for row in store.conn.execute("SELECT id_number FROM roster ORDER BY id_number")]
        events, seq = [], 0
        for n, person in enumerate(people[::2]):
            for number, on in ((1, "2025-03-01"), (2, "2025-04-01"), (3, "2025-08-01"))[: 1 + (n % 3 == 0) + (n % 6 == 0)]:
                seq += 1
                events.append(dose("ka", seq, person, number=number, on=on))
        store.commit(Batch(events=events), "2025-08-02T08:00:00+07:00")
    return path


def shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"coverage-{name}.png"), full_page=full)


def cell(page, commune_key_: str, band: str, level: str) -> str:
    return page.inner_text(f"tbody[data-commune='{commune_key_}'] tr[data-band='{band}'] td[data-level='{level}']")


@pytest.mark.timeout(180)
def test_ok__an_officer_reads_coverage_and_the_data_staff_reach_out_from_it(web, browser, db, tmp_path):
    import openpyxl

    key = commune_key(COMMUNE)
    with open_store(db) as store:
        report = store.coverage(local_day(datetime.now(timezone.utc)))
    district = report["district"]["total"]
    assert district["roster"] == PEOPLE + 1 and district["one_dose"]["count"] == VACCINATED

    officer = browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(officer, web.url, OFFICER)
    officer.click("header nav a[href='/coverage']")
    officer.wait_for_url(web.url + "/coverage")
    assert officer.inner_text("h1") == "Độ bao phủ so với danh sách dân cư"
    assert officer.locator("svg.bars").count() == 2 and officer.locator("svg.bars > title").count() == 2
    assert cell(officer, "district", "5+", "one_dose") == f"{VACCINATED:,} 50,0 %".replace(",", ".", 1)
    assert officer.locator("a[href^='/coverage/']").count() == 0  # no way to the names
    assert officer.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    shot(officer, "1-officer-district-vi")
    shot(officer, "2-officer-district-full-vi", full=True)

    officer.select_option("#commune", key)
    officer.click("form.filter button")
    officer.wait_for_url(f"{web.url}/coverage?commune={key}")
    assert officer.inner_text("section.chart h2").startswith(COMMUNE)
    assert officer.locator("table.coverage tbody").count() == 1 and officer.locator("svg.bars").count() == 1
    shot(officer, "3-officer-commune-vi")
    officer.goto(f"{web.url}/coverage/{key}")
    assert officer.inner_text("p.error") == "Vai trò của bạn không được xem trang này."

    staff = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
    sign_in(staff, web.url, DATA)
    staff.goto(web.url + "/coverage")
    staff.click(f"tbody[data-commune='{key}'] th a")
    staff.wait_for_url(f"{web.url}/coverage/{key}")
    assert urlsplit(staff.url).query == "" and "0011" not in staff.url
    assert staff.inner_text("h1") == f"Danh sách cần vận động: {COMMUNE}"
    names = staff.eval_on_selector_all("table.outreach tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)")
    assert TRICK in names
    assert staff.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    shot(staff, "4-outreach-vi")

    with staff.expect_download() as download:
        staff.click("p.actions a.primary")
    saved = tmp_path / "outreach.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes())).worksheets[0]
    written = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert "'" + TRICK in written and TRICK not in written and len(written) == len(names)

    staff.click("header .lang button[value=en]")
    staff.wait_for_url(f"{web.url}/coverage/{key}")
    assert staff.inner_text("h1") == f"Outreach: {COMMUNE}"
    shot(staff, "5-outreach-en")
    staff.goto(web.url + "/coverage")
    shot(staff, "6-data-district-en")

    with open_store(db) as store:
        lines = [(e.action, e.record) for e in store.audit_log() if e.action.startswith("outreach")]
    assert lines == [("outreach_view", f"commune:{key}"), ("outreach_export", f"commune:{key}"),
                     ("outreach_view", f"commune:{key}")]  # newest first: in English, the download, the first look
    web.terminate()
    assert TRICK not in web.log and "001190099999" not in web.log and COMMUNE not in web.log
