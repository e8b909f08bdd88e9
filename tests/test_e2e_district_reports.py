"""Issue 13's acceptance walk: the district's reports against a real `hub run` merging two kiosks' signed events over
a real Mosquitto, and `hub web`, in real Chromium at 1366×768.

`hub run` is started with a cut-off already past (report.cutoff 00:00), so it issues the day's report by itself the
moment it starts, before any kiosk has sent anything: nobody asks for it. The kiosks' events then arrive. The data
officer sees them live on the front page (with the serious reaction), finds the issued report with everything that
arrived after its cut, issues it again, downloads the national-platform export and sees the same-day gauge go to
zero, follows the serious reaction and looks at stock and the kiosks. No ID number or name reaches either process's
log. Screenshots: test-artifacts/reports-walk-*.png.

The day is today in Vietnam, on the machine's clock: the walk holds on any day, and is skipped in the unlikely case
that Vietnam's midnight falls while it runs.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wire
from hub.district_time import VIETNAM, local_day
from hub.store.sqlite import open_store
from tests.hub_process import Client, HubProcess

from .hub_helpers import LAN, STAFF, event
from .test_e2e_district import publish
from .test_e2e_hub_web import (  # noqa: F401 (browser is a fixture, used by name)
    HubWeb, PASSWORD, VIEWPORT, add_staff, browser, sign_in, whole_page_shot,
)

OFFICER = "Đỗ Thị Hạnh"
LAN_ID, HUNG_ID, MAI_ID = "001190012345", "036058001234", "079185004321"
HUNG = {"full_name": "Trần Văn Hùng", "birth_date": "1958-07-02", "sex": "Nam", "old_id": ""}
MAI = {"full_name": "Lê Thị Mai", "birth_date": "1985-02-10", "sex": "Nữ", "old_id": ""}
SITE_2 = "Trường THCS Lê Lợi"
LOT = {"product": "comirnaty_30", "lot_number": "FK5127", "expiry": "2030-01-31"}


def day_events(day: str, now: str) -> list[wire.Event]:
    """A morning at two sites: Lan vaccinated with a serious reaction and a lot with a waste at k1; Hùng deferred and Mai
    vaccinated at k2."""
    def about(seq: int, number: str) -> dict:
        return {"ticket": {"day": day, "number": seq}, "id_number": number, "by": STAFF}

    def checked(kiosk: str, seq: int, number: str, person: dict) -> wire.Event:
        return event(kiosk, seq, wire.CHECK_IN_EVENT, {**about(seq, number), "person": person, "source": "camera"}, at=now)

    def dosed(kiosk: str, seq: int, number: str) -> wire.Event:
        given = {**LOT, "number": 1, "booster": 0, "given_at": now}
        return event(kiosk, seq, wire.DOSE_EVENT, {**about(seq, number), "dose": given}, at=now)

    lot = {"lot": {**LOT, "doses_per_vial": 6}, "by": STAFF}
    return [
        checked("k1", 1, LAN_ID, LAN), dosed("k1", 2, LAN_ID),
        event("k1", 3, "AefiRecorded", {**about(3, LAN_ID), "aefi": {"severity": "severe", "symptoms": "khó thở",
                                                                     "dose_event": "k1:2"}}, at=now),
        event("k1", 4, "LotOpened", lot, at=now), event("k1", 5, "VialOpened", {**lot, "vials_opened": 1}, at=now),
        event("k1", 6, "DosesWasted", {**lot, "doses": 1, "reason": "lọ vỡ"}, at=now),
        checked("k2", 1, HUNG_ID, HUNG),
        event("k2", 2, "PersonDeferred", {**about(2, HUNG_ID), "reason": "sốt 38,5 độ",
                                          "return_on": (datetime.fromisoformat(day) + timedelta(days=7)).date().isoformat()},
              at=now),
        checked("k2", 3, MAI_ID, MAI), dosed("k2", 4, MAI_ID),
    ]


def wait_for(condition, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def versions(db: Path, day) -> list[dict]:
    with open_store(db) as store:
        return store.daily_report_versions(day)


@pytest.mark.timeout(300)
def test_ok__the_report_is_issued_unasked_and_the_officer_reports_exports_and_follows_up(broker, db, watcher, browser,
                                                                                        tmp_path):
    started = datetime.now(timezone.utc)
    try:
        walk(broker, db, watcher, browser, tmp_path, started)
    except AssertionError:
        if local_day(datetime.now(timezone.utc)) != local_day(started):
            pytest.skip("Vietnam's midnight fell during the walk: its day's figures are split across two days")
        raise


def walk(broker, db: Path, watcher, browser, tmp_path: Path, started: datetime) -> None:
    today = local_day(started)
    with open_store(db) as store:
        store.enroll("k2", SITE_2, "", started.isoformat())
    add_staff(db, OFFICER, "data")
    settings = tmp_path / "hub.toml"
    settings.write_text('[report]\ncutoff = "00:00"\n', encoding="utf-8")
    kiosks = Client(broker, "kiosks")
    with HubProcess(broker.url, db, "--config", str(settings)) as hub:
        wait_for(lambda: versions(db, today), what="the report issued at the cut-off")
        issued = versions(db, today)
        assert [(v["version"], v["why"], v["issued_by"]) for v in issued] == [(1, "cutoff", "cut-off")]
        publish(kiosks, watcher, day_events(today.isoformat(), started.astimezone(VIETNAM).isoformat(timespec="seconds")))
        web = HubWeb(db)
        try:
            page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
            page.goto(web.url + "/login")
            sign_in(page, OFFICER, PASSWORD)
            page.wait_for_url(web.url + "/")
            page.wait_for_selector("[data-total=today]")
            assert page.inner_text("[data-total=today]") == "2"
            assert page.locator("li[data-event='k1:3']").count() == 1  # the serious reaction, on the front page
            whole_page_shot(page, "reports-walk-1-front-page")

            # the report the hub issued at the cut-off: nothing counted, everything arrived after it
            page.click("header nav a[href='/reports/daily']")
            page.wait_for_selector("[data-shown='1']")
            assert page.inner_text("#report-form tfoot td[data-figure='vaccinated']") == "0"
            assert sorted(page.locator("table.late tr[data-site]").evaluate_all("rows => rows.map(r => r.dataset.site)")) \
                == sorted(["site-a", SITE_2])
            whole_page_shot(page, "reports-walk-2-issued-at-cut-off")
            page.fill("#note", "Số liệu buổi sáng đến sau giờ chốt")
            page.click("form.reissue button")
            page.wait_for_selector("[data-shown='2']")
            assert page.inner_text("#report-form tfoot td[data-figure='vaccinated']") == "2"
            assert page.inner_text(f"#report-form tr[data-site='{SITE_2}'] td[data-figure='deferred']") == "1"
            assert page.inner_text("#report-form tr[data-site='site-a'] td[data-figure='aefi_serious']") == "1"
            whole_page_shot(page, "reports-walk-3-reissued")

            # the national-platform export: two doses not yet entered, then none
            page.click("header nav a[href='/exports']")
            assert page.inner_text("tr[data-site=total] td[data-figure=not_exported]") == "2"
            page.check("form.export input[value=csv]")
            with page.expect_download() as download:
                page.click("form.export button.primary")
            lines = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
            assert len(lines) == 3 and {LAN["full_name"], MAI["full_name"]} <= {cell for line in lines for cell in line}
            page.goto(web.url + "/exports")
            assert page.inner_text("tr[data-site=total] td[data-figure=not_exported]") == "0"
            whole_page_shot(page, "reports-walk-4-exported")

            # the serious reaction followed up, stock, the kiosks
            page.goto(web.url + "/aefi")
            assert page.locator("tr[data-event='k1:3'].sev-severe").count() == 1
            whole_page_shot(page, "reports-walk-5-aefi")
            page.goto(web.url + "/stock")
            assert "FK5127" in page.inner_text("main")
            page.goto(web.url + "/kiosks")
            assert page.locator("text=k2").count() >= 1
            whole_page_shot(page, "reports-walk-6-kiosks")
        finally:
            web.kill()
        for log in (hub.log, web.log):
            for secret in (LAN_ID, HUNG_ID, MAI_ID, LAN["full_name"], MAI["full_name"], HUNG["full_name"]):
                assert secret not in log
