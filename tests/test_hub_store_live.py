"""hub/store/live.py, the live front page's reads, on both stores (tests/hub_stores.py): doses per site and hour and per
site and day from the counts the merge keeps, the serious reactions of a few days with their lots' counts, and the
marker that moves whenever anything is merged. (The page itself: tests/test_hub_web_fleet.py.)"""

from __future__ import annotations

from datetime import date

import pytest

from hub import corrections
from hub.kiosk_files import ImportedKiosk
from hub.store import Batch

from .hub_helpers import HUNG_ID, LAN_ID, aefi, lot_dose, void
from .hub_stores import AT, LATER, both_stores, status

D1, D2 = "2026-03-02", "2026-03-03"
MAI_ID = "079185000111"


db = both_stores()


@pytest.fixture
def store(db):
    with db.open() as store:
        store.enroll("ka", "Trạm Y tế Phường 1", None, AT)
        store.enroll("kb", "Trường THCS Lê Lợi", None, AT)
        store.commit(Batch(events=[
            lot_dose("ka", 1, LAN_ID, day=D1, time="08:10:00"), lot_dose("ka", 2, HUNG_ID, day=D1, time="08:50:00"),
            lot_dose("ka", 3, MAI_ID, day=D1, time="09:05:00", lot="FK9"), lot_dose("kb", 1, LAN_ID, day=D2, number=2),
            aefi("ka", 4, 1, LAN_ID, day=D1, severity="severe", time="08:40:00"),
            aefi("ka", 5, 2, HUNG_ID, day=D1, severity="severe", time="09:20:00"),
            aefi("ka", 6, 3, MAI_ID, day=D1, severity="mild", time="09:30:00"),
            aefi("kb", 2, 1, LAN_ID, day=D2, severity="severe"), void("kb", 3, 2, LAN_ID),  # voided: not counted
        ]), AT)
        store.correct(corrections.add_dose(HUNG_ID, product="comirnaty_30", lot_number="P1", number=2, booster=None,
                                           given_on=D2, place="Bệnh viện", reason="bù", evidence="giấy"),
                      staff_id=None, by="Cán bộ Mai", at="2026-03-03T09:00:00+00:00")
        yield store


def test_ok__doses_per_site_and_hour_and_per_site_and_day(store):
    assert sorted(store.doses_by_hour([date(2026, 3, 2)]), key=str) == sorted([
        {"day": D1, "kiosk": "ka", "site": "Trạm Y tế Phường 1", "district": None, "hour": 8, "count": 2},
        {"day": D1, "kiosk": "ka", "site": "Trạm Y tế Phường 1", "district": None, "hour": 9, "count": 1}], key=str)
    assert sorted(store.doses_by_hour([date(2026, 3, 3)]), key=str) == sorted([
        {"day": D2, "kiosk": "@hub", "site": None, "district": None, "hour": None, "count": 1},
        {"day": D2, "kiosk": "kb", "site": "Trường THCS Lê Lợi", "district": None, "hour": 9, "count": 1}], key=str)
    assert store.doses_by_day(date(2026, 3, 1), date(2026, 3, 3)) == [
        {"day": D1, "site": "Trạm Y tế Phường 1", "district": None, "count": 3},
        {"day": D2, "site": "Trường THCS Lê Lợi", "district": None, "count": 1},
        {"day": D2, "site": None, "district": None, "count": 1}]
    assert store.doses_by_day(date(2026, 3, 4), date(2026, 3, 9)) == []


def test_ok__serious_reactions_newest_first_with_their_lots_counts(store):
    found = store.severe_reactions([date(2026, 3, 2), date(2026, 3, 3)])
    assert [(r["event_id"], r["site"], r["lot_number"]) for r in found["reactions"]] == [
        ("ka:5", "Trạm Y tế Phường 1", "FK1234"), ("ka:4", "Trạm Y tế Phường 1", "FK1234")]
    assert found["lots"] == [{"product": "comirnaty_30", "lot_number": "FK1234", "count": 2}]
    assert "id_number" not in found["reactions"][0]
    assert store.severe_reactions([date(2026, 3, 4)]) == {"reactions": [], "lots": []}


