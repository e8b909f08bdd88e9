"""The district's corrections (hub/corrections.py, hub/store/corrections.py) on a real hub database filled by the real
store, SQLite and PostgreSQL (tests/hub_stores.py): each kind of correction and resolution, what it settles, and every
refusal leaving the database as it was, also when two staff members settle one conflict at the same moment."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given, settings, strategies as st

from hub import corrections as fix
from hub.errors import CorrectionError
from hub.roster.files import parse_roster
from hub.store import Batch

from .hub_helpers import HUNG_ID, LAN, LAN_ID, check_in, dose
from .hub_stores import SqliteDb, at_once, both_stores

AT = "2024-06-01T09:00:00+00:00"
STAFF = dict(staff_id=3, by="Cán bộ Mai")


db = both_stores()


@pytest.fixture
def hub(db):
    with db.open() as store:
        yield store


def commit(store, *events) -> None:
    store.commit(Batch(events=list(events)), AT)


def conflicts(db) -> list[dict]:
    keys = ("id", "kind", "state", "resolved_by", "referred_by")
    return [dict(zip(keys, row)) for row in db.rows(f"SELECT {', '.join(keys)} FROM conflicts ORDER BY id")]


def only(db, kind: str) -> dict:
    [found] = [c for c in conflicts(db) if c["kind"] == kind]
    return found


# -- doses --------------------------------------------------------------------------------------------------------------

def test_ok__voiding_one_of_a_dose_recorded_twice_resolves_the_conflict_and_keeps_both_rows(hub, db):
    commit(hub, check_in("ka", 1), dose("ka", 2), dose("kb", 1))
    duplicate = only(db, "duplicate_dose")
    void = hub.correct(fix.void_dose(LAN_ID, target="kb:1", reason="ghi hai lần", resolves=duplicate["id"]), **STAFF, at=AT)
    assert void == "@hub:1"
    assert only(db, "duplicate_dose") == {**duplicate, "state": "resolved", "resolved_by": "@hub:1"}
    assert db.row("SELECT count(*), sum(CASE WHEN voided_by = '@hub:1' THEN 1 ELSE 0 END) FROM doses") == (2, 1)
    assert hub.stats()["corrections"] == {fix.DOSE_VOIDED: 1}
    [event] = hub.hub_events(LAN_ID)
    assert (event["id"], event["type"], event["by"], event["payload"]["reason"]) == ("@hub:1", fix.DOSE_VOIDED, "Cán bộ Mai", "ghi hai lần")


def test_ok__an_interval_accepted_for_a_clinical_reason_is_resolved_and_both_doses_stay_live(hub, db):
    commit(hub, check_in("ka", 1), dose("ka", 2, number=1, on="2024-05-01"), dose("ka", 3, number=2, on="2024-05-05"))
    short = only(db, "interval_too_short")
    hub.correct(fix.resolve_conflict(LAN_ID, conflict=short["id"], resolution="accepted", reason="chỉ định của bác sĩ"),
                **STAFF, at=AT)
    assert only(db, "interval_too_short")["state"] == "resolved"
    assert db.row("SELECT count(*) FROM doses WHERE voided_by IS NULL") == (2,)


def test_ok__a_dose_given_elsewhere_is_a_dose_of_the_hub_with_its_place_and_the_staff_member(hub, db):
    commit(hub, check_in("ka", 1))
    hub.correct(fix.add_dose(LAN_ID, product="comirnaty_30", lot_number="FK9", number=1, booster=None,
                             given_on="2021-09-01", place="Bệnh viện quận", reason="mũi tiêm còn thiếu",
                             evidence="giấy xác nhận tiêm"), **STAFF, at=AT)
    assert db.row("SELECT event_id, kiosk, given_on, vaccinator, place FROM doses") == (
        "@hub:1", "@hub", "2021-09-01", "Cán bộ Mai", "Bệnh viện quận")
    commit(hub, dose("ka", 2, number=1, on="2024-05-01"))  # the kiosk records dose 1 again: a conflict, both kept
    assert json.loads(db.row("SELECT event_ids FROM conflicts WHERE kind = 'duplicate_dose'")[0]) == ["@hub:1", "ka:2"]


def test_ok__a_hub_void_of_an_interval_dose_settles_it_without_naming_it(hub, db):
    commit(hub, dose("ka", 1, number=1, on="2024-05-01"), dose("ka", 2, number=2, on="2024-05-05"))
    hub.correct(fix.void_dose(LAN_ID, target="ka:2", reason="ngày ghi sai"), **STAFF, at=AT)
    assert only(db, "interval_too_short")["resolved_by"] == "@hub:1"


# -- identity -------------------------------------------------------------------------------------------------------------

def test_ok__a_corrected_identity_becomes_the_record_and_settles_the_open_identity_conflicts(hub, db):
    commit(hub, check_in("ka", 1), check_in("kb", 1, full_name="Nguyễn Thị Lam"))
    mismatch = only(db, "identity_mismatch")
    hub.correct(fix.correct_identity(LAN_ID, **LAN, reason="đối chiếu", evidence="đã xem thẻ CCCD"), **STAFF, at=AT)
    assert only(db, "identity_mismatch") == {**mismatch, "state": "resolved", "resolved_by": "@hub:1"}
    assert db.row("SELECT full_name FROM people") == (LAN["full_name"],)
    assert hub.hub_events(LAN_ID)[0]["payload"]["resolves"] == [mismatch["id"]]


def test_ok__two_different_people_closes_the_mismatch(hub, db):
    commit(hub, check_in("ka", 1), check_in("kb", 1, full_name="Phạm Văn Tư", sex="Nam"))
    mismatch = only(db, "identity_mismatch")
    hub.correct(fix.resolve_conflict(LAN_ID, conflict=mismatch["id"], resolution="different_people", reason="hai người"),
                **STAFF, at=AT)
    assert only(db, "identity_mismatch")["state"] == "resolved"


def test_ok__the_police_answer_corrects_the_identity_of_a_case_referred_to_them(hub, db):
    commit(hub, check_in("ka", 1), check_in("kb", 1, full_name="Nguyễn Thị Lam"))
    mismatch = only(db, "identity_mismatch")
    referral = hub.correct(fix.refer_to_police(LAN_ID, conflict=mismatch["id"], commune="Bến Nghé"), **STAFF, at=AT)
    assert only(db, "identity_mismatch")["state"] == "police"
    assert only(db, "identity_mismatch")["referred_by"] == referral
    answer = hub.correct(fix.police_answer(LAN_ID, conflict=mismatch["id"], answer="corrected",
                                           corrected={**LAN, "full_name": "Nguyễn Thị Lam"}, note="CSDL dân cư"),
                         **STAFF, at=AT)
    assert only(db, "identity_mismatch")["resolved_by"] == answer
    assert db.row("SELECT full_name FROM people") == ("Nguyễn Thị Lam",)


def test_ok__id_digits_that_contradict_the_sex_are_a_case_that_a_correction_settles(hub, db):
    commit(hub, check_in("ka", 1, sex="Nam"))  # digit 4 of 001190012345 says a woman born in the 1900s
    case = only(db, "id_contradiction")
    assert json.loads(db.row(f"SELECT detail FROM conflicts WHERE id = '{case['id']}'")[0])["reason"] == "id_sex_mismatch"
    hub.correct(fix.correct_identity(LAN_ID, **LAN, reason="giới tính ghi sai", evidence="thẻ CCCD"), **STAFF, at=AT)
    assert only(db, "id_contradiction")["state"] == "resolved"  # the settled case stays as history


def test_ok__a_roster_mismatch_marked_roster_wrong_stays_settled_through_later_events(tmp_path):
    """On SQLite only: the roster import is not on PostgreSQL yet (docs/province.md)."""
    db = SqliteDb(tmp_path / "hub.db")
    hub = db.open()
    today = datetime.date(2024, 6, 1)
    csv = f"Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường\r\n{LAN_ID},Nguyễn Thị Lệ,15/03/1990,Nữ,Bến Nghé\r\n".encode()
    commit(hub, check_in("ka", 1))
    hub.import_roster(parse_roster(csv, "list.csv", today), "list.csv", "tester", AT)
    case = only(db, "roster_mismatch")
    hub.correct(fix.resolve_conflict(LAN_ID, conflict=case["id"], resolution="roster_wrong", reason="danh sách gõ sai"),
                **STAFF, at=AT)
    commit(hub, dose("ka", 2))
    hub.import_roster(parse_roster(csv.replace("Bến Nghé".encode(), "Đa Kao".encode()), "list.csv", today), "list.csv", "tester", AT)
    hub.close()
    assert only(db, "roster_mismatch")["state"] == "resolved"


# -- refusals -------------------------------------------------------------------------------------------------------------

REFUSED = {
    "unknown_person": lambda ids: fix.void_dose(HUNG_ID, target="ka:2", reason="x"),
    "unknown_dose": lambda ids: fix.void_dose(LAN_ID, target="ka:1", reason="x"),
    "does_not_fit": lambda ids: fix.resolve_conflict(LAN_ID, conflict=ids["duplicate_dose"], resolution="accepted",
                                                     reason="x"),
    "not_in_conflict": lambda ids: fix.void_dose(LAN_ID, target="ka:4", reason="x", resolves=ids["duplicate_dose"]),
    "unknown_conflict": lambda ids: fix.resolve_conflict(LAN_ID, conflict="duplicate_dose:0", resolution="accepted",
                                                         reason="x"),
    "not_awaiting_police": lambda ids: fix.police_answer(LAN_ID, conflict=ids["identity_mismatch"], answer="confirmed"),
    "unknown_product": lambda ids: fix.add_dose(LAN_ID, product="sputnik_x", lot_number="1", number=1, booster=None,
                                                given_on="2024-01-01", place="x", reason="x", evidence="x"),
    "date_in_future": lambda ids: fix.add_dose(LAN_ID, product="comirnaty_30", lot_number="1", number=1, booster=None,
                                               given_on="2024-06-02", place="x", reason="x", evidence="x"),
}


@pytest.mark.parametrize("code", REFUSED)
def test_fail__a_correction_the_records_contradict_is_refused_and_nothing_changes(hub, db, code):
    commit(hub, check_in("ka", 1), dose("ka", 2), dose("kb", 1), check_in("kb", 2, full_name="Nguyễn Thị Lam"),
           dose("ka", 4, number=2, on="2024-05-30"))
    ids = {c["kind"]: c["id"] for c in conflicts(db)}
    before = db.snapshot()
    with pytest.raises(CorrectionError) as refused:
        hub.correct(REFUSED[code](ids), **STAFF, at=AT)
    assert refused.value.code == code
    assert db.snapshot() == before and hub.hub_events(LAN_ID) == []


def test_fail__a_conflict_settles_once_even_when_two_staff_members_try(hub, db):
    commit(hub, dose("ka", 1), dose("kb", 1))
    duplicate = only(db, "duplicate_dose")
    hub.correct(fix.void_dose(LAN_ID, target="kb:1", reason="x", resolves=duplicate["id"]), **STAFF, at=AT)
    with pytest.raises(CorrectionError) as refused:
        hub.correct(fix.void_dose(LAN_ID, target="ka:1", reason="x", resolves=duplicate["id"]), **STAFF, at=AT)
    assert refused.value.code in ("conflict_not_open", "dose_already_voided")
    assert db.row("SELECT count(*) FROM doses WHERE voided_by IS NULL") == (1,)


def test_fail__a_conflict_settles_once_when_two_staff_members_try_at_the_same_moment(hub, db):
    """Two workspaces (two connections) void the two doses of one duplicate at once, each settling the conflict: the
    person is held while a correction is checked, kept and derived, so exactly one of them is kept."""
    commit(hub, dose("ka", 1), dose("kb", 1))
    duplicate = only(db, "duplicate_dose")

    def settle(target):
        def attempt(store):
            try:
                return store.correct(fix.void_dose(LAN_ID, target=target, reason="x", resolves=duplicate["id"]),
                                     **STAFF, at=AT)
            except CorrectionError as exc:
                return exc.code
        return attempt

    outcomes = at_once(db, [settle("ka:1"), settle("kb:1")], connections=2)
    assert sorted(outcomes, key=str)[0] == "@hub:1" and outcomes.count("@hub:1") == 1, outcomes
    assert set(outcomes) - {"@hub:1"} <= {"conflict_not_open", "dose_already_voided"}
    assert db.row("SELECT count(*) FROM doses WHERE voided_by IS NULL") == (1,)
    assert only(db, "duplicate_dose")["state"] == "resolved"


def test_ok__a_correction_and_a_batch_about_one_person_at_the_same_moment_end_as_one_after_the_other(hub, db, tmp_path):
    """A worker merges the person's doses while a staff member adds one from elsewhere, on two connections: neither
    waits on the other in a cycle, and the person is derived from both, as when they come one after the other."""
    commit(hub, check_in("ka", 1))
    doses = [dose("ka", 2), dose("kb", 1, number=2, on="2024-05-30")]
    added = fix.add_dose(LAN_ID, product="comirnaty_30", lot_number="FK9", number=1, booster=None, given_on="2021-09-01",
                         place="Bệnh viện quận", reason="mũi tiêm còn thiếu", evidence="giấy xác nhận")
    done = at_once(db, [lambda store: store.commit(Batch(events=doses), AT).merged,
                        lambda store: store.correct(added, **STAFF, at=AT)], connections=2)
    one_after_the_other = SqliteDb(tmp_path / "sequential.db")
    with one_after_the_other.open() as store:
        commit(store, check_in("ka", 1), *doses)
        store.correct(added, **STAFF, at=AT)
    assert sorted(done, key=str) == [2, "@hub:1"] and db.snapshot() == one_after_the_other.snapshot()


def test_fail__a_dose_voided_twice_is_refused(hub, db):
    commit(hub, dose("ka", 1))
    hub.correct(fix.void_dose(LAN_ID, target="ka:1", reason="x"), **STAFF, at=AT)
    with pytest.raises(CorrectionError, match="already voided"):
        hub.correct(fix.void_dose(LAN_ID, target="ka:1", reason="x"), **STAFF, at=AT)


field = st.one_of(st.text(max_size=30), st.sampled_from(["", "  ", "Nam", "Nữ", "2024-02-30", "1990-03-15", "1" * 12,
                                                         "=cmd", "x" * 600]))


@settings(max_examples=150, deadline=None)
@given(number=field, name=field, birth=field, sex=field, old=field, reason=field, evidence=field)
def test_fail__any_form_input_builds_a_correction_or_is_refused_with_a_known_reason(number, name, birth, sex, old, reason,
                                                                                   evidence):
    try:
        built = fix.correct_identity(number, full_name=name, birth_date=birth, sex=sex, old_id=old, reason=reason,
                                     evidence=evidence)
    except CorrectionError as exc:
        assert exc.code in fix.REASONS and str(exc) == fix.REASONS[exc.code][1]
        return
    assert fix.ID_NUMBER.fullmatch(built.id_number) and built.payload["corrected"]["sex"] in fix.SEXES
    assert all(0 < len(built.payload[k]) <= fix.MAX_TEXT for k in ("reason", "evidence"))
    datetime.date.fromisoformat(built.payload["corrected"]["birth_date"])


def test_ok__every_reason_has_both_languages():
    assert all(vi and en and vi != en for vi, en in fix.REASONS.values())


def test_ok__a_dose_given_today_in_vietnam_is_not_in_the_future_while_utc_is_still_yesterday(hub, db):
    commit(hub, check_in("ka", 1))
    at = "2024-06-01T23:30:00+00:00"  # 06:30 on 2 June in Vietnam
    hub.correct(fix.add_dose(LAN_ID, product="comirnaty_30", lot_number="FK9", number=1, booster=None,
                             given_on="2024-06-02", place="Trạm y tế", reason="mũi tiêm còn thiếu", evidence="phiếu tiêm"),
                **STAFF, at=at)
    with pytest.raises(CorrectionError, match="after today"):
        hub.correct(fix.add_dose(LAN_ID, product="comirnaty_30", lot_number="FK9", number=2, booster=None,
                                 given_on="2024-06-03", place="Trạm y tế", reason="x", evidence="x"), **STAFF, at=at)
