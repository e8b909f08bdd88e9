"""The kiosk's publisher against the real hub (`hub run`) and a real Mosquitto with passwords and the kiosks' ACL: what
the hub merged is what the kiosk wrote, or the kiosk knows it and says so on the board and in `kiosk doctor`.

These are issue 10's findings, reproduced as they were found: a forged event sent with one kiosk's password, and
an event the hub refuses, each against the real processes.
"""

from __future__ import annotations

import sqlite3

import pytest

import wire
from hub.store import reports
from hub.store.sqlite import open_store
from kiosk.doctor import check_hub
from kiosk.payloads import parse_payload
from kiosk.queue import events
from kiosk.queue.checkin import check_in
from kiosk.queue.store import Store
from kiosk.uplink.publisher import Publisher
from kiosk.uplink.sources import DISTRICT

from .conftest import HUNG, LAN, Ticker
from .hub_process import Client, HubProcess
from .keys import enroll, signer
from .mosquitto import Broker
from .polling import wait_until
from .uplink_kiosk import kiosk_config, publishing
from .web_helpers import board_alerts

KIOSK = "kiosk-test"
PASSWORDS = {"hub": "hub-secret", KIOSK: "kiosk-secret"}
ACL = """user hub
topic read vax/k/+/event
topic read vax/k/+/status
topic write vax/k/+/ack
topic readwrite vax/hub/status

pattern write vax/k/%u/event
pattern write vax/k/%u/status
pattern read vax/k/%u/ack
pattern read vax/hub/status
"""
"""The kiosks' ACL before per-kiosk certificates: a kiosk's password was all it took to write as that kiosk."""
FORGED_NAME = "Kẻ Mạo Danh"


@pytest.fixture
def broker(tmp_path):
    with Broker(tmp_path / "mosquitto", passwords=PASSWORDS, acl=ACL) as running:
        yield running


@pytest.fixture
def hub_db(tmp_path):
    path = tmp_path / "hub.db"
    with open_store(path) as store:
        enroll(store, KIOSK)
    return path


@pytest.fixture
def hub(broker, hub_db):
    with HubProcess(broker.url, hub_db, env={"HUB_PASSWORD": PASSWORDS["hub"]}) as running:
        yield running


@pytest.fixture
def config(tmp_path, broker):
    return kiosk_config(tmp_path, KIOSK, broker=broker.url, password=PASSWORDS[KIOSK])


@pytest.fixture
def publisher(config, store, broker):
    with publishing(config, broker.url) as running:
        yield running


@pytest.fixture
def attacker(broker):
    """Someone holding kiosk-test's broker password, on a connection of their own."""
    client = Client(broker, "attacker", username=KIOSK, password=PASSWORDS[KIOSK])
    yield client
    client.close()


def forged(seq: int) -> str:
    """A made-up check-in as event `seq` of kiosk-test."""
    payload = {"ticket": {"day": "2026-11-25", "number": seq}, "id_number": "001190012345", "source": "camera",
               "person": {"full_name": FORGED_NAME, "birth_date": "1990-03-15", "sex": "Nữ"}}
    return wire.envelope(KIOSK, seq, wire.CHECK_IN_EVENT, boot="evil", at="2026-11-25T08:00:00+07:00", clock_synced=True,
                         payload=payload)


