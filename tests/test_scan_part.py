"""The kiosk's parts wired together: a severe adverse reaction recorded on a screen sounds the scanner's buzzer."""

import datetime
import time

from kiosk.config import build
from kiosk.payloads import parse_payload
from kiosk.queue import actions, aefi, dosing
from kiosk.queue.checkin import check_in
from kiosk.queue.site import Site
from kiosk.queue.store import Store
from kiosk.runtime import build_site
from kiosk.scan.part import ScanPart

from .conftest import LAN, NURSE


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def vaccinate(site: Site) -> int:
    ticket = check_in(site, parse_payload(LAN), source="camera")
    lot = dosing.open_lot(site, NURSE, product="comirnaty_30", lot_number="FK1", expiry=datetime.date(2099, 1, 1), doses_per_vial=6)
    actions.call(site, ticket.id, NURSE, desk=1)
    actions.screen(site, ticket.id, NURSE)
    actions.clear(site, ticket.id, NURSE)
    dosing.inject(site, ticket.id, NURSE, lot_id=lot["id"])
    return ticket.id


def test_ok__a_severe_reaction_sounds_the_buzzer_and_a_mild_one_does_not(tmp_path, pins):
    config = build({"kiosk": {"db": str(tmp_path / "k.db")}, "camera": {"source": f"replay:{tmp_path / 'none'}"}})
    part = ScanPart(config, build_site(config), announce=lambda message: None, pin_factory=pins)
    buzzer = pins.pin(config.feedback.buzzer_pin)
    screen = Site(Store(config.kiosk.db), "kiosk-test", config.queue)  # the web process's own connection
    try:
        part.alarms.start()
        ticket_id = vaccinate(screen)
        aefi.record_aefi(screen, ticket_id, NURSE, severity="mild", symptoms="đau chỗ tiêm")
        time.sleep(0.3)  # several polls of the watcher: a mild reaction must stay silent
        assert len(buzzer.states) == 1
        aefi.record_aefi(screen, ticket_id, NURSE, severity="severe", symptoms="khó thở")
        assert wait_for(lambda: len(buzzer.states) > 1), "the buzzer did not sound"
    finally:
        part.stop()
        screen.store.close()
