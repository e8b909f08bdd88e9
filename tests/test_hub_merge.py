"""The hub's merge: derive_person's rules, table-driven, and the property that the merged state is a function of the
set of events (any order, any batches, any duplicates), on SQLite and on PostgreSQL, there also from two workers
committing at once."""

from __future__ import annotations

import json
import random
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
from hub import corrections as hub_corrections
from hub.merge import conflict, derive_person, person_event
from hub.store import Batch
from hub.store import commit as commits
from hub.store import corrections as kept_corrections
from hub.store.postgres import derive as pg_derive
from hub.store.postgres.dialect import Connection
from hub.store.sqlite import open_store
from vaccines.catalogue import load_catalogue

from .hub_helpers import HUNG_ID, LAN, LAN_ID, called, check_in, corrected, dose, snapshot, void
from .hub_stores import PostgresDb, SqliteDb

CATALOGUE = load_catalogue()
AT = "2024-05-01T10:00:00+07:00"


def derive(events, voids=()):
    """derive_person for Lan over events; voids are (target event, void event) pairs."""
    voided = {target.id: by.id for target, by in voids}
    return derive_person(LAN_ID, [person_event(e) for e in events], voided, CATALOGUE)


def kinds(view):
    return sorted(c["kind"] for c in view.conflicts)


# -- conflicts --------------------------------------------------------------------------------------------------------

CLEAN = {
    "one check-in, one dose": [check_in("ka", 1), dose("ka", 2)],
    "a primary series 21 days apart": [dose("ka", 1, number=1, on="2024-05-01"), dose("ka", 2, number=2, on="2024-05-22")],
    "a booster 90 days after the series": [
        dose("ka", 1, number=1, on="2024-01-01"), dose("ka", 2, number=2, on="2024-01-22"),
        dose("kb", 1, number=3, booster=1, on="2024-04-21"),
    ],
    "the same name in other case and spacing": [check_in("ka", 1), check_in("kb", 1, full_name=" NGUYỄN  THỊ LAN ")],
    "other events about the person": [check_in("ka", 1), called("ka", 2), dose("ka", 3)],
}


@pytest.mark.parametrize("events", CLEAN.values(), ids=CLEAN.keys())
def test_ok__no_conflict(events):
    assert derive(events).conflicts == []


CONFLICTS = {
    "the same dose number twice at one kiosk": ([dose("ka", 1), dose("ka", 2)], "duplicate_dose", ["ka:1", "ka:2"]),
    "the same dose number at two kiosks": ([dose("kb", 9), dose("ka", 1)], "duplicate_dose", ["ka:1", "kb:9"]),
    "dose 2 ten days after dose 1": (
        [dose("ka", 1, number=1, on="2024-05-01"), dose("ka", 2, number=2, on="2024-05-11")], "interval_too_short",
        ["ka:1", "ka:2"]),
    "a booster 30 days after the series (booster from the catalogue, not the payload)": (
        [dose("ka", 1, number=1, on="2024-01-01"), dose("ka", 2, number=2, on="2024-01-22"),
         dose("ka", 3, number=3, booster=None, on="2024-02-21")], "interval_too_short", ["ka:2", "ka:3"]),
    "another name": (
        [check_in("kb", 4, full_name="Nguyễn Thị Lâm"), check_in("ka", 1)], "identity_mismatch", ["ka:1", "kb:4"]),
    "another birth date": (
        [check_in("ka", 1), check_in("ka", 2, birth_date="1990-05-13")], "identity_mismatch", ["ka:1", "ka:2"]),
    "another sex": ([check_in("ka", 1), check_in("ka", 2, sex="Nam")], "identity_mismatch", ["ka:1", "ka:2"]),
}


@pytest.mark.parametrize(("events", "kind", "event_ids"), CONFLICTS.values(), ids=CONFLICTS.keys())
def test_fail__conflict(events, kind, event_ids):
    view = derive(events)
    assert kinds(view) == [kind]
    assert json.loads(view.conflicts[0]["event_ids"]) == event_ids


def test_ok__duplicate_dose_keeps_both_doses():
    view = derive([dose("ka", 1), dose("kb", 1)])
    assert [d["event_id"] for d in view.doses] == ["ka:1", "kb:1"]
    assert json.loads(view.conflicts[0]["detail"]) == {"dose_number": 1, "kiosks": ["ka", "kb"], "products": ["comirnaty_30"]}


