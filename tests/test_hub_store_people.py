"""hub/people.py and hub/store/people.py on a real hub database, SQLite and PostgreSQL (tests/hub_stores.py): the search
(ID number; name folded + year of birth), the refs, the indexes the searches use (each engine's plan), the record
assembled from the real merge's tables. The tests that import a roster run on SQLite only: the roster import is not on
PostgreSQL yet (docs/province.md)."""

from __future__ import annotations

import datetime
import sqlite3
import unicodedata

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.errors import SearchError
from hub.people import fold_name, mask_number, name_pattern, name_regex, parse_search
from hub.roster.files import parse_roster
from hub.store import Batch
from hub.store import people as people_sql
from hub.store.postgres.dialect import translate
from hub.store.postgres.workspace import REGEX
from hub.store.sqlite import open_store

from .hub_helpers import HUNG_ID, LAN_ID, STAFF, check_in, dose, event, ticket, void
from .hub_stores import PostgresDb, both_stores

AT = "2026-03-02T08:00:00+07:00"
TODAY = datetime.date(2026, 3, 2)
HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường"
MAI_ID = "001190054321"
VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđbcghklmnpqrstvx"


def roster(store, *lines: str) -> None:
    data = ("\r\n".join([HEADER, *lines]) + "\r\n").encode()
    store.import_roster(parse_roster(data, "list.csv", TODAY), "list.csv", "tester", AT)


db = both_stores()


@pytest.fixture
def store(db):
    with db.open() as store:
        store.enroll("ka", "Trạm y tế Phường 1", None, AT)
        yield store


@pytest.fixture
def rostered(tmp_path):
    """A SQLite store: for the tests that import a roster (not on PostgreSQL yet) and SQLite's query plans."""
    with open_store(tmp_path / "hub.db") as store:
        store.enroll("ka", "Trạm y tế Phường 1", None, AT)
        yield store


def deferral(kiosk: str, seq: int, id_number: str = LAN_ID):
    return event(kiosk, seq, "PersonDeferred", {**ticket(seq, id_number), "reason": "Sốt 38,5", "return_on": "2024-05-08",
                                                "by": STAFF})


def reaction(kiosk: str, seq: int, dose_seq: int, id_number: str = LAN_ID):
    aefi = {"severity": "moderate", "symptoms": "Sốt, đau đầu", "dose_event": f"{kiosk}:{dose_seq}"}
    return event(kiosk, seq, "AefiRecorded", {**ticket(seq, id_number), "aefi": aefi, "by": STAFF},
                 at="2024-05-01T10:05:00+07:00")


# -- the fold and the pattern ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, stored", [
    ("Nguyen Van A", "Nguyễn Văn A"), ("  nguyen   VAN a ", "Nguyễn Văn A"), ("Do Duc Dung", "Đỗ Đức Dũng"),
    ("do duc dung", "đỗ đức dũng"), ("Hoa", "Hòa"), ("Hoa", "Hoà"), ("TRUONG THI HUONG", "Trương Thị Hương"),
    ("Nguyễn Văn A", unicodedata.normalize("NFD", "Nguyễn Văn A")),
])
def test_ok__names_fold_without_marks_case_or_spacing(typed, stored):
    assert fold_name(typed) == fold_name(stored)


@pytest.mark.parametrize("typed, stored", [("Nguyen Van B", "Nguyễn Văn A"), ("Nguyen Van", "Nguyễn Văn A"),
                                           ("Le Thi Mai", "Lê Thị Mải Anh")])
def test_fail__other_names_do_not_fold_alike(typed, stored):
    assert fold_name(typed) != fold_name(stored)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " *?[]^-Ö", min_size=1, max_size=30),
       st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " *?[]^-Ö", min_size=1, max_size=30))
def test_ok__the_glob_pattern_matches_exactly_the_names_that_fold_alike(stored, typed):
    stored = " ".join(unicodedata.normalize("NFC", stored).split()) or "x"
    folded = fold_name(typed)
    conn = sqlite3.connect(":memory:")
    glob = conn.execute("SELECT ? GLOB ?", (stored, name_pattern(folded))).fetchone()[0]
    assert bool(glob) == (fold_name(stored) == folded)
    assert bool(conn.execute("SELECT ? GLOB ?", (stored, name_pattern(fold_name(stored)))).fetchone()[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " *?[]^-Ö.()+$|{}\\", min_size=1, max_size=30),
       st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " *?[]^-Ö.()+$|{}\\", min_size=1, max_size=30))
