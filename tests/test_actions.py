"""Queue use cases on a real SQLite file: each state change, its event and its outbox row, all or nothing."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Callable

import pytest

import wire

from kiosk.config import QueueSettings
from kiosk.errors import StoreError
from kiosk.payloads import parse_payload
from kiosk.queue import actions, dosing
from kiosk.queue.board import board
from kiosk.queue.checkin import check_in
from kiosk.queue.errors import ActionRefused, DetailsInvalid, StaleAction, TransitionRefused, UnknownTicket
from kiosk.queue.site import Site
from kiosk.queue.states import STATES
from kiosk.queue.store import Store

from .conftest import LAN, NURSE, Staffer, Ticker

# --- helpers shared by the queue test modules --------------------------------

TABLES = ("people", "tickets", "events", "outbox", "lots", "doses", "aefi", "scans")
MINIMUM_S = 1800.0
"""The default observation minimum (QueueSettings.observation_minutes = 30)."""


def person(n: int) -> str:
    """A CCCD payload like LAN's with a different (still well-formed) ID number."""
    return LAN.replace("001190012345", f"001190{n:06d}")


def snapshot(store: Store) -> dict[str, list[dict]]:
    """Every row of every table the use cases write: equal before and after means nothing was written."""
    return {table: list(store.db[table].rows) for table in TABLES}


def seqs(store: Store, table: str = "events") -> list[int]:
    return [row[0] for row in store.db.execute(f"select seq from {table} order by seq")]


def events_after(store: Store, seq: int) -> list[dict]:
    return list(store.db["events"].rows_where("seq > ?", [seq], order_by="seq"))


def last_seq(store: Store) -> int:
    return store.db.execute("select coalesce(max(seq), 0) from events").fetchone()[0]


def assert_outbox_matches(store: Store, event: dict, *, kiosk: str = "kiosk-test", boot: str = "boot-1") -> dict:
    """The event's outbox row carries the same seq, id and type, and the envelope the publisher sends; return its payload."""
    outbox = store.db["outbox"].get(event["seq"])
    assert event["event_id"] == f"{kiosk}:{event['seq']}"
    assert (outbox["event_id"], outbox["type"]) == (event["event_id"], event["type"])
    assert (outbox["published_at"], outbox["acked_at"]) == (None, None)
    payload = json.loads(event["payload"])
    assert json.loads(outbox["body"]) == {
        "v": 1, "type": event["type"], "id": event["event_id"], "kiosk": kiosk, "seq": event["seq"],
        "boot": boot, "at": event["at"], "clock_synced": True, "payload": payload,
    }
    assert wire.parse_event(wire.topic(kiosk, wire.EVENT), outbox["body"].encode()).body == outbox["body"]  # the hub takes it
    return payload


def open_lot(site: Site, *, product: str = "comirnaty_30", lot_number: str = "FK1234", doses_per_vial: int = 6) -> int:
    """Open a lot valid well after the test's day; return its id."""
    expiry = site.clock.now().wall.date() + datetime.timedelta(days=180)
    return dosing.open_lot(site, NURSE, product=product, lot_number=lot_number, expiry=expiry, doses_per_vial=doses_per_vial)["id"]


def lot_for(site: Site) -> int:
    """The open comirnaty_30 lot of the day, opened when there is none."""
    row = site.store.db.execute(
        "select id from lots where day = ? and product = 'comirnaty_30' and closed_at is null",
        [site.clock.now().wall.date().isoformat()],
    ).fetchone()
    return row[0] if row else open_lot(site)


def force_state(site: Site, ticket_id: int, state: str) -> None:
    """Put a ticket in a state no use case stores today ("injected": inject moves straight on to "observing")."""
    with site.store.write() as db:
        db["tickets"].update(ticket_id, {"state": state})


RETURN_ON = datetime.date(2026, 12, 23)

