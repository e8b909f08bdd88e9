"""Staff sign-in through the real app: PINs, lockouts, sessions, CSRF, bearer tokens and the view decorators."""

import base64
import logging
import re
from datetime import datetime, timezone

import pytest
from flask import Blueprint, jsonify

from kiosk.queue.staff import add_staff, list_staff, set_active, set_pin
from kiosk.web import Services, create_app
from kiosk.web.auth import api_auth_required, current_staff, login_required, role_required
from staffweb.auth import safe_next

from . import web_helpers
from .web_helpers import csrf_token

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
TOKEN = "b7f0c2d4e6a8-site-token"

probe = Blueprint("probe", __name__)
"""Views a screen author would write, guarded by the decorators under test."""


@probe.get("/desk")
@login_required
def desk():
    return f"desk of {current_staff().name}"


@probe.get("/site-settings")
@role_required("supervisor")
def site_settings():
    return "settings"


@probe.get("/api/whoami")
@api_auth_required
def whoami():
    member = current_staff()
    return jsonify(id=member.id, actor=member.actor, role=member.role)


@probe.post("/api/staff/<name>/disable")
@api_auth_required
@role_required("supervisor")
def disable(name):
    from flask import current_app

    set_active(current_app.extensions["kiosk"].store, name, False)
    return jsonify(done=True, by=current_staff().actor)


@pytest.fixture
def services(config, site):
    return Services(config.replace("web", language="en", api_token=TOKEN), site)


def probed_app(services):
    app = create_app(services)
    app.register_blueprint(probe)
    return app