def test_ok__interval_detail_names_the_rule():
    view = derive([dose("ka", 1, number=1, on="2024-05-01"), dose("ka", 2, number=2, on="2024-05-11")])
    assert json.loads(view.conflicts[0]["detail"]) == {"days": 10, "dose_numbers": [1, 2], "minimum_days": 21}


def test_ok__interval_of_an_unknown_product_is_not_judged():
    events = [dose("ka", 1, number=1, on="2024-05-01"), dose("ka", 2, number=2, on="2024-05-02", product="no_such_vaccine")]
    assert derive(events).conflicts == []


def test_ok__identity_conflict_names_the_fields():
    view = derive([check_in("ka", 1), check_in("ka", 2, full_name="Lan", sex="Nam"), check_in("kb", 1)])
    assert json.loads(view.conflicts[0]["detail"]) == {
        "fields": ["full_name", "sex"], "variants": 2, "versions": [LAN, {**LAN, "full_name": "Lan", "sex": "Nam"}],
        "corrections": [],
    }


def test_ok__conflict_id_depends_on_the_events_only():
    first = derive([dose("ka", 1), dose("kb", 1)]).conflicts[0]
    again = derive([dose("kb", 1), dose("ka", 1), check_in("ka", 2)]).conflicts[0]
    assert first["id"] == again["id"] and first["id"].startswith("duplicate_dose:")


def test_fail__a_corrected_identity_is_a_conflict_with_both_versions_and_the_reason():
    view = derive([check_in("ka", 1), corrected("ka", 2, full_name="Nguyễn Thị Lân", birth_date="1990-03-16")])
    [found] = view.conflicts
    assert (found["kind"], json.loads(found["event_ids"])) == ("identity_mismatch", ["ka:1", "ka:2"])
    detail = json.loads(found["detail"])
    new = {**LAN, "full_name": "Nguyễn Thị Lân", "birth_date": "1990-03-16"}
    assert detail["fields"] == ["full_name", "birth_date"] and detail["versions"] == [LAN, new]
    assert detail["corrections"] == [
        {"event": "ka:2", "stored": LAN, "corrected": new, "reason": "đổi tên theo giấy khai sinh", "by": "Y tá Hoa"}
    ]


# -- voids ------------------------------------------------------------------------------------------------------------


def test_ok__voided_dose_stays_and_counts_in_no_conflict():
    first, second, correction = dose("ka", 1), dose("ka", 2), void("ka", 3, 2)
    view = derive([first, second, correction], voids=[(second, correction)])
    assert view.conflicts == []
    assert [(d["event_id"], d["voided_by"]) for d in view.doses] == [("ka:1", None), ("ka:2", "ka:3")]


def test_ok__voided_dose_leaves_the_interval_rule():
    early = dose("ka", 2, number=2, on="2024-05-05")
    events = [dose("ka", 1, number=1, on="2024-05-01"), early, void("ka", 3, 2)]
    assert kinds(derive(events)) == ["interval_too_short"]
    assert derive(events, voids=[(early, events[2])]).conflicts == []


def test_ok__a_voided_correction_counts_in_no_conflict():
    wrong = corrected("ka", 2, full_name="Trần Văn Hùng")
    events = [check_in("ka", 1), wrong, void("ka", 3, 2)]
    assert kinds(derive(events)) == ["identity_mismatch"]
    assert derive(events, voids=[(wrong, events[2])]).conflicts == []


def test_ok__a_correction_and_the_check_in_it_allowed_are_one_conflict():
    """A supervisor's correction at a later visit: the earlier check-in, the correction and the new check-in."""
    typo = {"full_name": "Nguyễn Thị Lân", "birth_date": "1990-03-16"}
    events = [check_in("ka", 1), corrected("kb", 7, **typo), check_in("kb", 8, **typo), check_in("kb", 9, **typo)]
    [found] = derive(events).conflicts
    detail = json.loads(found["detail"])
    assert json.loads(found["event_ids"]) == ["ka:1", "kb:7", "kb:8", "kb:9"]
    assert (detail["fields"], detail["variants"], len(detail["corrections"])) == (["full_name", "birth_date"], 2, 1)
    assert derive(events).person["full_name"] == "Nguyễn Thị Lân", "the identity most check-ins carry, as before"


def test_ok__voided_check_in_identity_does_not_count():
    wrong = check_in("ka", 2, full_name="Trần Văn Hùng", sex="Nam")
    events = [check_in("ka", 1), wrong, void("ka", 3, 2)]
    view = derive(events, voids=[(wrong, events[2])])
    assert view.conflicts == [] and view.person["full_name"] == LAN["full_name"]