STEPS: dict[str, Callable[[Site, int, int | None], object]] = {
    "call": lambda site, tid, lot: actions.call(site, tid, NURSE, desk=1),
    "screen": lambda site, tid, lot: actions.screen(site, tid, NURSE),
    "clear": lambda site, tid, lot: actions.clear(site, tid, NURSE),
    "inject": lambda site, tid, lot: dosing.inject(site, tid, NURSE, lot_id=lot if lot is not None else lot_for(site)),
    "injected": lambda site, tid, lot: force_state(site, tid, "injected"),
    "wait": lambda site, tid, lot: site.clock.advance(MINIMUM_S),
    "release": lambda site, tid, lot: actions.release(site, tid, NURSE),
    "defer": lambda site, tid, lot: actions.defer(site, tid, NURSE, reason="fever 38.5", return_on=RETURN_ON),
    "refuse": lambda site, tid, lot: actions.refuse(site, tid, NURSE, reason_code="declined", reason="declined"),
    "leave": lambda site, tid, lot: actions.leave(site, tid, NURSE),
    "leave_early": lambda site, tid, lot: actions.leave_early(site, tid, NURSE),
}

ROUTES: dict[str, tuple[str, ...]] = {
    "waiting": (),
    "called": ("call",),
    "screening": ("call", "screen"),
    "cleared": ("call", "screen", "clear"),
    "injected": ("call", "screen", "clear", "inject", "injected"),
    "observing": ("call", "screen", "clear", "inject"),
    "released": ("call", "screen", "clear", "inject", "wait", "release"),
    "deferred": ("call", "screen", "defer"),
    "refused": ("call", "screen", "refuse"),
    "left": ("leave",),
    "left_early": ("call", "screen", "clear", "inject", "leave_early"),
}
"""How the real use cases bring a new ticket to each state."""


def ticket_in(site: Site, state: str, payload: str = LAN, *, lot_id: int | None = None) -> int:
    """Check the person in and take them to state with the use cases; return the ticket id."""
    ticket_id = check_in(site, parse_payload(payload), source="camera").id
    for name in ROUTES[state]:
        STEPS[name](site, ticket_id, lot_id)
    assert site.store.db["tickets"].get(ticket_id)["state"] == state
    return ticket_id


def test_ok__routes_reach_every_state():
    assert set(ROUTES) == set(STATES)


# --- every use case from every state -----------------------------------------


@dataclass(frozen=True)
class UseCase:
    name: str
    run: Callable[[Site, int, int], dict]
    events: tuple[str, ...]
    target: str
    allowed: tuple[str, ...]
    """The states it is allowed in, written out from docs/workflow.md."""


def release_after_minimum(site, tid, lot):
    site.clock.advance(MINIMUM_S)
    return actions.release(site, tid, NURSE)


USE_CASES = [
    UseCase("call", lambda site, tid, lot: actions.call(site, tid, NURSE, desk=2), ("PersonCalled",), "called", ("waiting",)),
    UseCase("screen", lambda site, tid, lot: actions.screen(site, tid, NURSE), ("ScreeningStarted",), "screening", ("called",)),
    UseCase("clear", lambda site, tid, lot: actions.clear(site, tid, NURSE), ("PersonCleared",), "cleared", ("screening",)),
    UseCase("requeue", lambda site, tid, lot: actions.requeue(site, tid, NURSE), ("PersonRequeued",), "waiting", ("called",)),
    UseCase(
        "defer", lambda site, tid, lot: actions.defer(site, tid, NURSE, reason="fever 38.5", return_on=RETURN_ON),
        ("PersonDeferred",), "deferred", ("screening",),
    ),
    UseCase(
        "refuse", lambda site, tid, lot: actions.refuse(site, tid, NURSE, reason_code="declined", reason="declined"),
        ("VaccinationRefused",), "refused", ("screening", "cleared"),
    ),
    UseCase(
        "leave", lambda site, tid, lot: actions.leave(site, tid, NURSE),
        ("PersonLeft",), "left", ("waiting", "called", "screening", "cleared"),
    ),
    UseCase(
        "leave_early", lambda site, tid, lot: actions.leave_early(site, tid, NURSE),
        ("PersonLeftEarly",), "left_early", ("injected", "observing"),
    ),
    UseCase("release", release_after_minimum, ("PersonReleased",), "released", ("observing",)),
    UseCase(
        "release_early", lambda site, tid, lot: actions.release(site, tid, NURSE, reason="needs to collect a child"),
        ("PersonReleased",), "released", ("observing",),
    ),
    UseCase(
        "inject", lambda site, tid, lot: dosing.inject(site, tid, NURSE, lot_id=lot),
        ("DoseRecorded", "ObservationStarted"), "observing", ("cleared",),
    ),
]
OK_CASES = [pytest.param(uc, state, id=f"{uc.name}-from-{state}") for uc in USE_CASES for state in uc.allowed]
REFUSED_CASES = [
    pytest.param(uc, state, id=f"{uc.name}-from-{state}") for uc in USE_CASES for state in STATES if state not in uc.allowed
]


