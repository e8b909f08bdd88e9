"""Vaccine lots in use today and the dose itself: one tap records product, lot and dose number.

Raises ActionRefused (with a stable code) for a lot that is closed, expired or
unknown, and NotEligible for a person the catalogue says may not have this
dose today, unless a supervisor gives an override reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from vaccines.eligibility import Dose, Eligibility, assess
from wire import limits

from .errors import ActionRefused, NotEligible
from .site import Actor, Site, load_ticket, row_or_refuse
from .states import REASON_MAX_CHARS, step

MAX_DOSES_PER_VIAL = 50
INJECTION_SITES = ("left_deltoid", "right_deltoid", "left_thigh", "right_thigh")
"""Where a dose may be given (wire: DoseRecorded dose.site): the upper arm for adults, the thigh for small children."""


@dataclass(frozen=True)
class LotUse:
    """A lot's vial accounting."""

    doses_per_vial: int
    vials_opened: int
    given: int
    wasted: int

    @property
    def left_in_open_vials(self) -> int:
        return self.vials_opened * self.doses_per_vial - self.given - self.wasted


def open_lot(
    site: Site, by: Actor, *, product: str, lot_number: str, expiry: datetime.date, doses_per_vial: int
) -> dict[str, Any]:
    """Start using a lot today; return the lot row. Several lots may be open at once."""
    now = site.clock.now()
    today = now.wall.date()
    lot_number = lot_number.strip()
    check_lot(site, product, lot_number, expiry, doses_per_vial, today)
    with site.store.write() as db:
        if db.execute("select 1 from lots where day = ? and product = ? and lot_number = ? and closed_at is null",
                      [today.isoformat(), product, lot_number]).fetchone():
            raise ActionRefused("lot_already_open", f"lot {lot_number} of {product} is already open")
        row = {
            "day": today.isoformat(), "product": product, "lot_number": lot_number, "expiry": expiry.isoformat(),
            "doses_per_vial": doses_per_vial, "vials_opened": 0, "wasted": 0, "opened_by": by.id,
            "opened_at": now.wall.isoformat(),
        }
        row["id"] = db["lots"].insert(row).last_pk
        site.emit(db, "LotOpened", now, lot_payload(row), by=by)
        return row


def check_lot(site: Site, product: str, lot_number: str, expiry: datetime.date, doses_per_vial: int, today: datetime.date) -> None:
    if product not in site.catalogue.products:
        raise ActionRefused("unknown_product", f"product {product!r} is not in the catalogue")
    if not lot_number or len(lot_number) > limits.LOT_NUMBER_MAX:
        raise ActionRefused("bad_lot_number", f"the lot number must be 1 to {limits.LOT_NUMBER_MAX} characters",
                            max=limits.LOT_NUMBER_MAX)
    if not isinstance(expiry, datetime.date) or expiry < today:
        raise ActionRefused("lot_expired", "this lot is past its expiry date: it must not be used")
    if not whole_number(doses_per_vial) or not 1 <= doses_per_vial <= MAX_DOSES_PER_VIAL:
        raise ActionRefused("bad_doses_per_vial", f"doses per vial must be a whole number from 1 to {MAX_DOSES_PER_VIAL}")


def whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def lot_payload(lot: dict[str, Any]) -> dict[str, Any]:
    keys = ("product", "lot_number", "expiry", "doses_per_vial")
    return {"lot": {key: lot[key] for key in keys}}


def open_lot_row(db: sqlite_utils.Database, lot_id: int, today: datetime.date) -> dict[str, Any]:
    """Return an open lot usable today; raise ActionRefused otherwise."""
    lot = row_or_refuse(db, "lots", lot_id, "unknown_lot", "lot")
    if lot["closed_at"] is not None:
        raise ActionRefused("lot_closed", f"lot {lot['lot_number']} is closed")
    if lot["expiry"] < today.isoformat():
        raise ActionRefused("lot_expired", f"lot {lot['lot_number']} expired on {lot['expiry']}: it must not be used")
    if lot["day"] != today.isoformat():  # yesterday's opened vials are not today's doses
        raise ActionRefused("lot_from_another_day", f"lot {lot['lot_number']} was opened on {lot['day']}: open it again today")
    return lot


