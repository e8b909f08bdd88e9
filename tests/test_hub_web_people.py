"""hub/web/people.py on the Flask test client over a real hub database: who may search and read people's records, the
audit lines each look writes, no ID number or name in a URL, a redirect, a cookie or the log, accent-free searches, the
way in from a conflict (the whole walk in Chromium: test_e2e_people.py)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from hub.store import Batch

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose
from .test_hub_web import CHEAP, T0, Clock, make_app, sign_in, text, token

AT = "2024-05-01T10:00:00+00:00"
REF_PATH = re.compile(r"^/people/[A-Za-z0-9_-]{16}$")


@pytest.fixture
def store(tmp_path):
    from hub.store.sqlite import open_store

    with open_store(tmp_path / "hub.db") as store:
        for name, role in (("Nguyễn Thị Lan", "admin"), ("Trần Văn Bình", "data"), ("Lê Hoa", "officer")):
            store.add_staff(name, role, CHEAP, T0)
        store.enroll("ka", "Trạm y tế Phường 1", None, AT)
        store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("kb", 1),
                                   check_in("ka", 3, HUNG_ID, full_name="Đỗ Đức Dũng", birth_date="1958-11-02", sex="Nam")]), AT)
        yield store


@pytest.fixture
def client(store):
    return make_app(store, Clock()).test_client()


def find(client, **form):
    return client.post("/people", data={"csrf_token": token(client, "/people"), **form})


def actions(store) -> list[tuple[str, str | None]]:
    return [(e.action, e.record) for e in store.audit_log()]


# -- who may ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Trần Văn Bình", "Nguyễn Thị Lan"])
def test_ok__data_staff_and_admins_find_a_person_by_number_and_read_the_record(client, store, name):
    sign_in(client, name=name)
    response = find(client, number=f" {LAN_ID[:6]} {LAN_ID[6:]} ")
    assert response.status_code == 303 and REF_PATH.match(response.headers["Location"])
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    body = text(page)
    assert "Nguyễn Thị Lan" in body and LAN_ID in body and "Trạm y tế Phường 1" in body and "FK1234" in body
    assert "Người" in text(client.get("/"))  # the navigation bar's link
    ref = response.headers["Location"].rsplit("/", 1)[1]
    assert actions(store)[0] == ("view_person", f"person:{ref}")


def test_fail__an_officer_may_not_see_people_until_given_the_right(client, store, caplog):
    lan = store.find_people(number=LAN_ID)[0].ref
    conflict = store.person_record(lan).conflicts[0]["id"]
    sign_in(client, name="Lê Hoa")
    for response in (client.get("/people"), client.get(f"/people/{lan}"), client.get(f"/people/by-conflict/{conflict}")):
        assert response.status_code == 403 and "Vai trò của bạn không được xem hồ sơ người dân" in text(response)
    assert "Người" not in text(client.get("/"))
    assert client.post("/people", data={"csrf_token": token(client, "/"), "number": LAN_ID}).status_code == 403
    assert not [a for a, _ in actions(store) if a.endswith("person")] and LAN_ID not in caplog.text
    store.grant_right("lê hoa", "see_people", T0)
    assert client.get(f"/people/{lan}").status_code == 200
    store.revoke_right("Lê Hoa", "see_people", T0)
    assert client.get(f"/people/{lan}").status_code == 403


def test_ok__nobody_signed_in_is_sent_to_sign_in(client, store):
    lan = store.find_people(number=LAN_ID)[0].ref
    for path in ("/people", f"/people/{lan}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.post("/people", data={"number": LAN_ID}).status_code == 400  # no CSRF token: nothing happens


def test_fail__a_search_without_its_csrf_token_changes_nothing(client, store):
    sign_in(client, name="Trần Văn Bình")
    assert client.post("/people", data={"number": LAN_ID}).status_code == 400
    assert not [a for a, _ in actions(store) if a.endswith("person")]


# -- searching -----------------------------------------------------------------------------------------------------------


def test_ok__a_name_without_accents_finds_the_accented_one(client, store):
    sign_in(client, name="Trần Văn Bình")
    response = find(client, name="do duc dung", birth_year="1958")
    assert response.status_code == 303
    assert "Đỗ Đức Dũng" in text(client.get(response.headers["Location"]))


def test_ok__several_matches_are_listed_masked_and_each_is_audited(client, store):
    store.commit(Batch(events=[check_in("kb", 2, "001190054321")]), AT)
    sign_in(client, name="Trần Văn Bình")
    response = find(client, name="NGUYEN THI LAN", birth_year="1990")
    assert response.status_code == 200 and "Nhiều người trùng khớp" in text(response)
    html = response.get_data(as_text=True)
    assert LAN_ID not in html and "•••••••••345" in html and "•••••••••321" in html
    refs = re.findall(r'href="/people/([A-Za-z0-9_-]{16})"', html)
    assert len(refs) == 2 and sorted(actions(store)[:2]) == sorted(("list_person", f"person:{r}") for r in refs)


@pytest.mark.parametrize("form, message", [
    ({"number": "12345"}, "Số định danh có 12 chữ số"), ({"name": "Nguyễn Thị Lan"}, "cần cả năm sinh"),
    ({"name": "Nguyễn Thị Lan", "birth_year": "90"}, "Năm sinh có bốn chữ số"), ({}, "Nhập số định danh"),
])
def test_fail__a_search_that_cannot_run_says_why(client, store, form, message):
    sign_in(client, name="Trần Văn Bình")
    response = find(client, **form)
    assert response.status_code == 400 and message in text(response)


@pytest.mark.parametrize("form, message", [
    ({"number": "079123456789"}, "Không có ai mang số định danh này"),
    ({"name": "Nguyen Thi Lan", "birth_year": "1991"}, "Không có ai mang họ tên và năm sinh này"),
])
def test_ok__a_search_that_finds_nobody_says_so_and_is_audited_without_what_was_typed(client, store, form, message):
    sign_in(client, name="Trần Văn Bình")
    response = find(client, **form)
    assert response.status_code == 200 and message in text(response)
    assert actions(store)[0] == ("search_person", None)
    assert not [e for e in store.audit_log() if e.record and ("079123456789" in e.record or "Lan" in e.record)]


def test_fail__an_unknown_ref_is_not_found_and_not_audited(client, store):
    sign_in(client, name="Trần Văn Bình")
    assert client.get("/people/AAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/people/not-a-ref").status_code == 404
    assert not [a for a, _ in actions(store) if a == "view_person"]


def test_ok__a_conflict_leads_to_its_person(client, store):
    sign_in(client, name="Trần Văn Bình")
    ref = store.find_people(number=LAN_ID)[0].ref
    conflict = store.person_record(ref).conflicts[0]["id"]
    response = client.get(f"/people/by-conflict/{conflict}")
    assert response.status_code == 303 and response.headers["Location"] == f"/people/{ref}"
    assert client.get("/people/by-conflict/duplicate_dose:0000").status_code == 404


def test_ok__the_record_links_its_open_conflicts_to_the_conflict_pages(client, store):
    sign_in(client, name="Trần Văn Bình")
    page = client.get(find(client, number=LAN_ID).headers["Location"]).get_data(as_text=True)
    assert re.search(r'href="/conflicts/duplicate_dose%3A[0-9a-f]{20}"', page)


def test_ok__the_admin_reads_the_views_in_the_audit_log(client, store):
    sign_in(client, name="Nguyễn Thị Lan")
    client.get(find(client, number=LAN_ID).headers["Location"])
    page = text(client.get("/admin/audit"))
    assert "Xem hồ sơ một người person:" in page and LAN_ID not in page


# -- no personal data in URLs, redirects, cookies or logs ---------------------------------------------------------------------

LETTERS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđbcghklmnpqrstvx"
WORDS = st.text(alphabet=LETTERS, min_size=2, max_size=7).map(str.capitalize)
NAMES = st.lists(WORDS, min_size=2, max_size=4).map(" ".join)
NUMBERS = st.text(alphabet=string.digits, min_size=9, max_size=9).map(lambda tail: "001" + tail)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=NUMBERS, name=NAMES)
def test_ok__no_id_number_or_name_reaches_a_url_a_redirect_a_cookie_or_the_log(client, store, caplog, number, name):
    assume(not store.find_people(number=number))  # a number seen before keeps its first name
    seq = store.stats()["events"] + 100
    store.commit(Batch(events=[check_in("kc", seq, number, full_name=name)]), AT)
    if client.get("/").status_code == 302:
        sign_in(client, name="Trần Văn Bình")
    secrets = (number, name, name.lower())
    for form in ({"number": number}, {"name": name, "birth_year": "1990"}):
        response = find(client, **form)
        location = response.headers.get("Location", "")
        if response.status_code == 303:
            assert REF_PATH.match(location)
            page = client.get(location)
        else:
            page = response
        html = page.get_data(as_text=True)
        assert name in html  # the member sees the person: only in the page's body
        links = re.findall(r'(?:href|action|src)="([^"]*)"', html)
        for secret in secrets:
            assert not [link for link in links if secret in link] and secret not in location
            assert secret not in caplog.text
        for cookie in client._cookies.values():
            assert not [secret for secret in secrets if secret in cookie.value or secret in decoded(client, cookie.value)]
    for entry in store.audit_log(limit=10):
        assert not entry.record or not [secret for secret in secrets if secret in entry.record]


def decoded(client, value: str) -> str:
    serializer = client.application.session_interface.get_signing_serializer(client.application)
    return repr(serializer.loads(value))


# -- corrections -----------------------------------------------------------------------------------------------------------


def lan_page(client) -> str:
    return find(client, number=LAN_ID).headers["Location"]


def correct(client, path: str, **form):
    return client.post(path, data={"csrf_token": token(client, path), **form})


IDENTITY = {"full_name": "Nguyễn Thị Lanh", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "123456789",
            "reason": "Người dân báo tên sai một chữ", "evidence": "Đã đối chiếu với thẻ CCCD của người dân"}
MISSING = {"product": "comirnaty_30", "lot_number": "AB5678", "number": "2", "booster": "", "given_on": "2024-06-01",
           "place": "Bệnh viện tỉnh Bình Dương", "reason": "Tiêm ở tỉnh khác", "evidence": "Giấy xác nhận tiêm chủng"}


def test_ok__data_staff_correct_the_name_void_a_dose_and_add_a_missing_one_each_named_in_the_history(client, store):
    sign_in(client, name="Trần Văn Bình")
    page = lan_page(client)
    ref = page.rsplit("/", 1)[1]
    response = correct(client, f"{page}/identity", **IDENTITY)
    assert response.status_code == 303 and response.headers["Location"] == f"{page}#history"
    assert correct(client, f"{page}/void/kb:1", reason="Ghi trùng", evidence="Sổ tiêm giấy").status_code == 303
    assert correct(client, f"{page}/dose", **MISSING).status_code == 303
    record = store.person_record(ref)
    assert record.person["full_name"] == "Nguyễn Thị Lanh"
    assert {d["event_id"]: d["voided_by"] for d in record.doses} == {"ka:2": None, "kb:1": "@hub:2", "@hub:3": None}
    hub_lines = [(e.type, e.by) for e in record.history if e.kiosk is None]
    assert hub_lines == [("hub.identity_corrected", "Trần Văn Bình"), ("hub.dose_voided", "Trần Văn Bình"),
                         ("hub.dose_added", "Trần Văn Bình")]
    body = text(client.get(page))
    assert "Tuyến huyện sửa thông tin nhân thân → Nguyễn Thị Lanh" in body
    assert "Đã hủy bởi Trần Văn Bình: Ghi trùng" in body and "Bệnh viện tỉnh Bình Dương" in body
    assert [a for a in actions(store) if a[0] in ("correct_person", "void_dose", "add_dose")] == [
        ("add_dose", f"person:{ref}"), ("void_dose", f"person:{ref}"), ("correct_person", f"person:{ref}")]


@pytest.mark.parametrize("form, message", [
    ({**IDENTITY, "evidence": " "}, "Cần ghi căn cứ"), ({**IDENTITY, "sex": "nu"}, "Giới tính phải là Nam hoặc Nữ"),
    ({**IDENTITY, "birth_date": "2030-01-01"}, "Ngày ở sau hôm nay"),
])
def test_fail__a_refused_identity_correction_says_why_and_keeps_nothing(client, store, form, message):
    sign_in(client, name="Trần Văn Bình")
    page = lan_page(client)
    response = correct(client, f"{page}/identity", **form)
    assert response.status_code == 400 and message in text(response)
    assert form["full_name"] in response.get_data(as_text=True)  # the form as the member filled it
    assert store.hub_events(LAN_ID) == []


def test_fail__refused_doses_say_why_in_the_member_s_language(client, store):
    sign_in(client, name="Trần Văn Bình")
    page = lan_page(client)
    assert correct(client, f"{page}/void/kb:1", reason="Ghi trùng").status_code == 303
    assert client.get(f"{page}/void/kb:9").status_code == 404
    client.post("/lang", data={"csrf_token": token(client, page), "lang": "en", "next": page})
    response = correct(client, f"{page}/void/kb:1", reason="again")
    assert response.status_code == 400 and "This dose is already voided." in text(response)
    response = correct(client, f"{page}/dose", **{**MISSING, "product": "no_such_vaccine"})
    assert response.status_code == 400 and "The vaccine is not in the catalogue." in text(response)
    response = correct(client, f"{page}/dose", **{**MISSING, "given_on": "2026-03-03"})
    assert response.status_code == 400 and "The date is after today." in text(response)
    assert [e["type"] for e in store.hub_events(LAN_ID)] == ["hub.dose_voided"]


def test_fail__officers_even_with_see_people_may_not_correct(client, store):
    store.grant_right("Lê Hoa", "see_people", T0)
    sign_in(client, name="Lê Hoa")
    page = lan_page(client)
    assert client.get(page).status_code == 200 and "Sửa thông tin nhân thân" not in text(client.get(page))
    for path, form in ((f"{page}/identity", IDENTITY), (f"{page}/void/kb:1", {"reason": "x"}), (f"{page}/dose", MISSING)):
        assert client.get(path).status_code == 403
        assert client.post(path, data={"csrf_token": token(client, page), **form}).status_code == 403
    assert store.hub_events(LAN_ID) == []


def test_fail__a_correction_without_its_csrf_token_changes_nothing(client, store):
    sign_in(client, name="Trần Văn Bình")
    page = lan_page(client)
    assert client.post(f"{page}/identity", data=IDENTITY).status_code == 400
    assert store.hub_events(LAN_ID) == []
