"""Check-in use case on a real SQLite file: tickets, returning people, atomic failure on a full disk."""

import datetime as dt
import json
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import QueueSettings
from kiosk.errors import StoreError
from kiosk.payloads import CccdCard, manual_card, parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.errors import ActionRefused, IdentityMismatch
from kiosk.queue.migrations import MIGRATIONS
from kiosk.queue.site import Site
from kiosk.queue.store import Store

from .conftest import HUNG, LAN, NURSE, Ticker


def test_ok__tickets_number_from_one_per_day(store, site):
    first = check_in(site, parse_payload(LAN), source="camera")
    second = check_in(site, parse_payload(HUNG), source="handheld")
    assert (first.number, first.new, first.given_name) == (1, True, "Lan")
    assert (second.number, second.new) == (2, True)


def test_ok__same_person_again_gets_the_same_ticket(store, site, ticker):
    first = check_in(site, parse_payload(LAN), source="camera")
    ticker.advance(7200)
    again = check_in(site, parse_payload(LAN), source="camera")
    assert (again.number, again.new) == (first.number, False)
    assert store.db["tickets"].count == 1
    assert store.db["tickets"].get(1)["scans"] == 2


def test_ok__next_day_starts_again_at_one(store, site, ticker):
    check_in(site, parse_payload(LAN), source="camera")
    check_in(site, parse_payload(HUNG), source="camera")
    ticker.advance(86400)
    tomorrow = check_in(site, parse_payload(HUNG), source="camera")
    assert (tomorrow.number, tomorrow.new) == (1, True)