@pytest.fixture
def lot(site) -> int:
    """An open lot with one vial already open, so an injection writes exactly its own two events."""
    lot_id = open_lot(site)
    dosing.open_vial(site, lot_id, NURSE)
    return lot_id


@dataclass
class World:
    """One store holding a ticket in every state, shared by the tests that must write nothing."""

    site: Site
    tickets: dict[str, int]
    lot: int
    clock: tuple


@pytest.fixture(scope="module")
def built_world(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("world") / "kiosk.db")
    site = Site(store, "kiosk-test", QueueSettings(), Ticker())
    lot_id = open_lot(site)
    dosing.open_vial(site, lot_id, NURSE)
    tickets = {state: ticket_in(site, state, person(n), lot_id=lot_id) for n, state in enumerate(STATES)}
    yield World(site, tickets, lot_id, (site.clock.wall, site.clock.mono))
    store.close()


@pytest.fixture
def world(built_world) -> World:
    """The shared world, its clock put back where it was (a refused release may have moved it)."""
    built_world.site.clock.wall, built_world.site.clock.mono = built_world.clock
    return built_world


@pytest.mark.parametrize(("use_case", "state"), OK_CASES)
def test_ok__use_case_writes_state_event_and_outbox_row(store, site, lot, use_case, state):
    tid = ticket_in(site, state, lot_id=lot)
    before, tickets_before = last_seq(store), store.db["tickets"].count
    returned = use_case.run(site, tid, lot)
    assert returned["state"] == use_case.target == store.db["tickets"].get(tid)["state"]
    assert store.db["tickets"].count == tickets_before
    written = events_after(store, before)
    assert [e["type"] for e in written] == list(use_case.events)
    assert [e["seq"] for e in written] == list(range(before + 1, before + 1 + len(written)))
    for event in written:
        assert (event["ticket_id"], event["staff_id"]) == (tid, NURSE.id)
        payload = assert_outbox_matches(store, event)
        assert payload["ticket"] == {"day": "2026-11-25", "number": 1}
        assert payload["by"] == {"staff_id": NURSE.id, "name": NURSE.name}
    if use_case.name != "inject":
        assert (json.loads(written[0]["payload"])["from"], json.loads(written[0]["payload"])["to"]) == (state, use_case.target)
    assert store.db["outbox"].count == store.db["events"].count


@pytest.mark.parametrize(("use_case", "state"), REFUSED_CASES)
def test_fail__use_case_in_a_state_it_is_not_allowed_in_writes_nothing(world, use_case, state):
    before = snapshot(world.site.store)
    with pytest.raises(TransitionRefused) as caught:
        use_case.run(world.site, world.tickets[state], world.lot)
    assert (caught.value.state, caught.value.action) == (state, use_case.name.replace("release_early", "release"))
    assert snapshot(world.site.store) == before