@pytest.mark.parametrize("void_first", [True, False], ids=["void before target", "target before void"])
def test_ok__void_arrives_before_or_after_its_target(tmp_path, void_first):
    target, correction = dose("ka", 2), void("ka", 3, 2)
    batches = [[check_in("ka", 1), correction], [target]] if void_first else [[check_in("ka", 1), target], [correction]]
    with open_store(tmp_path / "hub.db", CATALOGUE) as store:
        for batch in batches:
            store.commit(Batch(events=batch), AT)
    doses = snapshot(tmp_path / "hub.db")["doses"]
    assert [(row[0], row[10]) for row in doses] == [("ka:2", "ka:3")]  # event_id, voided_by


# -- identity ---------------------------------------------------------------------------------------------------------


def test_ok__identity_seen_most_wins():
    events = [check_in("ka", 1, full_name="Lan"), check_in("kb", 1), check_in("kc", 1)]
    assert derive(events).person["full_name"] == LAN["full_name"]


def test_ok__identity_tie_goes_to_lowest_kiosk_and_seq():
    events = [check_in("kb", 1), check_in("ka", 5, full_name="Nguyen Thi Lan")]
    for order in (events, events[::-1]):
        assert derive(order).person["full_name"] == "Nguyen Thi Lan"


def test_ok__person_without_check_in_has_no_identity():
    person = derive([dose("ka", 1)]).person
    assert person == {"id_number": LAN_ID, "full_name": None, "birth_date": None, "sex": None, "old_id": None,
                      "first_event": "ka:1", "events": 1}


def test_ok__derive_ignores_input_order():
    events = [check_in("ka", 1), dose("ka", 2), dose("kb", 3), check_in("kb", 1, sex="Nam"),
              dose("kb", 4, number=2, on="2024-05-03")]
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    assert derive(shuffled) == derive(events)


# -- the property: merge(any permutation, duplicates, batches) == merge(events) --------------------------------------

# few kiosks, people and days, so that conflicts, voids of doses and later events that undo a conflict are common
KIOSKS = ("ka", "kb")
PEOPLE = (LAN_ID, HUNG_ID)
VARIANTS = ({}, {"full_name": "Nguyen Thi Lan"}, {"sex": "Nam"})
DAYS = ("2024-05-01", "2024-05-10", "2024-05-29")