@pytest.fixture
def app(services):
    return probed_app(services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def lan(store):
    return add_staff(store, "Nguyễn Thị Lan", "supervisor", "2580", NOW)


def sign_in(client, member_id, pin, next=None, address="10.0.0.5"):
    """Sign in from one address (the lockouts count per address)."""
    return web_helpers.sign_in(client, member_id, pin, next=next, environ_base={"REMOTE_ADDR": address})


# Signing in


def test_ok__the_login_page_lists_active_staff_with_a_numeric_pin_field(client, lan, binh, store):
    set_active(store, binh.name, False)
    html = client.get("/login").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in html and "Trần Văn Bình" not in html
    assert 'inputmode="numeric"' in html and 'name="csrf_token"' in html
    assert "http" not in html.replace("http-equiv", "")  # no CDN: sites are offline


def test_ok__without_staff_the_login_page_says_how_to_add_one(client):
    assert "kiosk staff add" in client.get("/login").get_data(as_text=True)


def test_ok__the_right_pin_signs_in_and_goes_to_next(client, lan):
    response = sign_in(client, lan.id, "2580", next="/desk?view=all")
    assert response.status_code == 302 and response.location == "/desk?view=all"
    assert client.get("/desk").get_data(as_text=True) == "desk of Nguyễn Thị Lan"


def test_ok__without_next_sign_in_goes_to_the_staff_home(client, lan, app):
    response = sign_in(client, lan.id, "2580")
    assert response.location == app.config["KIOSK_STAFF_HOME"]
    assert "You are signed in as Nguyễn Thị Lan" in client.get("/login").get_data(as_text=True)


def test_fail__a_wrong_pin_is_refused_and_logged_without_the_pin(client, lan, caplog):
    caplog.set_level(logging.INFO, logger="kiosk")
    response = sign_in(client, lan.id, "9031", address="10.0.0.77")
    assert response.status_code == 401 and "Wrong PIN" in response.get_data(as_text=True)
    assert client.get("/desk").status_code == 302
    logged = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert logged == [f"sign-in failed for staff {lan.id} from 10.0.0.77: wrong PIN or no such active member"]
    assert "9031" not in caplog.text and "Lan" not in caplog.text


@pytest.mark.parametrize("form, says", [({"pin": "2580"}, "Choose your name"), ({"staff_id": "1"}, "Type your PIN")])
def test_fail__an_incomplete_form_says_what_is_missing(client, lan, form, says):
    response = client.post("/login", data={"csrf_token": csrf_token(client), **form})
    assert response.status_code == 400 and says in response.get_data(as_text=True)


# Lockouts


def test_ok__lockout_grows_with_each_further_wrong_pin_and_a_right_one_resets_it(client, lan, ticker):
    for _ in range(2):
        assert sign_in(client, lan.id, "9031").status_code == 401
    third = sign_in(client, lan.id, "9031")
    assert third.status_code == 429 and "try again in 30 seconds" in third.get_data(as_text=True)
    assert third.headers["Retry-After"] == "30"
    ticker.advance(31)
    assert "try again in 60 seconds" in sign_in(client, lan.id, "9031").get_data(as_text=True)
    ticker.advance(61)
    assert "try again in 2 minutes" in sign_in(client, lan.id, "9031").get_data(as_text=True)
    ticker.advance(121)
    assert sign_in(client, lan.id, "2580").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert [sign_in(client, lan.id, "9031").status_code for _ in range(3)] == [401, 401, 429]


def test_fail__the_right_pin_is_refused_during_a_lockout_saying_how_long_is_left(client, lan, ticker):
    for _ in range(3):
        sign_in(client, lan.id, "9031")
    ticker.advance(20)
    refused = sign_in(client, lan.id, "2580")
    assert refused.status_code == 429 and "try again in 10 seconds" in refused.get_data(as_text=True)
    assert client.get("/desk").status_code == 302
    ticker.advance(10)
    assert sign_in(client, lan.id, "2580").status_code == 302


def test_ok__one_member_locked_out_does_not_lock_another(client, lan, binh):
    for _ in range(3):
        sign_in(client, lan.id, "9031")
    assert sign_in(client, binh.id, "4826").status_code == 302


def test_fail__one_address_trying_many_names_is_slowed_down(client, lan, ticker):
    statuses = [sign_in(client, staff_id, "9031", address="10.0.0.66").status_code for staff_id in range(100, 110)]
    assert statuses == [401] * 9 + [429]
    assert sign_in(client, lan.id, "2580", address="10.0.0.66").status_code == 429
    assert sign_in(client, lan.id, "2580", address="10.0.0.67").status_code == 302
    ticker.advance(30)
    assert sign_in(client, lan.id, "2580", address="10.0.0.66").status_code == 302


def test_fail__a_spoofed_x_forwarded_for_does_not_escape_the_address_lockout(client, lan):
    """No proxy is trusted by default: the header is ignored, the lock stays on the real address."""
    for staff_id in range(100, 110):
        sign_in(client, staff_id, "9031", address="10.0.0.66")
    spoofed = {"REMOTE_ADDR": "10.0.0.66"}
    response = web_helpers.sign_in(client, lan.id, "2580", environ_base=spoofed, headers={"X-Forwarded-For": "10.9.9.9"})
    assert response.status_code == 429


def test_ok__behind_a_trusted_proxy_the_lockout_counts_per_forwarded_address(services, lan):
    services.config = services.config.replace("web", trusted_proxies=1)
    client = create_app(services).test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for staff_id in range(100, 110):
        web_helpers.sign_in(client, staff_id, "9031", environ_base=proxy, headers={"X-Forwarded-For": "192.168.1.50"})
    other = web_helpers.sign_in(client, lan.id, "2580", environ_base=proxy, headers={"X-Forwarded-For": "192.168.1.51"})
    assert other.status_code == 302


# The session


def test_ok__a_member_disabled_after_signing_in_is_signed_out_on_the_next_request(client, lan, store):
    sign_in(client, lan.id, "2580")
    assert client.get("/desk").status_code == 200
    set_active(store, lan.name, False)
    response = client.get("/desk")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    assert "sid" not in session_of(client)


def test_ok__a_new_pin_ends_the_members_sessions_and_no_one_elses(app, lan, binh, store):
    hers, his = app.test_client(), app.test_client()
    sign_in(hers, lan.id, "2580")
    sign_in(his, binh.id, "4826", address="10.0.0.6")
    set_pin(store, lan.name, "3691")
    assert hers.get("/desk").status_code == 302 and his.get("/desk").status_code == 200


def test_ok__sign_out_ends_the_session_and_keeps_the_language(client, lan):
    client.post("/lang", data={"csrf_token": csrf_token(client), "lang": "vi", "next": "/login"})
    sign_in(client, lan.id, "2580")
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and client.get("/desk").status_code == 302
    assert session_of(client).get("lang") == "vi"


def test_fail__a_copy_of_the_session_cookie_stops_working_at_sign_out(client, lan):
    sign_in(client, lan.id, "2580")
    copied = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    client.set_cookie("session", copied)
    assert client.get("/desk").status_code == 302
    assert client.get("/api/whoami").status_code == 401


def test_fail__a_session_idle_for_web_session_minutes_is_over_on_the_server(app, lan, ticker):
    busy, idle = app.test_client(), app.test_client()
    sign_in(busy, lan.id, "2580")
    sign_in(idle, lan.id, "2580")
    ticker.advance(479 * 60)
    assert busy.get("/desk").status_code == 200
    ticker.advance(60)
    assert idle.get("/desk").status_code == 302  # the browser still sends the cookie; the server has ended the session
    assert busy.get("/desk").status_code == 200


def test_fail__a_session_ends_web_session_max_hours_after_sign_in_however_busy(client, lan, ticker):
    sign_in(client, lan.id, "2580")
    answers = []
    for _ in range(12 * 4):
        ticker.advance(15 * 60)
        answers.append(client.get("/desk").status_code)
    assert answers == [200] * 47 + [302]
    assert sign_in(client, lan.id, "2580").status_code == 302 and client.get("/desk").status_code == 200


def test_ok__a_restart_of_the_screens_keeps_sessions_and_a_reboot_ends_them(services, site, lan, ticker):
    services.config = services.config.replace("web", secret_key="a-fixed-key-for-this-test")
    before = probed_app(services).test_client()
    sign_in(before, lan.id, "2580")
    after = probed_app(services).test_client()  # `kiosk web` started again in the same boot
    after.set_cookie("session", before.get_cookie("session").value)
    assert after.get("/api/whoami").status_code == 200
    ticker.reboot()
    assert after.get("/api/whoami").status_code == 401


def test_ok__the_session_cookie_is_httponly_strict_and_holds_no_personal_data(client, lan, app, store):
    response = sign_in(client, lan.id, "2580")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    assert set(session_of(client)) <= {"sid", "_permanent", "lang", "csrf_token", "_flashes"}
    payload = client.get_cookie("session").value.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "Lan" not in decoded and "2580" not in decoded and "supervisor" not in decoded
    assert app.permanent_session_lifetime.total_seconds() == 480 * 60
    stored = [row["id_hash"] for row in store.db["staff_sessions"].rows]
    assert len(stored) == 1 and session_of(client)["sid"] not in stored  # a copy of the database signs nobody in


def test_ok__each_request_renews_the_idle_expiry(client, lan):
    sign_in(client, lan.id, "2580")
    assert "Expires=" in client.get("/desk").headers.get("Set-Cookie", "")


@pytest.mark.parametrize("base_url, headers, trusted, secure", [
    ("https://localhost", {}, 0, True),
    ("http://localhost", {}, 0, False),
    ("http://localhost", {"X-Forwarded-Proto": "https"}, 0, False),
    ("http://localhost", {"X-Forwarded-Proto": "https"}, 1, True),
    ("http://localhost", {"X-Forwarded-Proto": "http"}, 1, False),
])
def test_ok__the_session_cookie_is_secure_exactly_when_the_screen_is_reached_over_tls(
        services, lan, base_url, headers, trusted, secure):
    services.config = services.config.replace("web", trusted_proxies=trusted)
    client = create_app(services).test_client()
    token = csrf_token(client)
    form = {"csrf_token": token, "staff_id": str(lan.id), "pin": "2580"}
    response = client.post("/login", base_url=base_url, headers={"Referer": "https://localhost/login", **headers}, data=form)
    assert response.status_code == 302
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure


def session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


# Redirects


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "desk"],
)
def test_fail__next_outside_the_site_is_ignored(client, lan, app, target):
    assert sign_in(client, lan.id, "2580", next=target).location == app.config["KIOSK_STAFF_HOME"]


