"""The provincial workspace in real Chromium at 1366×768 (office laptop) and 1280×800 (tablet), against a real `hub web`
process on a hub database (SQLite, then PostgreSQL) holding the kiosks of three districts: the front page, the kiosks page, the daily report
and coverage (two districts' rosters, a ward's name in both) show the province, then one district chosen with the selector (the choice kept in the URL), with no sideways scroll.
Screenshots: test-artifacts/province-*-sqlite.png and -postgres.png.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.district_time import VIETNAM, local_day
from hub.kiosk_files import ImportedKiosk
from hub.roster.files import Parsed
from hub.roster.rows import Entry
from hub.store import Batch
from hub.store.open import open_store

from .hub_pages import browser, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_fleet import ARTIFACTS, VIEWPORTS, dose_at, no_sideways, open_page, severe, status
from .test_e2e_hub_web import add_staff

OFFICER = "Lê Văn Hùng"
DISTRICTS = {
    "ben-cat": {"bc1": "Trạm Y tế phường Mỹ Phước", "bc2": "Trường THCS Mỹ Phước"},
    "di-an": {"da1": "Trạm Y tế phường Dĩ An", "da2": "Nhà văn hoá khu phố Nhị Đồng"},
    "thu-dau-mot": {"tdm1": "Trạm Y tế phường Phú Cường", "tdm2": "Trạm Y tế phường Dĩ An"},
}
"""Three districts, two sites each; a site's name that recurs in two districts (as ward names do)."""
TRAVELLER = "074190000999"
"""Vaccinated in two districts today: one person in the province."""
WARD = "Phường Dĩ An"
ROSTERS = {"di-an": range(1, 4), "thu-dau-mot": range(4, 6)}
"""Each district's list: people vaccinated above, all in a ward of the same name."""


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db(request, tmp_path_factory) -> str:
    """The province's database, a SQLite file or a PostgreSQL database of its own (`hub web --db` takes either)."""
    if request.param == "postgres":
        path = request.getfixturevalue("pg_cluster").create_database()
    else:
        path = str(tmp_path_factory.mktemp("province") / "hub.db")
    add_staff(path, OFFICER, "officer")
    today = local_day(now())
    events, statuses, person = [], [], 0
    with open_store(path) as store:
        for district, kiosks in DISTRICTS.items():
            store.import_kiosks([ImportedKiosk(kiosk, site, ()) for kiosk, site in kiosks.items()], district,
                                (now() - timedelta(days=30)).isoformat())
        for k, kiosk in enumerate(k for kiosks in DISTRICTS.values() for k in kiosks):
            seq = 0
            for back in (1, 0):
                for n in range(6 + 3 * k + 4 * back):
                    seq, person = seq + 1, person + 1
                    events.append(dose_at(kiosk, seq, f"0741900{person:05d}", today - timedelta(days=back), 7 + n % 9))
            seq += 1
            events.append(dose_at(kiosk, seq, TRAVELLER, today, 16) if kiosk in ("bc1", "da1") else
                          dose_at(kiosk, seq, f"0741901{k:05d}", today, 16))
            statuses.append(status(kiosk, now(), outbox=260 if kiosk == "da2" else 2, clock_synced=True))
        events.append(severe("tdm1", 99, 1, "074190000001", today))
        # merged at the start of the district's day: before the report's cut-off whatever the hour the test runs at
        # (the report page issues the cut-off version by itself once the cut has passed)
        store.commit(Batch(events=events), datetime.combine(today, time(0, 0), VIETNAM).isoformat())
        store.commit(Batch(statuses=statuses), now().isoformat())
        for district, people in ROSTERS.items():
            entries = [Entry(f"0741900{n:05d}", "Nguyễn Thị Mai", "1990-03-15", "Nữ", WARD, "", "", "") for n in people]
            store.import_roster(Parsed(entries, [], len(entries)).in_district(district), f"{district}.csv", "tester",
                                now().isoformat())
    return path