action = st.one_of(
    st.tuples(st.just("check_in"), st.sampled_from(PEOPLE), st.sampled_from(VARIANTS)),
    st.tuples(st.just("dose"), st.sampled_from(PEOPLE), st.integers(1, 2), st.sampled_from(DAYS)),
    st.tuples(st.just("called"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("corrected"), st.sampled_from(PEOPLE), st.sampled_from(VARIANTS), st.sampled_from(VARIANTS)),
    st.tuples(st.just("void"), st.integers(1, 40)),
)


def build(plan: list[tuple[str, tuple]]) -> list[wire.Event]:
    """Turn (kiosk, action) pairs into events with per-kiosk seqs; a void names an earlier event of its kiosk."""
    seqs = dict.fromkeys(KIOSKS, 0)
    events = []
    for kiosk, (kind, *args) in plan:
        seqs[kiosk] += 1
        seq = seqs[kiosk]
        if kind == "check_in":
            events.append(check_in(kiosk, seq, args[0], **args[1]))
        elif kind == "dose":
            events.append(dose(kiosk, seq, args[0], number=args[1], on=args[2]))
        elif kind == "called":
            events.append(called(kiosk, seq, args[0]))
        elif kind == "corrected":
            events.append(corrected(kiosk, seq, args[0], stored={**LAN, **args[1]}, **args[2]))
        else:
            events.append(void(kiosk, seq, 1 + (args[0] - 1) % (seq - 1) if seq > 1 else seq + 1))
    return events


def merged(batches: list[list[wire.Event]], hub_after: dict[int, list] | None = None) -> dict:
    """The snapshot after committing the batches; ``hub_after[i]`` are hub events kept (as they are, unchecked: the
    property is about the merge, not about what the workspace lets staff ask) after batch i, -1 before the first."""
    hub_after = hub_after or {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hub.db"
        with open_store(path, CATALOGUE) as store:
            keep_hub(store, hub_after.get(-1, []))
            for index, batch in enumerate(batches):
                store.commit(Batch(events=batch), AT)
                keep_hub(store, hub_after.get(index, []))
        return snapshot(path)


def keep_hub(store, hub_events: list) -> None:
    for correction in hub_events:
        with store.transaction() as conn:
            kept_corrections.insert(conn, correction, 3, "Cán bộ Mai", "2024-06-01T09:00:00+00:00")
            commits.derive_people(conn, {correction.id_number}, CATALOGUE)


def some_conflict(person: str, kind: str, a: int, b: int) -> str:
    return conflict(kind, person, [f"ka:{a}", f"kb:{b}"], {})["id"]


hub_action = st.one_of(
    st.builds(lambda n, k, kiosk, c: hub_corrections.void_dose(n, target=f"{kiosk}:{k}", reason="ghi nhầm",
                                                                resolves=some_conflict(n, "duplicate_dose", k, c)),
              st.sampled_from(PEOPLE), st.integers(1, 12), st.sampled_from(KIOSKS), st.integers(1, 12)),
    st.builds(lambda n, v, a, b: hub_corrections.correct_identity(
        n, **{**LAN, **v}, reason="đối chiếu thẻ", evidence="thẻ CCCD", resolves=some_conflict(n, "identity_mismatch", a, b)),
        st.sampled_from(PEOPLE), st.sampled_from(VARIANTS), st.integers(1, 12), st.integers(1, 12)),
    st.builds(lambda n, number, day: hub_corrections.add_dose(
        n, product="comirnaty_30", lot_number="FK1", number=number, booster=None, given_on=day, place="Trạm y tế",
        reason="tiêm ở nơi khác", evidence="giấy xác nhận"), st.sampled_from(PEOPLE), st.integers(1, 2), st.sampled_from(DAYS)),
    st.builds(lambda n, r, a, b: hub_corrections.resolve_conflict(
        n, conflict=some_conflict(n, "interval_too_short", a, b), resolution=r, reason="chỉ định của bác sĩ"),
        st.sampled_from(PEOPLE), st.sampled_from(hub_corrections.RESOLUTIONS), st.integers(1, 12), st.integers(1, 12)),
    st.builds(lambda n, a, b: hub_corrections.refer_to_police(n, conflict=some_conflict(n, "identity_mismatch", a, b),
                                                              commune="Phường 1"),
              st.sampled_from(PEOPLE), st.integers(1, 12), st.integers(1, 12)),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(st.tuples(st.sampled_from(KIOSKS), action), min_size=6, max_size=30),
    data=st.data(),
)
def test_ok__merge_is_a_function_of_the_set_of_events(plan, data):
    events = build(plan)
    lost = data.draw(st.sets(st.integers(0, len(events) - 1), max_size=3))  # never delivered: gaps
    kept = [e for i, e in enumerate(events) if i not in lost]
    delivered = data.draw(st.permutations(kept + data.draw(st.lists(st.sampled_from(kept), max_size=10))))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(delivered) - 1), min_size=1, max_size=4))) if len(delivered) > 1 else []
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)])]
    assert merged(batches) == merged([kept])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(st.tuples(st.sampled_from(KIOSKS), action), min_size=6, max_size=24),
    hub=st.lists(hub_action, min_size=1, max_size=6),
    data=st.data(),
)
def test_ok__with_the_hubs_corrections_the_merge_is_still_a_function_of_the_set_of_events(plan, hub, data):
    """The district's corrections (hub events, kept in the order made) interleaved anywhere among the kiosks' batches,
    delivered in any order with duplicates: the same merged state as every kiosk event first and the corrections
    after."""
    events = build(plan)
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=6))))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(delivered) - 1), min_size=1, max_size=3)))
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)])]
    places = sorted(data.draw(st.lists(st.integers(-1, len(batches) - 1), min_size=len(hub), max_size=len(hub))))
    hub_after: dict[int, list] = {}
    for place, correction in zip(places, hub):
        hub_after.setdefault(place, []).append(correction)
    assert merged(batches, hub_after) == merged([events], {0: hub})


# -- the same property on PostgreSQL, and from two workers at once ------------------------------------------------------


COUNTS = "SELECT given_on, kiosk, hour, doses FROM dose_counts WHERE doses <> 0 ORDER BY given_on, kiosk, hour"
"""The live dose counts (a count back to 0 may stay as a row: delivery's trace, not the merge's)."""


def on_sqlite(events: list[wire.Event]) -> dict:
    """The SQLite store's snapshot and live dose counts after committing the events in one batch."""
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDb(Path(folder) / "hub.db")
        with db.open(CATALOGUE) as store:
            store.commit(Batch(events=events), AT)
        return {**db.snapshot(), "dose_counts": db.rows(COUNTS)}


