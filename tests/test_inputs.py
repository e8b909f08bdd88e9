"""Every route and field against text the kiosk cannot store (a 400, never a 500) and credentials in URLs (refused, never used)."""

import json
import re
from datetime import date
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kiosk.queue import dosing
from kiosk.web import Services, create_app
from kiosk.web.api import LOT_ACTIONS, OTHER_ACTIONS, QUESTION_ACTIONS, TICKET_ACTIONS
from kiosk.web.staff_actions import COMMANDS

from .conftest import HUNG, LAN, MAI_SEX_MISMATCH
from .web_helpers import arrive, sign_in, snapshot, walk

TOKEN = "d4e6f8a0b2c4-site-token"
FIELDS = sorted({
    "desk", "ticket", "expect", "reason", "reason_code", "return_on", "lot", "override", "flag", "severity", "symptoms", "aefi",
    "id_number", "full_name", "birth_date", "sex", "old_id", "product", "lot_number", "expiry", "doses_per_vial", "doses",
    "question", "vaccinator", "injection_site",
})
"""Every field a command reads (test_ok__the_fields_cover_every_command keeps this list honest)."""
LONE_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROLS = st.sampled_from([chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), *range(127, 160))])
ANY_TEXT = st.text(st.one_of(st.characters(), LONE_SURROGATES, CONTROLS), max_size=40)
"""Any code points at all: letters of every script, private use, controls, lone surrogates."""
RELAXED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def api_route(data, day) -> tuple[str, str]:
    """(action, path): any API action, drawn evenly, on any of the day's tickets, its lot or its reaction."""
    tickets, lot_id, aefi_id = day
    name = data.draw(st.sampled_from(TICKET_ACTIONS + LOT_ACTIONS + QUESTION_ACTIONS + OTHER_ACTIONS + ("acknowledge",)),
                     label="action")
    if name in TICKET_ACTIONS:
        return name, f"/api/tickets/{data.draw(st.sampled_from(tickets), label='ticket')}/{name}"
    if name in LOT_ACTIONS:
        return name, f"/api/lots/{lot_id}/{name}"
    if name in QUESTION_ACTIONS:
        return name, f"/api/questions/1/{name}"  # no question is open: the text is refused before that matters
    return name, f"/api/alarms/{aefi_id}/acknowledge" if name == "acknowledge" else f"/api/{name}"


FORM_ROUTES = {"/login": ("staff_id", "pin", "next"), "/lang": ("lang", "next"), "/logout": ()}
QUERY_ROUTES = ["/", "/login", "/healthz", "/supervisor/", "/supervisor/board", "/supervisor/checkin", "/supervisor/lots", "/api/queue"]


@pytest.fixture
def app(config, site):
    return create_app(Services(config.replace("web", language="en", api_token=TOKEN), site))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def day(site, hoa):
    """Tickets in several states, an open lot and a recorded reaction, so every route has something to act on.

    Returns (ticket ids, lot id, reaction id).
    """
    from kiosk.queue import aefi

    lot = dosing.open_lot(site, hoa, product="vaxzevria", lot_number="AZ-2611", expiry=date(2027, 3, 31), doses_per_vial=10)
    observing, cleared, waiting = arrive(site, LAN), arrive(site, HUNG), arrive(site, MAI_SEX_MISMATCH)
    walk(site, observing, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    walk(site, cleared, hoa, "call", "screen", "clear")
    alarm = aefi.record_aefi(site, observing, hoa, severity="mild", symptoms="sốt nhẹ")
    return [observing, cleared, waiting], lot["id"], alarm["id"]


def baseline(name: str, lot_id: int) -> dict:
    """A body the action accepts in the right state: the fields a test then spoils."""
    return {
        "call": {"desk": "1"}, "call_next": {"desk": "1"}, "defer": {"reason": "sốt", "return_on": "2026-12-01"},
        "refuse": {"reason_code": "declined", "reason": "không đồng ý"}, "release": {"reason": "ổn"}, "inject": {"lot": str(lot_id)},
        "prioritise": {"flag": "age65"}, "aefi": {"severity": "mild", "symptoms": "sốt nhẹ"}, "void_dose": {"reason": "nhầm"},
        "waste": {"doses": "1", "reason": "vỡ lọ"}, "confirm_identity": {"reason": "cùng một người, sửa tên gõ sai"},
        "check_in": {"id_number": "079318004321", "full_name": "Lê Văn Tám", "birth_date": "2018-03-04", "sex": "Nam"},
        "open_lot": {"product": "vaxzevria", "lot_number": "AZ-77", "expiry": "2027-03-31", "doses_per_vial": "10"},
    }.get(name, {})


def spoiled(data, name: str, lot_id: int, text) -> dict:
    """The action's good body with some of its fields (or other fields) replaced by drawn text."""
    body = baseline(name, lot_id)
    chosen = data.draw(st.lists(st.sampled_from(sorted(body) or FIELDS), min_size=1, max_size=3, unique=True), label="spoiled")
    extra = data.draw(st.lists(st.sampled_from(FIELDS), max_size=1), label="extra")
    return {**body, **{field: data.draw(text, label=field) for field in chosen + extra}}


@pytest.fixture
def staff_client(client, hoa):
    """Signed in as the supervisor; returns the client and its CSRF token."""
    assert sign_in(client, hoa.id, "2580").status_code == 302
    html = client.get("/supervisor/checkin").get_data(as_text=True)
    return client, re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def form_body(fields: dict[str, str]) -> bytes:
    """A urlencoded body carrying exactly these code points (a lone surrogate as the bytes a broken encoder would send)."""
    return "&".join(f"{quote(k)}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}" for k, v in fields.items()).encode()


def unstorable_text():
    """Ordinary text with one lone surrogate or control character somewhere in it."""
    return st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=8), st.one_of(LONE_SURROGATES, CONTROLS), st.text(max_size=8))