def use_of(db: sqlite_utils.Database, lot: dict[str, Any]) -> LotUse:
    given = db.execute("select count(*) from doses where lot_id = ?", [lot["id"]]).fetchone()[0]
    return LotUse(lot["doses_per_vial"], lot["vials_opened"], given, lot["wasted"])


def open_vial(site: Site, lot_id: int, by: Actor) -> dict[str, Any]:
    """Record that one more vial of the lot was opened; return the lot row."""
    now = site.clock.now()
    with site.store.write() as db:
        lot = open_lot_row(db, lot_id, now.wall.date())
        return add_vial(site, db, lot, now, by)


def add_vial(site: Site, db, lot: dict[str, Any], now, by: Actor) -> dict[str, Any]:
    lot = {**lot, "vials_opened": lot["vials_opened"] + 1}
    db["lots"].update(lot["id"], {"vials_opened": lot["vials_opened"]})
    site.emit(db, "VialOpened", now, {**lot_payload(lot), "vials_opened": lot["vials_opened"]}, by=by)
    return lot


def record_waste(site: Site, lot_id: int, by: Actor, *, doses: int, reason: str) -> dict[str, Any]:
    """Record doses lost from opened vials (broken, expired after opening, drawn short); return the lot row."""
    now = site.clock.now()
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        raise ActionRefused("bad_reason", f"give a reason of 1 to {REASON_MAX_CHARS} characters", max=REASON_MAX_CHARS)
    with site.store.write() as db:
        lot = open_lot_row(db, lot_id, now.wall.date())
        left = use_of(db, lot).left_in_open_vials
        if not whole_number(doses) or not 1 <= doses <= left:
            raise ActionRefused("bad_waste", f"wasted doses must be from 1 to the {left} left in opened vials")
        lot = {**lot, "wasted": lot["wasted"] + doses}
        db["lots"].update(lot_id, {"wasted": lot["wasted"]})
        site.emit(db, "DosesWasted", now, {**lot_payload(lot), "doses": doses, "reason": reason}, by=by)
        return lot


def close_lot(site: Site, lot_id: int, by: Actor) -> dict[str, Any]:
    """Stop using a lot; doses left in opened vials are counted as wasted. Return the lot row."""
    now = site.clock.now()
    with site.store.write() as db:
        lot = row_or_refuse(db, "lots", lot_id, "unknown_lot", "lot")
        if lot["closed_at"] is not None:
            raise ActionRefused("lot_closed", f"lot {lot['lot_number']} is closed")
        use = use_of(db, lot)
        lot = {**lot, "wasted": lot["wasted"] + use.left_in_open_vials, "closed_by": by.id, "closed_at": now.wall.isoformat()}
        db["lots"].update(lot_id, {key: lot[key] for key in ("wasted", "closed_by", "closed_at")})
        payload = {**lot_payload(lot), "vials_opened": use.vials_opened, "given": use.given, "wasted": lot["wasted"]}
        site.emit(db, "LotClosed", now, payload, by=by)
        return lot


def history(db: sqlite_utils.Database, id_number: str, before_ticket: int | None = None) -> list[Dose]:
    """Return the person's doses recorded on this kiosk, leaving out voided ones."""
    rows = db.execute(
        "select product, dose_number, given_on from doses "
        "where id_number = ? and ticket_id is not ? and voided_seq is null order by dose_number",
        [id_number, before_ticket],
    ).fetchall()
    return [Dose(product, number, datetime.date.fromisoformat(given_on)) for product, number, given_on in rows]


def eligibility_for(site: Site, db: sqlite_utils.Database, ticket: dict[str, Any], product: str, on_date: datetime.date) -> Eligibility:
    """Return whether the ticket's holder may have product on on_date, from the local history."""
    person = db["people"].get(ticket["id_number"])
    birth = datetime.date.fromisoformat(person["birth_date"])
    return assess(birth, history(db, ticket["id_number"], ticket["id"]), product, on_date, catalogue=site.catalogue)