def test_ok__the_regular_expression_matches_on_postgresql_exactly_the_names_that_fold_alike(pg_url, stored, typed):
    """PostgreSQL has no GLOB: its search matches names with name_regex, which must say what name_pattern says."""
    stored = " ".join(unicodedata.normalize("NFC", stored).split()) or "x"
    folded = fold_name(typed)
    with psycopg.connect(pg_url) as conn:
        matched, itself = conn.execute("SELECT %s ~ %s, %s ~ %s", (stored, name_regex(folded), stored,
                                                                  name_regex(fold_name(stored)))).fetchone()
    assert matched == (fold_name(stored) == folded) and itself


@pytest.mark.parametrize("number, name, year, code", [
    ("", "", "", "empty"), ("12345", "", "", "bad_number"), ("00119001234x", "", "", "bad_number"),
    ("", "Nguyễn Văn A", "", "no_year"), ("", "Nguyễn Văn A", "90", "bad_year"), ("", "Nguyễn Văn A", "1700", "bad_year"),
    ("", "A" * 101, "1990", "bad_name"), ("", "Nguyễn\x00Văn", "1990", "bad_name"),
])
def test_fail__a_search_that_cannot_run_says_why(number, name, year, code):
    with pytest.raises(SearchError) as refused:
        parse_search(number, name, year)
    assert refused.value.code == code and (not name or name not in str(refused.value))


def test_ok__a_search_takes_spaced_numbers_and_prefers_the_number():
    assert parse_search(" 001 190 012 345 ", "Lan", "").number == LAN_ID
    assert parse_search("", " Nguyễn  Văn A ", "1990").name == "nguyen van a"
    assert mask_number(LAN_ID) == "•••••••••345"


# -- the search on the database ----------------------------------------------------------------------------------------


def test_ok__find_by_number_merged_or_on_the_roster_with_a_stable_random_ref(rostered):
    rostered.commit(Batch(events=[check_in("ka", 1), dose("ka", 2)]), AT)
    roster(rostered, f"{HUNG_ID},Trần Văn Hùng,1958,Nam,Tân Lập")
    [lan] = rostered.find_people(number=LAN_ID)
    [hung] = rostered.find_people(number=HUNG_ID)
    assert (lan.full_name, lan.birth_year, lan.doses, lan.on_roster) == ("Nguyễn Thị Lan", "1990", 1, False)
    assert (hung.full_name, hung.commune, hung.doses, hung.on_roster) == ("Trần Văn Hùng", "Tân Lập", 0, True)
    assert rostered.find_people(number=LAN_ID)[0].ref == lan.ref != hung.ref
    assert len(lan.ref) == 16 and LAN_ID not in lan.ref and not any(part in lan.ref for part in ("001190", "12345"))
    assert rostered.find_people(number="079123456789") == []


def test_ok__find_by_name_ignores_marks_and_lists_several(rostered):
    rostered.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2, MAI_ID)]), AT)
    roster(rostered, f"{HUNG_ID},Đỗ Đức Dũng,1958,Nam,Tân Lập", "079058001111,Đỗ Đức Dũng,12/01/1958,Nam,Phường 2")
    assert [m.id_number for m in rostered.find_people(name="nguyen thi lan", birth_year="1990")] == [LAN_ID, MAI_ID]
    found = rostered.find_people(name="DO DUC DUNG", birth_year="1958")
    assert [(m.id_number, m.commune) for m in found] == [("036058001234", "Tân Lập"), ("079058001111", "Phường 2")]
    assert rostered.find_people(name="Do Duc Dung", birth_year="1959") == []
    assert rostered.find_people(name="Do Duc", birth_year="1958") == []


def test_ok__a_corrected_roster_name_is_found_by_its_new_spelling_only(rostered):
    roster(rostered, f"{HUNG_ID},Tran Van Hung,1958,Nam,Tân Lập")
    roster(rostered, f"{HUNG_ID},Trần Văn Hưng,1958,Nam,Tân Lập")
    assert [m.full_name for m in rostered.find_people(name="tran van hung", birth_year="1958")] == ["Trần Văn Hưng"]
    roster(rostered, f"{HUNG_ID},Trần Minh Hưng,1958,Nam,Tân Lập")
    assert rostered.find_people(name="tran van hung", birth_year="1958") == []


