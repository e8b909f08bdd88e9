"""`hub run`'s liveness: when merging counts as stalled, what it notes in a real hub database, what `hub stats` makes of it."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from hub.liveness import NOTE_RETRY_SECONDS, NOTE_SECONDS, SILENT_SECONDS, Liveness, judge
from hub.store import postgres
from hub.store.sqlite import open_store
from tests.hub_stores import database

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


class Clocks:
    """A monotonic clock and a wall clock that move together, by hand."""

    def __init__(self):
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.mono += seconds

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.mono - 1000.0)


@pytest.fixture
def clocks():
    return Clocks()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """The hub database of either store (tests/hub_stores.py): the merging row reads the same on both."""
    with database(request, tmp_path).open() as store:
        yield store


@pytest.fixture
def liveness(store, clocks):
    return Liveness(store.note_merging, stall_seconds=30, clock=clocks.monotonic, wall=clocks.wall, pid=4242)


def merging(store, clocks) -> dict:
    return store.stats(now=clocks.wall())["merging"]


def test_ok__a_fresh_database_has_never_seen_hub_run(store, clocks):
    assert merging(store, clocks) == {"state": "never_run", "summary": "hub run has not run on this database"}


def test_ok__messages_that_commit_in_time_are_no_stall(liveness, store, clocks):
    liveness.check(0, None)
    arrived = clocks.monotonic()
    clocks.advance(29.9)
    liveness.check(5, arrived)  # noted: the last note was NOTE_SECONDS ago
    assert not liveness.stalled
    figures = merging(store, clocks)
    assert figures["state"] == "merging" and figures["pid"] == 4242 and figures["waiting"] == 5
    assert figures["summary"] == "merging (pid 4242; last commit: nothing yet; 5 waiting)"
    liveness.committed()
    clocks.advance(NOTE_SECONDS)
    liveness.check(0, None)
    assert merging(store, clocks)["summary"] == "merging (pid 4242; last commit: 2026-03-02T01:00:29.900Z; 0 waiting)"


def test_fail__a_message_waiting_longer_than_the_threshold_is_a_stall_until_a_commit(liveness, store, clocks, caplog):
    caplog.set_level(logging.INFO, logger="hub.liveness")
    arrived = clocks.monotonic()
    clocks.advance(10)
    liveness.retrying("StoreError: the disk is full: the batch was not merged; free some space")
    clocks.advance(20)
    liveness.check(3, arrived)
    assert liveness.stalled
    figures = merging(store, clocks)
    assert figures["state"] == "stalled" and figures["stalled_since"] == "2026-03-02T01:00:00.000Z"
    assert figures["summary"] == ("merging stalled since 2026-03-02T01:00:00.000Z: 3 messages waiting, last error: "
                                  "StoreError: the disk is full: the batch was not merged; free some space")
    assert caplog.text.count("merging stalled since") == 1
    clocks.advance(1)
    liveness.check(4, arrived)  # still stalled: said again only after REPORT_SECONDS
    assert caplog.text.count("merging stalled since") == 1
    liveness.committed()
    liveness.check(0, None)
    assert not liveness.stalled and "merging resumed after 31 s stalled" in caplog.text
    figures = merging(store, clocks)
    assert figures["state"] == "merging" and figures["last_error"] is None and figures["stalled_since"] is None


def test_ok__the_row_is_noted_every_few_seconds_and_a_hub_that_stops_noting_is_silent(liveness, store, clocks):
    liveness.check(0, None)
    first = merging(store, clocks)["noted_at"]
    clocks.advance(NOTE_SECONDS - 1)
    liveness.check(0, None)
    assert merging(store, clocks)["noted_at"] == first
    clocks.advance(1)
    liveness.check(0, None)
    assert merging(store, clocks)["noted_at"] > first
    clocks.advance(SILENT_SECONDS + 1)  # killed, hung, or its database cannot be written
    figures = merging(store, clocks)
    assert figures["state"] == "silent" and figures["summary"].startswith("no word from hub run (pid 4242) since ")


def test_ok__a_clean_stop_is_stopped_not_silent(liveness, store, clocks):
    liveness.check(0, None)
    liveness.stopped()
    clocks.advance(SILENT_SECONDS * 10)
    assert merging(store, clocks)["state"] == "stopped"


def test_fail__a_database_it_cannot_write_never_stops_the_loop(clocks, tmp_path, caplog):
    store = open_store(tmp_path / "hub.db")  # SQLite's one writer lock; a PostgreSQL worker writes its own row
    liveness = Liveness(store.note_merging, stall_seconds=30, clock=clocks.monotonic, wall=clocks.wall, pid=4242)
    other = sqlite3.connect(tmp_path / "hub.db")
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock: the note must not wait for it
        arrived = clocks.monotonic()
        clocks.advance(31)
        liveness.check(2, arrived)
        assert liveness.stalled and "cannot note" not in caplog.text  # busy for a moment is no news
        for _ in range(61):
            clocks.advance(NOTE_RETRY_SECONDS)
            liveness.check(2, arrived)
        assert caplog.text.count("cannot note the merging state in the database for 30 s") == 1
    finally:
        other.rollback()
        other.close()
    try:
        assert merging(store, clocks)["state"] == "never_run"  # nothing got written: stats goes by the row's age
        clocks.advance(NOTE_RETRY_SECONDS)
        liveness.check(2, arrived)  # tried again soon, not NOTE_SECONDS later
        assert merging(store, clocks)["state"] == "stalled"
    finally:
        store.close()


@pytest.mark.parametrize("noted_at", [None, "yesterday"])
def test_fail__a_row_whose_time_does_not_read_is_silent(noted_at):
    row = {"pid": 1, "started_at": "x", "noted_at": noted_at, "stopped_at": None, "committed_at": None, "waiting": 0,
           "waiting_since": None, "stalled_since": None, "last_error": None}
    assert judge(row, START)["state"] == "silent"


def test_ok__each_province_worker_notes_its_own_row_and_stats_shows_the_worst(pg_url, clocks):
    """Several `hub run` share a PostgreSQL database, each noting the row of its client id: a stalled worker is what
    `hub stats` shows, whatever the others say, and every worker is listed."""
    with postgres.open_store(pg_url, worker="hub-province-1") as one, postgres.open_store(pg_url, worker="hub-province-2") as two:
        first = Liveness(one.note_merging, stall_seconds=30, clock=clocks.monotonic, wall=clocks.wall, pid=1)
        second = Liveness(two.note_merging, stall_seconds=30, clock=clocks.monotonic, wall=clocks.wall, pid=2)
        first.check(0, None)
        arrived = clocks.monotonic()
        clocks.advance(31)
        first.check(0, None)
        second.check(1, arrived)
        figures = one.stats(now=clocks.wall())
        assert figures["merging"]["worker"] == "hub-province-2" and figures["merging"]["state"] == "stalled"
        assert {name: row["state"] for name, row in figures["workers"].items()} == {
            "hub-province-1": "merging", "hub-province-2": "stalled"}
        second.committed()
        second.check(0, None)
        second.stopped()
        assert two.stats(now=clocks.wall())["merging"]["worker"] == "hub-province-1"