@pytest.mark.parametrize("target", ["/desk", "/desk?view=all&desk=2", "/api/whoami"])
def test_ok__safe_next_keeps_paths_on_this_site(target):
    assert safe_next(target) == target


def test_ok__login_required_sends_the_page_along_as_next(client):
    response = client.get("/desk?view=all")
    assert response.status_code == 302 and response.location == "/login?next=/desk?view%3Dall"


# Roles


def test_fail__role_required_refuses_other_roles(client, lan, binh):
    assert client.get("/site-settings").status_code == 302
    sign_in(client, binh.id, "4826")
    refused = client.get("/site-settings")
    assert refused.status_code == 403 and "Ask a supervisor" in refused.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    sign_in(client, lan.id, "2580")
    assert client.get("/site-settings").status_code == 200


# CSRF


def test_fail__a_post_without_the_csrf_token_is_400_and_changes_nothing(client, lan, binh, store):
    sign_in(client, lan.id, "2580")
    response = client.post("/logout")
    assert response.status_code == 400 and "Nothing was changed" in response.get_data(as_text=True)
    assert client.get("/desk").status_code == 200
    api = client.post(f"/api/staff/{binh.name}/disable")
    assert api.status_code == 400 and api.get_json()["error"] == "csrf" and api.get_json()["message"]
    assert binh in list_staff(store)