def hub_rows(db, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def outbox(store: Store) -> dict[int, tuple]:
    """seq -> (acknowledged, verdict) of the kiosk's outbox rows."""
    return {seq: (acked is not None, verdict)
            for seq, acked, verdict in store.db.execute("select seq, acked_at, verdict from outbox")}


def test_fail__a_forged_event_sent_with_the_kiosks_password_never_replaces_the_real_one(config, store, site, hub, hub_db,
                                                                                          attacker, publisher):
    """Before events were signed, the forgery merged, the real event was quarantined as replayed_changed, and the
    kiosk marked it acknowledged: nobody noticed."""
    assert attacker.puback(attacker.publish(wire.topic(KIOSK, wire.EVENT), forged(1))) == 0
    wait_until(lambda: hub_rows(hub_db, "select reason from quarantine") == [("unsigned",)], what="the forgery quarantined")
    check_in(site, parse_payload(LAN, today=None), source="camera")
    wait_until(lambda: outbox(store) == {1: (True, None)}, what="the real event confirmed at the kiosk")
    [(body,)] = hub_rows(hub_db, "select body from events where event_id = ?", wire.event_id(KIOSK, 1))
    assert FORGED_NAME not in body and "Nguyễn Thị Lan" in body
    assert hub_rows(hub_db, "select count(*) from disputes") == [(0,)]
    assert board_alerts(config, site) == ""


def test_fail__an_ack_of_a_forgery_taken_before_the_kiosk_sent_its_own_event_still_lets_it_be_sent(config, store, site):
    """The race the test below can meet under load: the hub's acknowledgement of a forged event 1 arrives after this
    kiosk wrote its own event 1 and before it sent it. The chain does not match, so nothing is confirmed, and event 1
    must still go out: the hub has to see this kiosk's text to record the dispute."""
    from wire import signature

    check_in(site, parse_payload(LAN, today=None), source="camera")
    check_in(site, parse_payload(HUNG, today=None), source="camera")
    kiosk = Publisher(config, Store(config.kiosk.db), clock=Ticker())  # not started: no broker traffic
    held = signature.digest(signer(KIOSK).sign(forged(1)))
    chain = wire.chain_next(wire.chain_start(KIOSK), held, False)
    kiosk.take_ack(DISTRICT, wire.Ack(KIOSK, 1, 1, (), "2026-11-25T08:00:00+07:00", chain.hex()))
    assert "not as written" in kiosk.errors["ack"] and kiosk.confirmer.confirmed == 0
    assert kiosk.flow.in_order(8) == (1, 8)  # event 1 first, with the window and the hub's "ahead" room
    kiosk.store.close()


def test_fail__a_forgery_signed_with_a_stolen_key_is_raised_on_the_board_and_never_done(config, store, site, hub, hub_db,
                                                                                       attacker, publisher):
    assert attacker.puback(attacker.publish(wire.topic(KIOSK, wire.EVENT), signer(KIOSK).sign(forged(1)))) == 0
    wait_until(lambda: hub_rows(hub_db, "select count(*) from events") == [(1,)], what="the forgery merged first")
    check_in(site, parse_payload(LAN, today=None), source="camera")
    check_in(site, parse_payload(HUNG, today=None), source="camera")
    wait_until(lambda: outbox(store) == {1: (False, "disputed"), 2: (True, None)}, what="event 1 disputed, event 2 done")
    assert "Security: the district hub holds 1 events of this kiosk with content this kiosk did not write (#1)" in \
        board_alerts(config, site)
    doctor = check_hub(config)
    assert not doctor.ok and "SECURITY" in doctor.detail and "#1" in doctor.detail
    [conflict] = reports.conflicts(hub_db, kind="disputed_event")
    assert conflict["event_ids"] == [wire.event_id(KIOSK, 1)] and conflict["detail"]["kept"] == "merged"


def test_fail__an_event_the_hub_refuses_is_named_on_the_board_and_the_rest_still_merge(config, store, site, hub, hub_db,
                                                                                      publisher):
    """Before, the hub quarantined it on every re-send, the watermark stopped for good, and the board said only how
    many events were not yet merged."""
    at = site.clock.now()
    with store.write() as db:  # a kiosk software bug: an event the hub's schema refuses (a ticket number 0)
        events.record(db, KIOSK, "PersonCalled", at, {"ticket": {"day": "2026-11-25", "number": 0}, "id_number": "001190012345"})
    check_in(site, parse_payload(LAN, today=None), source="camera")
    check_in(site, parse_payload(HUNG, today=None), source="camera")
    wait_until(lambda: outbox(store) == {1: (False, "refused:schema"), 2: (True, None), 3: (True, None)},
               what="event 1 refused, 2 and 3 done")
    assert hub_rows(hub_db, "select event_id from events order by seq") == [(f"{KIOSK}:2",), (f"{KIOSK}:3",)]
    alerts = board_alerts(config, site)
    assert "The district hub refused 1 events of this kiosk: #1 (breaks the data rules)." in alerts
    assert "the other events still reach the hub" in alerts
    doctor = check_hub(config)
    assert not doctor.ok and "the hub refused 1 events (#1), reason schema" in doctor.detail
