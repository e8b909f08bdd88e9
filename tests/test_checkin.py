"""Check-in use case on a real SQLite file: tickets, returning people, atomic failure on a full disk."""

import json


import pytest

from kiosk.errors import StoreError
from kiosk.payloads import parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.migrations import MIGRATIONS
from kiosk.queue.store import Store

from .conftest import HUNG, LAN



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
