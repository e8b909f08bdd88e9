"""The hub's classify-and-commit path (hub/ingest.py on a real SQLite store): no message stops it or holds back others.

The property test spoils valid events and statuses every way tests/hub_messages.py
knows and pushes them, between valid events, through Ingest.receive and
Ingest.flush, exactly what the merge worker runs: every valid event must merge
and nothing may raise. Fault injection uses real SQLite (a trigger that refuses
a row, a function that fails like a full disk), never a stand-in for the store.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
from wire import signature
from hub.ingest import Ingest
from hub.store import reports
from hub.store.sqlite import open_store

from .hub_helpers import check_in, event
from .hub_messages import BAD_KIOSK, GOOD_KIOSK, good_events, mutate
from .keys import enroll, signer

AT = "2026-03-02T01:00:00Z"
FUZZ_CRASHES = Path(__file__).resolve().parent / "fuzz_crashes"
"""Messages that once raised out of the ingest path, found by fuzz/hub_ingest.py (``--save``) or by the property test
below (the type ones; the 5000 digits are issue 10's); each stays a regression test."""


def enrolled_store(path):
    store = open_store(path)
    for kiosk in (GOOD_KIOSK, BAD_KIOSK):
        enroll(store, kiosk)
    return store


@pytest.fixture
def store(tmp_path):
    store = enrolled_store(tmp_path / "hub.db")
    yield store
    store.close()


@pytest.fixture
def ingest(store):
    return Ingest(store)


def merged(store, kiosk: str) -> list[int]:
    return [seq for (seq,) in store.conn.execute("SELECT seq FROM events WHERE kiosk = ? ORDER BY seq", (kiosk,))]


def reasons(store) -> list[str]:
    return sorted(reason for (reason,) in store.conn.execute("SELECT reason FROM quarantine"))


def body(seq: int, boot: str = "boot-1") -> bytes:
    return event(GOOD_KIOSK, seq, "LotOpened", {"lot": {"product": "comirnaty_30", "lot_number": "L1"}}, boot=boot).body.encode()


def receive(ingest, bodies) -> None:
    for text in bodies:
        ingest.receive(wire.topic(GOOD_KIOSK, wire.EVENT), text)


def poison(store) -> None:
    """A real trigger refusing events with boot 'poison': a message the merge cannot commit, as a hub bug would make."""
    store.conn.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.boot = 'poison' "
                       "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")


# -- splitting a batch around the message that breaks it ---------------------------------------------------------------


@pytest.mark.parametrize("where", [0, 3, 9])
def test_fail__a_message_that_breaks_the_commit_is_quarantined_and_the_rest_merged(store, ingest, where, caplog):
    poison(store)
    bodies = [body(seq) for seq in range(1, 11)]
    bodies[where] = body(where + 1, boot="poison")
    receive(ingest, bodies)
    ingest.receive(wire.topic(BAD_KIOSK, wire.EVENT), b"{oops")
    flushed = ingest.flush()
    assert flushed is not None and (flushed.merged, flushed.quarantined) == (9, 2)
    assert merged(store, GOOD_KIOSK) == [seq for seq in range(1, 11) if seq != where + 1]
    assert reasons(store) == ["not_json", "unmergeable"]
    [row] = reports.quarantine(store.path, reason="unmergeable")
    assert row["kiosk"] == GOOD_KIOSK and row["topic"] == wire.topic(GOOD_KIOSK, wire.EVENT)
    assert row["detail"].startswith("merging it raised IntegrityError at ") and "poisoned" not in row["detail"]
    assert [ack.watermark for ack in flushed.acks if ack.kiosk == GOOD_KIOSK] == [where]
    assert f"merging event {GOOD_KIOSK}:{where + 1} raised IntegrityError" in caplog.text
    assert len(ingest.pending.batch) == 0 and ingest.seconds_until_retry() == 0


def test_fail__two_bad_messages_in_one_batch_are_both_found(store, ingest):
    poison(store)
    receive(ingest, [body(seq, boot="poison" if seq in (2, 7) else "b") for seq in range(1, 9)])
    flushed = ingest.flush()
    assert flushed.merged == 6 and reasons(store) == ["unmergeable", "unmergeable"]


def test_fail__a_full_disk_half_way_through_a_split_keeps_what_is_left_for_the_retry(store, ingest):
    poison(store)
    full = {"now": False}

    def quarantine_gate() -> int:
        if full["now"]:
            raise OSError("No space left on device")  # surfaces as sqlite3.OperationalError: a StoreError
        return 0

    store.conn.create_function("quarantine_gate", 0, quarantine_gate)
    store.conn.execute("CREATE TRIGGER gate BEFORE INSERT ON quarantine BEGIN SELECT quarantine_gate(); END")
    receive(ingest, [body(1), body(2, boot="poison"), body(3)])
    full["now"] = True  # the disk fills up between the split's first commit (event 1) and the quarantine row
    assert ingest.flush() is None
    assert merged(store, GOOD_KIOSK) == [1] and reasons(store) == []
    assert ingest.last_error.startswith("StoreError: ") and ingest.seconds_until_retry() > 0
    assert [len(ingest.pending.batch.quarantined), [e.seq for e in ingest.pending.batch.events]] == [1, [3]]
    full["now"] = False
    flushed = ingest.flush()
    assert (flushed.merged, flushed.quarantined) == (2, 1), "counts of both commits, each message once"
    assert [ack.watermark for ack in flushed.acks] == [1] and merged(store, GOOD_KIOSK) == [1, 3]
    assert reasons(store) == ["unmergeable"] and ingest.last_error is None


