"""The supervisor screen through the real app: every action as a form, refusals that change nothing, roles, privacy."""

import json
import re
from datetime import date
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from markupsafe import escape

from kiosk.payloads import manual_card
from kiosk.queue import actions, aefi, dosing
from kiosk.queue.checkin import check_in
from kiosk.queue.screening import QUESTIONS
from kiosk.web import Services, create_app

from .conftest import HUNG, LAN
from .web_helpers import arrive, csrf_token, sign_in, snapshot, walk

TODAY = date(2026, 11, 25)
LAN_ID, HUNG_ID, CHILD_ID = "001190012345", "036058001234", "079318004321"
ERROR = '<p class="error" role="alert">{}</p>'


@pytest.fixture
def app(config, site):
    return create_app(Services(config.replace("web", language="en"), site))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def supervisor(client, hoa):
    """A client signed in as the supervisor Hoa."""
    assert sign_in(client, hoa.id, "2580").status_code == 302
    return client


@pytest.fixture
def vaccinator(client, binh):
    assert sign_in(client, binh.id, "4826").status_code == 302
    return client


@pytest.fixture
def lot(site, hoa):
    """An open lot of Vaxzevria, 10 doses a vial."""
    return dosing.open_lot(site, hoa, product="vaxzevria", lot_number="AZ-2611", expiry=date(2027, 3, 31), doses_per_vial=10)


def do(client, name, **fields):
    """POST one action the way a form on the screen would (with this session's CSRF token)."""
    data = {"csrf_token": csrf_token(client, "/supervisor/checkin"), **{k: str(v) for k, v in fields.items()}}
    return client.post(f"/supervisor/do/{name}", data=data)


class Forms(HTMLParser):
    """The POST forms of a page: action, hidden and prefilled fields, and the buttons' data-* attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and attrs.get("name") and attrs.get("type") not in ("radio", "checkbox"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""
        elif self.forms and tag == "button":
            self.forms[-1]["buttons"].append(attrs)


def submit(client, page: str, name: str, ticket: int | None = None, lot: int | None = None, **typed):
    """Find the form for action ``name`` (of ``ticket`` or ``lot``) on ``page``, fill in ``typed`` and send it."""
    html = client.get(page).get_data(as_text=True)
    for form in Forms(html).forms:
        fields = form["fields"]
        if not form["action"].endswith(f"/do/{name}"):
            continue
        if ticket is not None and fields.get("ticket") != str(ticket):
            continue
        lot_buttons = [b.get("value") for b in form["buttons"] if b.get("name") == "lot"]  # one dose form, a button per lot
        if lot is not None and fields.get("lot") != str(lot) and str(lot) not in lot_buttons:
            continue
        if lot is not None:
            fields = {**fields, "lot": str(lot)}
        return client.post(form["action"], data={**fields, **{k: str(v) for k, v in typed.items()}})
    raise AssertionError(f"no form for {name} (ticket {ticket}, lot {lot}) on {page}")


def page(response) -> str:
    return response.get_data(as_text=True)


def events_of(store, event_type) -> list[dict]:
    return [json.loads(r[0]) for r in store.db.execute("select payload from events where type = ? order by seq", [event_type])]


# Bad input: a clear message, and nothing changed


@pytest.fixture
def screening(site, hoa):
    """Lan's ticket at the screening desk."""
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen")
    return ticket_id


BAD_FORMS = [
    pytest.param("defer", {"return_on": "2026-12-09"}, 400, "Please fill in: Reason.", id="defer-without-reason"),
    pytest.param("defer", {"reason": "Sốt 38,5 °C", "return_on": "tomorrow"}, 400,
                 "Come back on: write the date as dd/mm/yyyy.", id="defer-return_on-tomorrow"),
    pytest.param("defer", {"reason": "Sốt", "return_on": "2026-11-25"}, 400, "The date to come back must be after today.",
                 id="defer-return_on-today"),
    pytest.param("call_next", {}, 400, "Please fill in: Desk.", id="call_next-without-desk"),
    pytest.param("call_next", {"desk": "abc"}, 400, "Desk must be a whole number.", id="call_next-desk-abc"),
    pytest.param("open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "doses_per_vial": "10"}, 400,
                 "Please fill in: Expiry.", id="open_lot-without-expiry"),
    pytest.param("open_lot", {"product": "vaxzevria", "lot_number": "AZ-1", "expiry": "2027-01-31", "doses_per_vial": "0"},
                 409, "Doses per vial must be a whole number from 1 to 50.", id="open_lot-doses_per_vial-0"),
    pytest.param("screen", {"ticket": "abc"}, 400, "Ticket must be a whole number.", id="ticket-abc"),
    pytest.param("screen", {"ticket": "999"}, 404, "There is no such ticket. Nothing was changed.", id="unknown-ticket"),
    pytest.param("defer", {"ticket": "999"}, 400, "Please fill in: Reason.", id="unknown-ticket-from-its-page"),
    pytest.param("bogus", {}, 404, "There is no such action.", id="unknown-action"),
    pytest.param("refuse", {"reason": "Không đồng ý"}, 409,
                 "Choose why the person is not vaccinated: declined, contraindicated or referred to hospital.",
                 id="refuse-without-reason_code"),
    pytest.param("refuse", {"reason_code": "busy", "reason": "Không đồng ý"}, 409,
                 "Choose why the person is not vaccinated: declined, contraindicated or referred to hospital.",
                 id="refuse-unknown-reason_code"),
    pytest.param("refuse", {"reason_code": "declined"}, 400, "Please fill in: Reason.", id="refuse-without-reason"),
]


