"""The JSON API through the real app: authentication, refusals that change nothing, roles, the token's audit trail, privacy."""

import json
import re
from datetime import date

import pytest

from kiosk.payloads import manual_card
from kiosk.queue import actions, dosing
from kiosk.queue.checkin import check_in
from kiosk.web import Services, create_app

from .conftest import HUNG, LAN
from .web_helpers import arrive, sign_in, snapshot, walk

TODAY = date(2026, 11, 25)
TOKEN = "c3d9e1f7a2b4-site-token"
LAN_ID, HUNG_ID, CHILD_ID = "001190012345", "036058001234", "079318004321"


@pytest.fixture
def app(config, site):
    return create_app(Services(config.replace("web", language="en", api_token=TOKEN), site))


@pytest.fixture
def client(app):
    return app.test_client()


class Caller:
    """A client of the API: a signed-in session (sending X-CSRFToken on POST) or the bearer token."""

    def __init__(self, client, headers: dict):
        self.client, self.headers = client, headers

    def get(self, path):
        return self.client.get(path, headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(path, json={} if body is None else body, headers=self.headers)


def signed_in(client, member_id, pin) -> Caller:
    assert sign_in(client, member_id, pin).status_code == 302
    html = client.get("/supervisor/checkin").get_data(as_text=True)
    return Caller(client, {"X-CSRFToken": re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)})