def test_ok__the_searches_use_indexes(rostered):
    plans = {
        "number": people_sql.BY_NUMBER, "name": people_sql.BY_NAME,
    }
    args = {"number": LAN_ID, "year": "1990", "length": 14, "pattern": name_pattern("nguyen thi lan")}
    for what, sql in plans.items():
        plan = [row[3] for row in rostered.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
        assert not [step for step in plan if step.startswith("SCAN")], (what, plan)
        assert sum(step.startswith("SEARCH") for step in plan) == 2, (what, plan)
    name_plan = " ".join(row[3] for row in rostered.conn.execute(f"EXPLAIN QUERY PLAN {people_sql.BY_NAME}", args))
    assert "USING INDEX people_by_name" in name_plan and "USING INDEX roster_by_name" in name_plan
    for sql in ("SELECT * FROM person_refs WHERE ref = 'x'", "SELECT * FROM person_refs WHERE id_number = 'x'",
                "SELECT * FROM events WHERE id_number = 'x'", "SELECT * FROM doses WHERE id_number = 'x'",
                "SELECT * FROM conflicts WHERE id_number = 'x'", "SELECT * FROM voids WHERE target_id = 'x'"):
        assert "SEARCH" in rostered.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchone()[3], sql


def test_ok__find_merged_people_by_number_and_by_name_in_any_spelling(store):
    dung = dict(full_name="Đỗ Đức (Dũng) + 1.", birth_date="1958-01-12", sex="Nam")
    store.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2, MAI_ID), check_in("ka", 3, HUNG_ID, **dung)]), AT)
    [lan] = store.find_people(number=LAN_ID)
    assert (lan.full_name, lan.birth_year, lan.doses, lan.on_roster, len(lan.ref)) == ("Nguyễn Thị Lan", "1990", 0, False, 16)
    assert [m.id_number for m in store.find_people(name="NGUYEN  thi lan", birth_year="1990")] == [LAN_ID, MAI_ID]
    assert store.find_people(name="nguyen thi lan", birth_year="1990")[0].ref == lan.ref
    assert [m.id_number for m in store.find_people(name="do duc (dung) + 1.", birth_year="1958")] == [HUNG_ID]
    assert store.find_people(name="do duc xdungx + 1x", birth_year="1958") == []  # signs are matched as themselves
    assert store.find_people(name="nguyen thi lan", birth_year="1991") == [] == store.find_people(number=HUNG_ID[:-1] + "9")


def test_ok__briefs_of_the_people_behind_a_figure_with_refs_made_once(store):
    store.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2, MAI_ID)]), AT)
    briefs = store.people_briefs([MAI_ID, LAN_ID, MAI_ID])
    assert briefs[LAN_ID] == {"ref": store.find_people(number=LAN_ID)[0].ref, "id_number": LAN_ID,
                              "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ"}
    assert sorted(briefs) == [LAN_ID, MAI_ID] and store.people_briefs([MAI_ID])[MAI_ID]["ref"] == briefs[MAI_ID]["ref"]
    store.ping()


def test_ok__the_searches_use_indexes_on_postgresql(pg_url):
    PostgresDb(pg_url).open().close()  # the schema
    args = {"number": LAN_ID, "year": "1990", "length": 14, "pattern": name_regex("nguyen thi lan")}
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")  # the tables are nearly empty: without this any plan is a scan
        for sql, indexes in ((people_sql.BY_NUMBER, ("people_pkey", "roster_pkey")),
                             (REGEX.sql, ("people_by_name", "roster_by_name"))):
            plan = " ".join(row[0] for row in conn.execute(f"EXPLAIN {translate(sql)}", args))
            assert all(index in plan for index in indexes) and "Seq Scan" not in plan, plan
        for sql in ("SELECT * FROM person_refs WHERE ref = 'x'", "SELECT * FROM person_refs WHERE id_number = 'x'",
                    "SELECT * FROM events WHERE id_number = 'x'", "SELECT * FROM doses WHERE id_number = 'x'",
                    "SELECT * FROM conflicts WHERE id_number = 'x'", "SELECT * FROM voids WHERE target_id = 'x'"):
            plan = " ".join(row[0] for row in conn.execute(f"EXPLAIN {sql}"))
            assert "Index" in plan and "Seq Scan" not in plan, (sql, plan)


# -- the record ----------------------------------------------------------------------------------------------------------