@pytest.mark.parametrize("name, fields, status, message", BAD_FORMS)
def test_fail__a_bad_form_says_why_and_changes_nothing(supervisor, store, screening, name, fields, status, message):
    fields = {"ticket": screening, "expect": "screening", "from": "ticket", **fields}
    before = snapshot(store)
    response = do(supervisor, name, **fields)
    assert response.status_code == status
    assert ERROR.format(escape(message)) in page(response)
    assert snapshot(store) == before


def test_fail__a_refusal_from_the_ticket_page_shows_the_ticket_page_again(supervisor, store, screening):
    response = do(supervisor, "defer", ticket=screening, expect="screening", **{"from": "ticket"}, return_on="2026-12-09")
    assert response.status_code == 400 and "Nguyễn Thị Lan" in page(response) and 'name="return_on"' in page(response)


def test_fail__a_transition_that_is_not_allowed_is_409_and_changes_nothing(supervisor, store, site):
    waiting = arrive(site)
    before = snapshot(store)
    response = do(supervisor, "clear", ticket=waiting, expect="waiting")
    assert response.status_code == 409
    assert ERROR.format("This step is not possible for this ticket now. Nothing was changed.") in page(response)
    assert snapshot(store) == before


def test_fail__a_double_submitted_dose_is_recorded_once(supervisor, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear")
    form = {"ticket": ticket_id, "expect": "cleared", "lot": lot["id"], "from": "ticket"}
    assert do(supervisor, "inject", **form).status_code == 303
    after_first = snapshot(store)
    second = do(supervisor, "inject", **form)
    assert second.status_code == 409
    assert ERROR.format(escape(
        "This ticket was changed meanwhile (another screen, or a second tap). Nothing was done: look at it again."
    )) in page(second)
    assert snapshot(store) == after_first
    assert len(after_first["doses"]) == 1 and len(events_of(store, "DoseRecorded")) == 1


def test_fail__release_before_the_time_is_up_needs_a_reason(supervisor, store, site, hoa, lot, ticker):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    ticker.advance(20 * 60)
    before = snapshot(store)
    assert not any(f["action"].endswith("/do/release") for f in Forms(page(supervisor.get("/supervisor/board"))).forms)
    ticket_page = f"/supervisor/tickets/{ticket_id}"
    refused = submit(supervisor, ticket_page, "release", ticket=ticket_id, reason="  ")
    assert refused.status_code == 409
    assert ERROR.format("The observation is not over (10 min left): give a reason to release early.") in page(refused)
    assert 'name="reason"' in page(refused)  # the ticket's page again, to type the reason
    assert snapshot(store) == before
    accepted = submit(supervisor, ticket_page, "release", ticket=ticket_id, reason="Đã ổn, cần về gấp")
    assert accepted.status_code == 303
    assert store.db["tickets"].get(ticket_id)["state"] == "released"
    assert store.db["tickets"].get(ticket_id)["reason"] == "Đã ổn, cần về gấp"


def test_ok__release_after_the_time_is_up_needs_no_reason(supervisor, store, site, hoa, lot, ticker):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    ticker.advance(30 * 60)
    assert "Time is up" in page(supervisor.get("/supervisor/board"))
    assert submit(supervisor, "/supervisor/", "release", ticket=ticket_id).status_code == 303
    assert store.db["tickets"].get(ticket_id)["state"] == "released"


# Roles


def test_fail__a_vaccinator_cannot_open_or_close_lots(vaccinator, store, lot):
    before = snapshot(store)
    opened = do(vaccinator, "open_lot", product="spikevax", lot_number="MD-7", expiry="2027-01-31", doses_per_vial=10)
    closed = do(vaccinator, "close_lot", lot=lot["id"])
    wasted = do(vaccinator, "waste", lot=lot["id"], doses=1, reason="vỡ lọ")
    for response in (opened, closed, wasted):
        assert response.status_code == 403
        assert ERROR.format("Your role may not do this. Ask a supervisor.") in page(response)
    assert snapshot(store) == before


def test_ok__a_supervisor_opens_and_closes_lots(supervisor, store):
    opened = submit(supervisor, "/supervisor/lots", "open_lot", product="spikevax", lot_number="MD-7",
                    expiry="2027-01-31", doses_per_vial=10)
    assert opened.status_code == 303 and opened.location == "/supervisor/lots"
    lot_id = store.db.execute("select id from lots where lot_number = 'MD-7'").fetchone()[0]
    assert submit(supervisor, "/supervisor/lots", "open_vial", lot=lot_id).status_code == 303
    assert submit(supervisor, "/supervisor/lots", "close_lot", lot=lot_id).status_code == 303
    row = store.db["lots"].get(lot_id)
    assert row["closed_at"] is not None and row["wasted"] == 10
    assert [e["lot"]["lot_number"] for e in events_of(store, "LotClosed")] == ["MD-7"]


@pytest.fixture
def child(site, hoa, lot):
    """An 8-year-old, cleared at the desk: Vaxzevria is for 18 and over."""
    card = manual_card(CHILD_ID, "Phạm Minh Anh", "2018-06-01", "Nữ", today=TODAY)
    ticket_id = check_in(site, card, source="manual", by=hoa).id
    walk(site, ticket_id, hoa, "call", "screen", "clear")
    return ticket_id


def test_fail__a_vaccinator_cannot_override_eligibility(vaccinator, store, child, lot):
    ticket_page = page(vaccinator.get(f"/supervisor/tickets/{child}"))
    assert "only a supervisor may override" in ticket_page and "Give anyway" not in ticket_page
    before = snapshot(store)
    response = do(vaccinator, "inject", ticket=child, expect="cleared", lot=lot["id"], override="bác sĩ đồng ý", **{"from": "ticket"})
    assert response.status_code == 403
    assert ERROR.format("Only a supervisor may override eligibility.") in page(response)
    assert snapshot(store) == before
    plain = do(vaccinator, "inject", ticket=child, expect="cleared", lot=lot["id"], **{"from": "ticket"})
    assert plain.status_code == 409 and snapshot(store) == before


def test_ok__a_supervisor_may_override_eligibility_with_a_reason(supervisor, store, child, lot):
    response = submit(supervisor, f"/supervisor/tickets/{child}", "inject", ticket=child, lot=lot["id"], override="Chỉ định của bác sĩ")
    assert response.status_code == 303
    assert store.db.execute("select override_reason from doses").fetchall() == [("Chỉ định của bác sĩ",)]
    [dose] = events_of(store, "DoseRecorded")
    assert dose["override"]["reason"] == "Chỉ định của bác sĩ" and dose["by"]["name"] == "Điều dưỡng Hoa"


# The happy path, form by form


def test_ok__a_person_goes_from_the_queue_to_observation_through_the_forms(supervisor, store, site, ticker, hoa):
    opened = submit(supervisor, "/supervisor/lots", "open_lot", product="vaxzevria", lot_number="AZ-2611",
                    expiry="2027-03-31", doses_per_vial=10)
    assert opened.status_code == 303
    lot_id = store.db.execute("select id from lots").fetchone()[0]
    ticket_id = arrive(site)

    called = submit(supervisor, "/supervisor/", "call_next", desk=2)
    assert called.status_code == 303 and called.location == "/supervisor/?desk=2"
    board = page(supervisor.get(called.location))
    assert "Ticket 1 called to desk 2." in board and "Desk 2" in board
    assert submit(supervisor, "/supervisor/?desk=2", "screen", ticket=ticket_id).status_code == 303
    answers = {f"answer_{q}": "no" for q in QUESTIONS}
    screened = submit(supervisor, f"/supervisor/tickets/{ticket_id}", "screening", ticket=ticket_id, **answers)
    assert screened.status_code == 303
    assert "Ticket 1: screening passed, cleared to vaccinate." in page(supervisor.get(screened.location))
    injected = submit(supervisor, f"/supervisor/tickets/{ticket_id}", "inject", ticket=ticket_id, lot=lot_id,
                      injection_site="left_deltoid", vaccinator=hoa.id)
    assert injected.status_code == 303 and injected.location == f"/supervisor/tickets/{ticket_id}"

    ticker.advance(65)
    board = page(supervisor.get("/supervisor/board"))
    assert 'data-remaining="1735"' in board and "28:55" in board
    assert "Dose 1 · AstraZeneca Vaxzevria (ChAdOx1-S) · AZ-2611" in board
    assert "given 1" in board and "left in open vials 9" in board
    [body] = [json.loads(r[0]) for r in store.db.execute("select body from outbox where type = 'DoseRecorded'")]
    assert body["payload"]["dose"] | {"given_at": None, "expiry": None} == {
        "product": "vaxzevria", "lot_number": "AZ-2611", "number": 1, "booster": False, "given_at": None, "expiry": None,
        "vaccinator": {"staff_id": hoa.id, "name": "Điều dưỡng Hoa"}, "site": "left_deltoid",
    }
    assert body["payload"]["by"] == {"staff_id": hoa.id, "name": "Điều dưỡng Hoa"}
    types = [r[0] for r in store.db.execute("select type from events order by seq")]
    assert types == ["LotOpened", "PersonCheckedIn", "PersonCalled", "ScreeningStarted", "PersonCleared",
                     "VialOpened", "DoseRecorded", "ObservationStarted"]


def test_fail__call_next_with_nobody_waiting_keeps_the_chosen_desk(supervisor, store):
    before = snapshot(store)
    response = submit(supervisor, "/supervisor/", "call_next", desk=2)
    assert response.status_code == 409 and ERROR.format("Nobody is waiting.") in page(response)
    assert '<option value="2" selected>' in page(response) and 'name="next" value="/supervisor/?desk=2"' in page(response)
    assert snapshot(store) == before


def test_ok__a_severe_reaction_raises_the_alarm_until_someone_acknowledges_it(supervisor, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    recorded = submit(supervisor, f"/supervisor/tickets/{ticket_id}", "aefi", ticket=ticket_id,
                      severity="severe", symptoms="Khó thở, nổi mẩn")
    assert recorded.status_code == 303
    board = page(supervisor.get("/supervisor/"))
    assert 'class="alarms severe" role="alert"' in board and "Severe reaction: ticket 1" in board and "Khó thở, nổi mẩn" in board
    aefi_id = store.db.execute("select id from aefi").fetchone()[0]
    assert submit(supervisor, "/supervisor/", "acknowledge", aefi=aefi_id).status_code == 303
    board = page(supervisor.get("/supervisor/"))
    assert "Severe reaction" not in board and "AEFI: Severe" in board
    assert store.db["aefi"].get(aefi_id)["acknowledged_by"] == hoa.id
    again = do(supervisor, "acknowledge", aefi=aefi_id)
    assert again.status_code == 409 and "already acknowledged" in page(again)


def test_ok__a_mild_reaction_is_recorded_without_an_alarm(supervisor, store, site, hoa, lot):
    ticket_id = arrive(site)
    walk(site, ticket_id, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    submit(supervisor, f"/supervisor/tickets/{ticket_id}", "aefi", ticket=ticket_id, severity="mild", symptoms="Đau chỗ tiêm")
    board = page(supervisor.get("/supervisor/"))
    assert "Severe reaction" not in board and "AEFI: Mild" in board


def test_ok__deferring_from_the_ticket_page_records_the_reason_and_date(supervisor, store, screening):
    response = submit(supervisor, f"/supervisor/tickets/{screening}", "defer", ticket=screening,
                      reason="Sốt 38,5 °C", return_on="2026-12-09")
    assert response.status_code == 303 and response.location == f"/supervisor/tickets/{screening}"
    assert "Sốt 38,5 °C → 09/12/2026" in page(supervisor.get("/supervisor/board"))
    [event] = events_of(store, "PersonDeferred")
    assert event["reason"] == "Sốt 38,5 °C" and event["return_on"] == "2026-12-09"


def test_ok__priority_moves_a_person_ahead_of_the_queue(supervisor, store, site):
    first, second = arrive(site), arrive(site, HUNG)
    assert "65+: priority?" in page(supervisor.get("/supervisor/board"))
    assert submit(supervisor, f"/supervisor/tickets/{second}", "prioritise", ticket=second, flag="age65").status_code == 303
    do(supervisor, "call_next", desk=1)
    assert store.db["tickets"].get(second)["state"] == "called" and store.db["tickets"].get(first)["state"] == "waiting"


# Manual check-in


def test_ok__typed_details_check_a_person_in_as_manual(supervisor, store, hoa):
    response = do(supervisor, "check_in", id_number=LAN_ID, full_name="  Nguyễn   Thị Lan ", birth_date="1990-03-15", sex="Nữ")
    ticket = store.db.execute("select id, number, source from tickets").fetchone()
    assert response.status_code == 303 and response.location == f"/supervisor/tickets/{ticket[0]}"
    assert ticket[2] == "manual"
    assert "Checked in: ticket 1." in page(supervisor.get(response.location))
    [event] = events_of(store, "PersonCheckedIn")
    assert event["source"] == "manual" and event["by"] == {"staff_id": hoa.id, "name": "Điều dưỡng Hoa"}
    assert event["person"]["full_name"] == "Nguyễn Thị Lan"


def test_ok__a_handheld_scanner_typing_the_whole_payload_checks_in_as_handheld(supervisor, store):
    response = do(supervisor, "check_in", id_number=LAN)
    assert response.status_code == 303
    assert store.db.execute("select source, id_number from tickets").fetchall() == [("handheld", LAN_ID)]
    assert events_of(store, "PersonCheckedIn")[0]["source"] == "handheld"


@pytest.mark.parametrize("fields, message", [
    ({"id_number": "00119001234", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ"},
     "The ID number has 12 digits; this one has 11 characters (11 digits). Check it on the card."),
    ({"id_number": "001190012345|123456789|Nguyễn Thị Lan"}, "This code does not have the layout of a chip ID card code."),
    ({"id_number": LAN_ID, "full_name": "Nguyễn Thị Lan", "birth_date": "2027-03-15", "sex": "Nữ"},
     "The date of birth in this code is after today's date."),
    ({"id_number": LAN_ID, "birth_date": "1990-03-15", "sex": "Nữ"}, "Please fill in: Full name."),
])
def test_fail__a_bad_check_in_is_refused_with_the_reason_and_writes_nothing(supervisor, store, fields, message):
    before = snapshot(store)
    response = do(supervisor, "check_in", **fields)
    assert response.status_code == 400 and escape(message) in page(response)
    assert 'class="error" role="alert"' in page(response) and 'name="id_number"' in page(response)
    assert snapshot(store) == before and store.db["scans"].count == 0


# Every page in every state


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ok__every_page_renders_for_every_state_in_both_languages(client, hoa, binh, site, store, lot, lang, ticker):
    people = [arrive(site), arrive(site, HUNG)]
    for n in range(9):
        card = manual_card(f"0793180{n:05d}", f"Phạm Minh Anh {chr(65 + n)}", "1980-06-01", "Nữ", today=TODAY)
        people.append(check_in(site, card, source="manual", by=hoa).id)
    paths = {
        "waiting": (), "called": ("call",), "screening": ("call", "screen"), "cleared": ("call", "screen", "clear"),
        "observing": ("call", "screen", "clear", "inject"), "released": ("call", "screen", "clear", "inject"),
        "left_early": ("call", "screen", "clear", "inject", "leave_early"), "left": ("leave",),
        "deferred": ("call", "screen"), "refused": ("call", "screen"), "priority": (),
    }
    states = {}
    for ticket_id, (state, steps) in zip(people, paths.items()):
        walk(site, ticket_id, hoa, *steps, lot_id=lot["id"])
        states[state] = ticket_id
    actions.defer(site, states["deferred"], hoa, reason="Sốt", return_on=date(2026, 12, 9))
    actions.refuse(site, states["refused"], hoa, reason_code="referred", reason="Không đồng ý")
    actions.prioritise(site, states["priority"], hoa, flag="pregnant")
    aefi.record_aefi(site, states["observing"], hoa, severity="severe", symptoms="Khó thở")
    ticker.advance(1800)
    actions.release(site, states["released"], hoa)
    dosing.close_lot(site, dosing.open_lot(site, hoa, product="spikevax", lot_number="MD-7", expiry=date(2027, 1, 31),
                                           doses_per_vial=10)["id"], hoa)
    for member, pin in ((hoa, "2580"), (binh, "4826")):
        assert sign_in(client, member.id, pin).status_code == 302
        client.post("/lang", data={"csrf_token": csrf_token(client, "/supervisor/checkin"), "lang": lang, "next": "/login"})
        pages = ["/supervisor/", "/supervisor/board", "/supervisor/checkin", "/supervisor/lots"]
        for path in pages + [f"/supervisor/tickets/{t}" for t in states.values()]:
            response = client.get(path)
            assert response.status_code == 200, (member.role, path)
            assert f'lang="{lang}"' in page(response) or path == "/supervisor/board"
        client.post("/logout", data={"csrf_token": csrf_token(client, "/supervisor/checkin")})


# Privacy


@pytest.fixture
def busy_day(site, hoa, lot):
    """Three people in different states, one typed in by hand."""
    lan, hung = arrive(site), arrive(site, HUNG)
    walk(site, lan, hoa, "call", "screen", "clear", "inject", lot_id=lot["id"])
    card = manual_card(CHILD_ID, "Phạm Minh Anh", "2018-06-01", "Nữ", today=TODAY)
    anh = check_in(site, card, source="manual", by=hoa).id
    walk(site, anh, hoa, "call", "screen")
    actions.defer(site, anh, hoa, reason="Chưa đủ tuổi", return_on=date(2026, 12, 9))
    aefi.record_aefi(site, lan, hoa, severity="severe", symptoms="Khó thở")
    return {"lan": lan, "hung": hung, "anh": anh}


PEOPLE = [
    (LAN_ID, "123456789", "Nguyễn Thị Lan"),
    (HUNG_ID, "", "Trần Văn Hùng"),
    (CHILD_ID, "", "Phạm Minh Anh"),
]


def without_tokens(html: str) -> str:
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "", html)


def test_ok__the_board_shows_only_the_last_four_digits_of_id_numbers(supervisor, busy_day):
    for path in ("/supervisor/", "/supervisor/board", "/supervisor/?desk=2"):
        html = without_tokens(page(supervisor.get(path)))
        assert not re.search(r"\d{9,}", html), path
        for id_number, old_id, name in PEOPLE:
            assert id_number not in html and f"…{id_number[-4:]}" in html and name in html
            assert not old_id or old_id not in html


def test_ok__no_url_on_the_board_carries_personal_data(supervisor, busy_day):
    html = page(supervisor.get("/supervisor/"))
    urls = re.findall(r'(?:href|action|src|data-src)="([^"]*)"', html)
    urls += re.findall(r'name="next" value="([^"]*)"', html)
    assert any("/supervisor/tickets/" in url for url in urls)
    for url in map(unquote, urls):
        assert not re.search(r"\d{5,}", url), url
        for id_number, _old, name in PEOPLE:
            assert id_number[-4:] not in url and not any(part in url for part in name.split()), url


def test_ok__the_citizen_page_holds_no_name_or_id(client, busy_day):
    html = page(client.get("/"))
    for id_number, _old, name in PEOPLE:
        assert id_number not in html and id_number[-4:] not in html and name.split()[-1] not in html


def test_ok__the_full_id_number_is_only_on_the_tickets_own_page(supervisor, busy_day):
    html = page(supervisor.get(f"/supervisor/tickets/{busy_day['lan']}"))
    assert LAN_ID in html and HUNG_ID not in html and CHILD_ID not in html


def test_fail__an_unknown_ticket_page_is_404_on_the_board(supervisor, busy_day):
    response = supervisor.get("/supervisor/tickets/999")
    assert response.status_code == 404 and ERROR.format("There is no such ticket.") in page(response)


# The pages and the fragment


def test_ok__the_board_fragment_renders_alone(supervisor, busy_day):
    html = page(supervisor.get("/supervisor/board?desk=2"))
    assert "<html" not in html and "<head" not in html and "<body" not in html
    assert 'class="columns"' in html and "Trần Văn Hùng" in html
    assert 'name="next" value="/supervisor/?desk=2"' in html


@pytest.mark.parametrize("path", ["/supervisor/", "/supervisor/board", "/supervisor/tickets/1", "/supervisor/checkin", "/supervisor/lots"])
def test_fail__signed_out_the_pages_go_to_the_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_fail__signed_out_a_form_post_changes_nothing(client, store, site):
    ticket_id = arrive(site)
    before = snapshot(store)
    response = client.post("/supervisor/do/call", data={"csrf_token": csrf_token(client), "ticket": ticket_id, "desk": "1"})
    assert response.status_code == 302 and response.location.startswith("/login")
    assert snapshot(store) == before


def test_fail__a_form_without_the_csrf_token_changes_nothing(supervisor, store, site):
    ticket_id = arrive(site)
    before = snapshot(store)
    response = supervisor.post("/supervisor/do/call", data={"ticket": ticket_id, "desk": "1"})
    assert response.status_code == 400 and snapshot(store) == before


# Identity: a typed ID never attaches a person to someone else's record (issue 10)

LAN_TYPO = {"id_number": LAN_ID, "full_name": "Nguyễn Thị Lân", "birth_date": "1990-03-16", "sex": "Nữ"}


def test_fail__a_known_id_typed_with_other_details_shows_both_versions(supervisor, store, site):
    arrive(site)
    before = snapshot(store)
    response = do(supervisor, "check_in", **LAN_TYPO)
    html = page(response)
    assert response.status_code == 409
    assert "Nguyễn Thị Lan" in html and "Nguyễn Thị Lân" in html and "15/03/1990" in html and "16/03/1990" in html
    assert f"…{LAN_ID[-4:]}" in html
    assert snapshot(store) == before


def rows_marked(html: str) -> list[str]:
    return re.findall(r'<tr class="differs" data-field="(\w+)">', html)


def test_ok__the_identity_page_marks_the_differing_rows_and_offers_both_choices(supervisor, store, site):
    arrive(site)
    html = page(do(supervisor, "check_in", **LAN_TYPO))
    assert rows_marked(html) == ["full_name", "birth_date"]
    assert LAN_ID not in without_tokens(html).replace(f'name="id_number" value="{LAN_ID}"', ""), "only the form resends it"
    actions = [form["action"] for form in Forms(html).forms]
    assert "/supervisor/checkin" in actions and "/supervisor/do/check_in" in actions
    [confirm] = [form for form in Forms(html).forms if form["action"] == "/supervisor/do/check_in"]
    assert confirm["fields"] | {"csrf_token": ""} == {**LAN_TYPO, "old_id": "", "csrf_token": "", "correction_reason": ""}


def test_ok__re_type_goes_back_to_the_form_with_the_values_kept(supervisor, store, site):
    arrive(site)
    before = snapshot(store)
    again = submit(supervisor, "/supervisor/checkin", "check_in", **LAN_TYPO)
    [retype] = [form for form in Forms(page(again)).forms if form["action"] == "/supervisor/checkin"]
    retyped = supervisor.post(retype["action"], data=retype["fields"])
    html = page(retyped)
    assert retyped.status_code == 200 and 'action="/supervisor/do/check_in"' in html
    assert f'value="{LAN_ID}"' in html and 'value="Nguyễn Thị Lân"' in html and 'value="1990-03-16"' in html
    assert 'value="Nữ" checked' in html
    assert snapshot(store) == before
    fixed = submit(supervisor, "/supervisor/checkin", "check_in", **{**LAN_TYPO, "id_number": "001190012346"})
    assert fixed.status_code == 303 and store.db["tickets"].count == 2


def test_ok__a_supervisor_confirms_the_same_person_with_a_reason(supervisor, store, site, hoa):
    first = arrive(site)
    mismatch = do(supervisor, "check_in", **LAN_TYPO)
    [confirm] = [form for form in Forms(page(mismatch)).forms if form["action"] == "/supervisor/do/check_in"]
    response = supervisor.post(confirm["action"], data={**confirm["fields"], "correction_reason": "Hồ sơ cũ sai ngày sinh"})
    assert response.status_code == 303 and response.location == f"/supervisor/tickets/{first}"
    [event] = events_of(store, "IdentityCorrected")
    assert event["fields"] == ["full_name", "birth_date"] and event["by"]["name"] == hoa.name
    assert "Nguyễn Thị Lân" in page(supervisor.get(response.location))


def test_fail__a_vaccinator_sees_only_re_type_and_may_not_confirm(vaccinator, store, site):
    arrive(site)
    html = page(do(vaccinator, "check_in", **LAN_TYPO))
    assert "Only a supervisor may confirm corrected details." in html and 'name="correction_reason"' not in html
    before = snapshot(store)
    response = do(vaccinator, "check_in", **LAN_TYPO, correction_reason="cùng một người")
    assert response.status_code == 403 and ERROR.format("Only a supervisor may confirm corrected details.") in page(response)
    assert snapshot(store) == before


LAN_OTHER_CARD = LAN.replace("Nguyễn Thị Lan", "Nguyễn Thị Lân").replace("15031990", "16031990")


@pytest.fixture
def held(site, feedback):
    """Lan is checked in; then a card with her ID number, another name and another birth date is scanned twice."""
    from kiosk.decode import Code
    from kiosk.scan.desk import Desk

    arrive(site)
    desk = Desk(site, feedback)
    for _ in range(2):
        assert desk.handle(Code(LAN_OTHER_CARD, LAN_OTHER_CARD.encode(), "zxing")).reason == "identity_mismatch"
    return site.store.db.execute("select id from identity_questions").fetchone()[0]


def test_ok__the_board_shows_a_held_scan_with_both_versions_and_the_id_masked(supervisor, held):
    html = without_tokens(page(supervisor.get("/supervisor/board")))
    assert 'class="questions" role="alert"' in html and "Scanned 2 times." in html
    assert "Nguyễn Thị Lan" in html and "Nguyễn Thị Lân" in html and rows_marked(html) == ["full_name", "birth_date"]
    assert not re.search(r"\d{9,}", html) and "ID …2345" in html
    assert f'href="/supervisor/questions/{held}"' in html


def test_ok__a_supervisor_settles_a_held_scan_on_its_page(supervisor, store, site, held):
    html = page(supervisor.get(f"/supervisor/questions/{held}"))
    assert rows_marked(html) == ["full_name", "birth_date"] and not re.search(r"\d{9,}", without_tokens(html))
    refused = submit(supervisor, f"/supervisor/questions/{held}", "confirm_identity", reason="  ")
    assert refused.status_code == 400 and rows_marked(page(refused)) == ["full_name", "birth_date"]
    response = submit(supervisor, f"/supervisor/questions/{held}", "confirm_identity", reason="Thẻ mới cấp, tên đúng là Lân")
    assert response.status_code == 303 and response.location == "/supervisor/tickets/1"
    assert [e["source"] for e in events_of(store, "IdentityCorrected")] == ["camera"]
    assert 'class="questions"' not in page(supervisor.get("/supervisor/board"))
    closed = do(supervisor, "dismiss_identity", question=held)
    assert closed.status_code == 409 and "This identity question was already settled." in page(closed)


def test_ok__re_type_by_hand_closes_the_question_and_fills_the_form_with_the_card(supervisor, store, held):
    before = snapshot(store)
    response = submit(supervisor, f"/supervisor/questions/{held}", "dismiss_identity", retype="1")
    html = page(response)
    assert response.status_code == 200 and f'value="{LAN_ID}"' in html and 'value="Nguyễn Thị Lân"' in html
    assert {**snapshot(store), "identity_questions": None} == {**before, "identity_questions": None}
    assert store.db["identity_questions"].get(held)["resolution"] == "dismissed"


def test_fail__a_vaccinator_may_dismiss_but_not_confirm_a_held_scan(vaccinator, store, held):
    assert "Only a supervisor may confirm corrected details." in page(vaccinator.get(f"/supervisor/questions/{held}"))
    before = snapshot(store)
    assert do(vaccinator, "confirm_identity", question=held, reason="cùng người").status_code == 403
    assert snapshot(store) == before
    assert do(vaccinator, "dismiss_identity", question=held).status_code == 303
    assert "The identity question is closed; nobody was checked in." in page(vaccinator.get("/supervisor/"))
    assert store.db["identity_questions"].get(held)["resolution"] == "dismissed"


def test_fail__an_unknown_question_is_404_on_the_board(supervisor):
    response = supervisor.get("/supervisor/questions/99")
    assert response.status_code == 404 and ERROR.format("There is no such identity question.") in page(response)


def test_ok__the_identity_pages_speak_vietnamese(supervisor, site, held):
    supervisor.post("/lang", data={"csrf_token": csrf_token(supervisor, "/supervisor/checkin"), "lang": "vi", "next": "/login"})
    question = page(supervisor.get(f"/supervisor/questions/{held}"))
    assert "Kiểm tra danh tính" in question and "Trên thẻ vừa quét" in question and "Nhập lại bằng tay" in question
    typed = page(do(supervisor, "check_in", **LAN_TYPO))
    assert "Số CCCD này đã có trên máy với thông tin khác; chưa lưu gì." in typed and "Cùng một người, thông tin đã sửa" in typed


def test_ok__a_handheld_scan_of_a_known_id_with_other_details_is_checked_the_same_way(supervisor, store, site):
    arrive(site)
    other = LAN.replace("|Nữ|", "|Nam|")
    before = snapshot(store)
    response = do(supervisor, "check_in", id_number=other)
    assert response.status_code == 409 and rows_marked(page(response)) == ["sex"]
    assert snapshot(store) == before
    [confirm] = [form for form in Forms(page(response)).forms if form["action"] == "/supervisor/do/check_in"]
    assert confirm["fields"]["id_number"] == other, "the card's payload is sent again unchanged"
    done = supervisor.post(confirm["action"], data={**confirm["fields"], "correction_reason": "Thẻ ghi đúng giới tính"})
    assert done.status_code == 303
    assert [(e["source"], e["fields"]) for e in events_of(store, "IdentityCorrected")] == [("handheld", ["sex"])]
