"""The live front page and the kiosks page against a real `hub web` process on a real hub database, in real Chromium at
1366×768 (office laptop) and 1280×800 (tablet): while the page is open the test commits kiosk events into the database,
as `hub run` would, and a new dose and a serious reaction appear without a reload, the reaction highlighted.
Screenshots: test-artifacts/live-*.png and test-artifacts/fleet-*.png.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wire
from hub.district_time import local_day
from hub.store import Batch, KioskStatus
from hub.store.sqlite import open_store

from .hub_helpers import STAFF, dose, event
from .hub_pages import browser, web  # noqa: F401 (fixtures, used by name)
from .test_e2e_hub_web import PASSWORD, add_staff, sign_in

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "tablet": {"width": 1280, "height": 800}}
OFFICER = "Lê Văn Hùng"
SITES = {"ka": "Trạm Y tế phường Bến Nghé", "kb": "Trường THCS Tân Lập", "kc": "Nhà văn hoá khu phố 3"}
PEOPLE = [f"0791900{n:05d}" for n in range(400)]


def now() -> datetime:
    return datetime.now(timezone.utc)


def at_hour(day, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:{(hour * 7) % 60:02d}:00+07:00"


def dose_at(kiosk: str, seq: int, person: str, day, hour: int) -> wire.Event:
    """A dose given at ``hour`` (kiosk clock) on ``day``."""
    base = dose(kiosk, seq, person, on=day.isoformat())
    payload = {**base.payload, "ticket": {"day": day.isoformat(), "number": seq},
               "dose": {**base.payload["dose"], "given_at": at_hour(day, hour)}}
    return event(kiosk, seq, wire.DOSE_EVENT, payload, at=at_hour(day, hour))


def severe(kiosk: str, seq: int, dose_seq: int, person: str, day) -> wire.Event:
    aefi = {"severity": "severe", "symptoms": "Khó thở", "dose_event": f"{kiosk}:{dose_seq}"}
    return event(kiosk, seq, "AefiRecorded", {"ticket": {"day": day.isoformat(), "number": seq}, "id_number": person,
                                              "aefi": aefi, "by": STAFF}, at=at_hour(day, 10))


def status(kiosk: str, received: datetime, **fields) -> KioskStatus:
    body = wire.kiosk_status(kiosk, fields.pop("state", "online"), boot="b1", version="1.4.0",
                             at=(received - timedelta(seconds=fields.pop("skew", 1.2))).isoformat(), **fields)
    return KioskStatus(kiosk, json.loads(body), received.isoformat(), body)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """Three sites' doses over the last 14 days (today's and yesterday's by hour) and their kiosks' statuses."""
    path = tmp_path_factory.mktemp("fleet") / "hub.db"
    add_staff(path, OFFICER, "officer")
    today = local_day(now())
    with open_store(path) as store:
        for kiosk, site in SITES.items():
            store.enroll(kiosk, site, None, (now() - timedelta(days=30)).isoformat())
        events, seqs, person = [], dict.fromkeys(SITES, 0), 0
        for back in range(13, -1, -1):
            day = today - timedelta(days=back)
            for k, kiosk in enumerate(SITES):
                for n in range((6 + 3 * k + back) % 9 + 2 * (k + 1)):
                    seqs[kiosk] += 1
                    person += 1
                    events.append(dose_at(kiosk, seqs[kiosk], PEOPLE[person % len(PEOPLE)], day, 7 + (n * 3 + k) % 8))
        store.commit(Batch(events=events), (now() - timedelta(hours=1)).isoformat())
        store.commit(Batch(statuses=[status("ka", now() - timedelta(minutes=2), outbox=40, clock_synced=True)]),
                     (now() - timedelta(minutes=2)).isoformat())
        store.commit(Batch(statuses=[status("ka", now(), outbox=260, clock_synced=True, camera_fps=14.8),
                                     status("kb", now(), outbox=0, clock_synced=False, skew=-340.0, camera_fps=9.5),
                                     status("kc", now() - timedelta(minutes=45), outbox=3, clock_synced=True)]),
                     now().isoformat())
        seqs_file = path.with_suffix(".seqs")
        seqs_file.write_text(json.dumps(seqs))
    return path


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def open_page(browser, web, viewport: str, path: str = "/"):
    page = browser.new_context(viewport=VIEWPORTS[viewport]).new_page()
    page.goto(web.url + path)
    sign_in(page, OFFICER, PASSWORD)
    page.wait_for_url(web.url + path)
    return page


def no_sideways(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_ok__a_dose_and_a_serious_reaction_merged_while_the_page_is_open_appear_without_a_reload(web, db, browser, viewport):
    page = open_page(browser, web, viewport)
    page.wait_for_selector('[data-live-state="live"]', timeout=15000)
    assert page.locator("svg.chart").count() == 2 and page.locator("svg.chart > title").count() == 2
    before = int(page.inner_text('[data-total="today"]').replace(".", "").replace(",", ""))
    assert page.locator('#live-alerts [data-kiosk="kb"]').count() == 1  # clock off and not synchronised
    no_sideways(page)
    page.screenshot(path=str(ARTIFACTS / f"live-{viewport}-before.png"), full_page=True)
    page.evaluate("window.liveMarker = 1")  # gone if the page reloads

    seqs = json.loads(db.with_suffix(".seqs").read_text())
    today = local_day(now())
    dose_seq, reaction_seq = seqs["kb"] + 1, seqs["kb"] + 2
    seqs["kb"] += 2
    db.with_suffix(".seqs").write_text(json.dumps(seqs))
    with open_store(db) as store:
        store.commit(Batch(events=[dose_at("kb", dose_seq, PEOPLE[399], today, 11)]), now().isoformat())
        store.commit(Batch(events=[severe("kb", reaction_seq, dose_seq, PEOPLE[399], today)]), now().isoformat())

    expect(page.locator('[data-total="today"]')).to_have_text(f"{before + 1:,}".replace(",", "."), timeout=15000)
    fresh = page.locator(f'#live-alerts li.new[data-event="kb:{reaction_seq}"]')
    fresh.wait_for(timeout=15000)
    assert page.evaluate("window.liveMarker") == 1
    assert "FK1234" in fresh.inner_text() and SITES["kb"] in fresh.inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('#live-alerts li.new')).outlineStyle") == "solid"
    body = page.content()
    assert "0791900" not in body and "Khó thở" not in body
    no_sideways(page)
    page.screenshot(path=str(ARTIFACTS / f"live-{viewport}-after.png"), full_page=True)
    page.context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_ok__the_kiosks_page_flags_backlog_clock_and_silence(web, browser, viewport):
    page = open_page(browser, web, viewport, "/kiosks")
    rows = page.locator("table.fleet tbody tr")
    assert rows.count() == 3
    flags = {row.get_attribute("data-kiosk"): row.get_attribute("data-flags") or "" for row in rows.all()}
    assert "backlog" in flags["ka"] and "growing" in flags["ka"]
    assert "skew" in flags["kb"] and "unsynced" in flags["kb"]
    assert page.locator('tr[data-kiosk="kc"]').get_attribute("data-state") == "offline"  # silent 45 minutes
    no_sideways(page)
    table = page.locator("table.fleet").locator("xpath=..")  # the flags, the column that matters, are not scrolled away
    assert table.evaluate("wrapper => wrapper.scrollWidth <= wrapper.clientWidth")
    page.screenshot(path=str(ARTIFACTS / f"fleet-{viewport}.png"), full_page=True)
    page.context.close()
