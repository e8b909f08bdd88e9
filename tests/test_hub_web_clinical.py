"""hub/web/clinical.py on the Flask test client over a real hub database whose events the real store merged: every role
sees adverse reactions, deferrals and stock; names only those who may see people, each such view audited without
personal data; the follow-up form (CSRF, refusals with a message, audited); bad days in a URL are a 400, never a 500
(the real server and Chromium: test_e2e_clinical.py)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub import passwords
from hub.clinical import expiry_state
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .hub_helpers import LAN
from .test_hub_store_clinical import A, E, events

PASSWORD = "ngaytiem2026"
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
NOW = datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)  # 10:00 on 3 March in Vietnam
STAFF = {"admin": "Nguyễn Thị Lan", "data": "Trần Văn Bình", "officer": "Lê Hoa", "seer": "Phạm Minh"}
ROLES = {"admin": "admin", "data": "data", "officer": "officer", "seer": "officer"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with open_store(tmp_path_factory.mktemp("clinical") / "hub.db") as store:
        for key, name in STAFF.items():
            store.add_staff(name, ROLES[key], CHEAP, NOW)
        store.grant_right(STAFF["seer"], "see_people", NOW)
        store.enroll("ka", "Trường THCS Lê Lợi", None, "2026-03-01T00:00:00+00:00")
        store.enroll("kb", "Trạm y tế phường 2", None, "2026-03-01T00:00:00+00:00")
        from .hub_helpers import check_in
        people = [check_in("kp", n + 1, number, full_name=f"Người {n}") for n, number in enumerate((A, E))]
        store.commit(Batch(events=events() + people), "2026-03-03T02:00:00+00:00")
        yield store


@pytest.fixture
def client(store):
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), lambda: NOW)).test_client()


def sign_in(client, who: str):
    html = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": token(html), "name": STAFF[who], "password": PASSWORD})
    assert response.status_code == 302


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def audit_lines(store, action: str) -> list[str | None]:
    return [entry.record for entry in store.audit_log(limit=1000) if entry.action == action]


@pytest.mark.parametrize("who", ["officer", "seer", "data", "admin"])
def test_ok__every_role_sees_the_reactions_names_only_who_may_see_people(client, store, who):
    sign_in(client, who)
    before = len(audit_lines(store, "view_aefi"))
    page = client.get("/aefi?from=2026-03-01&to=2026-03-03")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Phản ứng sau tiêm" in html and 'href="/aefi"' in html
    assert html.index('data-event="ka:6"') < html.index('data-event="ka:8"') and 'class="sev-severe"' in html
    assert "khó thở" in html and "25 phút" in html and "FK1234" in html and "Trường THCS Lê Lợi" in html
    assert "ka:9" not in html  # voided
    sees = who != "officer"
    assert ("Người 0" in html) == sees and (A in html) == sees and ('href="/people/' in html) == sees
    assert len(audit_lines(store, "view_aefi")) == before + sees
    if sees:
        assert audit_lines(store, "view_aefi")[0] == "aefi:2026-03-01..2026-03-03"
    assert A not in "".join(str(r) for r in audit_lines(store, "view_aefi"))


def test_ok__the_default_range_is_the_last_7_days_on_the_hubs_clock(client):
    sign_in(client, "officer")
    html = client.get("/aefi").get_data(as_text=True)
    assert 'value="2026-02-25"' in html and 'value="2026-03-03"' in html and 'data-event="ka:6"' in html


def test_ok__the_lots_table_flags_nothing_below_the_signal(client):
    sign_in(client, "officer")
    page = text(client.get("/aefi?from=2026-03-02&to=2026-03-02"))
    assert "Phản ứng theo lô" in page and "Cần xem xét lô này" not in page


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "from=2026-03-05&to=2026-03-01",
                                   "from=2025-01-01&to=2026-03-01", "from=%00"])
def test_fail__a_bad_day_in_the_url_is_a_400_with_the_reason(client, query):
    sign_in(client, "officer")
    for path in ("/aefi", "/stock"):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 400 and 'class="error"' in page.get_data(as_text=True)


def test_fail__no_day_text_makes_a_500(client):
    sign_in(client, "officer")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(max_size=20))
    def check(day):
        for path, name in (("/aefi", "from"), ("/stock", "to"), ("/deferrals", "day")):
            assert client.get(path, query_string={name: day}).status_code in (200, 400)

    check()


def test_ok__a_follow_up_is_recorded_audited_and_becomes_the_status(client, store):
    sign_in(client, "officer")
    page = client.get("/aefi/ka:6")
    assert page.status_code == 200 and A not in page.get_data(as_text=True)
    sent = client.post("/aefi/ka:6/follow-up", data={"csrf_token": token(page.get_data(as_text=True)),
                                                    "status": "hospitalised", "note": "chuyển viện\r\ntỉnh"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/aefi/ka:6")
    after = client.get("/aefi/ka:6").get_data(as_text=True)
    assert "Đã ghi theo dõi: nhập viện." in after and "chuyển viện\ntỉnh" in after and STAFF["officer"] in after
    assert audit_lines(store, "aefi_follow_up")[0] == "aefi:ka:6"
    listed = client.get("/aefi?from=2026-03-02&to=2026-03-02&status=hospitalised").get_data(as_text=True)
    assert 'data-event="ka:6"' in listed and 'data-event="ka:8"' not in listed


@pytest.mark.parametrize(("form", "message"), [
    ({"status": "cured", "note": ""}, "Hãy chọn một trong các tình trạng theo dõi."),
    ({"status": "closed", "note": "x" * 501}, "Ghi chú dài tối đa 500 ký tự."),
])
def test_fail__a_bad_status_or_a_long_note_is_refused_with_a_message(client, store, form, message):
    sign_in(client, "data")
    before = len(audit_lines(store, "aefi_follow_up"))
    html = client.get("/aefi/ka:8").get_data(as_text=True)
    page = client.post("/aefi/ka:8/follow-up", data={"csrf_token": token(html), **form})
    assert page.status_code == 400 and message in text(page)
    assert store.aefi("ka:8", names=False)["follow_ups"] == [] and len(audit_lines(store, "aefi_follow_up")) == before


def test_fail__a_follow_up_without_csrf_or_of_no_reaction_changes_nothing(client, store):
    sign_in(client, "data")
    assert client.post("/aefi/ka:8/follow-up", data={"status": "closed"}).status_code == 400
    html = client.get("/aefi/ka:8").get_data(as_text=True)
    for target in ("ka:9", "ka:3", "nope", "a%20b:1"):
        assert client.post(f"/aefi/{target}/follow-up", data={"csrf_token": token(html), "status": "closed"}).status_code == 404
        assert client.get(f"/aefi/{target}").status_code == 404
    assert store.aefi("ka:8", names=False)["follow_ups"] == []


@pytest.mark.parametrize("who", ["officer", "seer", "data"])
def test_ok__deferrals_due_back_per_site_names_for_who_may(client, store, who):
    sign_in(client, who)
    before = len(audit_lines(store, "view_deferrals"))
    page = client.get("/deferrals?day=2026-03-03")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-site="Trường THCS Lê Lợi"' in html and "sốt 38,5 độ" in html
    sees = who != "officer"
    assert (E in html) == sees and ("Người 1" in html) == sees and ("/deferrals/2026-03-03/due.xlsx" in html) == sees
    assert len(audit_lines(store, "view_deferrals")) == before + sees
    counts = text(client.get("/deferrals?day=2026-03-02"))
    assert "02/03/2026 Trường THCS Lê Lợi 1 1 1 1" in counts


def test_ok__the_due_back_list_downloads_per_site_audited(client, store):
    import openpyxl

    sign_in(client, "data")
    response = client.get("/deferrals/2026-03-03/due.xlsx")
    assert response.status_code == 200 and audit_lines(store, "deferrals_export")[0] == "deferrals:2026-03-03"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Trường THCS Lê Lợi"]
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("Họ và tên", "Số CCCD") and rows[1][:3] == ("Người 1", E, "2026-03-02")


def test_fail__officers_without_the_right_cannot_download_names_and_bad_days_are_400(client):
    sign_in(client, "officer")
    assert client.get("/deferrals/2026-03-03/due.xlsx").status_code == 403
    staff = client.application.test_client()
    sign_in(staff, "data")
    assert staff.get("/deferrals/2026-02-30/due.xlsx").status_code == 400


def test_ok__stock_counts_and_expiry_warnings_for_every_role(client):
    sign_in(client, "officer")
    page = client.get("/stock?from=2026-03-01&to=2026-03-03")
    shown = text(page)
    assert page.status_code == 200 and "Tồn kho và hao hụt" in shown
    assert "03/03/2026 Trạm y tế phường 2" in shown and "66,7 %" in shown and "50,0 %" in shown
    assert "AB99 10/03/2026 03/03/2026 Hết hạn sau 7 ngày" in shown
    later = text(client.get("/stock?from=2026-03-05&to=2026-03-09"))
    assert "AB99 10/03/2026 03/03/2026 Hết hạn sau 1 ngày" in later and LAN["full_name"] not in later
    assert "AB99" not in text(client.get("/stock?to=2026-03-10"))  # last used more than 7 days before


@pytest.mark.parametrize(("expiry", "state"), [("2026-03-02", "past"), ("2026-03-03", "soon"), ("2026-03-17", "soon"),
                                               ("2026-03-18", None), ("", None), ("bad", None)])
def test_ok__expiry_states(expiry, state):
    assert expiry_state(expiry, date(2026, 3, 3)) == state