@pytest.fixture
def api(client):
    """The bearer token: a supervisor's rights, no session."""
    return Caller(client, {"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def supervisor(client, hoa) -> Caller:
    return signed_in(client, hoa.id, "2580")


@pytest.fixture
def vaccinator(client, binh) -> Caller:
    return signed_in(client, binh.id, "4826")


@pytest.fixture
def lot(site, hoa):
    return dosing.open_lot(site, hoa, product="vaxzevria", lot_number="AZ-2611", expiry=date(2027, 3, 31), doses_per_vial=10)


def events_of(store, event_type) -> list[dict]:
    rows = store.db.execute("select staff_id, payload from events where type = ? order by seq", [event_type])
    return [{"staff_id": staff_id, **json.loads(payload)} for staff_id, payload in rows]


def refused(response, status, code, message=None) -> dict:
    """Check a refusal's status, code and (exactly) its message or, for a use case's refusal, its English detail."""
    body = response.get_json()
    assert (response.status_code, body["error"]) == (status, code), body
    assert body["message"] if message is None else message in (body["message"], body.get("why")), body
    return body


# Bad input: a clear message, and nothing changed


@pytest.fixture
def screening(site, hoa):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen")
    return ticket_id


BAD_CALLS = [
    pytest.param("/api/tickets/{t}/defer", {"return_on": "2026-12-09"}, 400, "missing_field", "Please fill in: Reason.",
                 {"field": "reason"}, id="defer-without-reason"),
    pytest.param("/api/tickets/{t}/defer", {"reason": "   ", "return_on": "2026-12-09"}, 400, "missing_field",
                 "Please fill in: Reason.", {"field": "reason"}, id="defer-blank-reason"),
    pytest.param("/api/tickets/{t}/defer", {"reason": "Sốt", "return_on": "tomorrow"}, 400, "bad_field",
                 "Come back on: write the date as dd/mm/yyyy.", {"field": "return_on"}, id="defer-return_on-tomorrow"),
    pytest.param("/api/tickets/{t}/defer", {"reason": "Sốt", "return_on": "2026-11-20"}, 400, "bad_field",
                 "The date to come back must be after today.", {"field": "return_on"}, id="defer-return_on-past"),
    pytest.param("/api/call_next", {}, 400, "missing_field", "Please fill in: Desk.", {"field": "desk"}, id="call_next-without-desk"),
    pytest.param("/api/call_next", {"desk": "abc"}, 400, "bad_field", "Desk must be a whole number.", {}, id="desk-abc"),
    pytest.param("/api/call_next", {"desk": 1.5}, 400, "bad_field", "Desk must be a whole number.", {}, id="desk-float"),
    pytest.param("/api/call_next", {"desk": True}, 400, "bad_field", "Desk must be a whole number.", {}, id="desk-true"),
    pytest.param("/api/tickets/{w}/call", {"desk": 0}, 400, "bad_field", "Please check the field: Desk.", {}, id="desk-0"),
    pytest.param("/api/tickets/{w}/call", {"desk": 7}, 409, "no_such_desk", "desk 7 does not exist: this site has 2 desks", {},
                 id="desk-7"),
    pytest.param("/api/open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "doses_per_vial": 10}, 400,
                 "missing_field", "Please fill in: Expiry.", {"field": "expiry"}, id="open_lot-without-expiry"),
    pytest.param("/api/open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "expiry": "2027-01-31", "doses_per_vial": 0},
                 409, "bad_doses_per_vial", "doses per vial must be a whole number from 1 to 50", {}, id="doses_per_vial-0"),
    pytest.param("/api/open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "expiry": "2026-11-24", "doses_per_vial": 10},
                 409, "lot_expired", "this lot is past its expiry date: it must not be used", {}, id="lot-expired"),
    pytest.param("/api/tickets/999/screen", {}, 404, "unknown_ticket", "There is no such ticket. Nothing was changed.", {},
                 id="unknown-ticket"),
    pytest.param("/api/tickets/{t}/bogus", {}, 404, "unknown_action", "There is no such action.", {}, id="unknown-ticket-action"),
    pytest.param("/api/bogus", {}, 404, "unknown_action", "There is no such action.", {}, id="unknown-action"),
    pytest.param("/api/tickets/{t}/clear", {"expect": "called"}, 409, "stale",
                 "This ticket was changed meanwhile (another screen, or a second tap). Nothing was done: look at it again.",
                 {}, id="stale"),
    pytest.param("/api/lots/99/open_vial", {}, 409, "unknown_lot", "there is no lot with id 99", {}, id="unknown-lot"),
    pytest.param("/api/tickets/{t}/prioritise", {"flag": "vip"}, 409, "unknown_priority",
                 "unknown priority 'vip'; one of: age65, pregnant, disabled, chronic", {}, id="unknown-priority"),
    pytest.param("/api/alarms/99/acknowledge", {}, 409, "unknown_aefi", "there is no adverse event with id 99", {},
                 id="unknown-alarm"),
]


@pytest.mark.parametrize("path, body, status, code, message, detail", BAD_CALLS)
def test_fail__a_bad_call_says_why_and_changes_nothing(api, store, site, screening, path, body, status, code, message, detail):
    waiting = arrive(site, HUNG)
    before = snapshot(store)
    answer = refused(api.post(path.format(t=screening, w=waiting), body), status, code, message)
    assert detail.items() <= answer.items()
    assert snapshot(store) == before


@pytest.mark.parametrize("path, body", [
    ("/api/tickets/{t}/call_next", {"desk": 1}),
    ("/api/tickets/{t}/check_in", {"id_number": HUNG}),
    ("/api/tickets/{t}/open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "expiry": "2027-01-31", "doses_per_vial": 10}),
    ("/api/tickets/{t}/open_vial", {"lot": "{lot}"}),
    ("/api/lots/{lot}/screen", {"ticket": "{t}"}),
    ("/api/lots/{lot}/leave", {"ticket": "{t}"}),
])
def test_fail__a_route_takes_only_its_own_actions(api, store, site, lot, path, body):
    """POST /api/tickets/1/call_next must not call someone else; /api/lots/1/leave must not move a ticket."""
    t = arrive(site)
    if "check_in" not in path:
        arrive(site, HUNG)  # someone call_next would call
    fill = {"t": t, "lot": lot["id"]}
    before = snapshot(store)
    body = {key: value.format(**fill) if isinstance(value, str) and "{" in value else value for key, value in body.items()}
    refused(api.post(path.format(**fill), body), 404, "unknown_action")
    assert snapshot(store) == before


def test_fail__a_transition_that_is_not_allowed_is_409_not_allowed(api, store, site):
    waiting = arrive(site)
    before = snapshot(store)
    answer = refused(api.post(f"/api/tickets/{waiting}/clear"), 409, "not_allowed",
                     "This step is not possible for this ticket now. Nothing was changed.")
    assert (answer["state"], answer["action"]) == ("waiting", "clear")
    assert snapshot(store) == before


def test_fail__a_double_submitted_dose_is_recorded_once(api, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear")
    body = {"lot": lot["id"], "expect": "cleared"}
    assert api.post(f"/api/tickets/{ticket_id}/inject", body).status_code == 200
    after_first = snapshot(store)
    refused(api.post(f"/api/tickets/{ticket_id}/inject", body), 409, "stale")
    assert snapshot(store) == after_first
    assert len(after_first["doses"]) == 1 and len(events_of(store, "DoseRecorded")) == 1


def test_fail__an_unknown_ticket_is_404(api, site):
    arrive(site)
    refused(api.get("/api/tickets/999"), 404, "unknown_ticket")


def test_fail__a_refusal_speaks_the_sessions_language(client, hoa, store, screening):
    caller = signed_in(client, hoa.id, "2580")
    client.post("/lang", data={"lang": "vi", "next": "/login"}, headers=caller.headers)
    before = snapshot(store)
    refused(caller.post(f"/api/tickets/{screening}/defer", {"return_on": "2026-12-09"}), 400, "missing_field",
            "Vui lòng điền: Lý do.")
    refused(caller.post("/api/tickets/999/screen"), 404, "unknown_ticket", "Không có số thứ tự này. Chưa có gì thay đổi.")
    assert snapshot(store) == before


def test_fail__the_ineligible_get_not_eligible_with_the_catalogues_reason(api, store, site, hoa, lot):
    card = manual_card(CHILD_ID, "Phạm Minh Anh", "2018-06-01", "Nữ", today=TODAY)
    child = check_in(site, card, source="manual", by=hoa).id
    walk(site, child, hoa, "call", "screen", "clear")
    before = snapshot(store)
    answer = refused(api.post(f"/api/tickets/{child}/inject", {"lot": lot["id"]}), 409, "not_eligible")
    assert answer["reason"] and snapshot(store) == before


# Roles and the token


def test_fail__a_vaccinator_cannot_open_or_close_lots_or_override(vaccinator, store, site, hoa, lot):
    card = manual_card(CHILD_ID, "Phạm Minh Anh", "2018-06-01", "Nữ", today=TODAY)
    child = check_in(site, card, source="manual", by=hoa).id
    walk(site, child, hoa, "call", "screen", "clear")
    before = snapshot(store)
    role = "Your role may not do this. Ask a supervisor."
    body = {"product": "spikevax", "lot_number": "MD-7", "expiry": "2027-01-31", "doses_per_vial": 10}
    refused(vaccinator.post("/api/open_lot", body), 403, "forbidden", role)
    refused(vaccinator.post(f"/api/lots/{lot['id']}/close_lot"), 403, "forbidden", role)
    refused(vaccinator.post(f"/api/lots/{lot['id']}/waste", {"doses": 1, "reason": "vỡ lọ"}), 403, "forbidden", role)
    refused(vaccinator.post(f"/api/tickets/{child}/inject", {"lot": lot["id"], "override": "bác sĩ đồng ý"}), 403, "forbidden",
            "Only a supervisor may override eligibility.")
    assert snapshot(store) == before


def test_ok__a_vaccinator_records_an_eligible_dose(vaccinator, store, site, hoa, binh, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear")
    assert vaccinator.post(f"/api/tickets/{ticket_id}/inject", {"lot": lot["id"]}).get_json()["ok"] is True
    assert store.db.execute("select vaccinator from doses").fetchall() == [(binh.id,)]


def test_ok__a_supervisor_opens_and_closes_lots_and_overrides(supervisor, store, site, hoa):
    body = {"product": "vaxzevria", "lot_number": "AZ-7", "expiry": "2027-01-31", "doses_per_vial": "10"}
    opened = supervisor.post("/api/open_lot", body).get_json()["result"]
    assert opened["lot_number"] == "AZ-7" and opened["opened_by"] == hoa.id
    card = manual_card(CHILD_ID, "Phạm Minh Anh", "2018-06-01", "Nữ", today=TODAY)
    child = check_in(site, card, source="manual", by=hoa).id
    walk(site, child, hoa, "call", "screen", "clear")
    dose = supervisor.post(f"/api/tickets/{child}/inject", {"lot": opened["id"], "override": "Chỉ định của bác sĩ"})
    assert dose.status_code == 200 and dose.get_json()["result"]["state"] == "observing"
    closed = supervisor.post(f"/api/lots/{opened['id']}/close_lot").get_json()["result"]
    assert closed["closed_by"] == hoa.id and closed["wasted"] == 9
    assert events_of(store, "DoseRecorded")[0]["override"]["reason"] == "Chỉ định của bác sĩ"


def test_ok__the_supervisor_token_voids_a_dose_a_vaccinator_may_not(api, vaccinator, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear")
    refused(api.post(f"/api/tickets/{ticket_id}/void_dose", {"reason": "nhầm người"}), 409, "no_dose",
            "This ticket has no recorded dose to void.")
    dosing.inject(site, ticket_id, hoa, lot_id=lot["id"])
    refused(vaccinator.post(f"/api/tickets/{ticket_id}/void_dose", {"reason": "nhầm người"}), 403, "forbidden")
    before = snapshot(store)
    refused(api.post(f"/api/tickets/{ticket_id}/void_dose", {}), 400, "missing_field")
    assert snapshot(store) == before
    voided = api.post(f"/api/tickets/{ticket_id}/void_dose", {"reason": "nhầm người"}).get_json()["result"]
    [event] = events_of(store, "EventVoided")
    assert event["voids"] == f"kiosk-test:{voided['event_seq']}" and voided["voided_seq"] is not None
    assert api.get(f"/api/tickets/{ticket_id}").get_json()["dose"] is None, "the board no longer shows it"
    refused(api.post(f"/api/tickets/{ticket_id}/void_dose", {"reason": "again"}), 409, "already_voided")


def test_ok__the_bearer_token_acts_as_a_supervisor_recorded_as_api(api, store, site):
    ticket_id = arrive(site)
    body = {"product": "vaxzevria", "lot_number": "AZ-7", "expiry": "2027-01-31", "doses_per_vial": 10}
    lot_id = api.post("/api/open_lot", body).get_json()["result"]["id"]
    assert api.post("/api/call_next", {"desk": 2}).get_json()["result"]["desk"] == 2
    for action in ("screen", "clear"):
        assert api.post(f"/api/tickets/{ticket_id}/{action}").status_code == 200
    assert api.post(f"/api/tickets/{ticket_id}/inject", {"lot": lot_id}).status_code == 200
    rows = store.db.execute("select type, staff_id, payload from events where type != 'PersonCheckedIn'").fetchall()
    assert [r[0] for r in rows] == ["LotOpened", "PersonCalled", "ScreeningStarted", "PersonCleared", "VialOpened",
                                    "DoseRecorded", "ObservationStarted"]
    assert all(staff_id is None and json.loads(payload)["by"] == {"staff_id": None, "name": "api"} for _, staff_id, payload in rows)
    assert store.db["lots"].get(lot_id)["opened_by"] is None
    assert store.db.execute("select vaccinator from doses").fetchall() == [(None,)]


# Authentication


def test_fail__the_queue_without_session_or_token_is_401(client):
    refused(client.get("/api/queue"), 401, "unauthorized")


def test_ok__the_queue_with_a_session_or_the_token_is_200(client, supervisor, site):
    arrive(site)
    assert supervisor.get("/api/queue").status_code == 200
    anonymous = client.application.test_client()
    assert anonymous.get("/api/queue", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()["counts"]["waiting"] == 1


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", "Bearer wrong"])
def test_fail__a_wrong_token_is_401(client, store, site, header):
    ticket_id = arrive(site)
    before = snapshot(store)
    refused(client.get("/api/queue", headers={"Authorization": header}), 401, "bad_token")
    refused(client.post(f"/api/tickets/{ticket_id}/call", json={"desk": 1}, headers={"Authorization": header}), 401, "bad_token")
    assert snapshot(store) == before


def test_fail__a_session_post_without_x_csrftoken_is_400_and_changes_nothing(client, supervisor, store, site):
    ticket_id = arrive(site)
    before = snapshot(store)
    refused(client.post(f"/api/tickets/{ticket_id}/call", json={"desk": 1}), 400, "csrf")
    refused(client.post(f"/api/tickets/{ticket_id}/call", json={"desk": 1}, headers={"X-CSRFToken": "forged"}), 400, "csrf")
    assert snapshot(store) == before
    assert supervisor.post(f"/api/tickets/{ticket_id}/call", {"desk": 1}).status_code == 200


def test_fail__a_body_that_is_not_json_is_415_and_changes_nothing(client, api, supervisor, store, site):
    ticket_id = arrive(site)
    before = snapshot(store)
    message = "send the fields as a JSON object (Content-Type: application/json)"
    refused(client.post(f"/api/tickets/{ticket_id}/call", data={"desk": "1"}, headers=api.headers), 415, "not_json", message)
    refused(client.post(f"/api/tickets/{ticket_id}/call", data="desk=1", headers=supervisor.headers), 415, "not_json", message)
    refused(client.post("/api/call_next", data='{"desk": 1}', content_type="text/plain", headers=api.headers), 415, "not_json")
    assert snapshot(store) == before


def test_fail__json_that_is_not_an_object_reads_as_no_fields(api, store, site):
    arrive(site)
    before = snapshot(store)
    refused(api.post("/api/call_next", [1]), 400, "missing_field")
    refused(api.client.post("/api/call_next", data="{desk: 1", content_type="application/json", headers=api.headers),
            400, "missing_field")
    assert snapshot(store) == before


# The whole day through the API


def test_ok__check_in_to_release_through_the_api(api, store, site, ticker):
    lot_id = api.post("/api/open_lot", {"product": "vaxzevria", "lot_number": "AZ-2611", "expiry": "2027-03-31",
                                        "doses_per_vial": 10}).get_json()["result"]["id"]
    ticket = api.post("/api/check_in", {"id_number": LAN}).get_json()["result"]
    assert ticket | {"id": None} == {"id": None, "number": 1, "new": True, "due_dose": 1, "warnings": []}
    called = api.post("/api/call_next", {"desk": 1}).get_json()["result"]
    assert (called["id"], called["state"], called["desk"]) == (ticket["id"], "called", 1)
    for action, expect in (("screen", "called"), ("clear", "screening")):
        assert api.post(f"/api/tickets/{ticket['id']}/{action}", {"expect": expect}).get_json()["result"]["state"]
    api.post(f"/api/tickets/{ticket['id']}/inject", {"lot": lot_id, "expect": "cleared"})
    ticker.advance(600)
    view = api.get(f"/api/tickets/{ticket['id']}").get_json()
    assert view["observation"] == {"remaining_s": 1200, "due": False, "restarted": False}
    assert view["dose"] == {"product": "vaxzevria", "lot_number": "AZ-2611", "number": 1, "override": None,
                            "vaccinator": None, "site": None}  # the API token gave it: no staff member
    refused(api.post(f"/api/tickets/{ticket['id']}/release"), 409, "observation_not_over",
            "the observation is not over (20 min left): give a reason to release early")
    released = api.post(f"/api/tickets/{ticket['id']}/release", {"reason": "Cần về gấp, đã ổn"}).get_json()["result"]
    assert released["state"] == "released" and released["reason"] == "Cần về gấp, đã ổn"
    assert events_of(store, "PersonReleased")[0]["reason"] == "Cần về gấp, đã ổn"
    [body] = [json.loads(r[0]) for r in store.db.execute("select body from outbox where type = 'DoseRecorded'")]
    assert (body["payload"]["dose"]["product"], body["payload"]["dose"]["lot_number"], body["payload"]["dose"]["number"]) == (
        "vaxzevria", "AZ-2611", 1)


def test_ok__a_severe_reaction_is_an_open_alarm_until_acknowledged(api, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    recorded = api.post(f"/api/tickets/{ticket_id}/aefi", {"severity": "severe", "symptoms": "Khó thở"}).get_json()["result"]
    alarms = api.get("/api/queue").get_json()["alarms"]
    assert [(a["id"], a["ticket"], a["symptoms"]) for a in alarms] == [(recorded["id"], 1, "Khó thở")]
    assert api.post(f"/api/alarms/{recorded['id']}/acknowledge").status_code == 200
    assert api.get("/api/queue").get_json()["alarms"] == []
    before = snapshot(store)
    refused(api.post(f"/api/alarms/{recorded['id']}/acknowledge"), 409, "already_acknowledged")
    refused(api.post(f"/api/tickets/{ticket_id}/aefi", {"severity": "awful", "symptoms": "x"}), 409, "bad_severity")
    assert snapshot(store) == before


def test_ok__manual_check_in_through_the_api_names_the_staff_member(supervisor, store, hoa):
    body = {"id_number": HUNG_ID, "full_name": "Trần Văn Hùng", "birth_date": "1958-11-02", "sex": "Nam"}
    result = supervisor.post("/api/check_in", body).get_json()["result"]
    assert result["number"] == 1 and result["new"] is True
    assert store.db.execute("select source from tickets").fetchall() == [("manual",)]
    [event] = events_of(store, "PersonCheckedIn")
    assert event["staff_id"] == hoa.id and event["by"] == {"staff_id": hoa.id, "name": "Điều dưỡng Hoa"}


@pytest.mark.parametrize("body, code, message", [
    ({"id_number": "0011900123", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ"}, "bad_id_number",
     "The ID number has 12 digits; this one has 10 characters (10 digits)."),
    ({"id_number": LAN_ID, "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "F"}, "bad_sex", None),
    ({"id_number": "001190012345|x|y"}, "wrong_field_count", None),
])
def test_fail__a_bad_check_in_is_refused_with_the_payload_reason(api, store, body, code, message):
    before = snapshot(store)
    answer = refused(api.post("/api/check_in", body), 400, code)
    assert message is None or answer["message"].startswith(message)
    assert snapshot(store) == before


# Privacy


def test_ok__the_api_never_sends_a_full_id_number(api, store, site, hoa, lot):
    lan, hung = arrive(site), arrive(site, HUNG)
    answers = [api.post(f"/api/tickets/{lan}/prioritise", {"flag": "chronic"})]
    walk(site, lan, hoa, "call", "screen", "clear")
    walk(site, hung, hoa, "call", "screen")
    answers.append(api.post(f"/api/tickets/{lan}/inject", {"lot": lot["id"]}))
    answers.append(api.post(f"/api/tickets/{lan}/aefi", {"severity": "severe", "symptoms": "Khó thở"}))
    answers.append(api.post("/api/check_in", {"id_number": CHILD_ID, "full_name": "Phạm Minh Anh",
                                              "birth_date": "2018-06-01", "sex": "Nữ"}))
    answers.append(api.post(f"/api/tickets/{hung}/defer", {"reason": "Sốt", "return_on": "2026-12-09"}))
    answers += [api.get("/api/queue"), api.get(f"/api/tickets/{lan}"), api.get(f"/api/tickets/{hung}")]
    assert all(a.status_code == 200 for a in answers)
    for answer in answers:
        text = answer.get_data(as_text=True)
        assert not re.search(r"\d{9,}", text), text
    tails = {t["id_tail"] for t in api.get("/api/queue").get_json()["tickets"]}
    assert tails == {LAN_ID[-4:], HUNG_ID[-4:], CHILD_ID[-4:]}


# Identity: a typed ID never attaches a person to someone else's record (issue 10)

LAN_TYPO = {"id_number": LAN_ID, "full_name": "Nguyễn Thị Lân", "birth_date": "1990-03-16", "sex": "Nữ"}
"""Lan's ID number typed with another name and birth date (a mistyped digit, or someone else)."""


@pytest.fixture
def lan_released(site, hoa, lot, ticker):
    """Lan scanned her card, was vaccinated and released today."""
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    ticker.advance(1800)
    actions.release(site, ticket_id, hoa)
    return ticket_id


def test_fail__a_known_id_typed_with_another_name_and_birth_date_is_409_identity_mismatch(api, store, lan_released):
    before = snapshot(store)
    response = api.post("/api/check_in", LAN_TYPO)
    answer = refused(response, 409, "identity_mismatch")
    assert answer["id_tail"] == LAN_ID[-4:] and answer["fields"] == ["full_name", "birth_date"]
    assert (answer["stored"]["full_name"], answer["stored"]["birth_date"]) == ("Nguyễn Thị Lan", "1990-03-15")
    assert (answer["new"]["full_name"], answer["new"]["birth_date"]) == ("Nguyễn Thị Lân", "1990-03-16")
    assert not re.search(r"\d{9,}", response.get_data(as_text=True)), "no full ID number (nor old ID) in the answer"
    assert snapshot(store) == before


def test_fail__a_person_known_from_another_day_is_checked_against_too(api, store, site, ticker):
    arrive(site)
    ticker.advance(86400)
    before = snapshot(store)
    refused(api.post("/api/check_in", LAN_TYPO), 409, "identity_mismatch")
    assert snapshot(store) == before


LAN_OTHER_CARD = LAN.replace("Nguyễn Thị Lan", "Nguyễn Thị Lân").replace("15031990", "16031990")


@pytest.mark.parametrize("changes, fields", [
    ({"full_name": "Nguyễn Thị Lâm"}, ["full_name"]),
    ({"birth_date": "1991-03-15"}, ["birth_date"]),
    ({"sex": "Nam"}, ["sex"]),
    ({"old_id": "123456780"}, ["old_id"]),
    ({"full_name": "Trần Văn Hùng", "birth_date": "1958-11-02", "sex": "Nam", "old_id": "987654321"},
     ["full_name", "birth_date", "sex", "old_id"]),
])
def test_fail__any_differing_field_is_named_and_nothing_is_saved(api, store, site, changes, fields):
    arrive(site)
    before = snapshot(store)
    body = {**LAN_TYPO, "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "old_id": "123456789", **changes}
    assert refused(api.post("/api/check_in", body), 409, "identity_mismatch")["fields"] == fields
    assert snapshot(store) == before


@pytest.mark.parametrize("name", ["NGUYỄN THỊ LAN", "  nguyễn  thị   lan ", "Nguye\u0302\u0303n Thi\u0323 Lan"])
def test_ok__case_spacing_and_unicode_form_are_the_same_person(api, site, name):
    arrive(site)
    body = {"id_number": LAN_ID, "full_name": name, "birth_date": "1990-03-15", "sex": "Nữ"}
    assert api.post("/api/check_in", body).get_json()["result"] | {"id": None} == {
        "id": None, "number": 1, "new": False, "due_dose": 1, "warnings": []}


def test_ok__a_supervisor_confirms_the_same_person_with_a_reason(supervisor, store, hoa, lan_released):
    response = supervisor.post("/api/check_in", {**LAN_TYPO, "correction_reason": "Giấy khai sinh ghi ngày 16/03"})
    assert response.status_code == 200 and not re.search(r"\d{9,}", response.get_data(as_text=True))
    assert response.get_json()["result"]["id"] == lan_released, "today's ticket, released, is kept"
    [event] = events_of(store, "IdentityCorrected")
    assert event["staff_id"] == hoa.id and event["reason"] == "Giấy khai sinh ghi ngày 16/03"
    assert (event["stored"]["full_name"], event["corrected"]["full_name"]) == ("Nguyễn Thị Lan", "Nguyễn Thị Lân")
    assert store.db["people"].get(LAN_ID)["birth_date"] == "1990-03-16"


def test_fail__a_vaccinator_may_not_confirm_corrected_details(vaccinator, store, lan_released):
    before = snapshot(store)
    refused(vaccinator.post("/api/check_in", {**LAN_TYPO, "correction_reason": "cùng một người"}), 403, "forbidden",
            "Only a supervisor may confirm corrected details.")
    refused(vaccinator.post("/api/check_in", LAN_TYPO), 409, "identity_mismatch")
    assert snapshot(store) == before


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_fail__a_correction_needs_a_reason(api, store, lan_released, reason):
    before = snapshot(store)
    refused(api.post("/api/check_in", {**LAN_TYPO, "correction_reason": reason}), 409, "bad_reason")
    assert snapshot(store) == before


@pytest.fixture
def held(site, feedback):
    """Lan was checked in; a card with her ID number and another name and birth date was then scanned at the camera."""
    from kiosk.decode import Code
    from kiosk.scan.desk import Desk

    arrive(site)
    outcome = Desk(site, feedback).handle(Code(LAN_OTHER_CARD, LAN_OTHER_CARD.encode(), "zxing"))
    assert outcome.reason == "identity_mismatch"
    return site.store.db.execute("select id from identity_questions").fetchone()[0]


def test_ok__a_held_scan_is_on_the_queue_and_a_supervisor_settles_it(api, vaccinator, store, held):
    queue = api.get("/api/queue")
    [question] = queue.get_json()["identity_questions"]
    assert not re.search(r"\d{9,}", queue.get_data(as_text=True))
    assert (question["id"], question["id_tail"], question["fields"], question["scans"]) == (held, "2345", ["full_name", "birth_date"], 1)
    assert (question["stored"]["full_name"], question["new"]["full_name"]) == ("Nguyễn Thị Lan", "Nguyễn Thị Lân")
    before = snapshot(store)
    refused(vaccinator.post(f"/api/questions/{held}/confirm_identity", {"reason": "cùng người"}), 403, "forbidden")
    refused(api.post(f"/api/questions/{held}/confirm_identity", {}), 400, "missing_field")
    refused(api.post(f"/api/questions/{held}/bogus", {}), 404, "unknown_action")
    refused(api.post("/api/questions/99/confirm_identity", {"reason": "x"}), 409, "unknown_question")
    assert snapshot(store) == before
    ticket = api.post(f"/api/questions/{held}/confirm_identity", {"reason": "Thẻ mới, tên đúng là Lân"}).get_json()["result"]
    assert (ticket["number"], ticket["new"]) == (1, False)
    [event] = events_of(store, "IdentityCorrected")
    assert event["source"] == "camera" and event["by"] == {"staff_id": None, "name": "api"}
    assert api.get("/api/queue").get_json()["identity_questions"] == []
    refused(api.post(f"/api/questions/{held}/dismiss_identity"), 409, "question_closed")


def test_ok__anyone_may_dismiss_a_held_scan_and_nothing_is_checked_in(vaccinator, store, held):
    before = snapshot(store)
    answer = vaccinator.post(f"/api/questions/{held}/dismiss_identity").get_json()
    assert answer == {"ok": True, "result": {"id": held, "resolution": "dismissed"}}
    after = snapshot(store)
    assert after["identity_questions"] == [(held, 1, "dismissed")]
    assert {**after, "identity_questions": None} == {**before, "identity_questions": None}
    assert store.db["people"].get(LAN_ID)["full_name"] == "Nguyễn Thị Lan"


def test_ok__the_screening_checklist_decides_and_a_vaccinator_is_chosen_among_those_signed_in(
        app, store, site, hoa, binh, lot, screening):
    supervisor = signed_in(app.test_client(), hoa.id, "2580")
    signed_in(app.test_client(), binh.id, "4826")  # Bình is signed in on another tablet
    answers = {"prior_dose_reaction": False, "allergy": False, "immunocompromised": False, "acute_illness": False,
               "fever": True, "pregnant": False}
    refused(supervisor.post(f"/api/tickets/{screening}/screening", {"answers": answers}), 409, "return_date_needed")
    refused(supervisor.post(f"/api/tickets/{screening}/screening", {"answers": {**answers, "fever": "yes"}}), 409,
            "screening_incomplete")
    answer = supervisor.post(f"/api/tickets/{screening}/screening", {"answers": answers, "return_on": "09/12/2026"})
    assert answer.status_code == 200 and answer.get_json()["result"]["outcome"] == "deferred"
    [deferred] = events_of(store, "PersonDeferred")
    assert deferred["screening"] == {"answers": answers, "outcome": "deferred"} and deferred["return_on"] == "2026-12-09"
    assert deferred["reason"] == "Temperature 37.5 °C or more, or 35.5 °C or less"  # the "yes" answer, in words

    cleared = arrive(site, HUNG)
    walk(site, cleared, hoa, "call", "screen", "clear")
    refused(supervisor.post(f"/api/tickets/{cleared}/inject", {"lot": lot["id"], "vaccinator": 999}), 409, "unknown_vaccinator")
    body = {"lot": lot["id"], "vaccinator": binh.id, "injection_site": "right_deltoid"}
    assert supervisor.post(f"/api/tickets/{cleared}/inject", body).status_code == 200
    [dose] = events_of(store, "DoseRecorded")
    assert dose["dose"]["vaccinator"] == {"staff_id": binh.id, "name": binh.name} and dose["dose"]["site"] == "right_deltoid"
    assert dose["by"]["name"] == hoa.name
