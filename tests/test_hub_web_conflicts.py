"""hub/web/conflicts.py and police.py on the Flask test client over a real hub database: conflicts of every kind made by
the real merge from signed kiosk events and a real roster import, resolved through the pages as hub events
(Store.correct); the police lists as a page, a spreadsheet read back and a printable page; the front page's counts.
The real server and Chromium: test_e2e_conflicts.py."""

from __future__ import annotations

import datetime
import io
import re
import sqlite3
from datetime import timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub import passwords
from hub.roster.files import parse_roster
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app
from hub.web.police import commune_key

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose

PASSWORD = "ngaytiem2026"
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
T0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
RECEIVED = "2026-03-01T08:00:00.000Z"
MAI_ID, NAM_ID, KHOA_ID = "079185000111", "001095000222", "001200000333"
HUNG = {"full_name": "Trần Văn Hùng", "birth_date": "1958-11-02", "sex": "Nam", "old_id": ""}
MAI = {"full_name": "Phạm Thị Mai", "birth_date": "1985-07-20", "sex": "Nữ", "old_id": ""}
NAM = {"full_name": "Lê Văn Nam", "birth_date": "1995-01-01", "sex": "Nam", "old_id": ""}
KHOA = {"full_name": "Đỗ Minh Khoa", "birth_date": "1990-06-06", "sex": "Nam", "old_id": ""}
ROSTER = ("Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường,Địa chỉ\r\n"
          f"{NAM_ID},Lê Văn Năm,01/01/1995,Nam,Phường Bến Nghé,12 Lê Lợi\r\n"
          f"{MAI_ID},Phạm Thị Mai,20/07/1985,Nữ,Xã Tân Lập,Ấp 3\r\n").encode()


def events() -> list:
    """Kiosk events making one conflict of each kind the merge finds (the roster adds the fifth)."""
    return [
        check_in("ka", 1), dose("ka", 2), dose("kb", 1),  # Lan: dose 1 at two kiosks
        check_in("ka", 3, HUNG_ID, **HUNG), dose("ka", 4, HUNG_ID, number=1, on="2024-05-01"),
        dose("kb", 2, HUNG_ID, number=2, on="2024-05-10"),  # Hùng: 9 days apart
        check_in("ka", 5, MAI_ID, **MAI), check_in("kb", 3, MAI_ID, **{**MAI, "full_name": "Phạm Thị Mây"}),
        check_in("ka", 6, NAM_ID, **NAM),  # Nam: the roster spells him Năm
        check_in("kb", 4, KHOA_ID, **KHOA),  # Khoa: digit 4 says the 2000s
    ]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for name, role in (("Nguyễn Thị Lan", "admin"), ("Trần Văn Bình", "data"), ("Lê Hoa", "officer")):
            store.add_staff(name, role, CHEAP, T0)
        store.enroll("ka", "Trạm Y tế Phường 1", None, RECEIVED)
        store.enroll("kb", "Trường THCS Lê Lợi", None, RECEIVED)
        store.commit(Batch(events=events()), RECEIVED)
        store.import_roster(parse_roster(ROSTER, "list.csv", T0.date()), "list.csv", "tester", "2026-03-01T09:00:00+00:00")
        yield store


@pytest.fixture
def app(store):
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), lambda: T0))


@pytest.fixture
def client(app):
    client = app.test_client()
    sign_in(client, "Trần Văn Bình")
    return client