def test_fail__a_forged_csrf_token_is_400(client, lan):
    sign_in(client, lan.id, "2580")
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400


def test_ok__a_session_api_call_passes_with_the_x_csrftoken_header(client, lan, binh, store):
    sign_in(client, lan.id, "2580")
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    response = client.post(f"/api/staff/{binh.name}/disable", headers={"X-CSRFToken": token})
    assert response.get_json() == {"done": True, "by": "Nguyễn Thị Lan"} and binh not in list_staff(store)


def test_fail__a_login_post_without_the_csrf_token_signs_nobody_in(client, lan):
    response = client.post("/login", data={"staff_id": str(lan.id), "pin": "2580"})
    assert response.status_code == 400 and client.get("/desk").status_code == 302


# The API


def test_ok__a_bearer_token_acts_as_the_api_token_without_csrf(client, binh, store):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/whoami", headers=auth).get_json() == {"id": None, "actor": "api token", "role": "supervisor"}
    response = client.post(f"/api/staff/{binh.name}/disable", headers=auth)
    assert response.get_json() == {"done": True, "by": "api token"} and binh not in list_staff(store)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Bearer {TOKEN[:-1]}"])
def test_fail__a_wrong_bearer_token_is_401_json(client, binh, store, header):
    response = client.post(f"/api/staff/{binh.name}/disable", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["error"] == "bad_token"
    assert binh in list_staff(store)


def test_fail__the_api_without_credentials_is_401_json(client):
    response = client.get("/api/whoami")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert set(response.get_json()) == {"error", "message"} and response.get_json()["error"] == "unauthorized"


def test_fail__an_empty_api_token_turns_the_bearer_path_off(services, binh, store):
    services.config = services.config.replace("web", api_token="")
    app = create_app(services)
    app.register_blueprint(probe)
    client = app.test_client()
    for header in ("Bearer ", f"Bearer {TOKEN}"):
        response = client.post(f"/api/staff/{binh.name}/disable", headers={"Authorization": header})
        assert response.status_code == 401 and response.get_json()["error"] == "bad_token"
    assert binh in list_staff(store)


def test_ok__a_signed_in_session_reaches_the_api(client, lan):
    sign_in(client, lan.id, "2580")
    assert client.get("/api/whoami").get_json() == {"id": lan.id, "actor": "Nguyễn Thị Lan", "role": "supervisor"}


def test_fail__the_api_refuses_a_role_with_403_json(client, binh):
    sign_in(client, binh.id, "4826")
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    response = client.post("/api/staff/Lan/disable", headers={"X-CSRFToken": token})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_ok__failed_bearer_attempts_are_logged_without_the_token(client, caplog):
    caplog.set_level(logging.WARNING, logger="kiosk")
    client.get("/api/whoami", headers={"Authorization": "Bearer guess-123"})
    assert "refused API token" in caplog.text and "guess-123" not in caplog.text