def inject(
    site: Site,
    ticket_id: int,
    by: Actor,
    *,
    lot_id: int,
    override_reason: str | None = None,
    expected_state: str | None = None,
    vaccinator: Actor | None = None,
    injection_site: str | None = None,
) -> dict[str, Any]:
    """Record the dose from a lot, start the observation timer, and return the ticket row.

    The dose number comes from the person's history. An ineligible dose raises
    NotEligible unless override_reason (recorded with the dose) is given. Opens
    a new vial of the lot when the opened ones are used up. ``vaccinator`` is who
    gave the injection (default: ``by``), ``injection_site`` one of INJECTION_SITES
    (else ActionRefused("bad_injection_site")). Raises
    ActionRefused("clock_not_set") while the wall clock is implausible (1970).
    """
    if injection_site is not None and injection_site not in INJECTION_SITES:
        raise ActionRefused("bad_injection_site", f"the injection site must be one of: {', '.join(INJECTION_SITES)}")
    vaccinator = vaccinator or by
    override = (override_reason or "").strip() or None
    if override is not None and len(override) > REASON_MAX_CHARS:
        raise ActionRefused("bad_reason", f"the override reason must be at most {REASON_MAX_CHARS} characters",
                            max=REASON_MAX_CHARS)
    now = site.clock.now()
    if not now.plausible:
        # A dose dated 1970 would be wrong for the hub and, being before the
        # person's birth, would make their history inconsistent for good.
        raise ActionRefused("clock_not_set", f"the kiosk's clock reads {now.wall.date()}: set the clock before recording a dose")
    today = now.wall.date()
    with site.store.write() as db:
        ticket = load_ticket(db, ticket_id, expected_state)
        moved = step(ticket["state"], "inject")
        observed = step(moved.target, "observe")
        lot = open_lot_row(db, lot_id, today)
        verdict = eligibility_for(site, db, ticket, lot["product"], today)
        if not verdict.eligible and override is None:
            raise NotEligible(verdict)
        number = verdict.dose.number if verdict.dose else len(history(db, ticket["id_number"], ticket_id)) + 1
        if number > limits.DOSE_NUMBER_MAX:  # the hub's schema would quarantine the dose for good
            raise ActionRefused("too_many_doses", f"this would be dose {number}; the records hold at most "
                                f"{limits.DOSE_NUMBER_MAX} doses per person", max=limits.DOSE_NUMBER_MAX)
        if use_of(db, lot).left_in_open_vials <= 0:
            lot = add_vial(site, db, lot, now, by)
        dose = {
            "ticket_id": ticket_id, "id_number": ticket["id_number"], "product": lot["product"], "lot_id": lot_id,
            "lot_number": lot["lot_number"], "dose_number": number, "given_on": today.isoformat(),
            "given_at": now.wall.isoformat(), "vaccinator": vaccinator.id, "injection_site": injection_site,
            "override_reason": None if verdict.eligible else override,
        }
        dose["id"] = db["doses"].insert(dose).last_pk
        update = {
            "state": observed.target, "updated_at": now.wall.isoformat(), "injected_at": now.wall.isoformat(),
            "observe_boot": now.boot_id, "observe_mono": now.mono, "observe_minimum_s": site.observation_s,
        }
        db["tickets"].update(ticket_id, update)
        event = site.emit(db, moved.event, now, dose_payload(dose, lot, verdict, vaccinator), ticket=ticket, by=by)
        db["doses"].update(dose["id"], {"event_seq": event["seq"]})
        site.emit(db, observed.event, now, {"minimum_s": site.observation_s}, ticket=ticket, by=by)
        return {**ticket, **update}


def dose_payload(dose: dict[str, Any], lot: dict[str, Any], verdict: Eligibility, vaccinator: Actor) -> dict[str, Any]:
    payload = {
        "dose": {
            "product": dose["product"], "lot_number": dose["lot_number"], "expiry": lot["expiry"],
            "number": dose["dose_number"], "booster": verdict.dose.booster if verdict.dose else None, "given_at": dose["given_at"],
            "vaccinator": {"staff_id": vaccinator.id, "name": vaccinator.name},
        },
    }
    if dose["injection_site"]:
        payload["dose"]["site"] = dose["injection_site"]
    if dose["override_reason"]:
        payload["override"] = {"reason_code": verdict.reason, "reason": dose["override_reason"]}
    return payload