def sign_in(client, name: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    form = {"csrf_token": csrf(page), "name": name, "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 302


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def conflict_of(store, kind: str, state: str = "open") -> dict:
    found = store.conflict_queue(kind) if state == "open" else []
    if not found:
        conn = sqlite3.connect(str(store.path))
        (conflict_id,) = conn.execute("SELECT id FROM conflicts WHERE kind = ? AND state = ?", (kind, state)).fetchone()
        conn.close()
        return store.conflict(conflict_id)
    return store.conflict(found[0]["id"])


def resolve(client, conflict_id: str, **form):
    token = csrf(client.get(f"/conflicts/{conflict_id}").get_data(as_text=True))
    return client.post(f"/conflicts/{conflict_id}/resolve", data={"csrf_token": token, **form})


def table(store, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(str(store.path))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def state(store) -> tuple:
    """What a refused resolution must leave as it was."""
    return (table(store, "SELECT * FROM hub_events"), table(store, "SELECT id, state, resolved_by FROM conflicts ORDER BY id"),
            table(store, "SELECT * FROM people ORDER BY id_number"))


# -- reading -----------------------------------------------------------------------------------------------------------


def test_ok__the_merge_and_the_roster_made_one_open_conflict_of_each_kind(store):
    counts = store.conflict_counts()
    assert {kind: states["open"]["count"] for kind, states in counts.items()} == {
        "duplicate_dose": 1, "interval_too_short": 1, "identity_mismatch": 1, "roster_mismatch": 1, "id_contradiction": 1}
    assert counts["duplicate_dose"]["open"]["oldest_at"] == "2026-03-01T08:00:00+00:00"
    assert counts["roster_mismatch"]["open"]["oldest_at"] == "2026-03-01T09:00:00+00:00"  # the import made it


def test_ok__every_role_sees_the_counts_but_only_the_data_staff_see_names(app, store):
    officer = app.test_client()
    sign_in(officer, "Lê Hoa")
    page = officer.get("/conflicts")
    assert page.status_code == 200 and "Một mũi tiêm được ghi hai lần" in text(page)
    assert "/conflicts/kind/" not in page.get_data(as_text=True)
    conflict_id = conflict_of(store, "duplicate_dose")["id"]
    for path in ("/conflicts/kind/duplicate_dose", f"/conflicts/{conflict_id}", "/police"):
        assert officer.get(path).status_code == 403
    assert "Nguyễn Thị Lan" not in officer.get("/").get_data(as_text=True)


def test_ok__a_queue_lists_its_kind_oldest_first_and_is_audited(client, store):
    response = client.get("/conflicts/kind/identity_mismatch")
    page = text(response)
    assert response.status_code == 200 and "Phạm Thị Mai" in page and MAI_ID in page and "Khác nhau ở: Họ và tên" in page
    assert store.audit_log()[0].action == "view_conflict_queue" and store.audit_log()[0].record == "conflicts:identity_mismatch"
    assert client.get("/conflicts/kind/no_such_kind").status_code == 404


def test_ok__the_queue_pages_after_the_last_conflict_seen(store):
    other = "002190000555"  # born 1990, a woman: Lan's identity with another card; two doses 4 days apart, 2 hours later
    store.commit(Batch(events=[check_in("kc", 1, other), dose("kc", 2, other, number=1, on="2024-05-01"),
                               dose("kc", 3, other, number=2, on="2024-05-05")]), "2026-03-01T10:00:00.000Z")
    everything = store.conflict_queue("interval_too_short")
    assert [c["id_number"] for c in everything] == [HUNG_ID, other]
    assert [c["opened_at"] for c in everything] == ["2026-03-01T08:00:00+00:00", "2026-03-01T10:00:00+00:00"]
    first = store.conflict_queue("interval_too_short", limit=1)
    assert first == everything[:1]
    assert store.conflict_queue("interval_too_short", after=first[0]["id"], limit=1) == everything[1:]
    assert store.conflict_queue("interval_too_short", after="forged:id") == everything  # unknown: from the start


def test_ok__a_conflict_shows_its_records_side_by_side_with_sites_and_differences(client, store):
    conflict = conflict_of(store, "identity_mismatch")
    response = client.get(f"/conflicts/{conflict['id']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Trạm Y tế Phường 1" in html and "Trường THCS Lê Lợi" in html and "Y tá Hoa" in html
    assert re.search(r'<tr class="differs" data-field="full_name">\s*<th>Họ và tên</th><td>Phạm Thị Mai</td><td>Phạm Thị Mây</td>', html)
    assert 'class="differs" data-field="birth_date"' not in html
    assert f'href="/people/by-conflict/{conflict["id"]}"' in html
    assert "2024-05-01 08:00:00 (+07:00)" in html and "2026-03-01 15:00" in html  # kiosk clock; hub time in Vietnam
    assert store.audit_log()[0].action == "view_conflict" and store.audit_log()[0].record == f"conflict:{conflict['id']}"
    assert MAI_ID not in "".join(e.record or "" for e in store.audit_log())


def test_ok__an_id_contradiction_shows_what_the_digits_say(client, store):
    conflict = conflict_of(store, "id_contradiction")
    html = client.get(f"/conflicts/{conflict['id']}").get_data(as_text=True)
    assert re.search(r'data-field="birth_year">\s*<th>Năm sinh</th><td>1990</td><td>2000</td>', html)
    assert "Thế kỷ" in html or "thế kỷ" in html  # the reason sentence from hub/roster/reasons.py


def test_ok__the_front_page_counts_each_kind_police_cases_and_refused_roster_rows(client, store):
    store.import_roster(parse_roster(ROSTER + b"12345,Nobody,1990,Nam,X,Y\r\n", "b.csv", T0.date()), "b.csv", "t",
                        "2026-03-01T09:00:00+00:00")
    html = client.get("/").get_data(as_text=True)
    for kind in ("duplicate_dose", "interval_too_short", "identity_mismatch", "roster_mismatch", "id_contradiction"):
        assert re.search(rf'data-kind="{kind}">\s*<td>.*?</td>\s*<td class="num">1</td>', html), kind
        assert f'href="/conflicts/kind/{kind}"' in html
    assert 'data-roster-rejected="1"' in html and 'href="/roster"' in html and 'data-police="0"' in html
    assert "1 ngày" not in html and "23 giờ" in html  # the roster's conflict, an hour younger than the kiosks'


# -- resolving, one kind at a time -------------------------------------------------------------------------------------


def test_ok__a_duplicate_dose_is_resolved_by_voiding_one(client, store):
    conflict = conflict_of(store, "duplicate_dose")
    response = resolve(client, conflict["id"], action="void", target="kb:1", reason="ghi trùng ở điểm tiêm lưu động")
    assert response.status_code == 302 and response.headers["Location"] == f"/conflicts/{conflict['id']}"
    after = store.conflict(conflict["id"])
    assert after["state"] == "resolved" and after["resolved_by"] == "@hub:1"
    assert table(store, "SELECT voided_by FROM doses WHERE event_id = 'kb:1'") == [("@hub:1",)]
    assert store.audit_log()[0].action == "resolve_conflict" and store.audit_log()[0].record == f"conflict:{conflict['id']}"
    page = text(client.get(f"/conflicts/{conflict['id']}"))
    assert "Đã xử lý" in page and "Trần Văn Bình" in page and "ghi trùng ở điểm tiêm lưu động" in page
    assert "Hủy mũi tiêm đã chọn" not in page  # no more resolutions offered
    assert conflict["id"] not in client.get("/conflicts/kind/duplicate_dose").get_data(as_text=True)


def test_ok__a_short_interval_is_accepted_with_a_clinical_reason(client, store):
    conflict = conflict_of(store, "interval_too_short")
    assert resolve(client, conflict["id"], action="accepted", reason="vùng dịch, theo chỉ định bác sĩ").status_code == 302
    after = store.conflict(conflict["id"])
    assert after["state"] == "resolved" and after["resolution"]["payload"]["resolution"] == "accepted"
    assert table(store, f"SELECT count(*) FROM doses WHERE id_number = '{HUNG_ID}' AND voided_by IS NULL") == [(2,)]


def test_ok__a_short_interval_can_be_voided_instead(client, store):
    conflict = conflict_of(store, "interval_too_short")
    assert resolve(client, conflict["id"], action="void", target="kb:2", reason="nhập nhầm").status_code == 302
    assert store.conflict(conflict["id"])["state"] == "resolved"


@pytest.mark.parametrize("version, name", [("0", "Phạm Thị Mai"), ("1", "Phạm Thị Mây")])
def test_ok__an_identity_mismatch_is_resolved_by_choosing_the_right_version(client, store, version, name):
    conflict = conflict_of(store, "identity_mismatch")
    response = resolve(client, conflict["id"], action="identity", version=version, full_name="ignored", reason="đối chiếu",
                       evidence="thẻ CCCD")
    assert response.status_code == 302
    assert table(store, f"SELECT full_name FROM people WHERE id_number = '{MAI_ID}'") == [(name,)]
    assert store.conflict(conflict["id"])["state"] == "resolved"


def test_ok__an_identity_mismatch_can_be_two_different_people(client, store):
    conflict = conflict_of(store, "identity_mismatch")
    assert resolve(client, conflict["id"], action="different_people", reason="hai chị em dùng chung thẻ").status_code == 302
    assert store.conflict(conflict["id"])["resolution"]["payload"]["resolution"] == "different_people"


def test_ok__a_roster_mismatch_is_resolved_as_the_roster_being_wrong_or_by_the_roster_version(client, store):
    conflict = conflict_of(store, "roster_mismatch")
    page = client.get(f"/conflicts/{conflict['id']}").get_data(as_text=True)
    assert re.search(r'class="differs" data-field="full_name">\s*<th>Họ và tên</th><td>Lê Văn Nam</td><td>Lê Văn Năm</td>', page)
    assert resolve(client, conflict["id"], action="roster_wrong", reason="danh sách gõ sai dấu").status_code == 302
    assert store.conflict(conflict["id"])["state"] == "resolved"


def test_ok__a_roster_mismatch_settled_by_the_roster_version(client, store):
    conflict = conflict_of(store, "roster_mismatch")
    assert resolve(client, conflict["id"], action="identity", version="1", reason="theo danh sách",
                   evidence="giấy khai sinh").status_code == 302
    assert table(store, f"SELECT full_name FROM people WHERE id_number = '{NAM_ID}'") == [("Lê Văn Năm",)]
    assert store.conflict(conflict["id"])["state"] == "resolved"


def test_ok__an_id_contradiction_is_resolved_by_typing_the_right_identity(client, store):
    conflict = conflict_of(store, "id_contradiction")
    response = resolve(client, conflict["id"], action="identity", version="typed", full_name="Đỗ Minh Khoa",
                       birth_date="2000-06-06", sex="Nam", old_id="", reason="năm sinh nhập sai", evidence="thẻ CCCD")
    assert response.status_code == 302
    assert store.conflict(conflict["id"])["state"] == "resolved"
    assert not store.conflict_queue("id_contradiction")


def test_ok__a_dose_the_district_entered_shows_beside_the_kiosks_and_can_be_voided(client, store):
    from hub import corrections

    added = corrections.add_dose(LAN_ID, product="comirnaty_30", lot_number="FK1234", number=1, booster=0,
                                 given_on="2024-05-01", place="Bệnh viện huyện", reason="tiêm trên giấy", evidence="phiếu")
    assert store.correct(added, staff_id=2, by="Trần Văn Bình", at="2026-03-01T12:00:00+00:00") == "@hub:1"
    (conflict,) = [c for c in store.conflict_queue("duplicate_dose") if "@hub:1" in c["event_ids"]]
    assert conflict["opened_at"] == "2026-03-01T12:00:00+00:00"
    html = client.get(f"/conflicts/{conflict['id']}").get_data(as_text=True)
    assert 'data-event="@hub:1"' in html and "Tuyến huyện nhập mũi tiêm" in html and "Bệnh viện huyện" in html
    assert resolve(client, conflict["id"], action="void", target="@hub:1", reason="nhập trùng").status_code == 302
    assert store.conflict(conflict["id"])["state"] == "resolved"
    assert 'class="struck"' in client.get(f"/conflicts/{conflict['id']}").get_data(as_text=True)


# -- the police ----------------------------------------------------------------------------------------------------------


def refer(client, store, kind: str) -> dict:
    conflict = conflict_of(store, kind)
    assert resolve(client, conflict["id"], action="police", commune="Phường 7").status_code == 302
    return store.conflict(conflict["id"])


def test_ok__identity_cases_go_on_their_commune_police_list(client, store):
    roster = refer(client, store, "roster_mismatch")
    unrostered = refer(client, store, "id_contradiction")
    assert roster["state"] == "police" and roster["referral"]["payload"]["commune"] == "Phường Bến Nghé"
    assert unrostered["referral"]["payload"]["commune"] == "Phường 7"
    html = client.get("/police").get_data(as_text=True)
    assert html.index("Phường Bến Nghé") < html.index("Không có trong danh sách")
    assert f'data-commune="{commune_key("Phường Bến Nghé")}"' in html and 'data-commune="none"' in html
    assert "Lê Văn Nam" in html and KHOA_ID in html
    assert [(e.action, e.record) for e in store.audit_log()[:2]] == [
        ("police_list_view", "commune:none"), ("police_list_view", f"commune:{commune_key('Phường Bến Nghé')}")]
    assert 'data-police="2"' in client.get("/").get_data(as_text=True)
    assert not re.search(r'href="[^"]*(\d{12}|Nam|B%E1%BA%BFn)', html)  # no ID number nor name nor commune in a link


def test_ok__the_police_list_as_a_spreadsheet_read_back(client, store):
    import openpyxl

    refer(client, store, "roster_mismatch")
    response = client.get(f"/police/{commune_key('Phường Bến Nghé')}.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "Bến" not in response.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("STT", "Số CCCD", "Họ và tên")
    assert rows[1][:5] == (1, NAM_ID, "Lê Văn Nam", "01/01/1995", "Nam") and "Lê Văn Năm · 01/01/1995" in rows[1][7]
    assert store.audit_log()[0].action == "police_list_export"
    assert client.get("/police/0123456789ab.xlsx").status_code == 404


def test_ok__a_name_that_looks_like_a_formula_comes_out_neutralised(client, store):
    import openpyxl

    formula, number = '=HYPERLINK("http://evil.example","Bấm vào")', "001200000444"
    store.commit(Batch(events=[check_in("kb", 5, number, **{**KHOA, "full_name": formula})]), RECEIVED)
    (case,) = [c for c in store.conflict_queue("id_contradiction") if c["id_number"] == number]
    assert resolve(client, case["id"], action="police", commune="Phường 7").status_code == 302
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/police/none.xlsx").data)).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["'" + formula]
    assert sheet.cell(2, 3).data_type == "s"


def test_ok__the_printable_list_has_the_police_signature_line(client, store):
    refer(client, store, "roster_mismatch")
    response = client.get(f"/police/{commune_key('Phường Bến Nghé')}/print")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "@media print" not in html  # the print rules are in the style sheet
    assert "Xác nhận của Công an xã/phường" in text(response) and "Lê Văn Nam" in html and "02/03/2026" in html
    assert "(ký, ghi rõ họ tên, đóng dấu)" in text(response)
    with client.get("/static/hub.css") as response:
        css = response.get_data(as_text=True)
    assert "@media print" in css and "size: A4 landscape" in css


def test_ok__the_police_confirm_a_record_as_it_is(client, store):
    case = refer(client, store, "identity_mismatch")
    token = csrf(client.get("/police").get_data(as_text=True))
    response = client.post(f"/police/answer/{case['id']}", data={"csrf_token": token, "answer": "confirmed", "next": "/police"})
    assert response.status_code == 302 and response.headers["Location"] == "/police"
    after = store.conflict(case["id"])
    assert after["state"] == "resolved" and after["resolution"]["payload"]["answer"] == "confirmed"
    assert store.audit_log()[0].action == "police_answer"
    assert "Không có trường hợp nào" in text(client.get("/police"))


def test_ok__the_police_correct_a_record(client, store):
    case = refer(client, store, "id_contradiction")
    token = csrf(client.get(f"/conflicts/{case['id']}").get_data(as_text=True))
    form = {"csrf_token": token, "answer": "corrected", "full_name": "Đỗ Minh Khoa", "birth_date": "2000-06-06",
            "sex": "Nam", "old_id": "", "note": "CV số 12/CAP"}
    assert client.post(f"/police/answer/{case['id']}", data=form).status_code == 302
    assert table(store, f"SELECT birth_date FROM people WHERE id_number = '{KHOA_ID}'") == [("2000-06-06",)]
    assert store.conflict(case["id"])["state"] == "resolved"


# -- refusals ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, form, message", [
    ("identity_mismatch", {"action": "void", "target": "ka:5", "reason": "x"}, "không phù hợp với loại xung đột"),
    ("duplicate_dose", {"action": "accepted", "reason": "x"}, "không phù hợp với loại xung đột"),
    ("duplicate_dose", {"action": "void", "target": "ka:4", "reason": "x"}, "không thuộc xung đột"),
    ("duplicate_dose", {"action": "void", "target": "kb:1", "reason": "  "}, "Cần ghi lý do"),
    ("interval_too_short", {"action": "accepted", "reason": ""}, "Cần ghi lý do"),
    ("identity_mismatch", {"action": "identity", "version": "typed", "full_name": "Mai", "birth_date": "20/07/1985",
                           "sex": "Nữ", "reason": "x", "evidence": "y"}, "Ngày không hợp lệ"),
    ("identity_mismatch", {"action": "identity", "version": "0", "reason": "x", "evidence": ""}, "Cần ghi căn cứ"),
    ("id_contradiction", {"action": "police", "commune": ""}, "Cần ghi xã/phường"),
    ("roster_mismatch", {"action": "different_people", "reason": "x"}, "không phù hợp"),
])
def test_fail__a_resolution_that_does_not_fit_is_refused_and_changes_nothing(client, store, kind, form, message):
    conflict = conflict_of(store, kind)
    before = state(store)
    response = resolve(client, conflict["id"], **form)
    assert response.status_code == 400 and message in text(response)
    assert state(store) == before and store.audit_log()[0].action == "view_conflict"


def test_fail__a_resolved_conflict_cannot_be_resolved_again(client, store):
    conflict = conflict_of(store, "duplicate_dose")
    resolve(client, conflict["id"], action="void", target="kb:1", reason="trùng")
    before = state(store)
    response = resolve(client, conflict["id"], action="void", target="ka:2", reason="trùng")
    assert response.status_code == 400 and "đã được xử lý" in text(response) and state(store) == before


def test_fail__a_police_answer_to_a_case_not_sent_to_them_is_refused(client, store):
    conflict = conflict_of(store, "identity_mismatch")
    token = csrf(client.get("/conflicts").get_data(as_text=True))
    before = state(store)
    response = client.post(f"/police/answer/{conflict['id']}", data={"csrf_token": token, "answer": "confirmed"})
    assert response.status_code == 400 and "không chờ công an" in text(response) and state(store) == before


@pytest.mark.parametrize("form, message", [
    ({"answer": "maybe"}, "Câu trả lời phải là"),
    ({"answer": "corrected", "full_name": "", "birth_date": "2000-06-06", "sex": "Nam"}, "Cần nhập họ và tên"),
    ({"answer": "corrected", "full_name": "Đỗ Minh Khoa", "birth_date": "2099-01-01", "sex": "Nam"}, "Ngày ở sau hôm nay"),
])
def test_fail__a_police_answer_that_cannot_be_is_refused(client, store, form, message):
    case = refer(client, store, "id_contradiction")
    token = csrf(client.get(f"/conflicts/{case['id']}").get_data(as_text=True))
    before = state(store)
    response = client.post(f"/police/answer/{case['id']}", data={"csrf_token": token, **form})
    assert response.status_code == 400 and message in text(response) and state(store) == before


def test_fail__an_officer_cannot_resolve(app, store):
    officer = app.test_client()
    sign_in(officer, "Lê Hoa")
    conflict = conflict_of(store, "duplicate_dose")
    token = csrf(officer.get("/").get_data(as_text=True))
    before = state(store)
    response = officer.post(f"/conflicts/{conflict['id']}/resolve", data={"csrf_token": token, "action": "void",
                                                                         "target": "kb:1", "reason": "x"})
    assert response.status_code == 403 and state(store) == before


IDS = st.one_of(st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s and s not in (".", "..")),
                st.sampled_from(["duplicate_dose:0", "@hub:1", "kind", "disputed_event:ka:1"]))
ACTIONS = st.one_of(st.sampled_from(["void", "accepted", "identity", "different_people", "roster_wrong", "police",
                                     "answer", "", "VOID", "void "]), st.text(max_size=20))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conflict_id=IDS, action=ACTIONS, kind=st.sampled_from(["duplicate_dose", "identity_mismatch", "roster_mismatch"]),
       forged=st.booleans())
def test_fail__forged_conflict_ids_and_unfitting_actions_are_refused_and_change_nothing(client, store, conflict_id, action,
                                                                                         kind, forged):
    real = conflict_of(store, kind)
    target = conflict_id if forged else real["id"]
    fits = {"duplicate_dose": ("void",), "identity_mismatch": ("identity", "different_people", "police"),
            "roster_mismatch": ("identity", "roster_wrong", "police")}[kind]
    if not forged and action in fits:
        return  # a fitting action on a real conflict is the ok tests' business
    token = csrf(client.get("/conflicts").get_data(as_text=True))
    before = state(store)
    response = client.post(f"/conflicts/{quote(target, safe='')}/resolve", data={"csrf_token": token, "action": action, "reason": "x",
                                                                "target": "kb:1", "version": "0", "evidence": "y",
                                                                "commune": "Phường 7"})
    assert state(store) == before
    if forged and target != real["id"] and store.conflict(target) is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400 and "không phù hợp với loại xung đột" in text(response)