def merged_on(db: PostgresDb, batches: list[list[wire.Event]]) -> dict:
    """The snapshot and live dose counts after committing the batches in order into the emptied PostgreSQL database."""
    db.reset()
    with db.open(CATALOGUE) as store:
        for batch in batches:
            store.commit(Batch(events=batch), AT)
    return {**db.snapshot(), "dose_counts": db.rows(COUNTS)}


def merged_by_workers(db: PostgresDb, shares: list[list[list[wire.Event]]]) -> dict:
    """The snapshot after one worker per share (its own store and connection, a thread) committed its batches, all at
    once; a barrier releases them together."""
    db.reset()
    stores = [db.open(CATALOGUE) for _ in shares]
    start, failures = threading.Barrier(len(shares)), []

    def work(store, batches):
        try:
            start.wait(timeout=10)
            for batch in batches:
                store.commit(Batch(events=batch), AT)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below, with the worker's error
            failures.append(exc)

    workers = [threading.Thread(target=work, args=pair) for pair in zip(stores, shares)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for store in stores:
        store.close()
    assert not failures and not any(worker.is_alive() for worker in workers), failures
    return {**db.snapshot(), "dose_counts": db.rows(COUNTS)}


def batches_of(data, delivered: list[wire.Event], most: int) -> list[list[wire.Event]]:
    cuts = sorted(data.draw(st.sets(st.integers(1, len(delivered) - 1), max_size=most))) if len(delivered) > 1 else []
    return [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)])]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.sampled_from(KIOSKS), action), min_size=6, max_size=30), data=st.data())
def test_ok__on_postgresql_the_merge_is_the_same_function_of_the_set_of_events_as_on_sqlite(pg_url, plan, data):
    events = build(plan)
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=10))))
    db = PostgresDb(pg_url)
    assert merged_on(db, batches_of(data, delivered, 4)) == merged_on(db, [events]) == on_sqlite(events)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.sampled_from(KIOSKS), action), min_size=6, max_size=30), data=st.data())
def test_ok__two_workers_committing_the_same_events_at_once_end_in_the_same_merged_state(pg_url, plan, data):
    """Each worker gets every event (a redelivery to the other worker's session), in its own order and batches, so
    both write the same kiosks and people at once: the kiosk locks and the person locks are what keeps this whole."""
    events = build(plan)
    shares = [batches_of(data, data.draw(st.permutations(events)), 6) for _ in range(2)]
    db = PostgresDb(pg_url)
    assert merged_by_workers(db, shares) == on_sqlite(events)


def merged_on_with_hub(db: PostgresDb, batches: list[list[wire.Event]], hub_after: dict[int, list]) -> dict:
    """merged() on PostgreSQL: the snapshot after the batches, with hub_after[i]'s hub events kept after batch i."""
    db.reset()
    with db.open(CATALOGUE) as store:
        keep_hub_pg(store, hub_after.get(-1, []))
        for index, batch in enumerate(batches):
            store.commit(Batch(events=batch), AT)
            keep_hub_pg(store, hub_after.get(index, []))
    return db.snapshot()


def keep_hub_pg(store, hub_events: list) -> None:
    for correction in hub_events:
        with store.transaction() as conn:
            kept_corrections.insert(Connection(conn), correction, 3, "Cán bộ Mai", "2024-06-01T09:00:00+00:00")
            pg_derive.derive_people(conn, {correction.id_number}, CATALOGUE)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(st.tuples(st.sampled_from(KIOSKS), action), min_size=6, max_size=24),
    hub=st.lists(hub_action, min_size=1, max_size=6),
    data=st.data(),
)
def test_ok__on_postgresql_with_the_hubs_corrections_the_merge_is_sqlites_too(pg_url, plan, hub, data):
    """The hub's corrections interleaved anywhere among the kiosks' batches on PostgreSQL: SQLite's merged state with
    every kiosk event first and the corrections after."""
    events = build(plan)
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=6))))
    batches = batches_of(data, delivered, 3)
    places = sorted(data.draw(st.lists(st.integers(-1, len(batches) - 1), min_size=len(hub), max_size=len(hub))))
    hub_after: dict[int, list] = {}
    for place, correction in zip(places, hub):
        hub_after.setdefault(place, []).append(correction)
    assert merged_on_with_hub(PostgresDb(pg_url), batches, hub_after) == merged([events], {0: hub})