def test_ok__the_marker_moves_with_each_event_hub_event_and_status_merged(store):
    seen = [store.live_marker()]
    store.commit(Batch(events=[lot_dose("kb", 4, MAI_ID, day=D2)]), LATER)
    seen.append(store.live_marker())
    store.correct(corrections.void_dose(MAI_ID, target="kb:4", reason="nhầm"), staff_id=None, by="Cán bộ Mai",
                  at="2026-03-03T10:00:00+00:00")
    seen.append(store.live_marker())
    store.commit(Batch(statuses=[status("ka", received_at="2026-03-03T10:00:01+00:00")]), LATER)
    seen.append(store.live_marker())
    store.commit(Batch(events=[lot_dose("kb", 8, MAI_ID, day=D2)]), LATER)  # above a gap: the watermark stays
    seen.append(store.live_marker())
    store.commit(Batch(events=[lot_dose("kb", 6, MAI_ID, day=D2)]), LATER)  # into the gap: nothing else moves
    seen.append(store.live_marker())
    assert len(set(seen)) == 6 and store.live_marker() == seen[-1]


@pytest.fixture
def province(db):
    """Kiosks of two districts, each with a site named "Trạm Y tế Phường 1" (names recur across districts), and the
    doses and reactions of the district hub fixture's kind at each."""
    with db.open() as store:
        store.import_kiosks([ImportedKiosk("ka", "Trạm Y tế Phường 1", ()), ImportedKiosk("kb", "Trường THCS", ())],
                            "d1", AT)
        store.import_kiosks([ImportedKiosk("kc", "Trạm Y tế Phường 1", ())], "d2", AT)
        store.commit(Batch(events=[
            lot_dose("ka", 1, LAN_ID, day=D1, time="08:10:00"), lot_dose("kb", 1, HUNG_ID, day=D1, time="09:10:00"),
            lot_dose("kc", 1, MAI_ID, day=D1, time="08:30:00"), lot_dose("kc", 2, LAN_ID, day=D2, number=2),
            aefi("ka", 2, 1, LAN_ID, day=D1, severity="severe", time="08:40:00"),
            aefi("kc", 3, 1, MAI_ID, day=D1, severity="severe", time="09:40:00"),
        ]), AT)
        yield store


def test_ok__a_province_reads_each_district_apart_and_all_together(province):
    assert province.district_names() == ["d1", "d2"]
    hours = province.doses_by_hour([date(2026, 3, 2)], "d2")
    assert hours == [{"day": D1, "kiosk": "kc", "site": "Trạm Y tế Phường 1", "district": "d2", "hour": 8, "count": 1}]
    assert sorted(row["kiosk"] for row in province.doses_by_hour([date(2026, 3, 2)], "d1")) == ["ka", "kb"]
    assert sum(row["count"] for row in province.doses_by_hour([date(2026, 3, 2)])) == 3
    assert province.doses_by_day(date(2026, 3, 1), date(2026, 3, 3), "d2") == [
        {"day": D1, "site": "Trạm Y tế Phường 1", "district": "d2", "count": 1},
        {"day": D2, "site": "Trạm Y tế Phường 1", "district": "d2", "count": 1}]
    assert [(r["site"], r["district"], r["count"]) for r in province.doses_by_day(date(2026, 3, 2), date(2026, 3, 2))
            if r["site"] == "Trạm Y tế Phường 1"] == [("Trạm Y tế Phường 1", "d1", 1), ("Trạm Y tế Phường 1", "d2", 1)]
    assert province.doses_by_day(date(2026, 3, 3), date(2026, 3, 3), "d1") == []
    assert [r["event_id"] for r in province.severe_reactions([date(2026, 3, 2)], "d1")["reactions"]] == ["ka:2"]
    assert [r["event_id"] for r in province.severe_reactions([date(2026, 3, 2)])["reactions"]] == ["kc:3", "ka:2"]
    assert [(k["kiosk"], k["district"]) for k in province.fleet_kiosks("d1")] == [("kb", "d1"), ("ka", "d1")]
    assert [k["kiosk"] for k in province.fleet_kiosks()] == ["kb", "ka", "kc"]  # by site
    assert province.fleet_kiosks("d9") == [] and province.doses_by_hour([date(2026, 3, 2)], "d9") == []


def test_ok__a_district_hub_has_no_districts(store):
    assert store.district_names() == []
