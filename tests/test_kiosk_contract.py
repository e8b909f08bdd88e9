"""What the kiosk accepts, the hub merges: every event any use case writes, from any input it accepts, passes the hub.

A hypothesis state machine runs the kiosk's use cases (check-in from a scan,
by hand and from a handheld scanner; call, screen, clear, requeue, defer,
refuse, leave, release, priority; lots, vials, waste; the dose with or
without an override; AEFI and its alarm; the void) on a real kiosk database,
with any text, number and date a staff member or a card can bring. A use case
may refuse (that is the kiosk saying no, in its own words); whatever it
writes, every outbox row must pass wire.parse_event, the hub's validation.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

import wire
from kiosk.config import QueueSettings
from kiosk.errors import KioskError
from kiosk.payloads import manual_card, parse_payload
from kiosk.queue import actions, aefi, corrections, dosing
from kiosk.queue.checkin import check_in
from kiosk.queue.site import Site
from kiosk.queue.store import Store
from kiosk.queue.staff import check_name
from wire import limits

from .conftest import Staffer, Ticker

KIOSK = "kiosk-contract"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng"]
SYLLABLES = ["Thị", "Văn", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Lan", "Hương", "Tuấn", "Khánh", "Quỳnh", "Yến"]

TEXT = st.one_of(
    st.text(max_size=230),
    st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậ ̣̀́̃̉\u200b", min_size=150, max_size=230),
    st.builds(lambda words: " ".join(words), st.lists(st.sampled_from(SYLLABLES), max_size=60)),
)
"""Anything staff can type: any Unicode (but lone surrogates), long, decomposed accents, zero-width spaces."""
VIETNAMESE = st.builds(lambda family, rest: " ".join([family, *rest]), st.sampled_from(FAMILY),
                      st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=40))
NAMES = st.one_of(
    VIETNAMESE, VIETNAMESE, VIETNAMESE,
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=130),
    st.text(alphabet="Nguyễn Thị Lan", min_size=95, max_size=105),
)
DIGITS = st.text("0123456789", min_size=12, max_size=12)


def ddmmyyyy(day: datetime.date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year:04d}"


@st.composite
def cards(draw) -> str:
    """A CCCD payload: valid but for its name (any name), or with one field replaced by anything."""
    birth = draw(st.dates(datetime.date(1920, 1, 1), datetime.date(2014, 12, 31)))
    issued = min(birth + datetime.timedelta(days=draw(st.integers(0, 20_000))), datetime.date(2026, 11, 25))
    fields = [draw(DIGITS), draw(st.sampled_from(["", "012345678", "001190012345"])), draw(NAMES), ddmmyyyy(birth),
              draw(st.sampled_from(["Nam", "Nữ"])), "Thôn Đông, Xã Tân Lập, Hà Nội", ddmmyyyy(issued)]
    if draw(st.booleans()):
        fields += [draw(st.sampled_from(["", "Trần Văn Bình", "01012030"])) for _ in range(4)]
    if draw(st.sampled_from([False, False, False, True])):
        fields[draw(st.sampled_from(range(len(fields))))] = draw(st.text(max_size=130))
    return "|".join(fields)


class Kiosk(RuleBasedStateMachine):
    """One kiosk's day (and the days after) at the hands of any staff member typing anything."""

    tickets = Bundle("tickets")
    lots = Bundle("lots")
    alarms = Bundle("alarms")

    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-contract-"))
        self.store = Store(self.folder / "kiosk.db")
        self.ticker = Ticker()
        self.site = Site(self.store, KIOSK, QueueSettings(desks=3), self.ticker)
        self.staff = Staffer(1, "Điều dưỡng Hoa")
        self.checked = 0
        self.written = 0

    @initialize(target=lots)
    def a_lot_is_open(self):
        lot = dosing.open_lot(self.site, self.staff, product="comirnaty_30", lot_number="FK1234",
                              expiry=self.today + datetime.timedelta(days=365), doses_per_vial=6)
        return lot["id"]

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def attempt(self, use_case, *args, **kwargs):
        """Run a use case; a refusal (any KioskError: a reason for staff, nothing written) is an answer too."""
        try:
            return use_case(*args, **kwargs)
        except KioskError:
            return None

    @property
    def today(self) -> datetime.date:
        return self.ticker.now().wall.date()

    # -- who acts ---------------------------------------------------------------------------------------------------

    @rule(name=NAMES, staff_id=st.one_of(st.none(), st.integers(1, 2**63 - 1)))
    def someone_else_signs_in(self, name, staff_id):
        try:
            self.staff = Staffer(staff_id, check_name(name))  # what kiosk staff add accepts
        except KioskError:
            pass

    @rule(seconds=st.sampled_from([60, 1800, 86400, 21 * 86400]))
    def time_passes(self, seconds):
        self.ticker.advance(seconds)

    # -- check-in ---------------------------------------------------------------------------------------------------

    @rule(target=tickets, text=cards(), source=st.sampled_from(["camera", "handheld"]))
    def scan(self, text, source):
        card = self.attempt(parse_payload, text, today=self.today)
        ticket = card and self.attempt(check_in, self.site, card, source=source, by=self.staff if source == "handheld" else None)
        return ticket.id if ticket else multiple()

    @rule(target=tickets, id_number=st.one_of(DIGITS, st.text(max_size=14)), name=NAMES,
          birth=st.one_of(st.dates(datetime.date(1900, 1, 1), datetime.date(2026, 11, 25)).map(str), st.text(max_size=12)),
          sex=st.sampled_from(["Nam", "Nữ", " Nữ ", "N"]), old_id=st.sampled_from(["", "012345678", " 123456789012 ", "x"]))
    def typed(self, id_number, name, birth, sex, old_id):
        card = self.attempt(manual_card, id_number, name, birth, sex, old_id=old_id, today=self.today)
        ticket = card and self.attempt(check_in, self.site, card, source="manual", by=self.staff)
        return ticket.id if ticket else multiple()

    # -- the queue --------------------------------------------------------------------------------------------------

    @rule(ticket=tickets, desk=st.integers(-1, 120))
    def call(self, ticket, desk):
        self.attempt(actions.call, self.site, ticket, self.staff, desk=desk)

    @rule(desk=st.integers(0, 4))
    def call_next(self, desk):
        self.attempt(actions.call_next, self.site, self.staff, desk=desk)

    @rule(ticket=tickets, step=st.sampled_from([actions.screen, actions.clear, actions.requeue, actions.leave,
                                                 actions.leave_early]))
    def move(self, ticket, step):
        self.attempt(step, self.site, ticket, self.staff)

    @rule(ticket=tickets, lot=lots, override=st.one_of(st.none(), TEXT))
    def to_the_needle(self, ticket, lot, override):
        """Call, screen, clear and vaccinate in one go, as a quiet morning does (each step may still refuse)."""
        self.attempt(actions.call, self.site, ticket, self.staff, desk=1)
        self.attempt(actions.screen, self.site, ticket, self.staff)
        self.attempt(actions.clear, self.site, ticket, self.staff)
        self.attempt(dosing.inject, self.site, ticket, self.staff, lot_id=lot, override_reason=override or "theo chỉ định")

    @rule(ticket=tickets, reason=TEXT, days=st.integers(-2, 400))
    def defer(self, ticket, reason, days):
        self.attempt(actions.defer, self.site, ticket, self.staff, reason=reason,
                     return_on=self.today + datetime.timedelta(days=days))

    @rule(ticket=tickets, code=st.one_of(st.sampled_from(actions.REFUSAL_CODES), st.none(), st.text(max_size=30)),
          reason=TEXT)
    def refuse(self, ticket, code, reason):
        self.attempt(actions.refuse, self.site, ticket, self.staff, reason_code=code, reason=reason)

    @rule(ticket=tickets, reason=st.one_of(st.none(), TEXT))
    def release(self, ticket, reason):
        self.attempt(actions.release, self.site, ticket, self.staff, reason=reason)

    @rule(ticket=tickets, flag=st.one_of(st.sampled_from(actions.PRIORITY_FLAGS), st.text(max_size=30)))
    def prioritise(self, ticket, flag):
        self.attempt(actions.prioritise, self.site, ticket, self.staff, flag=flag)

    # -- lots and doses ---------------------------------------------------------------------------------------------

    @rule(target=lots, product=st.one_of(st.sampled_from(["comirnaty_30", "vaxzevria", "spikevax", "abdala"]),
                                         st.text(max_size=50)),
          lot_number=st.one_of(TEXT, st.text(alphabet="AZ09- ", max_size=45)), days=st.integers(-3, 400),
          doses=st.integers(-1, 60))
    def open_lot(self, product, lot_number, days, doses):
        lot = self.attempt(dosing.open_lot, self.site, self.staff, product=product, lot_number=lot_number,
                           expiry=self.today + datetime.timedelta(days=days), doses_per_vial=doses)
        return lot["id"] if lot else multiple()

    @rule(lot=lots)
    def open_vial(self, lot):
        self.attempt(dosing.open_vial, self.site, lot, self.staff)

    @rule(lot=lots, doses=st.integers(-1, 12), reason=TEXT)
    def waste(self, lot, doses, reason):
        self.attempt(dosing.record_waste, self.site, lot, self.staff, doses=doses, reason=reason)

    @rule(lot=consumes(lots))
    def close_lot(self, lot):
        self.attempt(dosing.close_lot, self.site, lot, self.staff)

    @rule(ticket=tickets, lot=lots, override=st.one_of(st.none(), TEXT))
    def inject(self, ticket, lot, override):
        self.attempt(dosing.inject, self.site, ticket, self.staff, lot_id=lot, override_reason=override)

    @rule(target=alarms, ticket=tickets, severity=st.sampled_from(["mild", "moderate", "severe", "awful"]), symptoms=TEXT)
    def reaction(self, ticket, severity, symptoms):
        row = self.attempt(aefi.record_aefi, self.site, ticket, self.staff, severity=severity, symptoms=symptoms)
        return row["id"] if row else multiple()

    @rule(alarm=alarms)
    def acknowledge(self, alarm):
        self.attempt(aefi.acknowledge_aefi, self.site, alarm, self.staff)

    @rule(ticket=tickets, reason=TEXT)
    def void(self, ticket, reason):
        self.attempt(corrections.void_dose, self.site, ticket, self.staff, reason=reason)

    # -- the contract -----------------------------------------------------------------------------------------------

    @invariant()
    def every_event_written_passes_the_hub(self):
        rows = self.store.db.execute("select seq, body from outbox where seq > ? order by seq", [self.checked]).fetchall()
        for seq, body in rows:
            try:
                wire.parse_event(wire.topic(KIOSK, wire.EVENT), body.encode("utf-8"))
            except wire.Rejected as exc:
                raise AssertionError(f"the hub would quarantine event {seq}: {exc.reason}: {exc.detail}") from None
            self.checked = seq