def test_ok__person_is_stored_exactly_as_encoded(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    person = store.db["people"].get("001190012345")
    assert person["full_name"] == "Nguyễn Thị Lan"
    assert person["birth_date"] == "1990-03-15" and person["sex"] == "Nữ"


def test_fail__unknown_source_is_refused(store, site):
    with pytest.raises(ValueError):
        check_in(site, parse_payload(LAN), source="phone")


def fill_disk(store: Store) -> None:
    """Cap the file at its current size: SQLite then fails writes with SQLITE_FULL, as on a full disk."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def test_fail__full_disk_saves_nothing_and_says_why(store, site):
    fill_disk(store)
    with pytest.raises(StoreError, match="disk is full"):
        for person in range(200):  # enough rows to need a new page
            check_in(site, parse_payload(LAN.replace("001190012345", f"001190{person:06d}")), source="camera")
    tickets = store.db.execute("select count(*) from tickets").fetchone()[0]
    people = store.db.execute("select count(*) from people").fetchone()[0]
    assert tickets == people  # never a person without their ticket, or the reverse


def test_ok__store_reopens_with_its_schema(tmp_path):
    path = tmp_path / "k.db"
    Store(path).close()
    store = Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_fail__unusable_path_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a database, just a file " * 40)
    with pytest.raises(StoreError):
        Store(blocker / "kiosk.db")
    with pytest.raises(StoreError, match="not a database"):
        Store(blocker)


def test_ok__a_new_ticket_writes_its_event_and_outbox_row_together(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    event = store.db["events"].get(1)
    outbox = store.db["outbox"].get(1)
    assert (event["type"], event["event_id"], event["ticket_id"]) == ("PersonCheckedIn", "kiosk-test:1", 1)
    body = json.loads(outbox["body"])
    assert (body["type"], body["id"], body["seq"], body["kiosk"]) == ("PersonCheckedIn", "kiosk-test:1", 1, "kiosk-test")
    assert body["payload"]["person"]["full_name"] == "Nguyễn Thị Lan"
    assert "address" not in body["payload"]["person"]  # the hub matches people; it does not need where they live


def test_ok__a_returning_scan_writes_no_event(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    check_in(site, parse_payload(LAN), source="camera")
    assert store.db["events"].count == 1 and store.db["scans"].count == 2


def test_fail__full_disk_writes_no_event_either(store, site):
    check_in(site, parse_payload(HUNG), source="camera")
    fill_disk(store)
    with pytest.raises(StoreError):
        for person in range(200):
            check_in(site, parse_payload(LAN.replace("001190012345", f"001190{person:06d}")), source="camera")
    tickets = store.db.execute("select count(*) from tickets").fetchone()[0]
    assert store.db["events"].count == store.db["outbox"].count == tickets


# Identity: an ID number known here is never attached to another identity (issue 10)

LAN_ID = "001190012345"
LAN_TYPED = {"full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "123456789"}


def typed(**changes) -> CccdCard:
    """Lan's ID number typed by a supervisor with these details changed."""
    details = {**LAN_TYPED, **changes}
    return manual_card(LAN_ID, details["full_name"], details["birth_date"], details["sex"], old_id=details["old_id"])


def everything(store) -> dict:
    return {table: store.db.execute(f"select * from {table}").fetchall()
            for table in ("people", "tickets", "events", "outbox", "scans", "identity_questions")}


def test_fail__the_issue_s_typo_is_refused_with_both_versions_and_writes_nothing(store, site, ticker):
    check_in(site, parse_payload(LAN), source="camera")
    ticker.advance(86400 * 30)  # any day: the person is known from the people table, not from today's ticket
    before = everything(store)
    with pytest.raises(IdentityMismatch) as caught:
        check_in(site, typed(full_name="Nguyễn Thị Lân", birth_date="1990-03-16"), source="manual", by=NURSE)
    assert caught.value.fields == ["full_name", "birth_date"]
    assert caught.value.stored == LAN_TYPED and caught.value.new == {**LAN_TYPED, "full_name": "Nguyễn Thị Lân",
                                                                      "birth_date": "1990-03-16"}
    assert caught.value.public()["id_tail"] == "2345" and caught.value.public()["stored"]["old_id"] == "6789"
    assert "Lan" not in str(caught.value) and LAN_ID not in str(caught.value), "the message names no one"
    assert everything(store) == before


def test_ok__typed_without_the_old_id_is_the_same_person(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    again = check_in(site, typed(old_id="", full_name="nguyễn  thị LAN"), source="manual", by=NURSE)
    assert (again.number, again.new) == (1, False)


VARIANTS = {
    "full_name": st.sampled_from(["Nguyễn Thị Lân", "Nguyễn Thị Lam", "Nguyễn Lan", "Nguyen Thi Lan", "Trần Thị Lan"]),
    "birth_date": st.dates(dt.date(1900, 1, 1), dt.date(2026, 11, 25)).filter(lambda d: d != dt.date(1990, 3, 15))
    .map(dt.date.isoformat),
    "sex": st.just("Nam"),
    "old_id": st.from_regex(r"[0-9]{9}", fullmatch=True).filter(lambda o: o != "123456789"),
}


def fresh_site(folder: str) -> Site:
    return Site(Store(Path(folder) / "kiosk.db"), "kiosk-test", QueueSettings(), Ticker())


@settings(max_examples=40, deadline=None)
@given(data=st.data(), fields=st.sets(st.sampled_from(list(VARIANTS)), min_size=1), today=st.booleans())
def test_fail__any_differing_field_is_refused_and_named(data, fields, today):
    with tempfile.TemporaryDirectory() as folder:
        site = fresh_site(folder)
        check_in(site, parse_payload(LAN), source="camera")
        if not today:
            site.clock.advance(86400)
        before = everything(site.store)
        changes = {field: data.draw(VARIANTS[field]) for field in fields}
        with pytest.raises(IdentityMismatch) as caught:
            check_in(site, typed(**changes), source="manual", by=NURSE)
        assert caught.value.fields == [f for f in ("full_name", "birth_date", "sex", "old_id") if f in fields]
        assert everything(site.store) == before
        site.store.close()


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["NGUYỄN THỊ LAN", "  nguyễn   thị lan ", unicodedata.normalize("NFD", "Nguyễn Thị Lan"),
                             unicodedata.normalize("NFD", "nGuYễN tHị LaN")]),
       old_id=st.sampled_from(["", "123456789"]), today=st.booleans())
def test_ok__spelling_case_and_unicode_form_are_the_same_person(name, old_id, today):
    with tempfile.TemporaryDirectory() as folder:
        site = fresh_site(folder)
        first = check_in(site, parse_payload(LAN), source="camera")
        if not today:
            site.clock.advance(86400)
        again = check_in(site, typed(full_name=name, old_id=old_id), source="manual", by=NURSE)
        assert (again.new, again.number) == ((True, 1) if not today else (False, first.number))
        assert site.store.db["people"].get(LAN_ID)["full_name"] == "Nguyễn Thị Lan", "the stored record is untouched"
        site.store.close()


