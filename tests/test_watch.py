"""The database watcher: commits from other connections, threads and processes reach it in order, once each."""

from __future__ import annotations

import logging
import threading

import pytest

from kiosk.payloads import parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.site import Site
from kiosk.queue.store import Store
from kiosk.queue.watch import Watcher

from .test_actions import person

DEADLINE_S = 5.0
"""The longest any test waits for a delivery; a delivery normally takes one poll (10 ms here)."""


class Inbox:
    """A Watcher callback that keeps every batch and lets the test wait, up to a deadline, for the rows it expects."""

    def __init__(self, fail_first: int = 0):
        self.batches: list[list[dict]] = []
        self.fail_first = fail_first
        self.arrived = threading.Condition()

    def __call__(self, rows: list[dict]) -> None:
        with self.arrived:
            self.batches.append(rows)
            self.arrived.notify_all()
        if len(self.batches) <= self.fail_first:
            raise RuntimeError("the screen is not listening")

    @property
    def seqs(self) -> list[int]:
        return [row["seq"] for batch in self.batches for row in batch]

    def wait_for(self, count: int) -> list[int]:
        """Return the delivered seqs once there are count of them; fail after DEADLINE_S."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.seqs) >= count, DEADLINE_S), f"only {self.seqs} after {DEADLINE_S} s"
            return self.seqs


def start(store: Store, inbox: Inbox) -> Watcher:
    return Watcher(store, inbox, poll_seconds=0.01).start()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def check_in_people(site: Site, numbers) -> None:
    for n in numbers:
        check_in(site, parse_payload(person(n)), source="camera")


class Writer(threading.Thread):
    """Checks people in from its own thread, so on its own connection; keeps what it raised for the test."""

    def __init__(self, site: Site, numbers):
        super().__init__()
        self.site, self.numbers, self.errors = site, numbers, []

    def run(self) -> None:
        try:
            check_in_people(self.site, self.numbers)
        except BaseException as exc:  # reported to the test, not to pytest's thread hook
            self.errors.append(exc)
        finally:
            self.site.store.close()  # this thread's connection

    def finish(self) -> list[BaseException]:
        self.join(DEADLINE_S)
        assert not self.is_alive()
        return self.errors


def test_ok__start_skips_events_already_there(store, site, inbox):
    check_in_people(site, (1, 2))
    watcher = start(store, inbox)
    try:
        check_in_people(site, (3,))
        assert inbox.wait_for(1) == [3]
        row = inbox.batches[0][0]
        assert (row["type"], row["event_id"], row["ticket_id"]) == ("PersonCheckedIn", "kiosk-test:3", 3)
    finally:
        watcher.stop()


def test_ok__a_commit_from_another_thread(store, site, inbox):
    watcher = start(store, inbox)
    try:
        writer = Writer(site, (1,))
        writer.start()
        assert writer.finish() == []
        assert inbox.wait_for(1) == [1]
    finally:
        watcher.stop()


def test_ok__a_commit_from_another_process(store, site, inbox):
    watcher = start(store, inbox)
    other = Store(store.path)  # another process's Store on the same file
    try:
        check_in_people(Site(other, "kiosk-test", site.settings, site.clock), (1, 2))
        assert inbox.wait_for(2) == [1, 2]
    finally:
        other.close()
        watcher.stop()


def test_ok__concurrent_writers_are_delivered_in_order_once_each(store, site, inbox):
    watcher = start(store, inbox)
    try:
        writers = [Writer(site, range(k, 40, 2)) for k in (0, 1)]
        for writer in writers:
            writer.start()
        check_in_people(site, range(40, 50))
        assert [writer.finish() for writer in writers] == [[], []]
        assert inbox.wait_for(50) == list(range(1, 51))
        assert all(batch for batch in inbox.batches)  # never an empty call
    finally:
        watcher.stop()
    assert inbox.seqs == list(range(1, 51))


def test_ok__a_failing_callback_is_logged_and_the_watcher_carries_on(store, site, caplog):
    inbox = Inbox(fail_first=1)
    watcher = start(store, inbox)
    try:
        with caplog.at_level(logging.ERROR, logger="kiosk.queue.watch"):
            check_in_people(site, (1,))
            assert inbox.wait_for(1) == [1]
            check_in_people(site, (2,))
            assert inbox.wait_for(2) == [1, 2]  # the failed rows are not offered again
    finally:
        watcher.stop()
    assert "the screen is not listening" in caplog.text


def test_ok__stop_ends_the_thread(store, inbox):
    watcher = start(store, inbox)
    watcher.stop()
    assert not watcher.thread.is_alive()
    Watcher(store, inbox).stop()  # stopping a watcher that never started is harmless