Kiosk.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_ok__every_event_any_use_case_writes_passes_the_hub = Kiosk.TestCase


def test_ok__the_longest_inputs_the_kiosk_accepts_pass_the_hub(store, ticker):
    """Every limit at its bound, once, through every use case that writes free text or a name."""
    site = Site(store, KIOSK, QueueSettings(desks=3), ticker)
    staff = Staffer(2**63 - 1, check_name("Đ" * limits.STAFF_NAME_MAX))
    text = "ễ" * limits.TEXT_MAX
    lot = dosing.open_lot(site, staff, product="comirnaty_30", lot_number="L" * limits.LOT_NUMBER_MAX,
                          expiry=ticker.now().wall.date() + datetime.timedelta(days=90), doses_per_vial=6)["id"]
    people = [manual_card(f"00119001234{n}", ("Nguyễn Thị Lan " * 10)[: limits.FULL_NAME_MAX - 1] + "n", "1990-03-15",
                          "Nữ", old_id="123456789012", today=ticker.now().wall.date()) for n in range(4)]
    tickets = [check_in(site, card, source="manual", by=staff).id for card in people]
    for ticket in tickets:
        actions.call(site, ticket, staff, desk=3)
        actions.screen(site, ticket, staff)
    actions.defer(site, tickets[0], staff, reason=text, return_on=ticker.now().wall.date() + datetime.timedelta(days=1))
    actions.refuse(site, tickets[1], staff, reason_code="contraindicated", reason=text)
    for ticket in tickets[2:]:
        actions.clear(site, ticket, staff)
        dosing.inject(site, ticket, staff, lot_id=lot)
    alarm = aefi.record_aefi(site, tickets[2], staff, severity="severe", symptoms=text)
    aefi.acknowledge_aefi(site, alarm["id"], staff)
    corrections.void_dose(site, tickets[2], staff, reason=text)
    actions.release(site, tickets[3], staff, reason=text)
    dosing.record_waste(site, lot, staff, doses=1, reason=text)
    dosing.close_lot(site, lot, staff)
    rows = store.db.execute("select type, body from outbox order by seq").fetchall()
    assert {kind for kind, _ in rows} >= {"PersonCheckedIn", "PersonDeferred", "VaccinationRefused", "DoseRecorded",
                                          "AefiRecorded", "EventVoided", "PersonReleased", "DosesWasted", "LotClosed"}
    for _, body in rows:
        wire.parse_event(wire.topic(KIOSK, wire.EVENT), body.encode())