def test_ok__a_supervisor_s_correction_checks_in_and_records_both_versions_in_one_transaction(store, site, ticker):
    check_in(site, parse_payload(LAN), source="camera")
    ticker.advance(86400)
    ticket = check_in(site, typed(full_name="Nguyễn Thị Lân"), source="manual", by=NURSE,
                      correction="  Thẻ mới cấp ghi tên Lân  ")
    assert (ticket.number, ticket.new, ticket.given_name) == (1, True, "Lân")
    rows = store.db.execute("select seq, type, ticket_id, staff_id, payload from events order by seq").fetchall()
    assert [r[1] for r in rows] == ["PersonCheckedIn", "IdentityCorrected", "PersonCheckedIn"]
    payload = json.loads(rows[1][4])
    assert payload == {
        "ticket": {"day": "2026-11-26", "number": 1}, "id_number": LAN_ID, "stored": LAN_TYPED,
        "corrected": {**LAN_TYPED, "full_name": "Nguyễn Thị Lân"}, "fields": ["full_name"],
        "reason": "Thẻ mới cấp ghi tên Lân", "source": "manual", "by": {"staff_id": NURSE.id, "name": NURSE.name},
    }
    assert rows[1][2] == ticket.id and rows[1][3] == NURSE.id
    assert store.db["outbox"].count == 3
    person = store.db["people"].get(LAN_ID)
    assert (person["full_name"], person["old_id"], person["address"]) == ("Nguyễn Thị Lân", "123456789", parse_payload(LAN).address)
    again = check_in(site, typed(full_name="Nguyễn Thị Lân"), source="manual", by=NURSE)
    assert (again.number, again.new) == (1, False), "the corrected details are now the stored ones"


def test_ok__a_correction_on_today_s_ticket_keeps_the_ticket_and_writes_only_the_correction(store, site):
    first = check_in(site, parse_payload(LAN), source="camera")
    ticket = check_in(site, typed(birth_date="1990-03-16"), source="manual", by=NURSE, correction="Sai ngày sinh trên hồ sơ")
    assert (ticket.number, ticket.new) == (first.number, False)
    types = [r[0] for r in store.db.execute("select type from events order by seq")]
    assert types == ["PersonCheckedIn", "IdentityCorrected"]


def test_ok__a_reason_without_a_mismatch_records_nothing_more(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    check_in(site, typed(), source="manual", by=NURSE, correction="không cần")
    assert [r[0] for r in store.db.execute("select type from events")] == ["PersonCheckedIn"]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_fail__a_correction_needs_a_reason_of_1_to_200_characters(store, site, reason):
    check_in(site, parse_payload(LAN), source="camera")
    before = everything(store)
    with pytest.raises(ActionRefused) as caught:
        check_in(site, typed(full_name="Nguyễn Thị Lân"), source="manual", by=NURSE, correction=reason)
    assert caught.value.code == "bad_reason" and everything(store) == before


def test_fail__a_correction_that_cannot_be_saved_saves_nothing(store, site):
    check_in(site, parse_payload(LAN), source="camera")
    before = everything(store)
    fill_disk(store)
    with pytest.raises(StoreError):
        for n in range(200):  # the correction and its check-in, again and again, until a new page is needed
            check_in(site, typed(full_name=f"Nguyễn Thị Lân {'x' * (n % 50)}", birth_date="1990-03-16"),
                     source="manual", by=NURSE, correction="Sai tên " + "y" * 150)
    events = store.db.execute("select type, payload from events order by seq").fetchall()
    assert len(events) == store.db["outbox"].count > 2 and {t for t, _ in events[1:]} == {"IdentityCorrected"}
    last = json.loads(events[-1][1])["corrected"]["full_name"]
    assert store.db["people"].get(LAN_ID)["full_name"] == last, "the stored person is the last correction saved, no other"
    assert store.db["tickets"].count == len(before["tickets"]) == 1