NOT_OBSERVING = [pytest.param(state, id=state) for state in STATES if state != "observing"]


@pytest.mark.parametrize("state", NOT_OBSERVING)
def test_fail__release_without_reason_outside_observation_is_a_refused_transition(world, state):
    # Not "observation_not_over": there is no observation to wait for in these states.
    before = snapshot(world.site.store)
    with pytest.raises(TransitionRefused):
        actions.release(world.site, world.tickets[state], NURSE)
    assert snapshot(world.site.store) == before


# --- atomicity ---------------------------------------------------------------


def refuse_inserts(store: Store, table: str) -> None:
    """Make SQLite refuse every insert into table, as a failing write would."""
    store.db.execute(f"create trigger refuse_{table} before insert on {table} begin select raise(abort, '{table} refuses'); end")


def allow_inserts(store: Store, table: str) -> None:
    store.db.execute(f"drop trigger refuse_{table}")


FAILING_WRITES = [
    pytest.param(use_case, table, id=f"{use_case.name}-{table}")
    for use_case in USE_CASES if use_case.name in ("call", "defer", "inject", "release_early", "leave_early")
    for table in ("events", "outbox")
]


@pytest.mark.parametrize(("use_case", "table"), FAILING_WRITES)
def test_fail__a_refused_event_or_outbox_insert_rolls_back_the_state_change(store, site, lot, use_case, table):
    tid = ticket_in(site, use_case.allowed[0], lot_id=lot)
    before = snapshot(store)
    refuse_inserts(store, table)
    with pytest.raises(StoreError, match=f"{table} refuses"):
        use_case.run(site, tid, lot)
    assert snapshot(store) == before
    allow_inserts(store, table)
    use_case.run(site, tid, lot)
    assert store.db["tickets"].get(tid)["state"] == use_case.target
    assert seqs(store) == seqs(store, "outbox") == list(range(1, store.db["events"].count + 1))


def test_fail__a_refused_outbox_insert_saves_no_dose_and_opens_no_vial(store, site):
    lot_id = open_lot(site)
    tid = ticket_in(site, "cleared")
    before = snapshot(store)
    refuse_inserts(store, "outbox")
    with pytest.raises(StoreError):
        dosing.inject(site, tid, NURSE, lot_id=lot_id)
    assert snapshot(store) == before
    assert store.db["lots"].get(lot_id)["vials_opened"] == 0