# The class: text that cannot be stored, on every route and field


def test_ok__the_fields_cover_every_command():
    import inspect

    from kiosk.web import staff_actions

    named = set(re.findall(r'\b(?:form|f)\.(?:text|number|date)\("(\w+)"', inspect.getsource(staff_actions)))
    assert named <= set(FIELDS)
    assert set(COMMANDS) == set(TICKET_ACTIONS + LOT_ACTIONS + QUESTION_ACTIONS + OTHER_ACTIONS) | {"acknowledge"}


@given(data=st.data())
@RELAXED
def test_fail__unstorable_text_in_any_json_field_of_any_api_route_is_a_400_that_changes_nothing(client, day, store, data):
    name, path = api_route(data, day)
    good = baseline(name, day[1])
    field = data.draw(st.sampled_from(sorted(good) or FIELDS), label="field")
    value = data.draw(unstorable_text(), label="value")
    body = json.dumps({**good, field: value})  # ensure_ascii: a lone surrogate travels as \ud800, as a browser's JSON would
    before = snapshot(store)
    response = client.post(path, data=body, content_type="application/json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "bad_text" and response.get_json()["field"] == field
    assert response.get_json()["message"]
    assert snapshot(store) == before


@given(data=st.data())
@RELAXED
def test_fail__unstorable_text_in_any_form_field_is_a_400_that_changes_nothing(staff_client, day, store, data):
    client, token = staff_client
    routes = {**FORM_ROUTES, **{f"/supervisor/do/{name}": FIELDS for name in COMMANDS}}
    path = data.draw(st.sampled_from(sorted(routes)), label="route")
    field = data.draw(st.sampled_from(routes[path] or ("next",)), label="field")
    value = data.draw(st.builds(lambda a, bad: a + bad, st.text(max_size=8), CONTROLS), label="value")  # as for queries
    before = snapshot(store)
    body = form_body({"csrf_token": token, "ticket": str(day[0][0]), field: value})
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "cannot be stored" in response.get_data(as_text=True)
    assert snapshot(store) == before


@given(data=st.data())
@RELAXED
def test_fail__unstorable_text_in_any_query_is_a_400(staff_client, data):
    client, _token = staff_client
    path = data.draw(st.sampled_from(QUERY_ROUTES), label="route")
    value = data.draw(st.builds(lambda a, bad: a + bad, st.text(max_size=8), CONTROLS), label="value")  # werkzeug keeps broken UTF-8 as %XX text
    response = client.get(f"{path}?next={quote_from_bytes(value.encode('utf-8', 'surrogatepass'))}")
    assert response.status_code == 400


def test_fail__a_lone_surrogate_in_a_json_member_name_or_nested_value_is_a_400(client, day):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for body in ('{"\\ud800": 1}', '{"reason": ["ok", {"deep": "\\udfff"}]}'):
        response = client.post(f"/api/tickets/{day[0][0]}/release", data=body, content_type="application/json", headers=auth)
        assert response.status_code == 400 and response.get_json()["error"] == "bad_text"


def test_fail__json_nested_too_deeply_is_a_400(client, day):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for depth in (40, 100_000):
        body = "[" * depth + "]" * depth
        response = client.post("/api/call_next", data=body, content_type="application/json", headers=auth)
        assert response.status_code == 400 and response.get_json()["error"] == "bad_json"


# The wider property: any text at all, on any route and field, never breaks the server


@given(data=st.data())
@RELAXED
def test_ok__any_text_in_any_json_field_never_makes_a_500(client, day, data):
    name, path = api_route(data, day)
    body = spoiled(data, name, day[1], ANY_TEXT)
    response = client.post(path, data=json.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, response.get_data(as_text=True)
    assert set(response.get_json()) >= ({"ok"} if response.status_code == 200 else {"error", "message"})


@given(data=st.data())
@RELAXED
def test_ok__any_text_in_any_form_field_never_makes_a_500(staff_client, day, data):
    client, token = staff_client
    name = data.draw(st.sampled_from(sorted(COMMANDS)), label="action")
    ticket = data.draw(st.sampled_from(day[0]), label="ticket")
    fields = {"ticket": str(ticket), "lot": str(day[1]), "aefi": str(day[2]), **spoiled(data, name, day[1], ANY_TEXT)}
    response = client.post(f"/supervisor/do/{name}", data=form_body({"csrf_token": token, **fields}),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, response.get_data(as_text=True)


# Credentials in the URL


@pytest.mark.parametrize("query", [
    f"token={TOKEN}", f"access_token={TOKEN}", "api_key=x", "apiKey=x", "api-key=x", "pin=2580", "password=x",
    "session=x", "auth=x", "Authorization=Bearer%20x", f"q={TOKEN}", "x=Bearer%20abc", "id_token=x", "client_secret=x",
])
def test_fail__a_credential_in_the_query_is_refused_and_not_used(client, query):
    response = client.get(f"/api/queue?{query}")
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "credential_in_url" and "Authorization" in body["message"]


def test_fail__a_credential_in_the_query_is_refused_even_with_a_good_header_and_on_the_screens(client, hoa, store):
    response = client.get(f"/api/queue?access_token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    page = client.post("/login?pin=2580", data={"csrf_token": token, "staff_id": str(hoa.id), "pin": "2580"})
    assert page.status_code == 400 and "Never put a token" in page.get_data(as_text=True)
    assert store.db["staff_sessions"].count == 0


@pytest.mark.parametrize("query", ["desk=2", "next=%2Fsupervisor%2F%3Fdesk%3D2", "view=all", "keyboard=1"])
def test_ok__ordinary_queries_pass(staff_client, query):
    client, _token = staff_client
    assert client.get(f"/supervisor/?{query}").status_code == 200


def test_ok__a_refused_credential_is_logged_by_path_without_its_value(client, caplog):
    client.get(f"/api/queue?access_token={TOKEN}")
    assert "a credential in the URL" in caplog.text and TOKEN not in caplog.text and "?" not in caplog.text


def test_ok__the_refusals_speak_the_screens_language(config, site):
    client = create_app(Services(config.replace("web", api_token=TOKEN), site)).test_client()  # web.language: vi
    url = client.get(f"/api/queue?token={TOKEN}").get_json()["message"]
    text = client.post("/api/call_next", data='{"desk": "\\ud800"}', content_type="application/json",
                       headers={"Authorization": f"Bearer {TOKEN}"}).get_json()["message"]
    assert url.startswith("Không bao giờ đưa mã API") and text.startswith("Một ô có ký tự không lưu được")


def test_ok__a_short_api_token_refuses_only_itself_in_a_query(config, site, hoa):
    client = create_app(Services(config.replace("web", api_token="ab1"), site)).test_client()
    sign_in(client, hoa.id, "2580")
    assert client.get("/supervisor/?view=tab1ab1").status_code == 200
    assert client.get("/supervisor/?view=ab1").status_code == 400


def test_fail__broken_utf_8_and_a_nul_in_a_multipart_form_is_a_400(client, hoa):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    body = (f'--X\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--X\r\nContent-Disposition: form-data; name="staff_id"\r\n\r\n{hoa.id}\r\n').encode()
    body += b'--X\r\nContent-Disposition: form-data; name="pin"\r\n\r\n\xed\xa0\x80\x00\r\n--X--\r\n'
    response = client.post("/login", data=body, content_type="multipart/form-data; boundary=X")
    assert response.status_code == 400 and "cannot be stored" in response.get_data(as_text=True)
