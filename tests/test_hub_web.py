"""hub/web: sign-in, lockouts, sessions, sign-out, password change, roles, CSRF, languages, the front page and the audit
log, on the Flask test client over a real hub database (the real server and Chromium: test_e2e_hub_web.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub import passwords
from hub.store import Batch, Quarantined
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

PASSWORD = "ngaytiem2026"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
"""A hash of PASSWORD that is quick to check (and that sign-in renews to the full cost)."""


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for name, role in (("Nguyễn Thị Lan", "admin"), ("Trần Văn Bình", "data"), ("Lê Hoa", "officer")):
            store.add_staff(name, role, CHEAP, T0)
        yield store


def make_app(store, clock, **settings):
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret", **settings), clock))


@pytest.fixture
def app(store, clock):
    return make_app(store, clock, attempts=3)


@pytest.fixture
def client(app):
    return app.test_client()


def token(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, name="Nguyễn Thị Lan", password=PASSWORD, **form):
    return client.post("/login", data={"csrf_token": token(client), "name": name, "password": password, **form})


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_ok__every_page_but_sign_in_asks_for_it(client):
    for path in ("/", "/admin/audit", "/password"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"/login?next={path.replace('/', '%2F')}" or \
            response.headers["Location"].startswith("/login?next=")


def test_ok__sign_in_leads_to_the_front_page_and_renews_a_cheap_hash(client, store):
    response = sign_in(client, name="  nguyễn   THỊ lan ")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert "Lan" not in cookie and "admin" not in cookie  # the cookie holds a random id, not who
    page = client.get("/")
    assert page.status_code == 200 and "Việc cần làm hôm nay" in text(page)
    assert not passwords.needs_rehash(store.staff_named("Nguyễn Thị Lan").password_hash)


def test_ok__sign_in_goes_on_to_next_but_never_off_the_site(client):
    assert sign_in(client, next="/admin/audit?before=5").headers["Location"] == "/admin/audit?before=5"
    other = client.application.test_client()
    assert sign_in(other, next="//evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize("name, password", [
    ("Nguyễn Thị Lan", "wrong-password-1"), ("Nobody Here", PASSWORD), ("Nguyễn Thị Lan", PASSWORD.upper()),
])
def test_fail__a_wrong_name_or_password_says_so_and_signs_nobody_in(client, name, password, caplog):
    response = sign_in(client, name=name, password=password)
    assert response.status_code == 401 and "Sai tên hoặc mật khẩu" in text(response)
    assert client.get("/").status_code == 302
    assert password not in caplog.text and name not in caplog.text


def test_fail__empty_fields(client):
    assert sign_in(client, name=" ", password="").status_code == 400


def test_fail__a_disabled_account_cannot_sign_in_and_is_signed_out(client, store, clock):
    assert sign_in(client, name="Trần Văn Bình").status_code == 302
    store.disable_staff("Trần Văn Bình", clock())
    assert client.get("/").status_code == 302
    assert sign_in(client, name="Trần Văn Bình").status_code == 401


def test_fail__the_third_wrong_password_locks_the_account_even_for_the_right_one(client, clock):
    assert [sign_in(client, password=f"wrong-pass-{n}").status_code for n in range(3)] == [401, 401, 429]
    response = sign_in(client)
    assert response.status_code == 429 and "Đăng nhập bị khóa" in text(response)
    assert int(response.headers["Retry-After"]) == 300
    clock.now += timedelta(seconds=301)
    assert sign_in(client).status_code == 302


def test_fail__an_unknown_name_locks_like_a_known_one(client):
    assert [sign_in(client, name="Ai Đó", password=f"wrong-pass-{n}").status_code for n in range(4)] == [401, 401, 429, 429]


def test_fail__one_address_trying_many_names_is_locked(store, clock):
    client = make_app(store, clock, attempts=100, address_attempts=4).test_client()
    codes = [sign_in(client, name=f"Người {n}", password="wrong-pass-1").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert sign_in(client).status_code == 429


def test_ok__sign_out_ends_the_session_for_every_copy_of_the_cookie(app):
    client = app.test_client()
    sign_in(client)
    copy = app.test_client()
    copy.set_cookie("hub_session", client.get_cookie("hub_session").value)
    assert copy.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": token(client, "/")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert copy.get("/").status_code == 302 and client.get("/").status_code == 302


def test_ok__a_session_ends_after_idle_minutes_and_max_hours(client, clock):
    sign_in(client)
    clock.now += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.now += timedelta(minutes=31)
    assert client.get("/").status_code == 302


def test_fail__a_post_without_its_csrf_token_changes_nothing(client, store):
    sign_in(client)
    response = client.post("/logout")
    assert response.status_code == 400 and "Chưa có gì thay đổi" in text(response)
    assert client.get("/").status_code == 200
    before = len(store.audit_log())
    assert client.post("/login", data={"name": "Nguyễn Thị Lan", "password": PASSWORD}).status_code == 400
    assert len(store.audit_log()) == before


@pytest.mark.parametrize("name", ["Trần Văn Bình", "Lê Hoa"])
def test_fail__only_an_admin_reads_the_audit_log(client, name, caplog):
    sign_in(client, name=name)
    response = client.get("/admin/audit")
    assert response.status_code == 403 and "Vai trò của bạn không được xem trang này" in text(response)
    assert "Nhật ký truy cập" not in text(client.get("/"))  # no link to it either
    assert "refused GET /admin/audit: role" in caplog.text


def test_ok__the_audit_log_shows_who_did_what_and_is_audited_itself(client, store):
    sign_in(client, password="wrong-pass-1")
    sign_in(client)
    page = text(client.get("/admin/audit"))
    assert "Nguyễn Thị Lan Đã đăng nhập staff:1 127.0.0.1" in page
    assert "chưa đăng nhập Sai mật khẩu staff:1 127.0.0.1" in page
    assert [e.action for e in store.audit_log()][:3] == ["view_audit", "sign_in", "sign_in_failed"]


def test_ok__the_audit_log_pages_back(client, store, clock):
    for n in range(130):
        store.audit(None, "staff_add", f"staff:{n}", None, clock())
    sign_in(client)
    first = client.get("/admin/audit").get_data(as_text=True)
    older = re.search(r'href="(/admin/audit\?before=\d+)"', first).group(1)
    assert "staff:0<" in client.get(older).get_data(as_text=True) and "staff:0<" not in first
    assert client.get("/admin/audit?before=abc").status_code == 200


def test_ok__english_is_one_click_away_and_stays_after_sign_out(client):
    sign_in(client)
    response = client.post("/lang", data={"csrf_token": token(client, "/"), "lang": "en", "next": "/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "What needs you today" in text(client.get("/"))
    client.post("/logout", data={"csrf_token": token(client, "/")})
    assert "Sign in" in text(client.get("/login"))
    assert client.post("/lang", data={"csrf_token": token(client), "lang": "fr"}).status_code == 400


def test_ok__password_change_keeps_this_session_and_ends_the_others(app, store):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere)
    form = {"csrf_token": token(here, "/password"), "current": PASSWORD, "new": "mật khẩu mới 2026", "again": "mật khẩu mới 2026"}
    response = here.post("/password", data=form)
    assert response.status_code == 302 and here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert passwords.verify_password("mật khẩu mới 2026", store.staff_named("Nguyễn Thị Lan").password_hash)
    assert store.audit_log()[0].action == "password_change"


@pytest.mark.parametrize("current, new, again, status, message", [
    ("wrong-pass-1", "mật khẩu mới 2026", "mật khẩu mới 2026", 401, "Mật khẩu hiện tại không đúng"),
    (PASSWORD, "mật khẩu mới 2026", "mật khẩu mới 2027", 400, "không khớp"),
    (PASSWORD, "ngắn1", "ngắn1", 400, "ít nhất 10 ký tự"),
    (PASSWORD, "chỉcóchữcái", "chỉcóchữcái", 400, "hai loại ký tự"),
    (PASSWORD, "nguyễn  thị LAN", "nguyễn  thị LAN", 400, "không được trùng với tên"),
])
def test_fail__password_change_refused(client, store, current, new, again, status, message):
    sign_in(client)
    form = {"csrf_token": token(client, "/password"), "current": current, "new": new, "again": again}
    response = client.post("/password", data=form)
    assert response.status_code == status and message in text(response)
    assert passwords.verify_password(PASSWORD, store.staff_named("Nguyễn Thị Lan").password_hash)


def test_ok__the_front_page_counts_open_conflicts_by_kind_with_the_oldest_age(client, store, clock):
    batch = Batch(quarantined=[Quarantined("vax/v1/k1/events", "k1", "bad_signature", "x", b"{}", "2026-03-01T08:00:00+00:00")])
    store.commit(batch, "2026-03-01T08:00:00+00:00")
    sign_in(client)
    page = client.get("/").get_data(as_text=True)
    assert 'data-quarantined="1"' in page


def test_ok__pages_forbid_framing_and_caching_and_load_nothing_from_elsewhere(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    with client.get("/static/hub.css") as css:
        assert css.status_code == 200


def test_ok__healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "problems": []}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=200), password=st.text(max_size=400))
def test_fail__garbage_in_the_sign_in_form_never_500s_and_signs_nobody_in(store, clock, name, password):
    client = make_app(store, clock, attempts=10**6, address_attempts=10**6).test_client()
    response = sign_in(client, name=name, password=password)
    assert response.status_code in (400, 401)
    assert client.get("/").status_code == 302


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=st.text(max_size=300))
def test_fail__garbage_new_passwords_never_500_and_are_kept_whole_or_not_at_all(store, clock, new):
    client = make_app(store, clock, attempts=10**6).test_client()
    sign_in(client, name="Lê Hoa")
    before = store.staff_named("Lê Hoa").password_hash
    form = {"csrf_token": token(client, "/password"), "current": PASSWORD, "new": new, "again": new}
    response = client.post("/password", data=form)
    after = store.staff_named("Lê Hoa").password_hash
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert passwords.verify_password(new, after)
        store.set_staff_password(store.staff_named("Lê Hoa").id, CHEAP, clock())
    else:
        assert after == before
