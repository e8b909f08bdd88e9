"""Why a person was not vaccinated: the refuse use case's reason code, on a real SQLite file, the API and the screens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils

import wire
from hub.store.outcomes import REFUSAL_KINDS, outcome_row
from kiosk.queue import actions
from kiosk.queue.board import ticket_board_view
from kiosk.queue.errors import ActionRefused, DetailsInvalid, TransitionRefused
from kiosk.queue.migrations import MIGRATIONS
from kiosk.queue.store import Store
from kiosk.web import Services, create_app

from .conftest import NURSE
from .test_actions import (  # noqa: F401 (fixtures)
    assert_outbox_matches,
    built_world,
    last_seq,
    snapshot,
    ticket_in,
    world,
)
from .web_helpers import arrive, csrf_token, sign_in, walk

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "e5f7a9b1c3d5-site-token"
CHOOSE = "Choose why the person is not vaccinated: declined, contraindicated or referred to hospital."


# The use case


def test_ok__the_codes_are_the_wire_contract_s_and_the_hub_s():
    schema = json.loads((ROOT / "wire" / "event.schema.json").read_text(encoding="utf-8"))
    enum = schema["definitions"]["about_ticket"]["properties"]["reason_code"]["enum"]
    assert list(actions.REFUSAL_CODES) == enum
    assert set(actions.REFUSAL_CODES) == set(REFUSAL_KINDS)


REFUSALS = [
    pytest.param("screening", "declined", "Không đồng ý tiêm", id="declined-at-screening"),
    pytest.param("screening", "contraindicated", "Sốc phản vệ độ 3 với liều trước", id="contraindicated-at-screening"),
    pytest.param("screening", "referred", "Suy tim: tiêm tại bệnh viện huyện", id="referred-at-screening"),
    pytest.param("cleared", "declined", "Đổi ý tại bàn tiêm", id="declined-at-the-table"),
    pytest.param("cleared", "contraindicated", "Huyết áp 180/110", id="contraindicated-at-the-table"),
    pytest.param("cleared", "referred", "Mang thai 3 tháng đầu", id="referred-at-the-table"),
]


@pytest.mark.parametrize(("state", "code", "reason"), REFUSALS)
def test_ok__refuse_keeps_the_code_on_the_ticket_the_event_and_the_board(store, site, state, code, reason):
    tid = ticket_in(site, state)
    before = last_seq(store)
    returned = actions.refuse(site, tid, NURSE, reason_code=code, reason=reason, expected_state=state)
    ticket = store.db["tickets"].get(tid)
    assert (ticket["state"], ticket["reason_code"], ticket["reason"]) == ("refused", code, reason)
    assert (returned["reason_code"], returned["reason"]) == (code, reason)
    event = store.db["events"].get(before + 1)
    assert event["type"] == "VaccinationRefused" and last_seq(store) == before + 1
    payload = assert_outbox_matches(store, event)  # and the hub's validation takes it
    assert (payload["from"], payload["to"], payload["reason_code"], payload["reason"]) == (state, "refused", code, reason)
    assert ticket_board_view(site, tid)["reason_code"] == code


@pytest.mark.parametrize(("code", "kind"), [("declined", "refused"), ("contraindicated", "contraindicated"),
                                            ("referred", "referred")])
def test_ok__the_hub_counts_each_code_in_its_own_column(store, site, code, kind):
    tid = ticket_in(site, "screening")
    actions.refuse(site, tid, NURSE, reason_code=code, reason="lý do")
    event = store.db["events"].get(last_seq(store))
    assert outcome_row(event["event_id"], "kiosk-test", event["type"], event["at"], json.loads(event["payload"]),
                       "2026-11-25T01:00:00+00:00")["kind"] == kind


BAD_CODES = [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("refused", id="the-state-not-a-code"),
    pytest.param("Declined", id="wrong-case"),
    pytest.param(" declined", id="padded"),
    pytest.param("deferred", id="a-deferral-is-not-a-refusal"),
    pytest.param(1, id="a-number"),
    pytest.param(["declined"], id="a-list"),
]


@pytest.mark.parametrize("state", ["screening", "cleared"])
@pytest.mark.parametrize("code", BAD_CODES)
def test_fail__a_missing_or_unknown_code_is_refused_and_writes_nothing(world, state, code):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        actions.refuse(world.site, world.tickets[state], NURSE, reason_code=code, reason="Không đồng ý")
    assert caught.value.code == "bad_reason_code" and "declined, contraindicated, referred" in str(caught.value)
    assert snapshot(world.site.store) == before


ORDER = [
    pytest.param("waiting", "bogus", "ok", TransitionRefused, id="a-transition-not-allowed-says-so-first"),
    pytest.param("refused", None, "ok", TransitionRefused, id="an-already-refused-ticket-says-so-first"),
    pytest.param("screening", "bogus", "", DetailsInvalid, id="a-blank-reason-says-so-first"),
    pytest.param("cleared", None, "x" * 201, DetailsInvalid, id="a-long-reason-says-so-first"),
]


@pytest.mark.parametrize(("state", "code", "reason", "error"), ORDER)
def test_fail__the_code_is_checked_after_the_state_and_the_reason(world, state, code, reason, error):
    before = snapshot(world.site.store)
    with pytest.raises(error):
        actions.refuse(world.site, world.tickets[state], NURSE, reason_code=code, reason=reason)
    assert snapshot(world.site.store) == before


def test_ok__a_database_from_before_the_codes_keeps_its_refusals_without_one(tmp_path, site):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    for step in MIGRATIONS[:7]:
        step(old)
    old.execute("PRAGMA user_version = 7")
    old["people"].insert({"id_number": "001190012345", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ"})
    old["tickets"].insert({"id": 1, "day": "2026-11-25", "number": 1, "id_number": "001190012345", "state": "refused",
                           "source": "camera", "checked_in_at": "2026-11-25T08:00:00+07:00", "reason": "Không đồng ý"})
    old.close()
    store = Store(path)
    try:
        row = store.db["tickets"].get(1)
        assert (row["state"], row["reason"], row["reason_code"]) == ("refused", "Không đồng ý", None)
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        store.close()


# The JSON API and the screens


@pytest.fixture
def client(config, site):
    return create_app(Services(config.replace("web", language="en", api_token=TOKEN), site)).test_client()


@pytest.fixture
def screening(site, hoa):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen")
    return ticket_id


def api_refuse(client, ticket_id, body):
    return client.post(f"/api/tickets/{ticket_id}/refuse", json=body, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.mark.parametrize("code", actions.REFUSAL_CODES)
def test_ok__the_api_refuses_with_a_code_and_shows_it(client, store, screening, code):
    response = api_refuse(client, screening, {"reason_code": code, "reason": "Huyết áp cao", "expect": "screening"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["reason_code"] == code
    assert "id_number" not in response.get_json()["result"]
    shown = client.get(f"/api/tickets/{screening}", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert (shown["state"], shown["reason_code"], shown["reason"]) == ("refused", code, "Huyết áp cao")


API_FAILS = [
    pytest.param({"reason": "Không đồng ý"}, 409, "bad_reason_code", CHOOSE, id="no-code"),
    pytest.param({"reason_code": "", "reason": "Không đồng ý"}, 409, "bad_reason_code", CHOOSE, id="empty-code"),
    pytest.param({"reason_code": None, "reason": "Không đồng ý"}, 409, "bad_reason_code", CHOOSE, id="null-code"),
    pytest.param({"reason_code": "sick", "reason": "Không đồng ý"}, 409, "bad_reason_code", CHOOSE, id="unknown-code"),
    pytest.param({"reason_code": 2, "reason": "Không đồng ý"}, 409, "bad_reason_code", CHOOSE, id="a-number"),
    pytest.param({"reason_code": "declined"}, 400, "missing_field", "Please fill in: Reason.", id="no-reason"),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), API_FAILS)
def test_fail__the_api_refuses_a_missing_or_unknown_code_with_a_clear_message(client, store, screening, body, status,
                                                                             code, message):
    events = store.db["events"].count
    response = api_refuse(client, screening, body)
    assert (response.status_code, response.get_json()["error"], response.get_json()["message"]) == (status, code, message)
    assert store.db["events"].count == events and store.db["tickets"].get(screening)["state"] == "screening"


def test_ok__the_api_s_refusal_message_is_vietnamese_for_a_vietnamese_screen(config, site, screening):
    client = create_app(Services(config.replace("web", language="vi", api_token=TOKEN), site)).test_client()
    response = api_refuse(client, screening, {"reason": "Không đồng ý"})
    assert response.status_code == 409
    assert "Từ chối tiêm" in response.get_json()["message"] and "Chuyển viện tiêm" in response.get_json()["message"]


def test_ok__the_ticket_page_offers_the_three_choices_and_the_board_shows_the_chosen_one(client, hoa, store, screening):
    assert sign_in(client, hoa.id, "2580").status_code == 302
    html = client.get(f"/supervisor/tickets/{screening}").get_data(as_text=True)
    assert re.findall(r'name="reason_code" value="(\w+)" required', html) == list(actions.REFUSAL_CODES)
    response = client.post("/supervisor/do/refuse", data={
        "csrf_token": csrf_token(client, "/supervisor/checkin"), "ticket": screening, "expect": "screening",
        "reason_code": "referred", "reason": "Bệnh tim: tiêm tại bệnh viện",
        "next": f"/supervisor/tickets/{screening}",
    })
    assert response.status_code == 303 and store.db["tickets"].get(screening)["reason_code"] == "referred"
    ticket_page = client.get(f"/supervisor/tickets/{screening}").get_data(as_text=True)
    assert 'class="reason-code referred">Referred to hospital for vaccination<' in ticket_page
    board = client.get("/supervisor/board").get_data(as_text=True)
    assert '<b class="reason-code referred">Referred to hospital for vaccination</b>: Bệnh tim: tiêm tại bệnh viện' in board
