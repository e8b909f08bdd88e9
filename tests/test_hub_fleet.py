"""The kiosks page's reads (hub/store/fleet.py on both stores, tests/hub_stores.py) and flags (hub/fleet.py), with the
hub's clock injected: working hours in Vietnam time, offline by silence, a growing backlog, clock skew and
synchronisation, gaps; the live dose counts the merge and the corrections keep, on both stores."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
from hub.config import FleetSettings
from hub.fleet import FLAGS, in_working_hours, judge, judge_all
from hub.store import Batch, KioskStatus

from .hub_helpers import dose
from .hub_stores import both_stores
from .keys import signer

NOON = datetime(2024, 5, 1, 5, 0, tzinfo=timezone.utc)
"""12:00 in Vietnam."""
NIGHT = datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc)
"""22:00 in Vietnam."""
SETTINGS = FleetSettings()


def status(kiosk: str, at: datetime, *, state: str = "online", outbox: int | None = 0, synced: bool = True,
           skew: float = 0.0) -> KioskStatus:
    """A status as the kiosk publishes it (wire.kiosk_status), received by the hub at ``at``; its clock ``skew`` s behind."""
    body = wire.kiosk_status(kiosk, state, boot="boot-1", version="1.4.0", at=(at - timedelta(seconds=skew)).isoformat(),
                             clock_synced=synced, outbox=outbox, camera_fps=14.5)
    return KioskStatus(kiosk, json.loads(body), at.isoformat(), body)


db = both_stores()


@pytest.fixture
def store(db):
    with db.open() as store:
        for kiosk, site in (("ka", "Trạm Y tế Bến Nghé"), ("kb", "Trường THCS Tân Lập"), ("kc", "Nhà văn hoá Khu 3")):
            store.enroll(kiosk, site, None, NOON.isoformat())
        yield store


def by_kiosk(store) -> dict:
    return {row["kiosk"]: row for row in store.fleet_kiosks()}


def test_ok__a_status_fills_every_column_and_the_backlog_before_it_is_kept(store):
    store.commit(Batch(statuses=[status("ka", NOON - timedelta(minutes=2), outbox=40)]), (NOON - timedelta(minutes=2)).isoformat())
    store.commit(Batch(statuses=[status("ka", NOON - timedelta(minutes=1), outbox=90, skew=3.5)]), (NOON - timedelta(minutes=1)).isoformat())
    row = by_kiosk(store)["ka"]
    assert (row["status"], row["version"], row["camera_fps"], row["clock_synced"]) == ("online", "1.4.0", 14.5, True)
    assert (row["backlog"], row["backlog_before"], row["clock_skew_s"]) == (90, 40, 3.5)
    assert row["backlog_before_at"] == (NOON - timedelta(minutes=2)).isoformat()
    assert judge(row, SETTINGS, NOON)["flags"] == ["growing"]


def test_ok__an_older_status_arriving_late_changes_nothing(store):
    store.commit(Batch(statuses=[status("ka", NOON, outbox=5)]), NOON.isoformat())
    store.commit(Batch(statuses=[status("ka", NOON - timedelta(minutes=5), outbox=500)]), NOON.isoformat())
    row = by_kiosk(store)["ka"]
    assert (row["backlog"], row["backlog_before"]) == (5, None)


def test_ok__watermark_highest_and_gaps_come_from_the_acks(store):
    store.commit(Batch(events=[dose("kb", 1), dose("kb", 2, "036058001234"), dose("kb", 5, "036058001235"),
                               dose("kb", 9, "036058001236")]), NOON.isoformat())
    row = by_kiosk(store)["kb"]
    assert (row["watermark"], row["highest"], row["gaps"], row["missing"]) == (2, 9, ((3, 4), (6, 8)), 5)


def test_ok__without_a_status_the_latest_event_says_whether_the_clock_is_synchronised(store):
    assert by_kiosk(store)["kc"]["clock_synced"] is None
    store.commit(Batch(events=[event_unsynced("kc", 1)]), NOON.isoformat())
    assert by_kiosk(store)["kc"]["clock_synced"] is False
    assert judge(by_kiosk(store)["kc"], SETTINGS, NOON)["flags"] == ["unsynced"]
    store.commit(Batch(statuses=[status("kc", NOON, synced=True)]), NOON.isoformat())
    assert by_kiosk(store)["kc"]["clock_synced"] is True  # the status, when it says, over the event


def event_unsynced(kiosk: str, seq: int) -> wire.Event:
    """An event whose kiosk clock was not synchronised."""
    body = wire.envelope(kiosk, seq, "PersonCalled", boot="b", at="2024-05-01T11:59:00+07:00", clock_synced=False,
                    payload={"ticket": {"day": "2024-05-01", "number": 1}, "id_number": "001190012345",
                             "by": {"staff_id": 7, "name": "Y tá Hoa"}})
    return wire.parse_event(wire.topic(kiosk, wire.EVENT), signer(kiosk).sign(body))


@pytest.mark.parametrize(("now", "flagged"), [(NOON, True), (NIGHT, False)])
def test_ok__a_silent_kiosk_is_offline_and_flagged_only_in_working_hours(store, now, flagged):
    store.commit(Batch(statuses=[status("ka", now - timedelta(minutes=11))]), (now - timedelta(minutes=11)).isoformat())
    store.commit(Batch(statuses=[status("kb", now - timedelta(minutes=9))]), (now - timedelta(minutes=9)).isoformat())
    judged = {row["kiosk"]: row for row in judge_all(store.fleet_kiosks(), SETTINGS, now)}
    assert (judged["ka"]["state"], judged["ka"]["silent_minutes"]) == ("offline", 11)
    assert judged["kb"]["state"] == "online" and judged["kb"]["flags"] == []
    assert judged["kc"]["state"] == "offline" and judged["kc"]["silent_minutes"] is None  # never heard from
    assert ("offline" in judged["ka"]["flags"]) is flagged and ("offline" in judged["kc"]["flags"]) is flagged
    assert (set(list(judged)[:2]) == {"ka", "kc"}) is flagged  # flagged first


def test_ok__a_clean_stop_is_stopped_and_not_flagged_while_recent(store):
    store.commit(Batch(statuses=[status("ka", NOON - timedelta(minutes=1), state="stopped")]), NOON.isoformat())
    row = judge(by_kiosk(store)["ka"], SETTINGS, NOON)
    assert (row["state"], row["flags"]) == ("stopped", [])


@pytest.mark.parametrize(("changes", "flags"), [
    ({"backlog": 201}, ["backlog"]),
    ({"backlog": 200}, []),
    ({"backlog": 30, "backlog_before": 12}, ["growing"]),
    ({"backlog": 9, "backlog_before": 2}, []),
    ({"backlog": 30, "backlog_before": 30}, []),
    ({"clock_skew_s": -121.0}, ["skew"]),
    ({"clock_skew_s": 119.0}, []),
    ({"clock_synced": False}, ["unsynced"]),
    ({"backlog": 250, "backlog_before": 240, "clock_skew_s": 500.0, "clock_synced": False},
     ["backlog", "growing", "skew", "unsynced"]),
])
def test_ok__each_flag_by_its_threshold(changes, flags):
    kiosk = {"kiosk": "ka", "status": "online", "last_seen": NOON.isoformat(), "backlog": 0, "backlog_before": None,
             "clock_skew_s": 0.0, "clock_synced": True, **changes}
    assert judge(kiosk, SETTINGS, NOON)["flags"] == flags and set(flags) <= set(FLAGS)


@pytest.mark.parametrize(("hours", "utc_hour", "inside"), [
    ("07:00-17:00", 0, True), ("07:00-17:00", 23, False), ("07:00-17:00", 10, False), ("06:30-11:00", 3, True),
    ("06:30-11:00", 4, False),
])
def test_ok__working_hours_are_vietnam_time_whatever_the_machine_zone(hours, utc_hour, inside):
    now = datetime(2024, 5, 1, utc_hour, 0, tzinfo=timezone.utc)
    assert in_working_hours(now, FleetSettings(working_hours=hours)) is inside
    assert in_working_hours(now.astimezone(timezone(timedelta(hours=-5))), FleetSettings(working_hours=hours)) is inside


def test_ok__only_enrolled_kiosks_are_listed(store):
    store.commit(Batch(events=[dose("kz", 1)]), NOON.isoformat())  # a kiosk the hub never enrolled (the store keeps its row)
    assert sorted(by_kiosk(store)) == ["ka", "kb", "kc"]


# -- dose_counts: the front page's counts, kept by the merge (hub/store/live.py count_doses) -----------------------

def recount(db) -> list[tuple]:
    """dose_counts as it should be: the live doses grouped again from scratch."""
    counted: dict[tuple, int] = {}
    for given_on, kiosk, given_at in db.rows("SELECT given_on, kiosk, given_at FROM doses WHERE voided_by IS NULL"):
        hour = given_at[11:13]
        key = (given_on, kiosk, int(hour) if len(hour) == 2 and hour.isdigit() else -1)
        counted[key] = counted.get(key, 0) + 1
    return sorted((*key, n) for key, n in counted.items())


def kept(db) -> list[tuple]:
    return db.rows("SELECT given_on, kiosk, hour, doses FROM dose_counts WHERE doses != 0 ORDER BY 1, 2, 3")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["dose", "void", "hub_void", "hub_add"]), st.integers(0, 3), st.integers(1, 4),
                          st.sampled_from(["2024-05-01", "2024-05-02"])), min_size=1, max_size=25),
       st.integers(1, 6))
def test_ok__dose_counts_are_always_the_live_doses_counted_again(db, steps, batch):
    from hub import corrections as hub_corrections
    from hub.errors import CorrectionError

    from .hub_helpers import void as void_event

    people = ["001190012345", "036058001234", "079185004321", "001203004567"]
    db.reset()
    with db.open() as store:
        seq, pending, doses = 0, [], {}
        for kind, who, number, day in steps:
            person = people[who]
            if kind == "dose":
                seq += 1
                pending.append(dose("ka", seq, person, number=number, on=day))
                doses[seq] = person
            elif kind == "void" and doses:
                target = sorted(doses)[number % len(doses)]
                seq += 1
                pending.append(void_event("ka", seq, target, doses[target]))
            if len(pending) >= batch:
                store.commit(Batch(events=pending), "2024-05-02T08:00:00+00:00")
                pending = []
            if kind in ("hub_void", "hub_add") and doses:
                target = sorted(doses)[number % len(doses)]
                try:
                    store.correct(hub_corrections.void_dose(doses[target], target=f"ka:{target}", reason="nhầm")
                                  if kind == "hub_void" else
                                  hub_corrections.add_dose(person, product="comirnaty_30", lot_number="P1", number=number,
                                                           booster=None, given_on=day, place="Bệnh viện", reason="bù",
                                                           evidence="giấy"),
                                  staff_id=None, by="tester", at="2024-05-02T09:00:00+00:00")
                except CorrectionError:
                    pass  # a dose not merged yet, voided already, or a person not known: refused, nothing written
        store.commit(Batch(events=pending), "2024-05-02T08:00:00+00:00")
    assert kept(db) == recount(db)