def test_ok__the_record_has_doses_voids_deferrals_reactions_conflicts_and_history_in_time_order(rostered):
    events = [check_in("ka", 1), dose("ka", 2), reaction("ka", 3, 2), dose("ka", 4, number=2, on="2024-05-10"), void("ka", 5, 4),
              deferral("ka", 6), dose("kb", 1, number=1), check_in("kb", 2)]
    rostered.commit(Batch(events=events), AT)
    roster(rostered, f"{LAN_ID},Nguyễn Thị Lanh,15/03/1990,Nữ,Bến Nghé")
    record = rostered.person_record(rostered.find_people(number=LAN_ID)[0].ref)
    assert record.person["full_name"] == "Nguyễn Thị Lan" and record.roster["commune"] == "Bến Nghé"
    assert record.differences == ["full_name"]
    doses = {d["event_id"]: d for d in record.doses}
    assert doses["ka:2"]["site"] == "Trạm y tế Phường 1" and doses["kb:1"]["site"] == ""
    assert doses["ka:4"]["void"] == {"id": "ka:5", "by": "Y tá Hoa", "reason": "wrong person", "at": "2024-05-01 08:00"}
    assert record.live_doses == 2
    assert [e.id for e in record.deferrals] == ["ka:6"] and [e.id for e in record.reactions] == ["ka:3"]
    assert [c["kind"] for c in record.conflicts] == ["duplicate_dose", "roster_mismatch"]
    history = [e.id for e in record.history]
    assert sorted(history) == sorted(e.id for e in events) and history.index("ka:3") == len(history) - 1  # 10:05, the latest
    assert [e.voided_by for e in record.history if e.id == "ka:4"] == ["ka:5"]


def test_ok__someone_only_on_the_roster_has_a_record_without_doses(rostered):
    roster(rostered, f"{HUNG_ID},Trần Văn Hùng,1958,Nam,Tân Lập")
    record = rostered.person_record(rostered.find_people(number=HUNG_ID)[0].ref)
    assert record.person is None and record.doses == [] and record.history == [] and record.roster["full_name"] == "Trần Văn Hùng"


def test_fail__an_unknown_ref_has_no_record(store):
    assert store.person_record("AAAAAAAAAAAAAAAA") is None


def test_ok__a_conflict_leads_to_its_person_s_ref(store):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1)]), AT)
    [conflict] = store.person_record(store.find_people(number=LAN_ID)[0].ref).conflicts
    assert store.conflict_ref(conflict["id"]) == store.find_people(number=LAN_ID)[0].ref
    assert store.conflict_ref("duplicate_dose:nothing") is None


def test_ok__a_conflict_leads_to_a_person_never_searched_for(store, db):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1)]), AT)
    conflict_id = db.row("SELECT id FROM conflicts")[0]
    ref = store.conflict_ref(conflict_id)
    assert ref and store.person_record(ref).id_number == LAN_ID


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["ka", "kb"]), min_size=1, max_size=6))
def test_ok__history_order_does_not_depend_on_arrival(store, order):
    events = [check_in("ka", 1), dose("ka", 2), deferral("kb", 1), reaction("kb", 2, 1)]
    store.commit(Batch(events=[e for e in events if e.kiosk == order[0]]), AT)
    store.commit(Batch(events=events), AT)
    [match] = store.find_people(number=LAN_ID)
    assert [e.id for e in store.person_record(match.ref).history] == ["ka:1", "ka:2", "kb:1", "kb:2"]


def test_ok__the_record_keeps_conflicts_awaiting_the_police_and_drops_resolved_ones(store):
    from hub import corrections

    store.commit(Batch(events=[check_in("ka", 1), check_in("kb", 1, full_name="Nguyễn Thị Lanh")]), AT)
    ref = store.find_people(number=LAN_ID)[0].ref
    [conflict] = store.person_record(ref).conflicts
    store.correct(corrections.refer_to_police(LAN_ID, conflict=conflict["id"], commune="Bến Nghé"), staff_id=None,
                  by="Trần Văn Bình", at=AT)
    assert [c["state"] for c in store.person_record(ref).conflicts] == ["police"]
    store.correct(corrections.police_answer(LAN_ID, conflict=conflict["id"], answer="confirmed"), staff_id=None,
                  by="Trần Văn Bình", at=AT)
    record = store.person_record(ref)
    assert record.conflicts == [] and [e.type for e in record.history if e.kiosk is None] == [
        "hub.police_referred", "hub.police_answered"]
    assert {e.by for e in record.history if e.kiosk is None} == {"Trần Văn Bình"}