def fill_disk(store: Store) -> None:
    """Cap the file at its current size: SQLite then fails writes with SQLITE_FULL, as on a full disk."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def test_fail__full_disk_keeps_ticket_events_and_outbox_in_step(store, site):
    tid = ticket_in(site, "waiting")
    fill_disk(store)
    with pytest.raises(StoreError, match="disk is full"):
        for _ in range(500):  # enough events to need a new page
            actions.call(site, tid, NURSE, desk=1)
            actions.requeue(site, tid, NURSE)
    last = store.db["events"].get(last_seq(store))
    assert store.db["tickets"].get(tid)["state"] == json.loads(last["payload"])["to"]
    assert seqs(store) == seqs(store, "outbox") == list(range(1, store.db["events"].count + 1))


# --- stale screens, unknown tickets, bad details -------------------------------


@pytest.mark.parametrize(("use_case", "state"), OK_CASES)
def test_fail__a_double_submitted_form_is_stale_and_writes_nothing(store, site, lot, use_case, state):
    tid = ticket_in(site, state, lot_id=lot)

    def submit():
        # The form carries the state the screen showed: the same for both taps.
        if use_case.name == "inject":
            return dosing.inject(site, tid, NURSE, lot_id=lot, expected_state=state)
        if use_case.name.startswith("release"):
            return actions.release(site, tid, NURSE, reason="second tap", expected_state=state)
        name = use_case.name
        kwargs = {"call": {"desk": 2}, "defer": {"reason": "fever", "return_on": RETURN_ON}, "refuse": {"reason_code": "declined", "reason": "declined"}}
        return getattr(actions, name)(site, tid, NURSE, expected_state=state, **kwargs.get(name, {}))

    submit()
    before = snapshot(store)
    with pytest.raises(StaleAction, match="nothing was done"):
        submit()
    assert snapshot(store) == before


def test_fail__second_injection_of_a_double_tap_is_stale_and_records_one_dose(store, site, lot):
    tid = ticket_in(site, "cleared")
    dosing.inject(site, tid, NURSE, lot_id=lot, expected_state="cleared")
    with pytest.raises(StaleAction):
        dosing.inject(site, tid, NURSE, lot_id=lot, expected_state="cleared")
    assert store.db["doses"].count == 1
    assert [e["type"] for e in events_after(store, 0)].count("DoseRecorded") == 1


def test_fail__expected_state_from_an_old_screen_is_stale(world):
    before = snapshot(world.site.store)
    with pytest.raises(StaleAction, match="'called', not 'waiting'"):
        actions.call(world.site, world.tickets["called"], NURSE, desk=1, expected_state="waiting")
    assert snapshot(world.site.store) == before


UNKNOWN_TICKET_CALLS = [
    pytest.param(lambda site, lot: actions.call(site, 999, NURSE, desk=1), id="call"),
    pytest.param(lambda site, lot: actions.screen(site, 999, NURSE), id="screen"),
    pytest.param(lambda site, lot: actions.clear(site, 999, NURSE), id="clear"),
    pytest.param(lambda site, lot: actions.requeue(site, 999, NURSE), id="requeue"),
    pytest.param(lambda site, lot: actions.defer(site, 999, NURSE, reason="x", return_on=RETURN_ON), id="defer"),
    pytest.param(lambda site, lot: actions.refuse(site, 999, NURSE, reason_code="declined", reason="x"), id="refuse"),
    pytest.param(lambda site, lot: actions.leave(site, 999, NURSE), id="leave"),
    pytest.param(lambda site, lot: actions.leave_early(site, 999, NURSE), id="leave_early"),
    pytest.param(lambda site, lot: actions.release(site, 999, NURSE), id="release"),
    pytest.param(lambda site, lot: actions.prioritise(site, 999, NURSE, flag="age65"), id="prioritise"),
    pytest.param(lambda site, lot: dosing.inject(site, 999, NURSE, lot_id=lot), id="inject"),
]


@pytest.mark.parametrize("attempt", UNKNOWN_TICKET_CALLS)
def test_fail__unknown_ticket_writes_nothing(world, attempt):
    before = snapshot(world.site.store)
    with pytest.raises(UnknownTicket, match="999"):
        attempt(world.site, world.lot)
    assert snapshot(world.site.store) == before


TODAY = datetime.date(2026, 11, 25)
BAD_DETAILS = [
    pytest.param("screening", lambda s, t: actions.defer(s, t, NURSE, reason=" ", return_on=RETURN_ON), "reason", id="defer-blank-reason"),
    pytest.param("screening", lambda s, t: actions.defer(s, t, NURSE, reason="x" * 201, return_on=RETURN_ON), "reason", id="defer-long-reason"),
    pytest.param("screening", lambda s, t: actions.defer(s, t, NURSE, reason="fever", return_on=TODAY), "return_on", id="defer-today"),
    pytest.param(
        "screening", lambda s, t: actions.defer(s, t, NURSE, reason="fever", return_on=TODAY - datetime.timedelta(days=1)),
        "return_on", id="defer-past",
    ),
    pytest.param(
        "screening", lambda s, t: actions.defer(s, t, NURSE, reason="fever", return_on=datetime.datetime(2026, 12, 1, 8)),
        "return_on", id="defer-datetime",
    ),
    pytest.param("screening", lambda s, t: actions.defer(s, t, NURSE, reason="fever", return_on="2026-12-01"), "return_on", id="defer-text-date"),
    pytest.param("screening", lambda s, t: actions.refuse(s, t, NURSE, reason_code="contraindicated", reason=""), "reason", id="refuse-empty"),
    pytest.param("cleared", lambda s, t: actions.refuse(s, t, NURSE, reason_code="contraindicated", reason="x" * 201), "reason", id="refuse-long"),
    pytest.param("screening", lambda s, t: actions.refuse(s, t, NURSE, reason_code="contraindicated", reason=None), "reason", id="refuse-none"),
    pytest.param("waiting", lambda s, t: actions.call(s, t, NURSE, desk=0), "desk", id="call-desk-0"),
    pytest.param("waiting", lambda s, t: actions.call(s, t, NURSE, desk=-1), "desk", id="call-desk-negative"),
    pytest.param("waiting", lambda s, t: actions.call(s, t, NURSE, desk="1"), "desk", id="call-desk-text"),
    pytest.param("waiting", lambda s, t: actions.call(s, t, NURSE, desk=True), "desk", id="call-desk-bool"),
    pytest.param("waiting", lambda s, t: actions.call(s, t, NURSE, desk=None), "desk", id="call-desk-none"),
]


@pytest.mark.parametrize(("state", "attempt", "key"), BAD_DETAILS)
def test_fail__bad_details_name_the_key_and_write_nothing(world, state, attempt, key):
    before = snapshot(world.site.store)
    with pytest.raises(DetailsInvalid) as caught:
        attempt(world.site, world.tickets[state])
    assert caught.value.key == key
    assert snapshot(world.site.store) == before


def test_ok__defer_stores_reason_and_return_date(store, site):
    tid = ticket_in(site, "screening")
    actions.defer(site, tid, NURSE, reason="fever 38.5", return_on=RETURN_ON)
    ticket = store.db["tickets"].get(tid)
    assert (ticket["reason"], ticket["return_on"]) == ("fever 38.5", "2026-12-23")
    payload = json.loads(store.db["events"].get(last_seq(store))["payload"])
    assert (payload["reason"], payload["return_on"]) == ("fever 38.5", "2026-12-23")


@pytest.mark.parametrize("desk", [pytest.param(3, id="one-past-the-last"), pytest.param(99, id="highest-valid-number")])
def test_fail__call_to_a_desk_the_site_does_not_have(world, desk):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        actions.call(world.site, world.tickets["waiting"], NURSE, desk=desk)
    assert caught.value.code == "no_such_desk"
    assert snapshot(world.site.store) == before


def test_ok__call_to_the_last_desk_records_it(store, site):
    tid = ticket_in(site, "waiting")
    assert actions.call(site, tid, NURSE, desk=2)["desk"] == 2
    assert json.loads(store.db["events"].get(last_seq(store))["payload"])["desk"] == 2


def test_ok__requeue_keeps_the_number_and_clears_the_desk(store, site):
    tid = ticket_in(site, "called")
    ticket = actions.requeue(site, tid, NURSE)
    assert (ticket["number"], ticket["desk"], store.db["tickets"].get(tid)["desk"]) == (1, None, None)


# --- call_next and priority ----------------------------------------------------


def test_ok__call_next_takes_priority_first_then_the_lowest_number(store, site):
    first, second, third = (ticket_in(site, "waiting", person(n)) for n in (1, 2, 3))
    actions.prioritise(site, third, NURSE, flag="pregnant")
    called = [actions.call_next(site, NURSE, desk=1)["id"] for _ in range(3)]
    assert called == [third, first, second]


def test_ok__a_requeued_person_keeps_their_place(store, site):
    first, second = (ticket_in(site, "waiting", person(n)) for n in (1, 2))
    actions.call_next(site, NURSE, desk=1)
    actions.requeue(site, first, NURSE)
    assert actions.call_next(site, NURSE, desk=2)["id"] == first


def test_ok__call_next_skips_yesterdays_tickets(store, site, ticker):
    ticket_in(site, "waiting", person(1))
    ticker.advance(86400)
    today = ticket_in(site, "waiting", person(2))
    assert actions.call_next(site, NURSE, desk=1)["id"] == today
    with pytest.raises(ActionRefused):
        actions.call_next(site, NURSE, desk=1)


def test_fail__call_next_with_nobody_waiting(store, site):
    ticket_in(site, "called")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        actions.call_next(site, NURSE, desk=1)
    assert caught.value.code == "nobody_waiting"
    assert snapshot(store) == before


def test_fail__call_next_to_a_desk_the_site_does_not_have(store, site):
    ticket_in(site, "waiting")
    before = snapshot(store)
    with pytest.raises(ActionRefused, match="desk 5"):
        actions.call_next(site, NURSE, desk=5)
    assert snapshot(store) == before


def test_ok__prioritise_records_flag_and_event(store, site):
    tid = ticket_in(site, "screening")
    ticket = actions.prioritise(site, tid, NURSE, flag="age65")
    assert (ticket["priority"], store.db["tickets"].get(tid)["priority_by"]) == ("age65", NURSE.id)
    event = store.db["events"].get(last_seq(store))
    assert (event["type"], event["ticket_id"], event["staff_id"]) == ("PriorityGranted", tid, NURSE.id)
    assert assert_outbox_matches(store, event)["flag"] == "age65"


@pytest.mark.parametrize(
    ("state", "flag", "code"),
    [
        pytest.param("waiting", "vip", "unknown_priority", id="unknown-flag"),
        pytest.param("observing", "age65", "too_late_for_priority", id="after-injection"),
        pytest.param("left", "age65", "too_late_for_priority", id="terminal"),
    ],
)
def test_fail__prioritise_refused(world, state, flag, code):
    before = snapshot(world.site.store)
    with pytest.raises(ActionRefused) as caught:
        actions.prioritise(world.site, world.tickets[state], NURSE, flag=flag)
    assert caught.value.code == code
    assert snapshot(world.site.store) == before


# --- observation -----------------------------------------------------------------


def observation_on_board(site: Site, tid: int) -> dict:
    return next(t for t in board(site)["tickets"] if t["id"] == tid)["observation"]


def test_ok__board_counts_the_observation_down(store, site, ticker):
    tid = ticket_in(site, "observing")
    assert observation_on_board(site, tid) == {"remaining_s": 1800, "due": False, "restarted": False}
    ticker.advance(600)
    assert observation_on_board(site, tid) == {"remaining_s": 1200, "due": False, "restarted": False}
    ticker.advance(1200)
    assert observation_on_board(site, tid) == {"remaining_s": 0, "due": True, "restarted": False}


def test_ok__observation_minimum_comes_from_the_settings(store, ticker):
    from kiosk.config import QueueSettings

    site = Site(store, "kiosk-test", QueueSettings(observation_minutes=15), ticker)
    tid = ticket_in(site, "observing")
    assert observation_on_board(site, tid)["remaining_s"] == 900
    ticker.advance(900)
    actions.release(site, tid, NURSE)


def test_fail__release_before_the_minimum_without_reason(store, site, ticker):
    tid = ticket_in(site, "observing")
    ticker.advance(MINIMUM_S - 1)
    before = snapshot(store)
    for reason in (None, "", "   "):
        with pytest.raises(ActionRefused, match="1 min left") as caught:
            actions.release(site, tid, NURSE, reason=reason)
        assert caught.value.code == "observation_not_over"
    assert snapshot(store) == before


def test_fail__release_right_after_injection_says_thirty_minutes_left(store, site):
    tid = ticket_in(site, "observing")
    with pytest.raises(ActionRefused, match=r"\(30 min left\)"):
        actions.release(site, tid, NURSE)


def test_fail__release_with_an_overlong_reason(store, site):
    tid = ticket_in(site, "observing")
    before = snapshot(store)
    with pytest.raises(ActionRefused) as caught:
        actions.release(site, tid, NURSE, reason="x" * 201)
    assert caught.value.code == "bad_reason"
    assert snapshot(store) == before


def test_ok__early_release_with_a_reason_is_recorded(store, site, ticker):
    tid = ticket_in(site, "observing")
    ticker.advance(600)
    ticket = actions.release(site, tid, NURSE, reason="  signed the waiver; feels well ")
    assert ticket["state"] == "released" == store.db["tickets"].get(tid)["state"]
    assert store.db["tickets"].get(tid)["reason"] == "signed the waiver; feels well"
    payload = assert_outbox_matches(store, store.db["events"].get(last_seq(store)))
    assert payload["reason"] == "signed the waiver; feels well"  # the hub must learn of an early release


def test_ok__release_once_the_minimum_is_over(store, site, ticker):
    tid = ticket_in(site, "observing")
    ticker.advance(MINIMUM_S)  # due from the moment the minimum has fully passed
    actions.release(site, tid, NURSE)
    ticket = store.db["tickets"].get(tid)
    assert (ticket["state"], ticket["reason"]) == ("released", None)
    assert "reason" not in json.loads(store.db["events"].get(last_seq(store))["payload"])


def test_ok__a_process_restart_keeps_the_observation_timer(store, site, ticker):
    tid = ticket_in(site, "observing")
    ticker.advance(600)
    restarted = Store(store.path)  # a new process on the same file, in the same boot
    try:
        again = Site(restarted, "kiosk-test", site.settings, ticker)
        assert observation_on_board(again, tid) == {"remaining_s": 1200, "due": False, "restarted": False}
        assert actions.reanchor_observations(again) == 0
        with pytest.raises(ActionRefused):
            actions.release(again, tid, NURSE)
        ticker.advance(1200)
        assert actions.release(again, tid, NURSE)["state"] == "released"
    finally:
        restarted.close()


def test_ok__a_reboot_restarts_the_timer_and_marks_it(store, site, ticker):
    tid = ticket_in(site, "observing")
    ticker.advance(1500)
    ticker.reboot()
    # Before the timer is re-anchored the elapsed time is unknown: the full minimum is left.
    assert observation_on_board(site, tid) == {"remaining_s": 1800, "due": False, "restarted": False}
    with pytest.raises(ActionRefused):
        actions.release(site, tid, NURSE)
    assert actions.reanchor_observations(site) == 1
    assert actions.reanchor_observations(site) == 0
    ticker.advance(60)
    assert observation_on_board(site, tid) == {"remaining_s": 1740, "due": False, "restarted": True}
    ticker.advance(1740)
    assert observation_on_board(site, tid)["due"] is True
    actions.release(site, tid, NURSE)


def test_ok__reanchor_leaves_finished_tickets_alone(store, site, ticker):
    done = ticket_in(site, "released", person(1))
    gone = ticket_in(site, "left_early", person(2))
    observed = ticket_in(site, "observing", person(3))
    ticker.reboot()
    assert actions.reanchor_observations(site) == 1
    restarted = {row["id"]: row["observe_restarted"] for row in store.db["tickets"].rows}
    assert restarted == {done: None, gone: None, observed: 1}


def test_ok__leave_early_is_highlighted_on_the_board(store, site):
    early = ticket_in(site, "left_early", person(1))
    released = ticket_in(site, "released", person(2))
    views = {t["id"]: t for t in board(site)["tickets"]}
    assert (views[early]["highlight"], views[released]["highlight"]) == (True, False)
    assert views[early]["actions"] == [] and views[early]["observation"] is None



def test_ok__the_api_token_acts_with_no_staff_id(store, site):
    api = Staffer(None, "api")
    tid = ticket_in(site, "waiting")
    actions.call(site, tid, api, desk=1)
    event = store.db["events"].get(last_seq(store))
    assert event["staff_id"] is None
    assert assert_outbox_matches(store, event)["by"] == {"staff_id": None, "name": "api"}