def choose(page, district: str) -> None:
    """Pick a district in the selector and show it, as an officer does."""
    page.select_option("#district", district)
    page.click("form.districts button")
    page.wait_for_load_state()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def opened(web, browser, viewport):
    """Open a page of the workspace signed in as the officer, at the test's viewport; closed after the test."""
    pages = []

    def open_at(path: str = "/"):
        pages.append(open_page(browser, web, viewport, path))
        return pages[-1]

    yield open_at
    for page in pages:
        page.context.close()


@pytest.fixture
def shot(db):
    """Check the page has no sideways scroll and keep its screenshot, test-artifacts/NAME-<store>.png, to look at."""
    store = "postgres" if db.startswith("postgresql://") else "sqlite"

    def take(page, name: str) -> None:
        no_sideways(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{store}.png"), full_page=True)

    return take


def query(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.timeout(180)
def test_ok__the_province_s_front_page_then_one_district_s(opened, shot, viewport):
    page = opened()
    page.wait_for_selector('[data-live-state="live"]', timeout=15000)
    assert page.locator("#district option").count() == 4
    assert page.locator('#live-sites tr[data-site="Trạm Y tế phường Dĩ An"]').count() == 2  # two districts' sites
    shot(page, f"province-home-{viewport}")
    choose(page, "di-an")
    assert query(page)["district"] == ["di-an"]
    page.wait_for_selector('[data-live-state="live"]', timeout=15000)
    assert sorted(page.locator("#live-sites tr[data-district]").evaluate_all(
        "rows => rows.map(row => row.dataset.district)")) == ["di-an", "di-an"]
    assert page.locator('#live-alerts [data-kiosk="da2"]').count() == 1  # its kiosk with a backlog
    assert page.locator("#live-alerts [data-event]").count() == 0  # the reaction was in Thủ Dầu Một
    shot(page, f"province-home-di-an-{viewport}")


@pytest.mark.timeout(120)
def test_ok__the_kiosks_page_of_the_province_and_of_one_district(opened, shot, viewport):
    page = opened("/kiosks")
    assert page.locator("table.fleet tbody tr").count() == 6
    choose(page, "ben-cat")
    assert query(page)["district"] == ["ben-cat"]
    assert page.locator("table.fleet tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kiosk).sort()") == ["bc1", "bc2"]
    assert page.locator("table.fleet").locator("xpath=..").evaluate("box => box.scrollWidth <= box.clientWidth")
    shot(page, f"province-kiosks-{viewport}")


@pytest.mark.timeout(120)
def test_ok__the_daily_report_by_district_with_the_province_s_total(opened, shot, viewport):
    page = opened("/reports/daily")
    assert page.locator("#report-form tbody[data-district]").count() == 3
    cell = '#report-form tr[{row}] td[data-figure="vaccinated"]'
    per_district = [int(page.inner_text(cell.format(row=f'data-district-total="{d}"')).replace(".", ""))
                    for d in DISTRICTS]
    province = int(page.inner_text(cell.format(row="data-province-total")).replace(".", ""))
    assert province == sum(per_district) - 1  # the traveller counts once
    shot(page, f"province-report-{viewport}")
    choose(page, "thu-dau-mot")
    assert query(page)["district"] == ["thu-dau-mot"]
    assert page.locator("#report-form tbody tr").count() == 2 and page.locator("[data-province-total]").count() == 0
    assert int(page.inner_text('#report-form tfoot td[data-figure="vaccinated"]').replace(".", "")) == per_district[2]
    shot(page, f"province-report-thu-dau-mot-{viewport}")


@pytest.mark.timeout(120)
def test_ok__coverage_of_the_province_then_of_one_district(opened, shot, viewport):
    page = opened("/coverage")
    assert page.locator("#district option").count() == 4
    assert page.locator("tbody[data-commune]").count() == 3  # the province's row, then the ward of each district
    assert page.inner_text('dd[data-level="roster"]') == "5"
    shot(page, f"province-coverage-{viewport}")
    page.select_option("#district", "thu-dau-mot")
    page.click("form.filter button")
    page.wait_for_load_state()
    assert query(page)["district"] == ["thu-dau-mot"]
    assert page.locator("tbody[data-commune]").count() == 2 and page.inner_text('dd[data-level="roster"]') == "2"
    assert page.inner_text("#chart-heading") == "thu-dau-mot"
    shot(page, f"province-coverage-thu-dau-mot-{viewport}")
