"""One citizen vaccinated in two districts is one person at the province: check-ins and doses signed by a kiosk of
d1 and one of d2, published on their districts' topics to a real Mosquitto, merged by a real `hub run --district d1
--district d2` into either store; then the person's record (both doses, each with its district), the daily report's
count per district (one each) and the province's total (one), and each district's part alone."""

from __future__ import annotations

import datetime

import wire
from hub import daily
from hub.config import ReportSettings
from tests.hub_helpers import STAFF
from tests.hub_process import Client, HubProcess, check_in, wait_until
from tests.keys import signer
from tests.test_hub_province import import_kiosk

CITIZEN = "001190012345"
DAY = "2026-03-02"


def dose(kiosk: str, seq: int, ticket: int, number: int, time: str) -> bytes:
    """A DoseRecorded of the citizen as the kiosk publishes it, signed with its test key."""
    given = {"product": "comirnaty_30", "lot_number": "FK1234", "expiry": "2099-01-31", "number": number,
             "booster": 0, "given_at": f"{DAY}T{time}+07:00"}
    payload = {"ticket": {"day": DAY, "number": ticket}, "id_number": CITIZEN, "dose": given, "by": STAFF}
    return signer(kiosk).sign(wire.envelope(kiosk, seq, wire.DOSE_EVENT, boot="boot-1", at=f"{DAY}T{time}+07:00",
                                            clock_synced=True, payload=payload))


def test_ok__a_citizen_vaccinated_in_two_districts_is_one_person_at_the_province(broker, hub_db):
    with hub_db.open() as store:
        import_kiosk(store, "k1", "d1", site="Trạm Y tế Phường 1")
        import_kiosk(store, "k5", "d2", site="Trạm Y tế Phường 1")  # the same name in another district
    kiosk = Client(broker, "kiosk-test")
    try:
        with HubProcess(broker.url, hub_db.location, "--client-id", "hub-province-1", "--district", "d1",
                        "--district", "d2"):
            kiosk.publish(wire.district_topic("d1", "k1", wire.EVENT), check_in("k1", 1, CITIZEN))
            kiosk.publish(wire.district_topic("d1", "k1", wire.EVENT), dose("k1", 2, 1, 1, "08:30:00"))
            kiosk.publish(wire.district_topic("d2", "k5", wire.EVENT), check_in("k5", 1, CITIZEN))
            kiosk.publish(wire.district_topic("d2", "k5", wire.EVENT), dose("k5", 2, 1, 2, "15:10:00"))
            wait_until(lambda: hub_db.row("SELECT count(*) FROM doses") == (2,), what="both doses merged")
    finally:
        kiosk.close()
    with hub_db.open() as store:
        [match] = store.find_people(number=CITIZEN)
        record = store.person_record(match.ref)
        assert [(d["kiosk"], d["district"], d["dose_number"]) for d in record.doses] == [("k1", "d1", 1), ("k5", "d2", 2)]
        assert record.districts == ["d1", "d2"] and match.doses == 2
        settings = ReportSettings()
        report = daily.report(store, datetime.date.fromisoformat(DAY), settings)
        totals = {entry["district"]: entry["total"] for entry in report["districts"] if entry["district"]}  # k2: none
        assert {d: (t["present"], t["vaccinated"], t["doses_given"]) for d, t in totals.items()} == {
            "d1": (1, 1, 1), "d2": (1, 1, 1)}
        assert (report["total"]["present"], report["total"]["vaccinated"], report["total"]["doses_given"]) == (1, 1, 2)
        for district in ("d1", "d2"):
            alone, _late = daily.shown(store, datetime.date.fromisoformat(DAY), settings, None, district)
            assert alone["total"] == totals[district] and [row["district"] for row in alone["sites"]] == [district]