def test_fail__a_database_that_fails_every_write_keeps_the_whole_batch(store, ingest, tmp_path):
    receive(ingest, [body(1), body(2)])
    with sqlite3.connect(tmp_path / "hub.db") as other:
        other.execute("BEGIN IMMEDIATE")
        store.write_wait_s = 0.05  # the lock is held on purpose: no need to wait the 10 s a real write would
        assert ingest.flush() is None
        other.rollback()
    assert len(ingest.pending.batch.events) == 2 and reasons(store) == []
    assert ingest.flush().merged == 2


def test_fail__a_message_that_breaks_classifying_is_quarantined(store, ingest):
    ingest.receive(b"vax/k/ka/event", body(1))  # not a str: parse_topic cannot split it
    ingest.receive("vax/k/\udcff/event", body(1))  # a topic no column can store as it is
    receive(ingest, [body(1)])
    flushed = ingest.flush()
    assert flushed.merged == 1 and reasons(store) == ["bad_topic", "unmergeable"]
    rows = reports.quarantine(store.path)
    assert {row["topic"] for row in rows} == {"b'vax/k/ka/event'", "vax/k/\\udcff/event"}


# -- every way to spoil a message --------------------------------------------------------------------------------------


class Draws:
    """tests/hub_messages.py's Chooser on hypothesis's draws."""

    def __init__(self, data):
        self.data = data

    def pick(self, options):
        return self.data.draw(st.sampled_from(list(options)))

    def number(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


def push(store, messages: list[tuple[str, bytes]], batches: int) -> Ingest:
    """Classify and commit messages in ``batches`` batches, as the merge worker does; every flush must commit."""
    ingest = Ingest(store)
    size = max(1, -(-len(messages) // batches))
    for first in range(0, len(messages), size):
        for topic, text in messages[first:first + size]:
            ingest.receive(topic, text)
        assert ingest.flush() is not None, "a healthy database: every batch commits"
    return ingest


def check_merged(store, valid: int) -> None:
    """Every valid event merged, every spoiled message merged or quarantined for a reason known at parse time."""
    assert merged(store, GOOD_KIOSK) == list(range(1, valid + 1))
    assert store.ack_for(GOOD_KIOSK, AT).watermark == valid
    found = set(reasons(store))
    assert found <= set(wire.REJECTION_REASONS) and "unmergeable" not in found, found
    store.stats()
    reports.quarantine(store.path, limit=10_000)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), spoiled=st.integers(1, 8), valid=st.integers(1, 12), batches=st.integers(1, 4))
def test_ok__spoiled_messages_never_stop_or_hold_back_the_valid_ones(data, spoiled, valid, batches):
    draws = Draws(data)
    bad = [mutate(draws) for _ in range(spoiled)]
    good = good_events(valid)
    order = data.draw(st.permutations(range(spoiled + valid)))
    messages = [(bad + good)[i] for i in order]
    with tempfile.TemporaryDirectory() as folder:
        store = enrolled_store(Path(folder) / "hub.db")
        try:
            push(store, messages, batches)
            check_merged(store, valid)
        finally:
            store.close()


@pytest.mark.parametrize("crash", sorted(FUZZ_CRASHES.glob("*.json")), ids=lambda path: path.stem)
def test_fail__inputs_the_fuzzer_found_no_longer_crash(store, crash):
    """Each file: the [topic, body as latin-1 text] pairs of one batch that once raised out of the ingest path."""
    messages = [(topic, text.encode("latin-1")) for topic, text in json.loads(crash.read_text())]
    push(store, [*messages, *good_events(3)], 1)
    check_merged(store, 3)


def test_ok__a_real_check_in_merges_with_its_spoiled_copies_around_it(store):
    copy = json.loads(signature.unsigned(check_in(BAD_KIOSK, 1).body.encode()))
    messages = [(wire.topic(BAD_KIOSK, wire.EVENT), signer(BAD_KIOSK).sign(wire.canonical({**copy, "seq": 10**30}))),
                (wire.topic(BAD_KIOSK, wire.EVENT), json.dumps(copy).replace('"seq": 1', '"seq": ' + "9" * 5000).encode()),
                (wire.topic(BAD_KIOSK, wire.EVENT), json.dumps({**copy, "payload": float("nan")}).encode()),
                *good_events(2)]
    push(store, messages, 1)
    check_merged(store, 2)
    assert reasons(store) == ["not_json", "not_json", "schema"]
